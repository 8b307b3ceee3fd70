#include "core/sha256.hpp"

#include <array>
#include <cerrno>
#include <stdexcept>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>

namespace confab::core {

namespace {

// Fetched once: EVP_sha256() would look the algorithm up in the provider tables again, under
// a lock, for every digest, and a peer takes one of every frame it receives.
const EVP_MD* sha256_md() {
    static const EVP_MD* md = [] {
        const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        return fetched ? fetched : EVP_sha256();
    }();
    return md;
}

// Closes on every exit path.
class file_descriptor {
public:
    explicit file_descriptor(int fd) : fd_(fd) {}
    ~file_descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

}  // namespace

void sha256_hasher::ctx_deleter::operator()(EVP_MD_CTX* ctx) const {
    EVP_MD_CTX_free(ctx);
}

sha256_hasher::sha256_hasher() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), sha256_md(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 could not be started in OpenSSL");
    }
}

void sha256_hasher::require_active() const {
    if (!ctx_) throw std::logic_error("sha256_hasher used after hex_digest() or a move");
}

void sha256_hasher::update(std::span<const std::byte> bytes) {
    require_active();
    if (EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) != 1) {
        throw std::runtime_error("SHA-256 failed in OpenSSL");
    }
    size_ += bytes.size();
}

void sha256_hasher::update(std::string_view bytes) {
    update(std::as_bytes(std::span(bytes)));
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
    constexpr std::string_view hex = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (std::uint8_t b : bytes) {
        out.push_back(hex[b >> 4]);
        out.push_back(hex[b & 0x0f]);
    }
    return out;
}

std::string sha256_hasher::hex_digest() {
    require_active();
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    int rc = EVP_DigestFinal_ex(ctx_.get(), digest.data(), &length);
    // A finalised context must not be fed again: dropping it makes any further use a clear
    // logic_error instead of an OpenSSL failure.
    ctx_.reset();
    if (rc != 1) throw std::runtime_error("SHA-256 failed in OpenSSL");
    return to_hex({digest.data(), length});
}

sha256_digest sha256(std::string_view bytes) {
    sha256_digest digest{};
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, sha256_md(), nullptr) !=
            1 ||
        length != digest.size()) {
        throw std::runtime_error("SHA-256 failed in OpenSSL");
    }
    return digest;
}

std::string sha256_hex(std::string_view bytes) {
    return to_hex(sha256(bytes));
}

std::optional<std::string> sha256_file(const std::filesystem::path& path,
                                       const std::atomic<bool>* cancel) {
    file_descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return std::nullopt;
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    sha256_hasher hasher;
    // On the heap: a worker thread's stack is no place for a megabyte.
    std::vector<std::byte> buffer(sha256_file_chunk);
    for (;;) {
        if (cancel && cancel->load(std::memory_order_relaxed)) return std::nullopt;
        ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::nullopt;
        }
        if (n == 0) break;
        hasher.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
    }
    return hasher.hex_digest();
}

}  // namespace confab::core

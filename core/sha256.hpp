#pragma once
// SHA-256 of a stream fed piece by piece, and of a whole file. Any thread; one hasher is used
// by one thread at a time. sha256_file blocks on the disk: the file worker, never the loop.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace confab::core {

class sha256_hasher {
public:
    // Throws std::runtime_error when OpenSSL cannot start a digest (out of memory).
    sha256_hasher();
    sha256_hasher(sha256_hasher&&) noexcept = default;
    sha256_hasher& operator=(sha256_hasher&&) noexcept = default;
    sha256_hasher(const sha256_hasher&) = delete;
    sha256_hasher& operator=(const sha256_hasher&) = delete;

    void update(std::span<const std::byte> bytes);
    void update(std::string_view bytes);
    // Lowercase hex, 64 characters. It finalises the digest, so it is called once: after it,
    // as on a moved-from hasher, update() and hex_digest() throw std::logic_error.
    std::string hex_digest();

    // Bytes fed so far.
    std::uint64_t size() const { return size_; }
    // False after hex_digest() or a move.
    bool active() const { return ctx_ != nullptr; }

private:
    struct ctx_deleter {
        void operator()(EVP_MD_CTX* ctx) const;
    };
    void require_active() const;

    std::unique_ptr<EVP_MD_CTX, ctx_deleter> ctx_;
    std::uint64_t size_ = 0;
};

// Lowercase hex of bytes (digests, signatures): two characters a byte.
std::string to_hex(std::span<const std::uint8_t> bytes);
// The value of one lowercase hex digit, or -1.
int hex_value(char c);

// Lowercase hex SHA-256 of bytes in memory (message ids, frame digests): one call, no hasher.
std::string sha256_hex(std::string_view bytes);
// The same digest as its 32 bytes, for lookups that need no hex (seen_cache).
using sha256_digest = std::array<std::uint8_t, 32>;
sha256_digest sha256(std::string_view bytes);

// How much a file is read at a time, and so how often a cancel flag is looked at.
inline constexpr std::size_t sha256_file_chunk = 1024 * 1024;

// Lowercase hex SHA-256 of the file's contents, read in sha256_file_chunk pieces. nullopt
// when it cannot be opened or read, or when *cancel became true (checked before each chunk).
std::optional<std::string> sha256_file(const std::filesystem::path& path,
                                       const std::atomic<bool>* cancel = nullptr);

}  // namespace confab::core

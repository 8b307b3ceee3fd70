#include "core/identity.hpp"

#include <stdexcept>
#include <system_error>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/atomic_file.hpp"
#include "core/base32.hpp"

namespace confab::core {

namespace {

struct bio_deleter {
    void operator()(BIO* b) const { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

constexpr std::size_t ed25519_public_key_size = 32;

// Without a callback OpenSSL would prompt on the terminal for the passphrase of an encrypted
// key; we never encrypt ours, so there is nothing to ask.
int no_passphrase(char*, int, int, void*) {
    return -1;
}

}  // namespace

void identity::key_deleter::operator()(EVP_PKEY* k) const {
    EVP_PKEY_free(k);
}

identity::identity(EVP_PKEY* key) : key_(key) {
    std::size_t length = ed25519_public_key_size;
    public_key_.resize(length);
    if (EVP_PKEY_get_raw_public_key(key_.get(), public_key_.data(), &length) != 1 ||
        length != ed25519_public_key_size) {
        throw std::runtime_error("cannot read the Ed25519 public key from OpenSSL");
    }
    peer_id_ = base32_encode(public_key_);
}

identity identity::generate() {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (key == nullptr) throw std::runtime_error("OpenSSL cannot generate an Ed25519 key");
    // The constructor owns the key from here on, even when it throws.
    return identity(key);
}

identity identity::load_or_create(const std::filesystem::path& dir) {
    const std::filesystem::path path = dir / "identity.pem";
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        if (ec) {
            throw std::runtime_error("cannot look for the identity key " + path.string() + ": " +
                                     ec.message());
        }
        identity fresh = generate();
        bio_ptr out(BIO_new(BIO_s_mem()));
        if (!out || PEM_write_bio_PrivateKey(out.get(), fresh.key(), nullptr, nullptr, 0, nullptr,
                                             nullptr) != 1) {
            throw std::runtime_error("cannot encode the new identity key for " + path.string());
        }
        char* data = nullptr;
        long size = BIO_get_mem_data(out.get(), &data);
        try {
            // The private key is the peer's identity: readable by its owner only.
            write_file_atomically(path, std::string_view(data, static_cast<std::size_t>(size)),
                                  0600);
        } catch (const std::system_error& e) {
            throw std::runtime_error(std::string("cannot store the new identity key: ") + e.what());
        }
        return fresh;
    }

    std::string pem;
    try {
        pem = read_file(path);
    } catch (const std::system_error& e) {
        throw std::runtime_error(std::string("cannot read the identity key: ") + e.what());
    }
    bio_ptr in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EVP_PKEY* key =
        in ? PEM_read_bio_PrivateKey(in.get(), nullptr, no_passphrase, nullptr) : nullptr;
    std::unique_ptr<EVP_PKEY, key_deleter> owned(key);
    if (!owned || EVP_PKEY_get_base_id(owned.get()) != EVP_PKEY_ED25519) {
        // Stale entries in the thread's OpenSSL error queue would confuse later TLS calls.
        ERR_clear_error();
        throw std::runtime_error(path.string() +
                                 " is not an Ed25519 private key; move it away "
                                 "to create a new identity");
    }
    return identity(owned.release());
}

}  // namespace confab::core

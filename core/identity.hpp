#pragma once
// A peer's long-term identity: an Ed25519 key pair kept in the data dir. Main thread.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;

namespace confab::core {

class identity {
public:
    // Loads DIR/identity.pem, or creates it (mode 0600, written atomically) on first run.
    // Throws std::runtime_error with a sentence naming the file when it cannot.
    static identity load_or_create(const std::filesystem::path& dir);
    // A fresh key that is never stored (tests).
    static identity generate();

    // Lowercase base32 of the raw 32-byte public key: 52 characters.
    const std::string& peer_id() const { return peer_id_; }
    const std::vector<std::uint8_t>& public_key() const { return public_key_; }
    EVP_PKEY* key() const { return key_.get(); }

private:
    struct key_deleter {
        void operator()(EVP_PKEY* k) const;
    };
    explicit identity(EVP_PKEY* key);

    std::unique_ptr<EVP_PKEY, key_deleter> key_;
    std::vector<std::uint8_t> public_key_;
    std::string peer_id_;
};

}  // namespace confab::core

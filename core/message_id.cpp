#include "core/message_id.hpp"

#include <array>
#include <stdexcept>

#include <openssl/evp.h>

namespace confab::core {

namespace {

// Fetched once: EVP_sha256() makes every EVP_Digest look the algorithm up in the provider
// tables again, under a lock, and this runs for every frame a peer receives.
const EVP_MD* sha256() {
    static const EVP_MD* md = [] {
        const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        return fetched ? fetched : EVP_sha256();
    }();
    return md;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 failed in OpenSSL");
    }
    constexpr std::string_view hex = "0123456789abcdef";
    std::string out;
    out.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 0x0f]);
    }
    return out;
}

std::string message_id(const nlohmann::json& envelope) {
    // envelope.dump() is exactly protocol::canonical_bytes(envelope): nlohmann::json keeps
    // object keys sorted and dump() writes no whitespace.
    return sha256_hex(envelope.dump());
}

}  // namespace confab::core

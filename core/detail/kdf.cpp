#include "core/detail/kdf.hpp"

#include <memory>
#include <stdexcept>
#include <string>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

namespace confab::core::detail {

namespace {

struct kdf_deleter {
    void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
    void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
    void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
template <typename T>
using owned = std::unique_ptr<T, kdf_deleter>;

[[noreturn]] void fail(const std::string& what) {
    // Stale entries in the thread's OpenSSL error queue would confuse later TLS calls.
    ERR_clear_error();
    throw std::runtime_error(what);
}

// OSSL_PARAM wants a non-const pointer even for input; OpenSSL never writes through it.
void* input(std::span<const std::uint8_t> bytes) {
    static std::uint8_t empty = 0;
    return bytes.empty() ? &empty : const_cast<std::uint8_t*>(bytes.data());
}

std::vector<std::uint8_t> derive(const char* algorithm, const OSSL_PARAM* params,
                                 std::size_t out_bytes) {
    owned<EVP_KDF> kdf(EVP_KDF_fetch(nullptr, algorithm, nullptr));
    if (!kdf) fail(std::string("OpenSSL has no ") + algorithm + " key derivation");
    owned<EVP_KDF_CTX> ctx(EVP_KDF_CTX_new(kdf.get()));
    if (!ctx) fail(std::string("OpenSSL cannot start ") + algorithm);
    std::vector<std::uint8_t> out(out_bytes);
    if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
        fail(std::string("OpenSSL could not derive a key with ") + algorithm);
    }
    return out;
}

}  // namespace

std::vector<std::uint8_t> scrypt(std::span<const std::uint8_t> password,
                                 std::span<const std::uint8_t> salt, std::uint64_t n,
                                 std::uint32_t r, std::uint32_t p, std::size_t out_bytes) {
    // scrypt needs 128 * r * N bytes (32 MiB for the room passphrase); OpenSSL's own cap is
    // about 1 GiB, more than a chat client should ever take, so name ours: twice the need.
    std::uint64_t max_memory = 2 * 128 * std::uint64_t{r} * n * std::uint64_t{p};
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, input(password),
                                          password.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, input(salt), salt.size()),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &max_memory),
        OSSL_PARAM_construct_end(),
    };
    return derive("SCRYPT", params, out_bytes);
}

std::vector<std::uint8_t> hkdf_sha256(std::span<const std::uint8_t> ikm,
                                      std::span<const std::uint8_t> salt,
                                      std::span<const std::uint8_t> info, std::size_t out_bytes) {
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, input(ikm), ikm.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, input(salt), salt.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, input(info), info.size()),
        OSSL_PARAM_construct_end(),
    };
    return derive("HKDF", params, out_bytes);
}

std::vector<std::uint8_t> hmac_sha256(std::span<const std::uint8_t> key,
                                      std::span<const std::uint8_t> message) {
    owned<EVP_MAC> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    if (!mac) fail("OpenSSL has no HMAC");
    owned<EVP_MAC_CTX> ctx(EVP_MAC_CTX_new(mac.get()));
    if (!ctx) fail("OpenSSL cannot start HMAC");
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    std::vector<std::uint8_t> out(32);
    std::size_t length = 0;
    if (EVP_MAC_init(ctx.get(), static_cast<const unsigned char*>(input(key)), key.size(),
                     params) != 1 ||
        EVP_MAC_update(ctx.get(), message.data(), message.size()) != 1 ||
        EVP_MAC_final(ctx.get(), out.data(), &length, out.size()) != 1 || length != out.size()) {
        fail("OpenSSL could not compute an HMAC-SHA256");
    }
    return out;
}

}  // namespace confab::core::detail

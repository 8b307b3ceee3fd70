#pragma once
// The OpenSSL 3 primitives under room secrets, with every parameter open so that the tests
// can check them against the published vectors (RFC 7914, RFC 5869, RFC 4231). Only
// core/room_secret.cpp and the tests use these. Pure; any thread.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace confab::core::detail {

// Bytes of a string, for the byte-span parameters below.
inline std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// scrypt (EVP_KDF "SCRYPT"). Throws std::runtime_error when OpenSSL refuses (say, memory).
std::vector<std::uint8_t> scrypt(std::span<const std::uint8_t> password,
                                 std::span<const std::uint8_t> salt, std::uint64_t n,
                                 std::uint32_t r, std::uint32_t p, std::size_t out_bytes);

// HKDF-SHA256, extract then expand (EVP_KDF "HKDF"). Throws std::runtime_error.
std::vector<std::uint8_t> hkdf_sha256(std::span<const std::uint8_t> ikm,
                                      std::span<const std::uint8_t> salt,
                                      std::span<const std::uint8_t> info, std::size_t out_bytes);

// HMAC-SHA256 (EVP_MAC "HMAC"): 32 bytes. Throws std::runtime_error.
std::vector<std::uint8_t> hmac_sha256(std::span<const std::uint8_t> key,
                                      std::span<const std::uint8_t> message);

}  // namespace confab::core::detail

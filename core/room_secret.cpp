#include "core/room_secret.hpp"

#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "core/detail/kdf.hpp"
#include "core/sha256.hpp"

namespace confab::core {

namespace {

using detail::bytes_of;

// The labels are part of the protocol: another implementation derives the same bytes.
// std::string, since each carries a NUL in the middle.
const std::string stretch_salt_prefix("confab room v1\0", 15);
constexpr std::string_view derive_salt = "confab room v1";
const std::string room_id_info("room id\0", 8);
const std::string auth_info("room auth\0", 10);
const std::string open_room_prefix("confab open room v1\0", 20);
const std::string proof_prefix("confab room proof v1\0", 21);

constexpr std::size_t room_id_bytes = 16;
constexpr std::size_t auth_key_bytes = 32;
constexpr std::size_t proof_hex_chars = 64;

std::string proof_message(std::span<const std::uint8_t> exporter, proof_role role,
                          std::string_view peer_id) {
    std::string message = proof_prefix;
    message.append(reinterpret_cast<const char*>(exporter.data()), exporter.size());
    message += role == proof_role::dialler ? 'd' : 'a';
    message += peer_id;
    return message;
}

}  // namespace

std::vector<std::uint8_t> random_room_secret() {
    std::vector<std::uint8_t> secret(room_secret_bytes);
    if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
        ERR_clear_error();
        throw std::runtime_error("OpenSSL cannot produce random bytes for a room secret");
    }
    return secret;
}

std::vector<std::uint8_t> stretch_passphrase(std::string_view passphrase, std::string_view room) {
    if (passphrase.empty()) throw std::invalid_argument("an empty passphrase protects nothing");
    const std::string salt = stretch_salt_prefix + std::string(room);
    return detail::scrypt(bytes_of(passphrase), bytes_of(salt), passphrase_scrypt_n,
                          passphrase_scrypt_r, passphrase_scrypt_p, stretched_secret_bytes);
}

room_keys derive_room_keys(std::string_view room, std::span<const std::uint8_t> secret) {
    if (secret.empty()) throw std::invalid_argument("a room secret cannot be empty");
    room_keys keys;
    keys.room = room;
    keys.open = false;
    const std::string id_info = room_id_info + std::string(room);
    const std::string key_info = auth_info + std::string(room);
    keys.room_id = to_hex(
        detail::hkdf_sha256(secret, bytes_of(derive_salt), bytes_of(id_info), room_id_bytes));
    keys.auth_key =
        detail::hkdf_sha256(secret, bytes_of(derive_salt), bytes_of(key_info), auth_key_bytes);
    return keys;
}

room_keys open_room_keys(std::string_view room) {
    room_keys keys;
    keys.room = room;
    keys.open = true;
    // Hex of the first 16 bytes is the first 32 hex digits.
    keys.room_id = sha256_hex(open_room_prefix + std::string(room)).substr(0, 2 * room_id_bytes);
    return keys;
}

std::string room_proof(const room_keys& keys, std::span<const std::uint8_t> exporter,
                       proof_role role, std::string_view peer_id) {
    if (keys.open || keys.auth_key.empty()) {
        throw std::invalid_argument("an open room has no key to prove");
    }
    if (exporter.size() != proof_exporter_bytes) {
        throw std::invalid_argument("a room proof needs " + std::to_string(proof_exporter_bytes) +
                                    " bytes of exported keying material, not " +
                                    std::to_string(exporter.size()));
    }
    return to_hex(
        detail::hmac_sha256(keys.auth_key, bytes_of(proof_message(exporter, role, peer_id))));
}

bool check_room_proof(const room_keys& keys, std::span<const std::uint8_t> exporter,
                      proof_role role, std::string_view peer_id, std::string_view proof) {
    if (keys.open || keys.auth_key.empty() || exporter.size() != proof_exporter_bytes) {
        return false;
    }
    if (proof.size() != proof_hex_chars) return false;
    // Our proof is lowercase hex, so anything else differs anyway; comparing the hex text in
    // constant time compares the MAC in constant time.
    const std::string expected = room_proof(keys, exporter, role, peer_id);
    return CRYPTO_memcmp(expected.data(), proof.data(), proof_hex_chars) == 0;
}

}  // namespace confab::core

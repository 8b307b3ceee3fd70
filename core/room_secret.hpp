#pragma once
// Room secrets and what is derived from them: the public room id that names a room on the
// wire, the key that proves membership, and the proof itself. Every peer in a room holds the
// same secret (from an invite, or stretched from a shared passphrase); a link between two
// peers is admitted only when each proves it over that very TLS connection. Pure (OpenSSL 3
// EVP_KDF and EVP_MAC); any thread. Throws std::runtime_error only if OpenSSL fails.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace confab::core {

// A random room secret: 128 bits, as many as anyone could guess at.
inline constexpr std::size_t room_secret_bytes = 16;
// A secret stretched from a passphrase.
inline constexpr std::size_t stretched_secret_bytes = 32;
// What SSL_export_keying_material must give room_proof.
inline constexpr std::size_t proof_exporter_bytes = 32;
// The exporter label for SSL_export_keying_material (no context), so that both ends of a
// link, and every implementation, ask for the same bytes.
inline constexpr std::string_view proof_exporter_label = "EXPORTER-confab-room-proof-v1";

// scrypt cost for a passphrase: N = 2^15, r = 8, p = 1 is the interactive-login setting of
// the scrypt paper (and Go's x/crypto/scrypt recommendation): about 32 MiB and a tenth of a
// second once per start, while every guess costs an attacker the same.
inline constexpr std::uint64_t passphrase_scrypt_n = std::uint64_t{1} << 15;
inline constexpr std::uint32_t passphrase_scrypt_r = 8;
inline constexpr std::uint32_t passphrase_scrypt_p = 1;

// 16 random bytes (RAND_bytes).
std::vector<std::uint8_t> random_room_secret();

// A passphrase made into a 32-byte secret: scrypt with the cost above, salt
// "confab room v1\0" + room, so that one passphrase gives each room its own secret. A
// passphrase is never used raw. Throws std::invalid_argument when it is empty.
std::vector<std::uint8_t> stretch_passphrase(std::string_view passphrase, std::string_view room);

struct room_keys {
    std::string room;     // the room's name
    bool open = false;    // no secret (--open)
    std::string room_id;  // 32 lowercase hex chars: public, names the room on the wire
    std::vector<std::uint8_t> auth_key;  // 32 bytes; empty when open
};

// HKDF-SHA256, ikm = secret, salt = "confab room v1": room_id from info "room id\0" + room
// (16 bytes, in hex), auth_key from info "room auth\0" + room (32 bytes). Throws
// std::invalid_argument for an empty secret.
room_keys derive_room_keys(std::string_view room, std::span<const std::uint8_t> secret);

// An open room: room_id = hex of the first 16 bytes of SHA-256("confab open room v1\0" +
// room), no key. Anyone who knows the name can compute it, which is the point.
room_keys open_room_keys(std::string_view room);

enum class proof_role { dialler, acceptor };

// HMAC-SHA256(auth_key, "confab room proof v1\0" + exporter + role byte ("d" or "a") +
// peer_id), in lowercase hex (64 characters). `exporter` is proof_exporter_bytes of
// SSL_export_keying_material(proof_exporter_label) from the link's TLS connection, so a proof
// cannot be replayed on another connection; `peer_id` is the prover's. Throws
// std::invalid_argument for an open room (it has nothing to prove) or an exporter of another
// size.
std::string room_proof(const room_keys& keys, std::span<const std::uint8_t> exporter,
                       proof_role role, std::string_view peer_id);

// Recomputes the proof and compares in constant time (CRYPTO_memcmp). False for an open
// room, an exporter of the wrong size, and any proof that is not 64 lowercase hex digits.
bool check_room_proof(const room_keys& keys, std::span<const std::uint8_t> exporter,
                      proof_role role, std::string_view peer_id, std::string_view proof);

}  // namespace confab::core

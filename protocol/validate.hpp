#pragma once
// Field rules shared by the wire and the fronts, so that a user hears of a bad nick or a
// too-long message before anything is sent. Each returns an empty string when the value is
// fine, else a sentence naming what is wrong. Pure.

#include <cstddef>
#include <string>
#include <string_view>

namespace confab::protocol {

inline constexpr std::size_t max_nick_bytes = 32;
inline constexpr std::size_t max_room_bytes = 64;
inline constexpr std::size_t max_body_bytes = 16 * 1024;
// A whole chat envelope, as canonical bytes without "sig" (what is hashed and signed): the
// text plus a file offer's fields, with room to spare. It bounds what every relay stores,
// hashes and verifies for one message.
inline constexpr std::size_t max_envelope_bytes = 64 * 1024;
inline constexpr std::size_t peer_id_length = 52;  // base32 of a 32-byte Ed25519 key
inline constexpr std::size_t signature_hex_length = 128;  // hex of a 64-byte Ed25519 signature
inline constexpr std::size_t max_hello_rooms = 16;
inline constexpr std::size_t max_hello_features = 32;

bool is_valid_utf8(std::string_view s);
// Only 0-9 and a-f (ids, digests, signatures and proofs have one spelling each).
bool is_lower_hex(std::string_view s);

// 1..32 bytes of UTF-8, no whitespace or control characters.
std::string check_nick(std::string_view nick);
// 1..64 bytes of UTF-8, no whitespace or control characters.
std::string check_room(std::string_view room);
// 1..16 KiB of UTF-8, not only whitespace, no NUL.
std::string check_body(std::string_view body);
// 52 characters of lowercase base32 (a-z, 2-7).
std::string check_peer_id(std::string_view id);
// 32 lowercase hex digits (a room id).
std::string check_room_id(std::string_view id);
// "" (an open room) or 64 lowercase hex digits (an HMAC-SHA256).
std::string check_room_proof_text(std::string_view proof);
// 128 lowercase hex digits: the form of an envelope's "sig", not whether it is genuine.
std::string check_signature(std::string_view sig);

}  // namespace confab::protocol

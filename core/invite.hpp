#pragma once
// Invites: a room's name, its secret and where to reach a peer in it, as one string a user
// can paste into a chat window or a shell ("confab1" + lowercase base32 + one check
// character; docs/protocol.md, "Invites"). Pure; any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace confab::core {

inline constexpr std::string_view invite_prefix = "confab1";
inline constexpr std::size_t max_invite_addresses = 8;
// Far above the longest valid invite (about 3,500 characters), so that reading one is bounded.
inline constexpr std::size_t max_invite_chars = 4096;

struct invite {
    std::string room;
    std::vector<std::string> addresses;  // "HOST:PORT" ("[V6]:PORT"), at most 8, best first
    std::vector<std::uint8_t> secret;    // 16 or 32 bytes
    friend bool operator==(const invite&, const invite&) = default;
};

// Throws std::invalid_argument when the invite breaks a rule parse_invite enforces (a bad
// room name or address, more than 8 addresses, a secret of another size): a bug in the caller.
std::string format_invite(const invite& inv);

// Accepts surrounding whitespace and upper case. On error returns nullopt and sets *error (when
// given) to a sentence a user can act on, e.g. "the invite has a typo: its check character
// does not match; copy the whole invite again".
std::optional<invite> parse_invite(std::string_view text, std::string* error);

}  // namespace confab::core

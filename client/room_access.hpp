#pragma once
// The rooms this peer chats in and how each is protected, settled at start-up from --room,
// --open, --invite, --secret-file or DATA/secrets.json, and again by /join at run time; and
// the invites that let others in. Main thread.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "client/cli.hpp"
#include "core/room_secret.hpp"

namespace confab::client {

struct room_access {
    std::string room;
    bool open = false;
    std::vector<std::uint8_t> secret;  // what an invite carries; empty when open
    core::room_keys keys;              // derived from it (or the open room's)
};

// Passphrase files larger than this are not passphrases.
inline constexpr std::size_t max_passphrase_bytes = 64 * 1024;

// Reads --secret-file: its contents without one trailing newline ("\n" or "\r\n"). On
// failure nullopt and *error set to a sentence: it cannot be read, it is empty, or other users
// may read it (a passphrase others can read protects nothing; "chmod 600 FILE").
std::optional<std::string> read_passphrase_file(const std::filesystem::path& file,
                                                std::string* error);

// Where the secret of a room named without an invite comes from: none (--open), the
// passphrase of --secret-file, or DATA/secrets.json.
struct room_policy {
    bool open = false;
    std::optional<std::string> passphrase;
    std::filesystem::path data_dir;
};

// A room's secret, by the first that applies: `invite` (its secret, stored in
// DATA/secrets.json); the policy is open (none); the policy's passphrase (stretched with the room's
// name, so every room has its own; stored); the secret stored for the room; a new random one
// (stored, and *created set). Throws std::runtime_error with a sentence when secrets.json cannot be
// read or written.
room_access settle_room(const std::string& room, const room_policy& policy,
                        const core::invite* invite, bool* created = nullptr);

// Every room of the command line, settled in its order.
std::vector<room_access> settle_room_access(const options& opts, const room_policy& policy);

// This host's addresses for an invite, from getifaddrs: interfaces that are up, not
// loopback; IPv4, and (`ipv6`) IPv6 other than link-local ones (those need a zone). In the
// order the system lists them.
std::vector<std::string> host_addresses(bool ipv6);

// The "HOST:PORT" addresses an invite lists for a peer listening on `listen` (its real bound
// address): that address itself, or, for a wildcard (0.0.0.0, or :: which takes IPv6 as
// well), each of `host` with the port; 127.0.0.1 (or [::1]) when `host` is empty. At most
// core::max_invite_addresses.
std::vector<std::string> invite_addresses(const std::string& listen,
                                          const std::vector<std::string>& host);

// The invite to this room at `listen`; "" for an open room.
std::string invite_for(const room_access& access, const std::string& listen);

}  // namespace confab::client

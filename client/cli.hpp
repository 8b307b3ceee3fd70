#pragma once
// Command-line options. Pure apart from reading the environment for defaults; main thread.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/invite.hpp"
#include "core/log.hpp"
#include "protocol/address.hpp"

namespace confab::client {

struct options {
    bool headless = false;
    bool help = false;
    bool version = false;
    std::string nick;  // default: $USER
    // The rooms to chat in, in the order given (--room and --invite; the first is the current
    // one at start); "lobby" when none is given.
    std::vector<std::string> rooms{"lobby"};
    // Each room's secret: from an invite (which also names the room and peers to dial, added to
    // `joins`), from a passphrase file (one secret per room, stretched from it), none at all
    // (--open), or else DATA/secrets.json.
    std::vector<core::invite> invites;
    std::filesystem::path secret_file;
    bool open = false;
    protocol::host_port listen{"0.0.0.0", 7447};
    bool listen_explicit = false;
    std::vector<protocol::host_port> joins;
    std::filesystem::path data_dir;  // default: core::default_data_dir()
    bool data_dir_explicit = false;
    std::filesystem::path downloads;                       // default: core::default_downloads_dir()
    bool accept_files = false;                             // accept every offer (bots, tests)
    std::uint64_t max_file_size = std::uint64_t{4} << 30;  // larger offers are refused
    std::uint64_t upload_limit = 0;                        // bytes/s per upload; 0: no limit
    std::uint32_t max_rate = 200;  // new messages a second per author (peer::node_config)
    core::log_level log_level = core::log_level::info;
    bool log_level_explicit = false;
};

struct cli_result {
    std::optional<options> opts;
    std::string error;  // set when opts is empty: one sentence, then print usage and exit 2
    // False when the sentence says all there is (a typo in an invite): usage would bury it.
    bool show_usage = true;
};

cli_result parse_cli(const std::vector<std::string>& args);
// The invite among `invites` for `room`, or null.
const core::invite* invite_for_room(const std::vector<core::invite>& invites,
                                    const std::string& room);
// "4G", "100M", "512k", "1000": bytes (powers of 1024); nullopt when it is not a size.
std::optional<std::uint64_t> parse_size(const std::string& text);
std::string usage();

}  // namespace confab::client

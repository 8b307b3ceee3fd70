#pragma once
// The command language both fronts share: plain text is a message, `/name args` a command.
// Pure; any thread.

#include <string>
#include <string_view>
#include <variant>

#include "protocol/address.hpp"

namespace confab::client {

struct cmd_none {};  // blank line
struct cmd_say {
    std::string text;
};
struct cmd_nick {
    std::string nick;
};
struct cmd_peers {};
struct cmd_connect {
    protocol::host_port address;
};
struct cmd_help {};
struct cmd_quit {};
// The line could not be understood; `message` tells the user what to type instead.
struct cmd_error {
    std::string message;
};

using command = std::variant<cmd_none, cmd_say, cmd_nick, cmd_peers, cmd_connect, cmd_help,
                             cmd_quit, cmd_error>;

// One input line (without its newline). "//text" sends "/text" as a message.
command parse_command(std::string_view line);

// One line per command, for /help.
std::string help_text();

}  // namespace confab::client

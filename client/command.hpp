#pragma once
// The command language both fronts share: plain text is a message, `/name args` a command.
// Pure; any thread.

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/address.hpp"

namespace confab::client {

struct cmd_none {};  // blank line
struct cmd_say {
    std::string text;
};
// An emote: "/me waves" shows as "* alice waves".
struct cmd_me {
    std::string text;
};
struct cmd_nick {
    std::string nick;
};
struct cmd_peers {};
struct cmd_connect {
    protocol::host_port address;
};
// File transfer. `args` of /send is "PATH [NICK]", resolved against the disk by the node.
struct cmd_send {
    std::string args;
};
struct cmd_accept {
    std::string id;  // a transfer id or its start
};
struct cmd_reject {
    std::string id;
};
struct cmd_cancel {
    std::string id;
};
struct cmd_files {};
// "/join INVITE" or "/join ROOM": join the invite's room, or a room by name (see front::join).
// `target` is as typed, a leading '#' removed.
struct cmd_join {
    std::string target;
};
// "/part [ROOM]": leave a room ("": the current one).
struct cmd_part {
    std::string room;
};
struct cmd_rooms {};  // lists the rooms this peer is in
// "/room NAME": plain text goes to that room from now on.
struct cmd_room {
    std::string room;
};
// "/invite [ROOM]": shows the invite to a room ("": the current one).
struct cmd_invite {
    std::string room;
};
struct cmd_help {};
struct cmd_clear {};  // empties the message pane (the terminal UI's; history on disk stays)
struct cmd_quit {
    std::string message;  // "/quit gone for lunch": said to the room before leaving
};
// The line could not be understood; `message` tells the user what to type instead.
struct cmd_error {
    std::string message;
};

using command =
    std::variant<cmd_none, cmd_say, cmd_me, cmd_nick, cmd_peers, cmd_connect, cmd_send, cmd_accept,
                 cmd_reject, cmd_cancel, cmd_files, cmd_join, cmd_part, cmd_rooms, cmd_room,
                 cmd_invite, cmd_help, cmd_clear, cmd_quit, cmd_error>;

// The command names, without the slash, for /help and Tab completion.
std::vector<std::string> command_names();

// One input line (without its newline). "//text" sends "/text" as a message.
command parse_command(std::string_view line);

// One line per command, for /help.
std::string help_text();

}  // namespace confab::client

#include "client/command.hpp"

#include <array>
#include <cctype>

namespace confab::client {

namespace {

struct command_spec {
    std::string_view name;
    std::string_view usage;
    std::string_view summary;
};

constexpr std::array<command_spec, 17> commands{{
    {"me", "/me ACTION", "describe what you do: /me waves shows as * nick waves"},
    {"nick", "/nick NAME", "change your nick"},
    {"peers", "/peers", "list the peers you are connected to"},
    {"connect", "/connect HOST:PORT", "connect to a peer; it is redialled while down"},
    {"send", "/send PATH [NICK]", "offer a file to the room, or to one peer"},
    {"accept", "/accept ID", "accept a file offered to you (ID: the start of its id)"},
    {"reject", "/reject ID", "refuse a file offered to you"},
    {"cancel", "/cancel ID", "stop a transfer, or withdraw your offer"},
    {"files", "/files", "list file transfers"},
    {"join", "/join INVITE|ROOM", "join the room of an invite, or a room by name"},
    {"part", "/part [ROOM]", "leave a room (the current one when none is named)"},
    {"rooms", "/rooms", "list the rooms you are in"},
    {"room", "/room ROOM", "write to ROOM from now on"},
    {"invite", "/invite [ROOM]", "show the invite that lets others join a room"},
    {"clear", "/clear", "empty the message pane"},
    {"help", "/help", "show this list"},
    {"quit", "/quit [MESSAGE]", "say bye to your peers and leave"},
}};

std::string_view trim(std::string_view s) {
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// What irssi and weechat users type out of habit, mapped to ours.
struct alias {
    std::string_view name;
    std::string_view target;
};
constexpr std::array<alias, 4> aliases{
    {{"exit", "quit"}, {"names", "peers"}, {"who", "peers"}, {"action", "me"}}};

// Commands that do not exist here, with what to do instead.
struct hint {
    std::string_view name;
    std::string_view text;
};
constexpr std::array<hint, 2> hints{{
    {"msg", "there are no private messages yet; /send PATH NICK sends a file to one peer"},
    {"query", "there are no private messages yet; /send PATH NICK sends a file to one peer"},
}};

const command_spec* find_spec(std::string_view name) {
    for (const auto& a : aliases) {
        if (a.name == name) name = a.target;
    }
    for (const auto& c : commands) {
        if (c.name == name) return &c;
    }
    return nullptr;
}

cmd_error usage_error(const command_spec& spec) {
    return {"usage: " + std::string(spec.usage) + " (" + std::string(spec.summary) + ")"};
}

}  // namespace

command parse_command(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) return cmd_none{};
    if (line.front() != '/') return cmd_say{std::string(line)};
    if (line.starts_with("//")) return cmd_say{std::string(line.substr(1))};

    std::string_view rest = line.substr(1);
    auto space = rest.find_first_of(" \t");
    // Commands are case-insensitive, as in irssi and weechat.
    std::string name_buffer(rest.substr(0, space));
    for (auto& c : name_buffer) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view name = name_buffer;
    std::string_view args = space == std::string_view::npos ? "" : trim(rest.substr(space));

    const command_spec* spec = find_spec(name);
    for (const auto& h : hints) {
        if (!spec && h.name == name) {
            std::string message = "/";
            message += name;
            message += ": ";
            message += h.text;
            return cmd_error{message};
        }
    }
    if (!spec) {
        return cmd_error{"unknown command /" + std::string(name) +
                         "; type /help for the list (start a message with // to send a "
                         "line that begins with /)"};
    }
    // An alias stands for its command from here on: before the checks of /me and /nick, or
    // "/action waves" would be judged as a command that takes no arguments.
    name = spec->name;
    if (name == "me") {
        if (args.empty()) return usage_error(*spec);
        return cmd_me{std::string(args)};
    }
    if (name == "nick") {
        if (args.empty()) return usage_error(*spec);
        if (args.find_first_of(" \t") != std::string_view::npos) {
            return cmd_error{"a nick cannot contain spaces; " + usage_error(*spec).message};
        }
        return cmd_nick{std::string(args)};
    }
    if (name == "quit") return cmd_quit{std::string(args)};
    if (name == "send") {
        if (args.empty()) return usage_error(*spec);
        return cmd_send{std::string(args)};
    }
    if (name == "accept" || name == "reject" || name == "cancel") {
        if (args.empty() || args.find_first_of(" \t") != std::string_view::npos) {
            return usage_error(*spec);
        }
        std::string id(args);
        for (auto& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (name == "accept") return cmd_accept{id};
        if (name == "reject") return cmd_reject{id};
        return cmd_cancel{id};
    }
    // Rooms are named with or without IRC's '#', and in one word.
    if (name == "join" || name == "part" || name == "room" || name == "invite") {
        if (args.find_first_of(" \t") != std::string_view::npos) return usage_error(*spec);
        if (args.starts_with('#')) args.remove_prefix(1);
        if (name == "part") return cmd_part{std::string(args)};
        if (name == "invite") return cmd_invite{std::string(args)};
        if (args.empty()) return usage_error(*spec);
        if (name == "room") return cmd_room{std::string(args)};
        return cmd_join{std::string(args)};
    }
    if (name == "connect") {
        if (args.empty()) return usage_error(*spec);
        std::string error;
        auto address = protocol::parse_host_port(args, &error);
        if (!address) return cmd_error{error};
        return cmd_connect{*address};
    }
    if (!args.empty()) {
        std::string message = "/";  // appended: GCC 12 warns falsely on "/" + string
        message += name;
        message += " takes no arguments; " + usage_error(*spec).message;
        return cmd_error{message};
    }
    if (name == "peers") return cmd_peers{};
    if (name == "clear") return cmd_clear{};
    if (name == "files") return cmd_files{};
    if (name == "rooms") return cmd_rooms{};
    return cmd_help{};
}

std::vector<std::string> command_names() {
    std::vector<std::string> names;
    for (const auto& c : commands) names.emplace_back(c.name);
    return names;
}

std::string help_text() {
    std::string out = "Type a line to send it to the room. Commands:\n";
    for (const auto& c : commands) {
        out += "  " + std::string(c.usage);
        out.append(c.usage.size() < 20 ? 20 - c.usage.size() : 1, ' ');
        out += std::string(c.summary) + "\n";
    }
    return out;
}

}  // namespace confab::client

// Fuzzes client::parse_command with one input line. Whatever the line, the result is one of the
// commands with the arguments its rules promise: a message that is the line itself (or the line
// without the first '/' of "//"), a one-word nick or transfer id, an address that prints back to
// itself, an error that tells the user something. The command word is case-insensitive, and an
// alias (/exit, /who, /action) parses as the command it stands for.

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "client/command.hpp"
#include "core/overloaded.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace confab::client;

namespace {

bool has_blank(std::string_view s) {
    return s.find_first_of(" \t") != std::string_view::npos;
}
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_trimmed(std::string_view s) {
    return !s.empty() && !is_space(s.front()) && !is_space(s.back());
}

// The start of a transfer id, as /accept, /reject and /cancel take it: one word, lowercased.
void check_transfer_prefix(const std::string& id) {
    FUZZ_CHECK(is_trimmed(id) && !has_blank(id));
    FUZZ_CHECK(std::none_of(id.begin(), id.end(),
                            [](char c) { return std::isupper(static_cast<unsigned char>(c)); }));
}

// What a command carries, to compare two parses (error messages aside: they name what was typed).
std::string payload(const command& c) {
    return std::visit(confab::core::overloaded{
                          [](const cmd_say& x) { return x.text; },
                          [](const cmd_me& x) { return x.text; },
                          [](const cmd_nick& x) { return x.nick; },
                          [](const cmd_connect& x) { return x.address.to_string(); },
                          [](const cmd_send& x) { return x.args; },
                          [](const cmd_accept& x) { return x.id; },
                          [](const cmd_reject& x) { return x.id; },
                          [](const cmd_cancel& x) { return x.id; },
                          [](const cmd_quit& x) { return x.message; },
                          [](const cmd_names& x) { return x.room; },
                          [](const auto&) { return std::string(); },
                      },
                      c);
}

// The line with its command word lowercased and an alias replaced by its command, as
// client/command.cpp documents them; nullopt when the line is not a command.
std::optional<std::string> canonical_command_line(std::string_view line) {
    if (!line.starts_with("/") || line.starts_with("//")) return std::nullopt;
    const auto rest = line.substr(1);
    const auto end = std::min(rest.find_first_of(" \t"), rest.size());
    std::string word(rest.substr(0, end));
    for (auto& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static constexpr std::pair<std::string_view, std::string_view> aliases[] = {
        {"exit", "quit"}, {"who", "names"}, {"action", "me"}};
    for (const auto& [alias, target] : aliases) {
        if (word == alias) word = target;
    }
    // parse_command takes one '\r' off the end of what it is given: here, this one, so that it
    // sees exactly the line above ("/peers\r" is not /peers).
    return "/" + word + std::string(rest.substr(end)) + "\r";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto raw = confab::fuzz::as_text(data, size);
    // A trailing '\r' (a line from a CRLF terminal) is not part of the line.
    const auto line = !raw.empty() && raw.back() == '\r' ? raw.substr(0, raw.size() - 1) : raw;
    const bool blank = std::all_of(line.begin(), line.end(), is_space);
    const auto command = parse_command(raw);

    FUZZ_CHECK(blank == std::holds_alternative<cmd_none>(command));
    std::visit(
        confab::core::overloaded{
            [&](const cmd_say& c) {
                FUZZ_CHECK(!line.starts_with("/") || line.starts_with("//"));
                FUZZ_CHECK(c.text == (line.starts_with("//") ? line.substr(1) : line));
            },
            [&](const cmd_me& c) { FUZZ_CHECK(is_trimmed(c.text)); },
            [&](const cmd_nick& c) { FUZZ_CHECK(is_trimmed(c.nick) && !has_blank(c.nick)); },
            [&](const cmd_connect& c) {
                FUZZ_CHECK(!c.address.host.empty() && c.address.port != 0);
                std::string error;
                const auto printed = c.address.to_string();
                FUZZ_CHECK(confab::protocol::parse_host_port(printed, &error) == c.address);
            },
            [&](const cmd_send& c) { FUZZ_CHECK(is_trimmed(c.args)); },
            [&](const cmd_accept& c) { check_transfer_prefix(c.id); },
            [&](const cmd_reject& c) { check_transfer_prefix(c.id); },
            [&](const cmd_cancel& c) { check_transfer_prefix(c.id); },
            [&](const cmd_quit& c) { FUZZ_CHECK(c.message.empty() || is_trimmed(c.message)); },
            [&](const cmd_names& c) { FUZZ_CHECK(!has_blank(c.room)); },
            [&](const cmd_error& c) { FUZZ_CHECK(!c.message.empty()); },
            [&](const auto&) {
                // /peers, /files, /help, /clear and blank lines carry nothing, and only
                // a command line names them.
                FUZZ_CHECK(blank || line.starts_with("/"));
            },
        },
        command);
    // Pure: the same line gives the same command.
    FUZZ_CHECK(parse_command(raw).index() == command.index());

    if (const auto canonical = canonical_command_line(line)) {
        const auto expected = parse_command(*canonical);
        FUZZ_CHECK(expected.index() == command.index());
        FUZZ_CHECK(payload(expected) == payload(command));
    }
    return 0;
}

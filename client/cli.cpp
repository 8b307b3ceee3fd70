#include "client/cli.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "core/data_dir.hpp"
#include "protocol/validate.hpp"

namespace confab::client {

namespace {

// $USER, made into a valid nick: spaces and control characters become '_', and it is cut
// to the nick limit (at a character boundary); "anon" when nothing usable is left.
std::string default_nick() {
    const char* user = std::getenv("USER");
    std::string nick;
    for (const char* c = user ? user : ""; *c; ++c) {
        const auto b = static_cast<unsigned char>(*c);
        nick += (b <= 0x20 || b == 0x7f) ? '_' : *c;
    }
    while (nick.size() > protocol::max_nick_bytes) {
        // Drop the last character whole: its continuation bytes, then its lead byte.
        while (!nick.empty() && (static_cast<unsigned char>(nick.back()) & 0xc0) == 0x80) {
            nick.pop_back();
        }
        if (!nick.empty()) nick.pop_back();
    }
    return protocol::check_nick(nick).empty() ? nick : "anon";
}

}  // namespace

std::string usage() {
    return "usage: confab [--headless] [--nick NAME] [--listen HOST:PORT] [--join HOST:PORT]...\n"
           "              [--room NAME]... [--invite INVITE]... [--secret-file FILE | --open]\n"
           "              [--data-dir DIR] [--downloads DIR]\n"
           "              [--accept-files] [--max-file-size SIZE] [--upload-limit RATE]\n"
           "              [--log-level error|warn|info|debug]\n"
           "\n"
           "  --headless          read commands from stdin, write JSON events to stdout\n"
           "  --nick NAME         your name in the room (default: $USER)\n"
           "  --listen HOST:PORT  where peers reach you (default 0.0.0.0:7447; port 0: any)\n"
           "  --join HOST:PORT    a peer already in the mesh (repeatable)\n"
           "  --room NAME         a room to chat in (repeatable; default: lobby)\n"
           "  --invite INVITE     join the room of an invite: its secret, and peers to dial\n"
           "                      (repeatable)\n"
           "  --secret-file FILE  each room's secret comes from the passphrase in FILE\n"
           "                      (mode 600)\n"
           "  --open              rooms without a secret: anyone who reaches you can join\n"
           "  --data-dir DIR      identity and known peers (default: "
           "$XDG_DATA_HOME/confab or ~/.local/share/confab)\n"
           "  --downloads DIR     where received files go (default: ~/Downloads/confab)\n"
           "  --accept-files      accept every file offered (for bots and tests)\n"
           "  --max-file-size SIZE  refuse larger offers (default 4G; suffixes k, M, G, T)\n"
           "  --upload-limit RATE  bytes per second per upload, e.g. 10M (default: none)\n"
           "  --max-rate N         new messages a second one author may send through this\n"
           "                       peer, in bursts of 10N; more is dropped (default: 200)\n"
           "  --log-level LEVEL   what goes to stderr (default: info)\n"
           "  --help, --version\n";
}

std::optional<std::uint64_t> parse_size(const std::string& text) {
    if (text.empty() || text.size() > 20) return std::nullopt;
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0) return std::nullopt;
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        if (value > (UINT64_MAX - 9) / 10) return std::nullopt;
        value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    const std::string suffix = text.substr(digits);
    int shift = 0;
    if (suffix == "k" || suffix == "K")
        shift = 10;
    else if (suffix == "M")
        shift = 20;
    else if (suffix == "G")
        shift = 30;
    else if (suffix == "T")
        shift = 40;
    else if (!suffix.empty())
        return std::nullopt;
    if (shift && value > (UINT64_MAX >> shift)) return std::nullopt;
    return value << shift;
}

const core::invite* invite_for_room(const std::vector<core::invite>& invites,
                                    const std::string& room) {
    for (const auto& i : invites) {
        if (i.room == room) return &i;
    }
    return nullptr;
}

cli_result parse_cli(const std::vector<std::string>& args) {
    options o;
    o.rooms.clear();
    bool nick_given = false;
    const auto add_room = [&](const std::string& room) {
        if (std::find(o.rooms.begin(), o.rooms.end(), room) == o.rooms.end())
            o.rooms.push_back(room);
    };
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string flag = args[i];
        std::optional<std::string> inline_value;
        if (auto eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
            inline_value = flag.substr(eq + 1);
            flag.resize(eq);
        }
        auto value = [&]() -> std::optional<std::string> {
            if (inline_value) return inline_value;
            // "--nick --room x" is a forgotten value, not a nick called "--room".
            if (i + 1 < args.size() && !args[i + 1].starts_with("--")) return args[++i];
            return std::nullopt;
        };
        auto fail = [](std::string why) { return cli_result{std::nullopt, std::move(why)}; };

        if (flag == "--headless" || flag == "--help" || flag == "-h" || flag == "--version" ||
            flag == "--accept-files" || flag == "--open") {
            if (inline_value) return fail(flag + " takes no value");
            if (flag == "--headless")
                o.headless = true;
            else if (flag == "--open")
                o.open = true;
            else if (flag == "--accept-files")
                o.accept_files = true;
            else if (flag == "--version")
                o.version = true;
            else
                o.help = true;
            continue;
        }
        if (flag != "--nick" && flag != "--listen" && flag != "--join" && flag != "--room" &&
            flag != "--data-dir" && flag != "--downloads" && flag != "--log-level" &&
            flag != "--max-file-size" && flag != "--upload-limit" && flag != "--invite" &&
            flag != "--secret-file" && flag != "--max-rate") {
            return fail("unknown option \"" + args[i] + "\"");
        }
        auto v = value();
        if (!v) return fail(flag + " needs a value");
        std::string error;
        if (flag == "--nick") {
            if (auto p = protocol::check_nick(*v); !p.empty()) return fail("--nick: " + p);
            o.nick = *v;
            nick_given = true;
        } else if (flag == "--room") {
            if (auto p = protocol::check_room(*v); !p.empty()) return fail("--room: " + p);
            add_room(*v);
        } else if (flag == "--invite") {
            auto parsed = core::parse_invite(*v, &error);
            if (!parsed) return cli_result{std::nullopt, "--invite: " + error, false};
            if (auto* other = invite_for_room(o.invites, parsed->room)) {
                if (other->secret != parsed->secret) {
                    return cli_result{std::nullopt,
                                      "two invites to #" + parsed->room +
                                          " carry different secrets; give the one you trust",
                                      false};
                }
                continue;
            }
            add_room(parsed->room);
            o.invites.push_back(std::move(*parsed));
        } else if (flag == "--secret-file") {
            if (v->empty()) return fail("--secret-file needs a file");
            o.secret_file = *v;
        } else if (flag == "--listen") {
            auto hp = protocol::parse_host_port(*v, &error, /*allow_port_zero=*/true);
            if (!hp) return fail("--listen: " + error);
            o.listen = *hp;
            o.listen_explicit = true;
        } else if (flag == "--join") {
            auto hp = protocol::parse_host_port(*v, &error);
            if (!hp) return fail("--join: " + error);
            o.joins.push_back(*hp);
        } else if (flag == "--data-dir") {
            if (v->empty()) return fail("--data-dir needs a folder");
            o.data_dir = *v;
            o.data_dir_explicit = true;
        } else if (flag == "--downloads") {
            if (v->empty()) return fail("--downloads needs a folder");
            o.downloads = *v;
        } else if (flag == "--max-file-size" || flag == "--upload-limit") {
            auto size = parse_size(*v);
            if (!size) {
                return fail(flag +
                            " must be a number of bytes, optionally with k, M, G or T (got \"" +
                            *v + "\")");
            }
            (flag == "--max-file-size" ? o.max_file_size : o.upload_limit) = *size;
        } else if (flag == "--max-rate") {
            char* end = nullptr;
            errno = 0;
            const unsigned long n = std::strtoul(v->c_str(), &end, 10);
            if (v->empty() || *end != '\0' || errno != 0 || n < 1 || n > 1'000'000 ||
                (*v)[0] == '-' || (*v)[0] == '+') {
                return fail(
                    "--max-rate must be a number of messages a second from 1 to 1000000 "
                    "(got \"" +
                    *v + "\")");
            }
            o.max_rate = static_cast<std::uint32_t>(n);
        } else if (flag == "--log-level") {
            if (!core::parse_log_level(*v, &o.log_level)) {
                return fail("--log-level must be error, warn, info or debug (got \"" + *v + "\")");
            }
            o.log_level_explicit = true;
        }
    }
    if (o.open && (!o.invites.empty() || !o.secret_file.empty())) {
        return {std::nullopt,
                std::string("--open means rooms without a secret; it cannot go with ") +
                    (o.invites.empty() ? "--secret-file" : "--invite")};
    }
    if (!o.invites.empty() && !o.secret_file.empty()) {
        return {std::nullopt,
                "--invite carries its room's secret and --secret-file would give another; use "
                "one of them"};
    }
    for (const auto& invite : o.invites) {
        for (const auto& a : invite.addresses) {
            // Checked by parse_invite already. A hello claims every room, so each invite's
            // peers are contacts for all of them.
            auto hp = protocol::parse_host_port(a, nullptr);
            if (hp && std::find(o.joins.begin(), o.joins.end(), *hp) == o.joins.end()) {
                o.joins.push_back(*hp);
            }
        }
    }
    if (o.rooms.empty()) o.rooms.push_back("lobby");
    if (!nick_given) o.nick = default_nick();
    if (o.data_dir.empty()) o.data_dir = core::default_data_dir();
    if (o.downloads.empty()) o.downloads = core::default_downloads_dir();
    return {o, {}};
}

}  // namespace confab::client

#include "client/room_access.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <algorithm>
#include <system_error>

#include "core/atomic_file.hpp"
#include "core/invite.hpp"
#include "core/log.hpp"
#include "core/room_secret_store.hpp"
#include "protocol/address.hpp"

namespace confab::client {

std::optional<std::string> read_passphrase_file(const std::filesystem::path& file,
                                                std::string* error) {
    const auto fail = [&](std::string why) -> std::optional<std::string> {
        *error = std::move(why);
        return std::nullopt;
    };
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (ec) return fail("cannot read " + file.string() + ": " + ec.message());
    if (size > max_passphrase_bytes) {
        return fail(file.string() + " is " + std::to_string(size) +
                    " bytes; a passphrase file holds one line");
    }
    if (core::readable_by_others(file)) {
        return fail(file.string() +
                    " can be read by other users, and the room's passphrase with "
                    "it; chmod 600 " +
                    file.string());
    }
    std::string text;
    try {
        text = core::read_file(file);
    } catch (const std::system_error& e) {
        return fail(e.what());
    }
    if (text.ends_with('\n')) text.pop_back();
    if (text.ends_with('\r')) text.pop_back();
    if (text.empty()) return fail(file.string() + " is empty; write the room's passphrase in it");
    return text;
}

room_access settle_room(const std::string& room, const room_policy& policy,
                        const core::invite* invite, bool* created) {
    room_access access;
    access.room = room;
    if (policy.open && !invite) {
        access.open = true;
        access.keys = core::open_room_keys(room);
        return access;
    }
    core::room_secret_store store(policy.data_dir);
    const auto remember = [&](const char* from) {
        if (store.remember(access.room, access.secret)) {
            core::log(core::log_level::warn, "rooms", "the secret of #", access.room, " from ",
                      from, " replaces the one in ", store.file().string());
        }
    };
    if (invite) {
        access.secret = invite->secret;
        remember("the invite");
    } else if (policy.passphrase) {
        access.secret = core::stretch_passphrase(*policy.passphrase, room);
        remember("--secret-file");
    } else {
        bool made = false;
        access.secret = store.load_or_create(room, &made);
        if (made) {
            core::log(core::log_level::info, "rooms", "made a new secret for #", access.room,
                      " in ", store.file().string());
        }
        if (created) *created = made;
    }
    access.keys = core::derive_room_keys(access.room, access.secret);
    return access;
}

std::vector<room_access> settle_room_access(const options& opts, const room_policy& policy) {
    std::vector<room_access> out;
    for (const auto& room : opts.rooms) {
        out.push_back(settle_room(room, policy, invite_for_room(opts.invites, room)));
    }
    return out;
}

std::vector<std::string> host_addresses(bool ipv6) {
    std::vector<std::string> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return out;
    for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) {
            continue;
        }
        char text[INET6_ADDRSTRLEN] = {};
        if (i->ifa_addr->sa_family == AF_INET) {
            const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
        } else if (ipv6 && i->ifa_addr->sa_family == AF_INET6) {
            const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr) || IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) {
                continue;
            }
            ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
        } else {
            continue;
        }
        if (std::find(out.begin(), out.end(), text) == out.end()) out.emplace_back(text);
    }
    ::freeifaddrs(list);
    return out;
}

std::vector<std::string> invite_addresses(const std::string& listen,
                                          const std::vector<std::string>& host) {
    auto bound = protocol::parse_host_port(listen, nullptr);
    if (!bound) return {};
    const bool any_v4 = bound->host == "0.0.0.0";
    const bool any_v6 = bound->host == "::";
    if (!any_v4 && !any_v6) return {listen};
    std::vector<std::string> out;
    for (const auto& h : host) {
        if (out.size() == core::max_invite_addresses) break;
        // A socket bound to 0.0.0.0 takes no IPv6; one bound to :: takes both.
        if (any_v4 && h.find(':') != std::string::npos) continue;
        out.push_back(protocol::host_port{h, bound->port}.to_string());
    }
    if (out.empty()) {
        out.push_back(protocol::host_port{any_v4 ? "127.0.0.1" : "::1", bound->port}.to_string());
    }
    return out;
}

std::string invite_for(const room_access& access, const std::string& listen) {
    if (access.open || access.secret.empty()) return {};
    const auto bound = protocol::parse_host_port(listen, nullptr);
    const bool wildcard = bound && (bound->host == "0.0.0.0" || bound->host == "::");
    const auto host = wildcard ? host_addresses(bound->host == "::") : std::vector<std::string>{};
    return core::format_invite({access.room, invite_addresses(listen, host), access.secret});
}

}  // namespace confab::client

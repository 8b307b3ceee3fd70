#include "client/front.hpp"

#include <algorithm>
#include <cctype>

#include "core/invite.hpp"
#include "core/overloaded.hpp"
#include "protocol/validate.hpp"

namespace confab::client {

void front::set_rooms(std::vector<room_access> rooms, room_policy policy) {
    rooms_ = std::move(rooms);
    current_ = 0;
    policy_ = std::move(policy);
}

std::string front::invite_to(const room_access& room) const {
    return listen_.empty() ? std::string() : invite_for(room, listen_);
}

bool front::run_shared(peer::node& node, const command& c) {
    return std::visit(
        core::overloaded{
            [&](const cmd_say& s) { return node.say_in(current().room, s.text), true; },
            [&](const cmd_me& m) { return node.say_in(current().room, m.text, true), true; },
            [&](const cmd_nick& n) { return node.set_nick(n.nick), true; },
            [&](const cmd_peers&) { return node.list_peers(), true; },
            [&](const cmd_connect& k) { return node.connect(k.address), true; },
            [&](const cmd_send& f) { return node.send_file(f.args, current().room), true; },
            [&](const cmd_accept& f) { return node.accept_file(f.id), true; },
            [&](const cmd_reject& f) { return node.reject_file(f.id), true; },
            [&](const cmd_cancel& f) { return node.cancel_file(f.id), true; },
            [&](const cmd_files&) { return node.list_files(), true; },
            [&](const cmd_join& j) { return join(node, j.target), true; },
            [&](const cmd_part& p) { return part(node, p.room), true; },
            [&](const cmd_rooms&) { return on_room_list(), true; },
            [&](const cmd_room& r) { return switch_to(r.room), true; },
            [&](const cmd_invite& i) { return show_invite(i.room), true; },
            [](const auto&) { return false; },
        },
        c);
}

std::size_t front::find(const std::string& room) const {
    for (std::size_t i = 0; i < rooms_.size(); ++i) {
        if (rooms_[i].room == room) return i;
    }
    return std::string::npos;
}

void front::not_in(const std::string& room) {
    on_error("this peer is not in #" + room + "; /join " + room + " first (/rooms lists yours)");
}

void front::join(peer::node& node, const std::string& target) {
    // Every invite starts with "confab1"; anything else names a room.
    std::optional<core::invite> inv;
    std::string room = target;
    if (target.size() > core::invite_prefix.size() &&
        std::equal(
            core::invite_prefix.begin(), core::invite_prefix.end(), target.begin(),
            [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
        std::string error;
        inv = core::parse_invite(target, &error);
        if (!inv) {
            on_error(error);
            return;
        }
        room = inv->room;
    } else if (auto problem = protocol::check_room(room); !problem.empty()) {
        on_error("/join: " + problem);
        return;
    }
    const std::string restart = inv ? "quit and start confab --invite " + core::format_invite(*inv)
                                    : "quit and start confab --room " + room;

    if (const auto at = find(room); at != std::string::npos) {
        const room_access& joined = rooms_[at];
        if (inv && (joined.open || inv->secret != joined.secret)) {
            on_error("the invite is for #" + room + " with another secret than this peer's (" +
                     (joined.open ? "none: it is open" : "it has its own") + "); to use it, " +
                     // /part needs another room to stay in.
                     (shows_several_rooms() && rooms_.size() > 1
                          ? "/part " + room + " and /join the invite again"
                          : restart));
            return;
        }
        if (at != current_) switch_to(room);
        if (!inv) {
            on_notice("already in #" + room);
            return;
        }
        if (inv->addresses.empty()) {
            on_notice("the invite is for #" + room +
                      ", which this peer is in, and names no peer; "
                      "/connect HOST:PORT");
            return;
        }
        std::string list;
        for (const auto& a : inv->addresses) list += (list.empty() ? "" : ", ") + a;
        on_notice("the invite is for #" + room + ", which this peer is in: connecting to " + list);
        for (const auto& a : inv->addresses) {
            if (auto hp = protocol::parse_host_port(a, nullptr)) node.connect(*hp);
        }
        return;
    }
    if (!shows_several_rooms()) {
        on_error("the terminal UI shows one room, #" + current().room + "; to chat in #" + room +
                 ", " + restart + " (the headless front can be in several rooms at once)");
        return;
    }
    bool created = false;
    room_access access;
    try {
        access = settle_room(room, policy_, inv ? &*inv : nullptr, &created);
    } catch (const std::exception& e) {
        on_error("cannot join #" + room + ": " + e.what());
        return;
    }
    std::vector<protocol::host_port> contacts;
    if (inv) {
        for (const auto& a : inv->addresses) {
            if (auto hp = protocol::parse_host_port(a, nullptr)) contacts.push_back(*hp);
        }
    }
    node.join_room(access.keys, contacts);
    rooms_.push_back(std::move(access));
    current_ = rooms_.size() - 1;
    on_joined(current());
    if (created) {
        on_notice("#" + room +
                  " is a new room: no secret for it was known here, so one was made; "
                  "/invite " +
                  room + " shows the invite that lets others in");
    }
}

void front::part(peer::node& node, const std::string& named) {
    const std::string room = named.empty() ? current().room : named;
    const auto at = find(room);
    if (at == std::string::npos) {
        on_error("this peer is not in #" + room + " (/rooms lists yours)");
        return;
    }
    if (rooms_.size() == 1) {
        on_error("#" + room + " is the only room this peer is in; /quit leaves it");
        return;
    }
    node.part_room(room);
    const std::string was_current = current().room;
    rooms_.erase(rooms_.begin() + static_cast<std::ptrdiff_t>(at));
    // The current room stays current; leaving it makes the first room current.
    const auto still = find(was_current);
    current_ = still == std::string::npos ? 0 : still;
    on_parted(room);
}

void front::switch_to(const std::string& room) {
    const auto at = find(room);
    if (at == std::string::npos) {
        not_in(room);
        return;
    }
    current_ = at;
    on_switched(current());
}

void front::show_invite(const std::string& named) {
    const std::string room = named.empty() ? current().room : named;
    const auto at = find(room);
    if (at == std::string::npos) {
        not_in(room);
        return;
    }
    on_invite(rooms_[at]);
}

}  // namespace confab::client

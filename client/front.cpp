#include "client/front.hpp"

#include "core/invite.hpp"
#include "core/overloaded.hpp"

namespace confab::client {

bool run_on_node(peer::node& node, const command& c) {
    return std::visit(core::overloaded{
                          [&](const cmd_say& s) { return node.say(s.text), true; },
                          [&](const cmd_me& m) { return node.say(m.text, true), true; },
                          [&](const cmd_nick& n) { return node.set_nick(n.nick), true; },
                          [&](const cmd_peers&) { return node.list_peers(), true; },
                          [&](const cmd_names& n) { return node.list_members(n.room), true; },
                          [&](const cmd_connect& k) { return node.connect(k.address), true; },
                          [&](const cmd_send& f) { return node.send_file(f.args), true; },
                          [&](const cmd_accept& f) { return node.accept_file(f.id), true; },
                          [&](const cmd_reject& f) { return node.reject_file(f.id), true; },
                          [&](const cmd_cancel& f) { return node.cancel_file(f.id), true; },
                          [&](const cmd_files&) { return node.list_files(), true; },
                          [](const auto&) { return false; },
                      },
                      c);
}

const std::string& front::make_invite(const std::string& listen) {
    invite_ = invite_for(access_, listen);
    return invite_;
}

void front::join(peer::node& node, const cmd_join& j) {
    std::string error;
    const auto inv = core::parse_invite(j.invite, &error);
    if (!inv) {
        on_error(error);
        return;
    }
    const std::string restart = "; quit and start confab --invite " + core::format_invite(*inv);
    if (inv->room != access_.room) {
        on_error("a peer chats in one room, chosen when it starts, and this one is in #" +
                 access_.room + "; to join #" + inv->room + restart);
        return;
    }
    if (access_.open || inv->secret != access_.secret) {
        on_error("the invite is for #" + inv->room + " with another secret than this peer's (" +
                 (access_.open ? "none: it started with --open" : "it started with its own") +
                 "); to use it" + restart);
        return;
    }
    if (inv->addresses.empty()) {
        on_notice("the invite is for this room and names no peer; /connect HOST:PORT");
        return;
    }
    std::string list;
    for (const auto& a : inv->addresses) list += (list.empty() ? "" : ", ") + a;
    on_notice("the invite is for this room: connecting to " + list);
    for (const auto& a : inv->addresses) {
        if (auto hp = protocol::parse_host_port(a, nullptr)) node.connect(*hp);
    }
}

}  // namespace confab::client

#include "client/front.hpp"

#include "core/overloaded.hpp"

namespace confab::client {

bool run_on_node(peer::node& node, const command& c) {
    return std::visit(core::overloaded{
                          [&](const cmd_say& s) { return node.say(s.text), true; },
                          [&](const cmd_me& m) { return node.say(m.text, true), true; },
                          [&](const cmd_nick& n) { return node.set_nick(n.nick), true; },
                          [&](const cmd_peers&) { return node.list_peers(), true; },
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

}  // namespace confab::client

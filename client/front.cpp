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
                          [](const auto&) { return false; },
                      },
                      c);
}

}  // namespace confab::client

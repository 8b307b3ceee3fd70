#pragma once
// What main needs of a front (the terminal UI or the headless JSON-lines one): it hears the
// node's events, reads the user's commands, and says when the user is done. Main thread only.

#include <functional>

#include "client/command.hpp"
#include "peer/event_sink.hpp"
#include "peer/node.hpp"

namespace confab::client {

class front : public peer::event_sink {
public:
    // Starts reading commands. When the user leaves (/quit, end of input) the front shuts the
    // node down and `on_done` runs.
    virtual void start(peer::node& node, std::function<void()> on_done) = 0;
    // A signal: stop reading at once; the caller shuts the node down.
    virtual void stop() = 0;
};

// Runs a command that means the same in every front (a message, /me, /nick, /peers,
// /connect, the file commands) on the node. False for the others (/help, /clear, /quit, errors), which each
// front answers its own way.
bool run_on_node(peer::node& node, const command& c);

}  // namespace confab::client

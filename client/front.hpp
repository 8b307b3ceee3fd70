#pragma once
// What main needs of a front (the terminal UI or the headless JSON-lines one): it hears the
// node's events, reads the user's commands, and says when the user is done. Main thread only.

#include <functional>
#include <string>

#include "client/command.hpp"
#include "client/room_access.hpp"
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

    // The room and its secret, settled by main before the node starts: the ready event shows
    // its invite, and /join and /invite use it.
    void set_room_access(room_access access) { access_ = std::move(access); }

protected:
    const room_access& access() const { return access_; }
    // Makes the invite for the address the node listens on (from on_ready): "" for an open room.
    const std::string& make_invite(const std::string& listen);
    // The invite made at ready ("" before it, and for an open room).
    const std::string& invite() const { return invite_; }
    // /join INVITE. This peer's own room with its secret: dials the invite's addresses. Any
    // other room (or secret): a peer's room is fixed when it starts, so it says how to restart
    // into it. Answers through on_notice and on_error.
    void join(peer::node& node, const cmd_join& j);

private:
    room_access access_;
    std::string invite_;
};

// Runs a command that means the same in every front (a message, /me, /nick, /peers, /names,
// /connect, the file commands) on the node. False for the others (/help, /clear, /quit, errors), which each
// front answers its own way.
bool run_on_node(peer::node& node, const command& c);

}  // namespace confab::client

#pragma once
// What main needs of a front (the terminal UI or the headless JSON-lines one): it hears the
// node's events, reads the user's commands, and says when the user is done. The rooms the user
// is in, and which of them plain text goes to, are kept here for both fronts. Main thread only.

#include <functional>
#include <string>
#include <vector>

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

    // The rooms the node starts in (at least one; the first is the current room), and where
    // the secret of a room joined by name later comes from. Set by main before the node
    // starts: the ready event shows the first room's invite.
    void set_rooms(std::vector<room_access> rooms, room_policy policy);

protected:
    // The room plain text, /me and /send go to.
    const room_access& current() const { return rooms_[current_]; }
    const std::vector<room_access>& rooms() const { return rooms_; }
    // The address the node listens on (from on_ready), for invites.
    void set_listen(const std::string& listen) { listen_ = listen; }
    // The invite to `room` at our address; "" for an open room.
    std::string invite_to(const room_access& room) const;
    // Runs a command that means the same in every front: a message or /me (to the current
    // room), /nick, /peers, /connect, the file commands, and the room commands (/join, /part,
    // /rooms, /room, /invite). False for the others (/help, /clear, /quit, errors), which each
    // front answers its own way.
    bool run_shared(peer::node& node, const command& c);

    // How a front shows what the room commands did.
    virtual void on_joined(const room_access& room) = 0;    // joined, and now current
    virtual void on_parted(const std::string& room) = 0;    // current() is the room now
    virtual void on_switched(const room_access& room) = 0;  // /room: now current
    virtual void on_room_list() = 0;                        // /rooms: rooms() and current()
    virtual void on_invite(const room_access& room) = 0;    // /invite
    // False for a front that shows one room (the terminal UI, until it has tabs): joining
    // another room, /part and /room then say how to do it instead.
    virtual bool shows_several_rooms() const { return true; }

private:
    // /join INVITE or /join ROOM: joins the room (secret from the invite, else as the policy
    // says) and makes it current. The current room with its own secret: dials the invite's
    // addresses.
    void join(peer::node& node, const std::string& target);
    void part(peer::node& node, const std::string& room);
    void switch_to(const std::string& room);
    void show_invite(const std::string& room);
    // The index of a joined room, or npos.
    std::size_t find(const std::string& room) const;
    // "not in #x; ..." for a room that was named but is not joined.
    void not_in(const std::string& room);

    std::vector<room_access> rooms_;
    std::size_t current_ = 0;
    room_policy policy_;
    std::string listen_;
};

}  // namespace confab::client

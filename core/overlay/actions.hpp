#pragma once
// What a room's overlay state machines (membership, broadcast) take in and ask for. They never
// touch a socket, a clock or a file: the driver (peer/node, or the simulator in tests/sim)
// passes `now` in and carries out the actions they return. Any thread, one owner.

#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "protocol/overlay_frames.hpp"

namespace confab::core::overlay {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using peer_id = std::string;
// A chat frame as received (length prefix included), shared by every link that sends it.
using frame_ptr = std::shared_ptr<const std::string>;

// The small frames the state machines build themselves.
using overlay_frame =
    std::variant<protocol::join, protocol::forward_join, protocol::neighbor, protocol::disconnect,
                 protocol::shuffle, protocol::shuffle_reply, protocol::ihave, protocol::graft,
                 protocol::prune>;

// Send this overlay frame to a peer the room has a link to.
struct send_frame {
    peer_id to;
    overlay_frame frame;
};
// Send a chat message's frame, unchanged, to a peer the room has a link to.
struct forward_chat {
    peer_id to;
    frame_ptr frame;
};
// Open a link to this peer on which both ends prove the room (or use the one there is), then
// report link_up or connect_failed.
struct connect_peer {
    protocol::peer_address peer;
};
// The room no longer needs its link to this peer; the driver closes the link when no other
// room uses it. Any frame sent to the peer before this goes out first.
struct release_peer {
    peer_id peer;
};
// The peer entered or left the room's active view (the neighbours the room's messages flow
// through).
struct neighbor_up {
    peer_id peer;
};
struct neighbor_down {
    peer_id peer;
};

using action =
    std::variant<send_frame, forward_chat, connect_peer, release_peer, neighbor_up, neighbor_down>;
using actions = std::vector<action>;

}  // namespace confab::core::overlay

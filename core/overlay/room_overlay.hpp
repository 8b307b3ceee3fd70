#pragma once
// One room's overlay: its membership (HyParView) and its broadcast (Plumtree) wired together.
// The driver feeds it link events, overlay frames and chat messages that passed its gate, and
// carries out the actions it returns. Pure; one owner, any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/overlay/broadcast.hpp"
#include "core/overlay/membership.hpp"

namespace confab::core::overlay {

struct overlay_config {
    membership_config membership;
    broadcast_config broadcast;
};

class room_overlay {
public:
    // `room`: the room's public id, which every overlay frame of the room carries.
    room_overlay(peer_id self, std::string room, overlay_config config, std::uint64_t seed);

    void add_known(const std::vector<protocol::peer_address>& peers, time_point now,
                   actions& out);
    void link_up(const peer_id& peer, const std::string& addr, bool contact, time_point now,
                 actions& out);
    void link_down(const peer_id& peer, time_point now, actions& out);
    void connect_failed(const peer_id& peer, time_point now, actions& out);
    // An overlay frame of this room from a peer it has a link to.
    void on_frame(const peer_id& from, const overlay_frame& frame, time_point now, actions& out);

    // A message this peer wrote; `frame` says hops 0.
    void publish(const std::string& id, frame_ptr frame, time_point now, actions& out);
    // A new chat message of this room by `author`, after the gate, `hops` from its author;
    // `frame` is the one to forward (saying `hops`).
    void on_new_chat(const peer_id& from, const std::string& id, const peer_id& author,
                     frame_ptr frame, std::uint32_t hops, time_point now, actions& out);
    // A copy of a chat message by `author` already received.
    void on_duplicate_chat(const peer_id& from, const peer_id& author, actions& out);
    // The broadcast keeps `author`'s message `id` for new neighbours (broadcast::keep).
    void keep(const peer_id& author, const std::string& id) { broadcast_.keep(author, id); }
    void unkeep(const peer_id& author) { broadcast_.unkeep(author); }

    void leave(actions& out);
    void tick(time_point now, actions& out);
    std::optional<time_point> next_wake() const;

    const membership& members() const { return membership_; }
    const broadcast& tree() const { return broadcast_; }
    const std::string& room() const { return membership_.room(); }

private:
    // Tells the broadcast about neighbours the membership added or dropped in out[from..].
    void follow_membership(actions& out, std::size_t from, time_point now);

    peer_id self_;
    membership membership_;
    broadcast broadcast_;
};

// The room id an overlay frame names.
const std::string& room_of(const overlay_frame& frame);

}  // namespace confab::core::overlay

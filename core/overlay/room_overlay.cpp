#include "core/overlay/room_overlay.hpp"

namespace confab::core::overlay {

room_overlay::room_overlay(peer_id self, std::string room, overlay_config config,
                           std::uint64_t seed)
    : self_(self),
      membership_(std::move(self), room, config.membership, seed),
      broadcast_(std::move(room), config.broadcast) {}

void room_overlay::follow_membership(actions& out, std::size_t from, time_point now) {
    for (std::size_t i = from; i < out.size(); ++i) {
        if (const auto* up = std::get_if<neighbor_up>(&out[i])) {
            broadcast_.neighbor_up(up->peer, now);
        } else if (const auto* down = std::get_if<neighbor_down>(&out[i])) {
            broadcast_.neighbor_down(down->peer);
        }
    }
}

void room_overlay::add_known(const std::vector<protocol::peer_address>& peers, time_point now,
                             actions& out) {
    const auto first = out.size();
    membership_.add_known(peers, now, out);
    follow_membership(out, first, now);
}

void room_overlay::link_up(const peer_id& peer, const std::string& addr, bool contact,
                           time_point now, actions& out) {
    const auto first = out.size();
    membership_.link_up(peer, addr, contact, now, out);
    follow_membership(out, first, now);
}

void room_overlay::link_down(const peer_id& peer, time_point now, actions& out) {
    const auto first = out.size();
    membership_.link_down(peer, now, out);
    follow_membership(out, first, now);
    broadcast_.neighbor_down(peer);  // also when it was never a neighbour: pending grafts
}

void room_overlay::connect_failed(const peer_id& peer, time_point now, actions& out) {
    const auto first = out.size();
    membership_.connect_failed(peer, now, out);
    follow_membership(out, first, now);
}

void room_overlay::on_frame(const peer_id& from, const overlay_frame& frame, time_point now,
                            actions& out) {
    const auto first = out.size();
    if (std::holds_alternative<protocol::ihave>(frame) ||
        std::holds_alternative<protocol::graft>(frame) ||
        std::holds_alternative<protocol::prune>(frame)) {
        broadcast_.on_frame(from, frame, now, out);
    } else {
        membership_.on_frame(from, frame, now, out);
    }
    follow_membership(out, first, now);
}

void room_overlay::publish(const std::string& id, frame_ptr frame, time_point now,
                           actions& out) {
    broadcast_.publish(id, self_, std::move(frame), now, out);
}

void room_overlay::on_new_chat(const peer_id& from, const std::string& id, const peer_id& author,
                               frame_ptr frame, std::uint32_t hops, time_point now,
                               actions& out) {
    broadcast_.on_new(from, id, author, std::move(frame), hops, now, out);
}

void room_overlay::on_duplicate_chat(const peer_id& from, const peer_id& author, actions& out) {
    broadcast_.on_duplicate(from, author, out);
}

void room_overlay::leave(actions& out) {
    const auto first = out.size();
    membership_.leave(out);
    follow_membership(out, first, time_point{});
}

void room_overlay::tick(time_point now, actions& out) {
    const auto first = out.size();
    membership_.tick(now, out);
    broadcast_.tick(now, out);
    follow_membership(out, first, now);
}

std::optional<time_point> room_overlay::next_wake() const {
    auto a = membership_.next_wake();
    auto b = broadcast_.next_wake();
    if (!a) return b;
    if (!b) return a;
    return std::min(*a, *b);
}

const std::string& room_of(const overlay_frame& frame) {
    return std::visit([](const auto& f) -> const std::string& { return f.room; }, frame);
}

}  // namespace confab::core::overlay

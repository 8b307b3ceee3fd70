#pragma once
// HyParView membership for one room (Leitão, Pereira, Rodrigues, DSN 2007): a small active view
// of neighbours that messages flow through, kept symmetric and repaired from a larger passive
// view of peers known to be in the room. Pure: `now` and the random seed come in, actions
// (actions.hpp) go out. One owner, any thread.
//
// Where this differs from the paper, and why:
// - A shuffle's answer travels back along the random walk, hop by hop, instead of over a new
//   connection to the walk's origin: no TCP and TLS handshake per shuffle, same mixing.
// - A peer whose link failed is not forgotten but retried, with back-off, as a high-priority
//   neighbour: when a network split heals, that is how the two halves find each other again.
// - The active view has one slot of slack (active_max): see membership_config.
// - A peer short of neighbours refills from the passive view at once, but after each refusal
//   (a full peer) waits twice as long before asking again, so that a crowd of full peers is not
//   asked again and again.
// - Every peer heard of is also kept in a larger list of known peers (an address book): a
//   peer whose passive view has run dry (its entries failed or became neighbours) refills from
//   it, so that a few peers left with only each other find the rest of the room again.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/overlay/actions.hpp"

namespace confab::core::overlay {

struct membership_config {
    // A peer fills its active view up to active_size by itself, and takes up to active_max
    // when asked: the peers still short of neighbours then always find one with room, so no
    // group of them stays cut off from the rest.
    std::size_t active_size = 5;
    std::size_t active_max = 6;
    std::size_t passive_size = 30;
    std::uint8_t active_walk = 6;   // forward_join's first ttl (ARWL)
    std::uint8_t passive_walk = 3;  // at this ttl the walked peer enters the passive view (PRWL)
    clock::duration shuffle_every = std::chrono::seconds(30);  // with jitter: 0.5..1.5 x
    std::size_t shuffle_active = 3;                            // active peers in a shuffle
    std::size_t shuffle_passive = 4;                           // passive peers in a shuffle
    std::uint8_t shuffle_walk = 4;                             // a shuffle's ttl
    // A hop remembers where a shuffle came from this long, for its answer to go back, and
    // remembers at most this many.
    clock::duration shuffle_route_for = std::chrono::seconds(10);
    std::size_t max_shuffle_routes = 256;
    // A link the other end opened for this room, on which it says nothing membership-wise
    // within this time, is released.
    clock::duration claim_timeout = std::chrono::seconds(10);
    // A connect the driver has not answered within this time counts as failed.
    clock::duration connect_timeout = std::chrono::seconds(20);
    std::size_t max_pending = 2;  // connects in flight
    clock::duration refill_first = std::chrono::seconds(1);
    clock::duration refill_max = std::chrono::seconds(60);
    // Peers whose link failed: retried as high-priority neighbours, from retry_first doubling
    // to retry_max; at most max_unreachable, each forgotten after forget_after.
    clock::duration retry_first = std::chrono::seconds(5);
    clock::duration retry_max = std::chrono::seconds(30);
    std::size_t max_unreachable = 32;
    std::size_t max_known = 256;
    clock::duration forget_after = std::chrono::minutes(30);
};

class membership {
public:
    membership(peer_id self, std::string room, membership_config config, std::uint64_t seed);

    // Peers known to be in the room (an address book, peer exchange): kept as passive peers.
    void add_known(const std::vector<protocol::peer_address>& peers, time_point now,
                   actions& out);
    // A link on which both ends proved the room is up. `addr`: where the peer listens ("" when
    // it does not). `contact`: the driver dialled it to enter the room (an address the user or
    // an invite named); otherwise it is a link this machine asked for, or the other end opened.
    void link_up(const peer_id& peer, const std::string& addr, bool contact, time_point now,
                 actions& out);
    // The link is gone (closed, failed, or the room released on it).
    void link_down(const peer_id& peer, time_point now, actions& out);
    // A connect_peer could not be carried out.
    void connect_failed(const peer_id& peer, time_point now, actions& out);
    // A membership frame from a peer the room has a link to.
    void on_frame(const peer_id& from, const overlay_frame& frame, time_point now, actions& out);
    // Leaves the room: tells every neighbour, releases every link.
    void leave(actions& out);
    void tick(time_point now, actions& out);
    std::optional<time_point> next_wake() const;

    const std::vector<peer_id>& active() const { return active_; }
    bool is_active(const peer_id& peer) const;
    // True while the room needs its link to `peer`: a neighbour, asked to be one, or a link
    // the other end opened that has not said what for yet.
    bool uses(const peer_id& peer) const {
        return is_active(peer) || pending_.count(peer) || unclaimed_.count(peer);
    }
    std::vector<protocol::peer_address> passive() const { return passive_; }
    std::size_t pending() const { return pending_.size(); }
    const std::string& room() const { return room_; }

private:
    struct pending_connect {
        std::string addr;
        bool high = false;
        time_point since;
    };
    struct unreachable_peer {
        protocol::peer_address peer;
        time_point next_try;
        clock::duration delay;
        time_point since;
    };

    void add_active(const peer_id& peer, time_point now, actions& out);
    void remove_active(const peer_id& peer, actions& out);
    void drop_random_active(actions& out);
    void add_passive(const protocol::peer_address& peer);
    void add_known_peer(const protocol::peer_address& peer);
    void remove_passive(const peer_id& peer);
    void mark_unreachable(const peer_id& peer, time_point now);
    // Asks for `peer` as a neighbour: on the link there is, or by a new one.
    void request(const protocol::peer_address& peer, bool high, time_point now, actions& out);
    void refill(time_point now, actions& out);
    void shuffle_now(time_point now, actions& out);
    void on_shuffle(const peer_id& from, const protocol::shuffle& s, time_point now,
                    actions& out);
    void integrate(const std::vector<protocol::peer_address>& peers);
    std::vector<protocol::peer_address> sample(std::size_t from_active, std::size_t from_passive,
                                               const peer_id& except);
    std::string address_of(const peer_id& peer) const;
    clock::duration jitter(clock::duration d);
    template <class T>
    T* pick(std::vector<T>& v) {
        if (v.empty()) return nullptr;
        return &v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng_)];
    }

    peer_id self_;
    std::string room_;
    membership_config config_;
    std::mt19937_64 rng_;

    std::vector<peer_id> active_;
    std::vector<protocol::peer_address> passive_;
    std::unordered_map<peer_id, std::string> linked_;  // links up for the room -> address
    std::unordered_map<peer_id, pending_connect> pending_;
    std::unordered_map<peer_id, time_point> unclaimed_;  // opened by the other end, silent yet
    std::vector<unreachable_peer> unreachable_;
    std::vector<protocol::peer_address> known_;  // every peer heard of, newest last
    struct shuffle_route {
        peer_id back;  // "" : ours
        time_point until;
    };
    std::unordered_map<std::uint64_t, shuffle_route> shuffle_routes_;
    // Low-priority neighbor requests we sent, and when: a disconnect soon after is a refusal.
    std::unordered_map<peer_id, time_point> asked_;
    bool joined_ = false;  // a join went to a contact
    time_point next_shuffle_{};
    time_point next_refill_{};
    clock::duration refill_delay_;
};

}  // namespace confab::core::overlay

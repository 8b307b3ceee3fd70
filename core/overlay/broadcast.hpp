#pragma once
// Plumtree broadcast for one room (Leitão, Pereira, Rodrigues, SRDS 2007): each message is
// pushed whole along a spanning tree of the room's active view (eager links) and announced by
// id on the others (lazy links, `ihave`, batched). A peer that hears of an id it lacks and
// does not receive it in time asks for it (`graft`), which also makes that link eager again; a
// copy that arrives twice prunes the link it came by. The tree forms from the first messages
// and repairs itself as links change. Pure: `now` comes in, actions (actions.hpp) go out.
//
// One tree for every author would be a random spanning tree, as deep as the room is wide
// (about 17 hops at 200 peers in tests/sim, against 7 for one author's own). So each author
// that writes gets a tree of its own, copied from the last author's when its first message
// passes (a spanning tree, where the shared one may have holes), then pruned, grafted and
// shortened (a lazy neighbour that announces a message
// `optimize_after_hops` hops closer to its author takes the eager one's place) for that author
// alone (the closer neighbour is grafted; the later copies prune the old path). The shared
// tree learns from every message and starts each new author's.
// A prune and a push can cross on a link (a busy peer, copies that come first by another path
// from one message to the next); both ends of the link then see it differently, and a peer
// could be left with no neighbour pushing it an author's messages. So a push that crossed a
// prune, and a prune from the neighbour the author's latest message came by, are answered
// with a graft.
// Whether a message is new is the caller's to say (its chat gate checks it first). One owner,
// any thread.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/overlay/actions.hpp"

namespace confab::core::overlay {

struct broadcast_config {
    // Ids for lazy links are gathered this long and sent as one ihave: on a quiet tree they
    // are only insurance, and each frame costs both ends a TLS record and a wake-up.
    clock::duration ihave_every = std::chrono::milliseconds(250);
    // An announced id not received this long after the first ihave is grafted from the
    // announcer; then from the next one, this often.
    clock::duration graft_first = std::chrono::milliseconds(250);
    clock::duration graft_next = std::chrono::milliseconds(150);
    // Messages are kept this long, and at most this many bytes, to answer grafts...
    clock::duration cache_for = std::chrono::seconds(30);
    std::size_t cache_bytes = 4 * 1024 * 1024;
    // ... and a neighbour that comes up hears the ids of those received in this window (at
    // most catch_up_ids, the newest), so that a message in flight while links changed, or
    // written while a part of the room was cut off, still reaches it.
    clock::duration catch_up = std::chrono::seconds(30);
    std::size_t catch_up_ids = 2048;
    // A lazy neighbour that announces a message this many hops closer to its author than the
    // eager copy came swaps places with the eager one: the tree tends to shortest paths.
    std::uint32_t optimize_after_hops = 6;
    // Ids remembered as received (to ignore ihave for them), and for how long.
    std::size_t remember_ids = 100'000;
    clock::duration remember_for = std::chrono::minutes(5);
    // Ids waited for at once, and peers remembered per id as having it.
    std::size_t max_missing = 10'000;
    // Authors with a tree of their own; past this, the one that wrote least recently loses it.
    std::size_t max_author_trees = 1024;
    std::size_t max_announcers = 8;
    // Messages kept past the cache (keep()): one per author, at most this many (the member
    // list keeps up to 1000 members a room, and this peer).
    std::size_t max_kept = 1024;
};

class broadcast {
public:
    broadcast(std::string room, broadcast_config config);

    void neighbor_up(const peer_id& peer, time_point now);
    void neighbor_down(const peer_id& peer);

    // A message this peer (`author`) wrote: to every neighbour. `frame` says hops 0.
    void publish(const std::string& id, const peer_id& author, frame_ptr frame, time_point now,
                 actions& out);
    // A chat message from `from` that the caller's gate accepted as new, which came `hops`
    // hops from its author (the frame's hops + 1). `frame` is what to forward: the same
    // message, saying `hops`.
    void on_new(const peer_id& from, const std::string& id, const peer_id& author,
                frame_ptr frame, std::uint32_t hops, time_point now, actions& out);
    // A copy of a message by `author` already received.
    void on_duplicate(const peer_id& from, const peer_id& author, actions& out);
    // Keeps the message `id` (received or published, so still cached) as `author`'s one kept
    // message, in place of the one before, past the cache and until unkeep(): every neighbour
    // that comes up hears its id in the catch-up `ihave`, and may graft it. The room's member
    // list keeps each member's latest presence so, for newcomers to see who is in the room.
    void keep(const peer_id& author, const std::string& id);
    void unkeep(const peer_id& author);
    std::size_t kept_count() const { return kept_.size(); }
    void on_frame(const peer_id& from, const overlay_frame& frame, time_point now, actions& out);
    void tick(time_point now, actions& out);
    std::optional<time_point> next_wake() const;

    bool has(const std::string& id) const { return received_.count(id) > 0; }
    // In the shared tree.
    bool is_eager(const peer_id& peer) const { return shared_.eager.count(peer) > 0; }
    bool is_lazy(const peer_id& peer) const { return shared_.lazy.count(peer) > 0; }
    std::size_t eager_count() const { return shared_.eager.size(); }
    std::size_t authors() const { return by_author_.size(); }
    // How a neighbour's link serves `author`'s messages here.
    enum class role { none, eager, lazy };
    role role_of(const peer_id& peer, const peer_id& author) const;
    std::size_t missing_count() const { return missing_.size(); }
    std::size_t cached_bytes() const { return cache_bytes_; }

private:
    struct cached {
        frame_ptr frame;
        time_point at;
        std::uint32_t hops = 0;
        peer_id from;  // who pushed it to us; "" for our own
        peer_id author;
    };
    struct tree {
        std::unordered_set<peer_id> eager;
        std::unordered_set<peer_id> lazy;
        std::uint64_t used = 0;  // when its author last wrote, in messages received
        peer_id parent;          // who pushed its author's latest message here first
    };
    struct missing_message {
        std::vector<peer_id> announcers;  // who said it has the message, in order
        time_point deadline;
    };

    void push(const std::string& id, cached entry, time_point now, actions& out);
    void remember(const std::string& id, cached entry);
    void on_ihave(const peer_id& from, const protocol::ihave& have, time_point now, actions& out);
    tree& tree_of(const peer_id& author);
    // In the shared tree and `author`'s ("" : every author's).
    void make_eager(const peer_id& peer, const peer_id& author);
    void make_lazy(const peer_id& peer, const peer_id& author);
    bool is_neighbour(const peer_id& peer) const {
        return shared_.eager.count(peer) || shared_.lazy.count(peer);
    }
    void flush_ihave(actions& out);
    void expire(time_point now);

    std::string room_;
    broadcast_config config_;

    tree shared_;
    std::unordered_map<peer_id, tree> by_author_;
    std::uint64_t pushed_ = 0;
    peer_id last_author_;  // whose message was pushed last
    struct announcement {
        std::string id;
        std::uint32_t hops;
    };
    std::unordered_map<peer_id, std::vector<announcement>> ihave_queue_;
    time_point next_ihave_{};

    std::unordered_map<std::string, cached> cache_;
    std::deque<std::string> cache_order_;  // oldest first
    std::size_t cache_bytes_ = 0;
    std::unordered_set<std::string> received_;
    std::deque<std::pair<time_point, std::string>> received_order_;
    std::unordered_map<std::string, missing_message> missing_;
    std::unordered_map<std::string, cached> kept_;          // by message id
    std::unordered_map<peer_id, std::string> kept_by_author_;  // the id each author has kept
};

}  // namespace confab::core::overlay

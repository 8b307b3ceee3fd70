#pragma once
// The frames of a room's overlay (docs/protocol.md "Rooms as overlays"): HyParView membership
// (join, forward_join, neighbor, disconnect, shuffle, shuffle_reply) and Plumtree broadcast
// (ihave, graft, prune). Each names the room it belongs to by the room's public id, and is
// valid only on a link on which both ends proved that room. Pure data.

#include <cstdint>
#include <string>
#include <vector>

namespace confab::protocol {

// A peer as another peer can reach it: its id and its listening address "HOST:PORT".
struct peer_address {
    std::string peer_id;
    std::string addr;
    friend bool operator==(const peer_address&, const peer_address&) = default;
};

// Limits on what one overlay frame may carry.
inline constexpr std::size_t max_walk_length = 8;       // forward_join.ttl
inline constexpr std::size_t max_shuffle_peers = 16;    // shuffle / shuffle_reply .peers
inline constexpr std::size_t max_ids_per_frame = 256;   // ihave / graft .ids

// The sender is new to the room: add it to your active view and walk it into the overlay.
struct join {
    std::string room;
    friend bool operator==(const join&, const join&) = default;
};

// A newcomer's random walk: `ttl` hops left.
struct forward_join {
    std::string room;
    peer_address peer;
    std::uint8_t ttl = 0;
    friend bool operator==(const forward_join&, const forward_join&) = default;
};

// Take the sender into your active view. `high`: the sender has no other neighbour in the
// room, so the receiver must accept even when full (it drops one of its own).
struct neighbor {
    std::string room;
    bool high = false;
    friend bool operator==(const neighbor&, const neighbor&) = default;
};

// The sender has dropped the receiver from its active view (or refused its neighbor request).
// `alive`: the sender stays in the room, so the receiver may keep it as a passive peer.
struct disconnect {
    std::string room;
    bool alive = true;
    friend bool operator==(const disconnect&, const disconnect&) = default;
};

// A sample of its origin's views on a random walk of `ttl` more hops; where the walk ends,
// the receiver keeps the sample and answers with one of its own, which travels back the way
// the walk came (each hop remembers `id` for a while). A shuffle_reply with id 0 is a sample a
// contact sends the newcomer it has just taken in.
struct shuffle {
    std::string room;
    std::uint64_t id = 0;
    std::uint8_t ttl = 0;
    std::vector<peer_address> peers;
    friend bool operator==(const shuffle&, const shuffle&) = default;
};
struct shuffle_reply {
    std::string room;
    std::uint64_t id = 0;
    std::vector<peer_address> peers;
    friend bool operator==(const shuffle_reply&, const shuffle_reply&) = default;
};

// Ids of chat messages the sender has (lazy push), each with how many hops from its author the
// sender got it (`hops[i]` for `ids[i]`).
struct ihave {
    std::string room;
    std::vector<std::string> ids;
    std::vector<std::uint32_t> hops;
    friend bool operator==(const ihave&, const ihave&) = default;
};

// Send me these messages (none: just the ones to come), and push to me eagerly from now on:
// the messages of `author`, or of every author when it is "".
struct graft {
    std::string room;
    std::vector<std::string> ids;
    std::string author;
    friend bool operator==(const graft&, const graft&) = default;
};

// You sent me a copy I already had: send me only ids (ihave) from now on, for the messages of
// `author`, or of every author when it is "".
struct prune {
    std::string room;
    std::string author;
    friend bool operator==(const prune&, const prune&) = default;
};

}  // namespace confab::protocol

#pragma once
// Who is in a room: the members that announced themselves there with presence envelopes
// (docs/protocol.md, "Presence"), as opposed to the few neighbours the overlay links this peer
// to. Fed the presence envelopes the chat gate accepted, it reports members joining, leaving
// (said so, or silent too long) and changing nick; it also says when this peer should announce
// itself. Pure: `now` (and the wall clock, for what the user reads) come in, changes go out.
// One owner, any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/presence.hpp"

namespace confab::core {

struct member_list_config {
    // Each member says "here" this often (times 0.9..1.1, so that a room's members do not
    // announce in step) ...
    std::chrono::steady_clock::duration announce_every = std::chrono::seconds(60);
    // ... and one unheard for this many intervals is gone.
    int silent_intervals = 3;
    // Members listed per room (this peer aside); presence of more is ignored, so that keys
    // made up by the thousand cost a bounded list (and hand-over, and event stream).
    std::size_t max_members = 1000;
};

// Why a member is no longer listed.
enum class member_gone {
    left,     // it said "leave" (parted the room, or shut down)
    timeout,  // nothing heard for silent_intervals intervals
};
// "left", "timeout": the wire spelling of the headless front's member_leave reason.
std::string_view to_string(member_gone reason);

struct member {
    std::string peer_id;
    std::string nick;
    std::int64_t last_seen = 0;  // ms since the Unix epoch (our clock): when last heard
};

struct member_change {
    enum class kind { join, leave, nick };
    kind what = kind::join;
    member who;
    member_gone reason = member_gone::left;  // for leave
    std::string old_nick;                    // for nick
};

// What the list needs of an accepted presence envelope.
struct presence_note {
    std::string author;
    std::string nick;
    std::uint64_t seq = 0;  // orders one author's presence: an older one arriving late is stale
    protocol::presence what = protocol::presence::here;
};

class member_list {
public:
    using clock = std::chrono::steady_clock;

    // `self`: this peer's id (its own presence is not listed here; the caller adds itself).
    member_list(std::string self, member_list_config config, std::uint64_t seed);

    // A presence envelope of the room that the chat gate accepted. True when it is now its
    // author's latest (a join or here that was taken): the one to hand to new neighbours.
    bool on_presence(const presence_note& p, clock::time_point now, std::int64_t wall_ms,
                     std::vector<member_change>& out);
    // Members silent for silent_intervals intervals are gone.
    void expire(clock::time_point now, std::vector<member_change>& out);

    // The room got a neighbour: when it had none, this peer announces "join" now. A room
    // without neighbours announces nothing (nobody would hear it).
    void linked(clock::time_point now);
    void unlinked();
    // Announce soon (a new nick), when linked.
    void announce_now(clock::time_point now);
    // What this peer should announce now, if anything; the next one is then scheduled.
    std::optional<protocol::presence> announcement(clock::time_point now);

    // When expire() or announcement() next has something to do.
    std::optional<clock::time_point> next_wake() const;
    // Every member but this peer, by nick then peer id.
    std::vector<member> members() const;
    std::size_t size() const { return members_.size(); }
    clock::duration timeout() const { return config_.announce_every * config_.silent_intervals; }

private:
    struct entry {
        std::string nick;
        std::uint64_t seq = 0;
        clock::time_point heard;
        std::int64_t last_seen = 0;
    };
    // A member gone: its presence up to `seq` is stale until `until` (copies still in flight,
    // or handed over by peers that have not heard it left).
    struct tombstone {
        std::uint64_t seq = 0;
        clock::time_point until;
    };
    void bury(const std::string& peer, std::uint64_t seq, clock::time_point now);
    clock::duration jittered_interval();

    std::string self_;
    member_list_config config_;
    std::mt19937_64 rng_;
    std::map<std::string, entry> members_;  // by peer id
    std::map<std::string, tombstone> gone_;
    std::optional<clock::time_point> next_announce_;  // set while linked
    bool join_due_ = false;                           // the next announcement is "join"
};

}  // namespace confab::core

#pragma once
// Counters a peer keeps since it started, for /stats and bench/run. Main thread only.
//
// The links count, not the node: each link adds what it reads and writes to the node's one
// node_stats as it goes, so the figures survive links closing and do not depend on how the
// node decides what to do with a frame.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace confab::peer {

struct node_stats {
    // Bytes on neighbour links at the TLS payload level: frames with their 4-byte length
    // prefix, hello and refusals included; TLS records, TCP and IP headers not.
    std::uint64_t bytes_received = 0;
    std::uint64_t bytes_sent = 0;
    // Every frame decoded from a neighbour, whatever became of it (dropped over the frame
    // rate, skipped as a copy, refused), and every frame written to one.
    std::uint64_t frames_received = 0;
    std::uint64_t frames_sent = 0;
    // Frames parsed, by their "type" field ("chat", "ping", ...). Only known types get here,
    // so the map stays small; the rest count under "unknown".
    std::map<std::string, std::uint64_t, std::less<>> received_by_type;
    // Frames for a room the link was not proven for (each closed that link).
    std::uint64_t frames_not_proven = 0;

    // Chat frames read from any link, copies included: what a broadcast costs a peer.
    std::uint64_t chat_frames_received() const {
        auto it = received_by_type.find("chat");
        return it == received_by_type.end() ? 0 : it->second;
    }
};

}  // namespace confab::peer

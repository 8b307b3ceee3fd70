#pragma once
// Many peers' real overlay state machines (core/overlay) in one process, over a simulated
// network: per-pair latency, links that keep order like TCP, lost segments that arrive late
// (a retransmission), crashes, and partitions that cut links silently until keepalive notices.
// Deterministic from its seed; time is simulated, so a minute takes milliseconds.
// Test thread only.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/overlay/room_overlay.hpp"

namespace confab::sim {

using namespace std::chrono_literals;
using core::overlay::clock;
using core::overlay::time_point;
using duration = clock::duration;

struct sim_config {
    std::uint64_t seed = 1;
    duration min_latency = 1ms;  // one way, fixed per pair of peers
    duration max_latency = 20ms;
    // Up to this much more per frame, drawn afresh for each (a busy peer's scheduling delay):
    // which copy of a message comes first then varies from message to message.
    duration jitter = 0ms;
    double loss = 0.0;                // chance that a frame's segment is lost once ...
    duration retransmit_after = 200ms;  // ... and arrives this much later (TCP's RTO)
    duration dial_timeout = 5s;         // a connect into a cut: no answer
    duration keepalive_detects = 45s;   // a cut link is noticed by both ends after this
    core::overlay::overlay_config overlay;
};

// What happened to one message.
struct message_record {
    int author = -1;
    time_point written;
    std::vector<int> hops;                  // per node: -1 until delivered
    std::vector<time_point> delivered_at;   // per node
    std::vector<int> copies;                // per node: copies received
};

class simulator {
public:
    simulator(std::size_t nodes, sim_config config);

    std::size_t size() const { return nodes_.size(); }
    time_point now() const { return now_; }
    bool alive(int node) const { return nodes_[node].alive; }

    // Node `node` enters the room through `contact` (as a peer started with --join does).
    void join(int node, int contact);
    // Every node i > 0 joins through a random earlier one, `stagger` apart.
    void join_all(duration stagger);
    // Runs every event up to now() + d.
    void run_for(duration d);

    // Node `author` writes a message; returns its index.
    int publish(int author);
    const message_record& message(int index) const { return messages_[index]; }
    std::size_t messages() const { return messages_.size(); }
    // True when every node alive now has delivered message `index`.
    bool delivered_to_all_alive(int index) const;

    void crash(int node);
    // Restarts a crashed node with fresh state (same id), joining through `contact`.
    void restart(int node, int contact);
    // Cuts every link between `side` and the rest, and every dial across.
    void partition(const std::set<int>& side);
    void heal();

    // The active views of alive nodes, as an undirected graph: is it one component?
    bool connected() const;
    // Frames sent, by type (the overlay_frame variant's index), and chat frames.
    std::vector<std::uint64_t> frames_sent = std::vector<std::uint64_t>(10);
    bool linked(int a, int b) const { return open_connection(a, b) != nullptr; }
    // Mean active view size over alive nodes.
    double mean_active() const;
    const core::overlay::room_overlay& overlay(int node) const { return *nodes_[node].room; }

private:
    struct node_state {
        std::string id;
        std::unique_ptr<core::overlay::room_overlay> room;
        bool alive = true;
        std::uint64_t incarnation = 0;  // bumped by a crash and a restart
        std::uint64_t tick_generation = 0;
        std::optional<time_point> tick_at;
        std::unordered_set<std::string> delivered;
    };
    // One TCP connection between two peers; a pair has at most one open at a time, but frames
    // of one that closed may still be on their way.
    struct connection {
        bool open = true;
        bool cut = false;
        int closed_by = -1;
        time_point last_arrival[2];  // per direction: frames arrive in order
    };
    using connection_ptr = std::shared_ptr<connection>;

    using link_key = std::pair<int, int>;  // smaller first
    static link_key key(int a, int b) { return a < b ? link_key{a, b} : link_key{b, a}; }

    void at(time_point t, std::function<void()> f);
    void execute(int node, core::overlay::actions& out);
    void schedule_tick(int node);
    void deliver_frame(int from, int to, std::function<void()> f);
    void connect(int from, int to, const std::string& addr);
    void connect_with(int from, int to, bool contact);
    void close_link(int by, int other);
    connection_ptr open_connection(int a, int b) const;
    // Tells `node` its link to `other` is gone, unless a newer connection took its place.
    void report_down(int node, int other, const connection_ptr& c);
    duration latency(int a, int b) const;
    bool across_cut(int a, int b) const;
    int index_of(const std::string& id) const;
    std::string addr_of(int node) const { return "10.0." + std::to_string(node / 250) + "." +
                                                 std::to_string(node % 250 + 1) + ":7447"; }
    std::unique_ptr<core::overlay::room_overlay> fresh_overlay(int node);

    sim_config config_;
    std::mt19937_64 rng_;
    time_point now_{};
    std::uint64_t seq_ = 0;
    struct event {
        time_point t;
        std::uint64_t seq;
        std::function<void()> f;
        bool operator>(const event& o) const { return std::tie(t, seq) > std::tie(o.t, o.seq); }
    };
    std::priority_queue<event, std::vector<event>, std::greater<>> queue_;
    std::vector<node_state> nodes_;
    std::unordered_map<std::string, int> by_id_;
    std::map<link_key, connection_ptr> links_;  // the newest connection of each pair
    std::set<int> side_;  // one side of a partition, empty when there is none
    std::vector<std::uint32_t> latency_seed_;
    std::vector<message_record> messages_;
};

}  // namespace confab::sim

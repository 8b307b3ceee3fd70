// The overlay's real state machines (core/overlay) at 200 and 1,000 peers in one process: do
// messages reach everyone, once, over a tree; does the overlay survive crashes and heal after a
// partition? Each scenario prints its figures (run with -s, or see bench/README.md).

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <set>

#include <catch2/catch.hpp>

#include "tests/sim/simulator.hpp"

using namespace confab::sim;

namespace {

struct figures {
    double delivery_ratio = 0;  // (node, message) pairs delivered / pairs expected
    double copies = 0;          // copies received per receiving node per message
    double mean_last_hop = 0;   // the hop count of each message's farthest receiver, averaged
    int max_hop = 0;
    double p99_ms = 0;          // delivered-to-all latency, over messages
};

// Over messages [first, last): what reached the nodes alive now.
figures measure(const simulator& sim, int first, int last) {
    figures f;
    std::size_t expected = 0, delivered = 0, copies = 0, receivers = 0;
    std::vector<double> to_all;
    double hop_sum = 0;
    for (int m = first; m < last; ++m) {
        const auto& r = sim.message(m);
        int last_hop = 0;
        time_point last_at = r.written;
        for (std::size_t n = 0; n < sim.size(); ++n) {
            if (!sim.alive(static_cast<int>(n)) || static_cast<int>(n) == r.author) continue;
            ++expected;
            ++receivers;
            copies += static_cast<std::size_t>(r.copies[n]);
            if (r.hops[n] < 0) continue;
            ++delivered;
            last_hop = std::max(last_hop, r.hops[n]);
            last_at = std::max(last_at, r.delivered_at[n]);
        }
        hop_sum += last_hop;
        f.max_hop = std::max(f.max_hop, last_hop);
        to_all.push_back(std::chrono::duration<double, std::milli>(last_at - r.written).count());
    }
    f.delivery_ratio = expected ? static_cast<double>(delivered) / expected : 1.0;
    f.copies = receivers ? static_cast<double>(copies) / receivers : 0.0;
    f.mean_last_hop = last > first ? hop_sum / (last - first) : 0;
    std::sort(to_all.begin(), to_all.end());
    if (!to_all.empty()) f.p99_ms = to_all[std::min(to_all.size() - 1, to_all.size() * 99 / 100)];
    return f;
}

void print(const char* what, std::size_t nodes, const figures& f) {
    std::printf("sim %-28s N=%-5zu delivered %.4f  copies/node/msg %.3f  last hop mean %.1f "
                "max %d  to-all p99 %.0f ms\n",
                what, nodes, f.delivery_ratio, f.copies, f.mean_last_hop, f.max_hop, f.p99_ms);
}

// Random living author for each message, `gap` apart.
std::pair<int, int> chat(simulator& sim, int count, duration gap, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    const int first = static_cast<int>(sim.messages());
    for (int i = 0; i < count; ++i) {
        int author;
        do {
            author = std::uniform_int_distribution<int>(0, static_cast<int>(sim.size()) - 1)(rng);
        } while (!sim.alive(author));
        sim.publish(author);
        sim.run_for(gap);
    }
    return {first, static_cast<int>(sim.messages())};
}

simulator formed(std::size_t nodes, sim_config config = {}) {
    simulator sim(nodes, config);
    sim.join_all(10ms);
    sim.run_for(10ms * static_cast<long>(nodes) + 30s);
    return sim;
}

}  // namespace

// Chat as rooms have it: a handful of people doing most of the talking.
std::pair<int, int> chat_among(simulator& sim, int authors, int count, duration gap) {
    const int first = static_cast<int>(sim.messages());
    for (int i = 0; i < count; ++i) {
        sim.publish(i % authors);
        sim.run_for(gap);
    }
    return {first, static_cast<int>(sim.messages())};
}

TEST_CASE("every message reaches every peer, over a tree per author", "[sim]") {
    for (std::size_t nodes : {200u, 1000u}) {
        auto sim = formed(nodes);
        REQUIRE(sim.connected());
        // Each author's first messages find its tree (duplicates prune it); then it carries
        // the room with about one copy per peer.
        chat_among(sim, 10, 50, 37ms);
        sim.run_for(5s);
        auto [first, last] = chat_among(sim, 10, 200, 37ms);
        sim.run_for(5s);
        const auto f = measure(sim, first, last);
        print("10 authors, 200 messages", nodes, f);
        std::printf("sim mean active view %.2f\n", sim.mean_active());
        CHECK(f.delivery_ratio == 1.0);
        CHECK(f.copies < 1.1);
        CHECK(f.copies >= 1.0);
        CHECK(sim.mean_active() >= 4.0);
    }
}

TEST_CASE("every message reaches every peer when each is by another author", "[sim]") {
    // The worst case for trees: no author writes twice, so every message takes the shared
    // tree, which all authors' grafts keep bushier than a tree.
    for (std::size_t nodes : {200u, 1000u}) {
        auto sim = formed(nodes);
        chat(sim, 20, 37ms, 1);
        sim.run_for(5s);
        auto [first, last] = chat(sim, 200, 37ms, 2);
        sim.run_for(5s);
        const auto f = measure(sim, first, last);
        print("random authors, 200 messages", nodes, f);
        CHECK(f.delivery_ratio == 1.0);
        if (nodes == 200) CHECK(f.copies < 1.5);
    }
}

TEST_CASE("lost segments delay messages but lose none", "[sim]") {
    sim_config config;
    config.loss = 0.02;
    config.seed = 7;
    auto sim = formed(200, config);
    auto [first, last] = chat(sim, 100, 37ms, 5);
    sim.run_for(10s);
    const auto f = measure(sim, first, last);
    print("2% segment loss", sim.size(), f);
    CHECK(f.delivery_ratio == 1.0);
}

TEST_CASE("half the peers crash at once, and the rest stay connected and deliver", "[sim]") {
    for (std::size_t nodes : {200u, 1000u}) {
        sim_config config;
        config.seed = 11 + nodes;
        auto sim = formed(nodes, config);
        chat(sim, 20, 37ms, 6);
        std::mt19937_64 rng(nodes);
        std::vector<int> order(nodes);
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        for (std::size_t i = 0; i < nodes / 2; ++i) sim.crash(order[i]);
        // Messages written at once, while the overlay repairs itself, still arrive...
        auto [first, last] = chat(sim, 50, 37ms, 7);
        sim.run_for(10s);
        const auto during = measure(sim, first, last);
        print("during repair after 50% crash", nodes, during);
        CHECK(during.delivery_ratio > 0.99);
        // ... and once repaired, the survivors are one overlay again.
        sim.run_for(20s);
        CHECK(sim.connected());
        auto [first2, last2] = chat(sim, 50, 37ms, 8);
        sim.run_for(5s);
        const auto after = measure(sim, first2, last2);
        print("after 50% crash, repaired", nodes, after);
        std::printf("sim mean active view after repair %.2f\n", sim.mean_active());
        CHECK(after.delivery_ratio == 1.0);
    }
}

TEST_CASE("a partition heals, and both halves deliver to everyone", "[sim]") {
    sim_config config;
    config.seed = 21;
    auto sim = formed(200, config);
    std::set<int> side;
    for (int i = 0; i < 100; ++i) side.insert(i);
    sim.partition(side);
    // Long enough for keepalive to notice and each half to repair into an overlay of its own.
    sim.run_for(60s);
    auto [first, last] = chat(sim, 20, 37ms, 9);
    sim.run_for(5s);
    // Within a half, everything arrives; nothing crosses.
    for (int m = first; m < last; ++m) {
        const auto& r = sim.message(m);
        for (std::size_t n = 0; n < sim.size(); ++n) {
            const bool same_side = side.count(static_cast<int>(n)) == side.count(r.author);
            CHECK((r.hops[n] >= 0) == same_side);
        }
    }
    sim.heal();
    const auto healed_at = sim.now();
    // Reconverged: one overlay again, and a message from either half reaches all.
    duration took{};
    bool rejoined = false;
    for (int step = 0; step < 240 && !rejoined; ++step) {
        sim.run_for(500ms);
        rejoined = sim.connected();
        took = sim.now() - healed_at;
    }
    std::printf("sim partition of 200 into 2x100 healed: one overlay again after %.1f s\n",
                std::chrono::duration<double>(took).count());
    REQUIRE(rejoined);
    const int a = sim.publish(0);
    const int b = sim.publish(199);
    sim.run_for(5s);
    CHECK(sim.delivered_to_all_alive(a));
    CHECK(sim.delivered_to_all_alive(b));
}

TEST_CASE("peers crash and restart while others chat", "[sim]") {
    sim_config config;
    config.seed = 31;
    auto sim = formed(200, config);
    std::mt19937_64 rng(31);
    std::set<int> churned;
    int first = static_cast<int>(sim.messages());
    for (int round = 0; round < 20; ++round) {
        const int victim = std::uniform_int_distribution<int>(10, 199)(rng);
        if (sim.alive(victim)) {
            sim.crash(victim);
            churned.insert(victim);
        }
        // Five steady authors who never crash: 0..4.
        for (int i = 0; i < 5; ++i) {
            sim.publish(i);
            sim.run_for(100ms);
        }
        for (int v : churned) {
            if (!sim.alive(v) && std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
                sim.restart(v, std::uniform_int_distribution<int>(0, 9)(rng));
            }
        }
    }
    sim.run_for(10s);
    // Every message reaches every peer that never went down.
    int missing = 0;
    for (int m = first; m < static_cast<int>(sim.messages()); ++m) {
        for (std::size_t n = 0; n < sim.size(); ++n) {
            if (churned.count(static_cast<int>(n))) continue;
            if (sim.message(m).hops[n] < 0) ++missing;
        }
    }
    std::printf("sim churn: %zu peers crashed (some restarted), %d deliveries missing\n",
                churned.size(), missing);
    CHECK(missing == 0);
}

TEST_CASE("one author at 10 busy peers: no message waits for a graft", "[sim]") {
    // Loopback links, but peers that are scheduled late (10 processes on 2 cores): which copy
    // comes first varies from message to message, so prunes cross pushes on the same link. A
    // peer must never be left with no link pushing it the author's messages, which then come
    // by ihave and graft, 250 ms and more late (bench/README.md, issue 11).
    int slow = 0;
    double copies = 0;
    const int runs = 40;
    for (int seed = 1; seed <= runs; ++seed) {
        sim_config config;
        config.seed = static_cast<std::uint64_t>(seed);
        config.min_latency = 200us;
        config.max_latency = 3ms;
        config.jitter = 10ms;
        simulator sim(10, config);
        sim.join_all(25ms);
        sim.run_for(300ms);
        chat(sim, 5, 100ms, static_cast<std::uint64_t>(seed));  // the bench's probes
        const int author = seed % 10;
        const int first = static_cast<int>(sim.messages());
        for (int i = 0; i < 200; ++i) {
            sim.publish(author);
            sim.run_for(37ms);
        }
        sim.run_for(2s);
        for (int m = first; m < first + 200; ++m) {
            // The path is at most 9 hops of at most 13 ms; a graft takes 250 ms more.
            if (measure(sim, m, m + 1).p99_ms > 150) ++slow;
        }
        const auto f = measure(sim, first, first + 200);
        CHECK(f.delivery_ratio == 1.0);
        copies += f.copies;
    }
    std::printf("sim one author, 10 busy peers, %d runs of 200 messages: %d slower than 150 ms, "
                "copies/node/msg %.4f\n",
                runs, slow, copies / runs);
    CHECK(slow == 0);
    CHECK(copies / runs < 1.02);
}

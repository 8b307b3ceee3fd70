// Churn: peers crash and come back (same data dir, so the same identity) while others chat.
// Links appear and vanish under messages in flight; whoever stayed up must get each message
// exactly once: none lost to a link that died mid-send, none twice from a link that came back.

#include <algorithm>
#include <csignal>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/integration/faults/fault_mesh.hpp"

using namespace confab::test;

namespace {

constexpr int peers = 50;
constexpr int chatters = 5;
constexpr int victims = 10;
constexpr auto chat_time = 60s;
constexpr auto send_every = 500ms;

std::string chat_text(int chatter, int number) {
    return "churn chat c" + std::to_string(chatter) + " #" + std::to_string(number);
}

// One victim's crash and return, planned from the seed.
struct crash_plan {
    peer_process* peer = nullptr;
    std::string peer_id;  // before the crash
    test_clock::time_point kill_at;
    test_clock::time_point restart_at;
    bool killed = false;
    bool restarted = false;
};

}  // namespace

TEST_CASE(
    "churn: 50 peers, 5 chat for a minute while 10 others are SIGKILLed and restarted, "
    "every message reaches every peer that stayed up exactly once",
    "[faults][churn]") {
    const auto test_start = test_clock::now();
    const auto seed = fault_seed("churn");
    std::mt19937_64 rng(seed);
    auto owned = start_connected_mesh(peers, rng, [](int i) {
        peer_options o;
        o.nick = "c";
        o.nick += std::to_string(i);
        o.log_level = "info";
        return o;
    });
    kill_all_at_exit reaper(owned);
    auto all = pointers(owned);
    INFO("seed " << seed);

    std::vector<int> order(peers);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<peer_process*> talkers, stayers;
    std::vector<crash_plan> crashes;
    for (int i = 0; i < peers; ++i) {
        peer_process* p = all[order[i]];
        if (i < chatters) talkers.push_back(p);
        if (i >= chatters && i < chatters + victims)
            crashes.push_back({p, p->peer_id(), {}, {}, false, false});
        else
            stayers.push_back(p);
    }
    // The mesh is whole before the minute starts.
    deliver(all, all, *all[peers - 1], "before the churn", 20s);

    // Crashes staggered over the minute: one every 5 s from 2 s on, each jittered by up to 2 s
    // and down for 1 to 4 s, so that some peers are down while others come back.
    const auto start = test_clock::now();
    std::string plan_text;
    for (std::size_t j = 0; j < crashes.size(); ++j) {
        auto kill_ms = 2000 + 5000 * static_cast<long>(j) + static_cast<long>(rng() % 2000);
        auto down_ms = 1000 + static_cast<long>(rng() % 3000);
        crashes[j].kill_at = start + std::chrono::milliseconds(kill_ms);
        crashes[j].restart_at = crashes[j].kill_at + std::chrono::milliseconds(down_ms);
        plan_text += " " + crashes[j].peer->nick() + "@" + std::to_string(kill_ms) + "ms+" +
                     std::to_string(down_ms) + "ms";
    }
    INFO("crashes (peer@kill+down):" << plan_text);

    // The minute: each chatter writes a numbered line every 500 ms (chatter k offset by k * 100
    // ms), paced by deadlines while every stdout keeps being read.
    std::vector<test_clock::time_point> next_send(chatters);
    std::vector<int> sent(chatters, 0);
    for (int k = 0; k < chatters; ++k) next_send[k] = start + k * 100ms;
    std::vector<std::string> expected;
    test_clock::time_point last_send = start;
    const auto chat_end = start + chat_time;
    // Bounded: the minute, plus the last restarts (at most 2 + 45 + 2 + 4 s in), plus slack.
    const auto loop_end = start + chat_time + 10s;
    for (;;) {
        auto now = test_clock::now();
        for (int k = 0; k < chatters; ++k) {
            while (next_send[k] <= now && next_send[k] < chat_end) {
                expected.push_back(chat_text(k, sent[k]++));
                talkers[k]->send_line(expected.back());
                last_send = test_clock::now();
                next_send[k] += send_every;
            }
        }
        for (auto& c : crashes) {
            if (!c.killed && c.kill_at <= now) {
                c.peer->kill(SIGKILL);
                INFO("killing " << c.peer->nick());
                REQUIRE(c.peer->wait_exit(5s) == 128 + SIGKILL);
                c.killed = true;
            }
            if (c.killed && !c.restarted && c.restart_at <= now) {
                // Not waited for here: its ready event is checked at the end, and meanwhile
                // every other stdout must keep being read.
                c.peer->restart();
                c.restarted = true;
            }
        }
        bool sending =
            std::any_of(next_send.begin(), next_send.end(), [&](auto t) { return t < chat_end; });
        bool crashing = std::any_of(crashes.begin(), crashes.end(),
                                    [](const crash_plan& c) { return !c.restarted; });
        if (!sending && !crashing) break;
        REQUIRE(now < loop_end);
        auto wake = loop_end;
        for (auto t : next_send)
            if (t < chat_end) wake = std::min(wake, t);
        for (const auto& c : crashes) {
            if (!c.killed) wake = std::min(wake, c.kill_at);
            if (c.killed && !c.restarted) wake = std::min(wake, c.restart_at);
        }
        if (wake > now) poll_many(all, wake - now);
    }
    REQUIRE(expected.size() == static_cast<std::size_t>(chatters * (chat_time / send_every)));

    // Every message at every peer that stayed up, within 30 s of the last write.
    message_counts counts(stayers);
    bool complete = poll_until(
        all,
        [&] {
            counts.update();
            return counts.all_have(expected);
        },
        30s);
    const auto all_delivered = test_clock::now() - last_send;
    if (!complete) {
        std::ostringstream missing;
        int shown = 0;
        for (std::size_t i = 0; i < stayers.size(); ++i)
            for (const auto& t : expected)
                if (counts.count(i, t) == 0 && shown++ < 40)
                    missing << "\n  " << stayers[i]->nick() << " lacks '" << t << "'";
        FAIL("messages missing 30 s after the last write (first 40):" << missing.str());
    }

    // A marker written now reaches everyone after any late duplicate of what came before it
    // would have (links carry frames in order), so the counts below are final.
    deliver(all, stayers, *talkers[0], "churn marker", 10s);
    counts.update();
    std::ostringstream duplicates;
    int duplicate_count = 0;
    for (std::size_t i = 0; i < stayers.size(); ++i)
        for (const auto& t : expected)
            if (int c = counts.count(i, t); c != 1 && duplicate_count++ < 40)
                duplicates << "\n  " << stayers[i]->nick() << " got '" << t << "' " << c
                           << " times";
    INFO("duplicates (first 40):" << duplicates.str());
    CHECK(duplicate_count == 0);

    // The restarted peers came back: same identity, and ready again.
    std::vector<peer_process*> returned;
    for (const auto& c : crashes) returned.push_back(c.peer);
    wait_all(returned, is_event("ready"), 10s, "ready after the restart");
    for (const auto& c : crashes)
        CHECK(c.peer->find(is_event("ready"))->str("peer_id") == c.peer_id);

    std::cout << "faults: churn: seed " << seed << ": " << expected.size() << " messages from "
              << chatters << " chatters, " << victims << " crashes (" << plan_text << " ); all at "
              << stayers.size() << " peers that stayed up " << ms(all_delivered)
              << " ms after the last write, " << duplicate_count << " duplicates; test ran "
              << ms(test_clock::now() - test_start) / 1000 << " s" << std::endl;
}

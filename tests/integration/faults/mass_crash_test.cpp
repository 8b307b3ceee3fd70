// Half the mesh dies at once (SIGKILL: no bye, no flush): the survivors must still reach each
// other, whatever holes the crash left in the overlay, within 10 s of a message being written.

#include <algorithm>
#include <csignal>
#include <iostream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/integration/faults/fault_mesh.hpp"

using namespace confab::test;

TEST_CASE(
    "mass crash: 25 of 50 peers killed at once, the other 25 still deliver to each other "
    "within 10 s",
    "[faults][crash]") {
    const auto test_start = test_clock::now();
    const auto seed = fault_seed("mass crash");
    std::mt19937_64 rng(seed);
    constexpr int n = 50;
    constexpr int killed = 25;
    constexpr int senders = 3;
    auto owned = start_connected_mesh(n, rng, [](int i) {
        peer_options o;
        o.nick = "m";
        o.nick += std::to_string(i);
        o.log_level = "info";
        return o;
    });
    kill_all_at_exit reaper(owned);
    auto all = pointers(owned);
    INFO("seed " << seed);
    // The mesh is whole before the crash: a message reaches everyone.
    deliver(all, all, *all[n - 1], "before the crash", 20s);

    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<peer_process*> victims, survivors;
    for (int i = 0; i < n; ++i) (i < killed ? victims : survivors).push_back(all[order[i]]);
    std::string victim_nicks;
    for (auto* v : victims) victim_nicks += " " + v->nick();
    INFO("killed:" << victim_nicks);

    // Every signal first, then the reaping: "at once" is within a few milliseconds.
    for (auto* v : victims) v->kill(SIGKILL);
    for (auto* v : victims) REQUIRE(v->wait_exit(5s) == 128 + SIGKILL);
    const auto crashed_at = test_clock::now();

    // Senders one after another, the first right after the crash, while the overlay is most
    // broken; each message must reach every other survivor within 10 s of being written.
    std::vector<double> took_ms;
    for (int s = 0; s < senders; ++s) {
        peer_process& sender = *survivors[static_cast<std::size_t>(s) * 7 % survivors.size()];
        std::string text = "after the crash, from " + sender.nick();
        auto took = deliver(survivors, survivors, sender, text, 10s);
        took_ms.push_back(ms(took.took));
    }
    std::cout << "faults: mass crash: seed " << seed << ": killed" << victim_nicks
              << "; delivered to all " << survivors.size() << " survivors in";
    for (double t : took_ms) std::cout << " " << t << " ms";
    std::cout << " (one sender after another, from the crash on; all done "
              << ms(test_clock::now() - crashed_at) << " ms after it); test ran "
              << ms(test_clock::now() - test_start) / 1000 << " s" << std::endl;
}

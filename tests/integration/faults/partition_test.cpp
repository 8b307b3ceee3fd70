// Partition and heal: the mesh is split by a silent cable cut between two network namespaces
// (no RST, no ICMP: the links across just go quiet), each half must go on by itself, and once
// the cable is back both halves must find each other again without anyone's help.

#include <algorithm>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/integration/faults/fault_mesh.hpp"
#include "tests/support/netns.hpp"

using namespace confab::test;

namespace {

constexpr int peers = 50;
// Addresses from a private range that exist only inside the test's namespaces.
const std::string addr_a = "10.77.0.1";
const std::string addr_b = "10.77.0.2";

}  // namespace

TEST_CASE(
    "partition and heal: two halves cut apart deliver within themselves, and after the "
    "heal new messages from each half reach everyone",
    "[faults][partition]") {
    const std::string reason = netns_unavailable_reason();
    if (!reason.empty()) {
        // CTest's SKIP_REGULAR_EXPRESSION for this executable turns this line into a skip.
        std::cout << "SKIPPED_NO_NETNS: " << reason << std::endl;
        WARN("skipped, no network namespaces here: " << reason);
        return;
    }
    const auto test_start = test_clock::now();
    const auto seed = fault_seed("partition");
    std::mt19937_64 rng(seed);
    INFO("seed " << seed);

    // Declared before the peers, so the namespaces go after every peer in them was killed.
    netns_lab lab;
    const std::string ns_a = lab.add_namespace("a");
    const std::string ns_b = lab.add_namespace("b");
    lab.add_link(ns_a, addr_a + "/24", ns_b, addr_b + "/24");

    // Halves alternate, so that about half of the joins cross the future cut.
    auto side_of = [](int i) { return i % 2; };
    auto owned = start_connected_mesh(peers, rng, [&](int i) {
        peer_options o;
        o.nick = side_of(i) == 0 ? "pa" : "pb";
        o.nick += std::to_string(i);
        o.log_level = "info";
        o.listen = (side_of(i) == 0 ? addr_a : addr_b) + ":0";
        o.wrapper = lab.exec_prefix(side_of(i) == 0 ? ns_a : ns_b);
        return o;
    });
    kill_all_at_exit reaper(owned);
    auto all = pointers(owned);
    std::vector<peer_process*> half[2];
    std::map<std::string, int> side_of_id;
    for (int i = 0; i < peers; ++i) {
        half[side_of(i)].push_back(all[i]);
        side_of_id[all[i]->peer_id()] = side_of(i);
    }
    deliver(all, all, *all[peers - 1], "before the cut", 20s);
    std::size_t links_across_before = 0;
    for (int i = 0; i < peers; ++i)
        for (const auto& id : neighbours(*all[i]))
            links_across_before += side_of_id[id] != side_of(i);

    // The cut. It is complete once no peer counts a neighbour on the other side any more: a link
    // across a silent cut can only die of its keepalive (45 s today; 90 s allowed).
    lab.cut(ns_a);
    lab.cut(ns_b);
    const auto cut_at = test_clock::now();
    auto links_across = [&](int i) {
        int n = 0;
        for (const auto& id : neighbours(*all[i])) n += side_of_id[id] != side_of(i);
        return n;
    };
    bool apart = poll_until(
        all,
        [&] {
            for (int i = 0; i < peers; ++i)
                if (links_across(i) > 0) return false;
            return true;
        },
        90s);
    const auto apart_after = test_clock::now() - cut_at;
    if (!apart) {
        std::ostringstream still;
        for (int i = 0; i < peers; ++i)
            if (int n = links_across(i)) still << " " << all[i]->nick() << "(" << n << ")";
        FAIL("90 s after the cut, these peers still count neighbours across it:" << still.str());
    }

    // Each half on its own. A peer whose neighbours were all across the cut is alone once they
    // die, and must find its own half again from its address book: so a new message from a
    // rotating sender every 2 s, until one from each half reached its whole half.
    probe_series inside[2] = {{half[0], half[0], "during the cut, half A", 2s, test_clock::now()},
                              {half[1], half[1], "during the cut, half B", 2s, test_clock::now()}};
    probe_series* inside_both[] = {&inside[0], &inside[1]};
    if (!run_probes(all, inside_both, 45s))
        FAIL("45 s after the cut was complete, a half still does not deliver within itself:"
             << inside[0].coverage() << inside[1].coverage());
    // And then like a whole mesh: one message within 10 s.
    delivery within[2];
    for (int s = 0; s < 2; ++s) {
        peer_process& sender = *half[s][rng() % half[s].size()];
        within[s] = deliver(all, half[s], sender, "during the cut, from " + sender.nick(), 10s);
    }

    // The heal. New messages from each half, as above, until one from each half reached all 50
    // peers; how long that takes is what this measures.
    lab.heal(ns_a);
    lab.heal(ns_b);
    const auto heal_at = test_clock::now();
    probe_series merged[2] = {{half[0], all, "after the heal, half A", 2s, heal_at},
                              {half[1], all, "after the heal, half B", 2s, heal_at}};
    probe_series* merged_both[] = {&merged[0], &merged[1]};
    if (!run_probes(all, merged_both, 90s)) {
        std::ostringstream across;
        for (int i = 0; i < peers; ++i)
            if (int n = links_across(i)) across << " " << all[i]->nick() << "(" << n << ")";
        FAIL("90 s after the heal the halves have not merged; the probes reached:"
             << merged[0].coverage() << merged[1].coverage()
             << "\npeers with neighbours across:" << across.str());
    }

    // Healed for good: a message from each half reaches everyone, within 10 s.
    delivery healed[2];
    for (int s = 0; s < 2; ++s) {
        peer_process& sender = *half[s][rng() % half[s].size()];
        healed[s] = deliver(all, all, sender, "healed, from " + sender.nick(), 10s);
    }

    std::cout << "faults: partition: seed " << seed << ": cut by " << lab.cut_method() << " ("
              << links_across_before << " link ends across it); apart (no link across) "
              << ms(apart_after)
              << " ms after the cut; then each half delivered within itself after "
              << ms(inside[0].reached_after()) << " / " << ms(inside[1].reached_after()) << " ms ("
              << inside[0].sent() << " / " << inside[1].sent() << " probes, of which "
              << inside[0].incomplete() << " / " << inside[1].incomplete()
              << " never reached the whole half), one more message in " << ms(within[0].took)
              << " / " << ms(within[1].took)
              << " ms; after the heal, messages from half A reached all 50 in "
              << ms(merged[0].reached_after()) << " ms, from half B in "
              << ms(merged[1].reached_after()) << " ms (" << merged[0].sent() << " / "
              << merged[1].sent() << " probes), one more message in " << ms(healed[0].took) << " / "
              << ms(healed[1].took) << " ms; test ran " << ms(test_clock::now() - test_start) / 1000
              << " s" << inside[0].lacking() << inside[1].lacking() << std::endl;
}

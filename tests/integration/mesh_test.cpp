// Six real peers joined as a chain: the mesh fills in, every message reaches every peer
// exactly once, and the mesh heals when a peer in the middle dies.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/peer_process.hpp"

using namespace confab::test;

namespace {

// Sends a marker from `sender` and waits for it everywhere: a peer holding the marker has also
// had time to receive any duplicate of what was sent before it, so counts are final.
void settle_with_marker(const std::vector<peer_process*>& procs, peer_process& sender,
                        const std::string& marker) {
    sender.send_line(marker);
    wait_all(procs, is_message_with_text(marker), 5s, "marker '" + marker + "'");
}

void check_exactly_once(const std::vector<peer_process*>& procs, const peer_process& author,
                        const std::string& text) {
    for (auto* p : procs) {
        INFO("receiver " << p->nick() << ", text '" << text << "'\n" << p->describe());
        REQUIRE(p->count(is_message_with_text(text)) == 1);
        const event& e = *p->find(is_message_with_text(text));
        CHECK(e.str("from") == author.nick());
        CHECK(e.str("peer_id") == author.peer_id());
        CHECK(e.str("room") == "lobby");
        CHECK(!e.str("id").empty());
        // ms since the epoch: within a minute of this machine's clock (same machine).
        auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        CHECK(std::abs(e.json.value("ts", std::int64_t{0}) - now_ms) < 60'000);
        // own is true on the author's copy only (it may be absent elsewhere).
        CHECK(e.json.value("own", false) == (p == &author));
    }
}

}  // namespace

TEST_CASE(
    "six chained peers fill in the mesh, deliver every message exactly once and heal "
    "after a middle peer is killed",
    "[integration][mesh]") {
    constexpr int n = 6;
    std::vector<std::unique_ptr<peer_process>> owned;
    for (int i = 0; i < n; ++i) {
        peer_options o;
        // Appended, not "p" + ...: GCC 12 warns falsely (-Wrestrict) on a 1-char prefix.
        o.nick = "p";
        o.nick += std::to_string(i);
        if (i > 0) o.joins = {owned.back()->listen()};
        owned.push_back(start_peer(o));
    }
    auto all = pointers(owned);

    // A mesh of up to 8 peers becomes fully connected.
    bool full = wait_full_mesh(all, 10s);
    for (auto* p : all) {
        INFO(p->describe());
        CHECK(neighbours(*p).size() == n - 1);
    }
    REQUIRE(full);

    for (int i = 0; i < n; ++i) all[i]->send_line("hello from p" + std::to_string(i));
    for (int i = 0; i < n; ++i)
        wait_all(all, is_message_with_text("hello from p" + std::to_string(i)), 5s,
                 "message from p" + std::to_string(i));
    settle_with_marker(all, *all[n - 1], "marker one");
    for (int i = 0; i < n; ++i)
        check_exactly_once(all, *all[i], "hello from p" + std::to_string(i));

    // SIGKILL: no bye, the neighbours learn of it from the socket alone.
    peer_process& victim = *all[2];
    std::string victim_id = victim.peer_id();
    // Only events after the kill count: a replaced link may have reported p2 down before.
    std::vector<std::size_t> marks;
    for (auto* p : all)
        if (p != &victim) marks.push_back(p->events().size());
    victim.kill(SIGKILL);
    REQUIRE(victim.wait_exit(5s) == 128 + SIGKILL);
    std::vector<peer_process*> rest;
    for (auto* p : all)
        if (p != &victim) rest.push_back(p);
    wait_all(rest, is_peer_down(victim_id), 5s, "peer_down for the killed p2", marks);

    all[0]->send_line("after the kill");
    wait_all(rest, is_message_with_text("after the kill"), 5s, "message sent after the kill");
    settle_with_marker(rest, *all[n - 1], "marker two");
    check_exactly_once(rest, *all[0], "after the kill");
    for (auto* p : rest) {
        INFO(p->describe());
        CHECK(p->count(is_event("bad_line")) == 0);
    }
}

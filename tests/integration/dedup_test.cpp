// Duplicate connections: two peers dialling each other at once end with one link and no
// flapping, and a peer dialling itself never becomes its own neighbour.

#include <algorithm>
#include <string>

#include <catch2/catch.hpp>

#include "tests/support/peer_process.hpp"

using namespace confab::test;

namespace {

// Asks /peers on every process until each reports `connections` open sockets, or the timeout
// passes; returns the last answers. Between rounds it waits briefly for a peer_down, which no
// test here expects, so the loop waits on events rather than sleeping.
std::vector<event> wait_for_connections(const std::vector<peer_process*>& procs, int connections,
                                        test_clock::duration timeout) {
    auto deadline = test_clock::now() + timeout;
    std::vector<event> answers;
    for (int round = 0; round < 100; ++round) {
        answers.clear();
        for (auto* p : procs) {
            std::size_t from = p->events().size();
            p->send_line("/peers");
            answers.push_back(p->wait_for(is_event("peers"), 5s, "answer to /peers", from));
        }
        bool done = std::all_of(answers.begin(), answers.end(), [&](const event& e) {
            return e.json.value("connections", -1) == connections;
        });
        if (done || test_clock::now() >= deadline) break;
        std::vector<std::size_t> from;
        for (auto* p : procs) from.push_back(p->events().size());
        poll_until(
            procs,
            [&] {
                for (std::size_t i = 0; i < procs.size(); ++i)
                    for (std::size_t k = from[i]; k < procs[i]->events().size(); ++k)
                        if (procs[i]->events()[k].name() == "peer_down") return true;
                return false;
            },
            std::min<test_clock::duration>(50ms, deadline - test_clock::now()));
    }
    return answers;
}

}  // namespace

TEST_CASE("two peers that /connect each other at once keep exactly one connection",
          "[integration][dedup]") {
    // Which dial wins the race depends on timing: fresh pairs, several times, meet more of the
    // possible orderings.
    auto round = GENERATE(range(0, 5));
    INFO("round " << round);
    peer_options o;
    o.nick = "alice";
    auto a = start_peer(o);
    o.nick = "bob";
    auto b = start_peer(o);
    std::vector<peer_process*> both = {a.get(), b.get()};

    a->send_line("/connect " + b->listen());
    b->send_line("/connect " + a->listen());
    a->wait_for(is_peer_up(b->peer_id()), 5s, "peer_up for bob");
    b->wait_for(is_peer_up(a->peer_id()), 5s, "peer_up for alice");

    auto answers = wait_for_connections(both, 1, 5s);
    for (std::size_t i = 0; i < both.size(); ++i) {
        INFO(answers[i].json.dump() << "\n" << both[i]->describe());
        CHECK(answers[i].json.value("connections", -1) == 1);
        CHECK(answers[i].json.value("peers", nlohmann::json::array()).size() == 1);
    }

    a->send_line("from alice");
    b->send_line("from bob");
    wait_all(both, is_message_with_text("from alice"), 5s, "alice's message");
    wait_all(both, is_message_with_text("from bob"), 5s, "bob's message");
    // Markers flush out any duplicate sent over a second connection.
    a->send_line("marker alice");
    b->send_line("marker bob");
    wait_all(both, is_message_with_text("marker alice"), 5s, "alice's marker");
    wait_all(both, is_message_with_text("marker bob"), 5s, "bob's marker");

    for (auto* p : both) {
        INFO(p->describe());
        CHECK(p->count(is_message_with_text("from alice")) == 1);
        CHECK(p->count(is_message_with_text("from bob")) == 1);
        CHECK(p->count(is_event("peer_up")) == 1);
        CHECK(p->count(is_event("peer_down")) == 0);
    }
}

TEST_CASE(
    "six peers that discover each other at once keep one connection per pair and never "
    "report a duplicate as peer_down",
    "[integration][dedup]") {
    constexpr std::size_t n = 6;
    std::vector<std::unique_ptr<peer_process>> owned;
    peer_options o;
    o.nick = "hub";
    owned.push_back(start_peer(o));
    // Spawned together, not one after the other's ready: they learn of each other from the
    // hub in the same instant and dial each other at once, pair by pair.
    o.joins = {owned[0]->listen()};
    for (std::size_t i = 1; i < n; ++i) {
        o.nick = "spoke" + std::to_string(i);
        owned.push_back(std::make_unique<peer_process>(o));
    }
    for (auto& p : owned) p->wait_ready();
    auto all = pointers(owned);

    // Each room's membership picks its neighbours (five or six, so here nearly everyone),
    // whatever the dials race to: wait until every peer has several, then until every open
    // socket is a neighbour's, i.e. no duplicate link is left over.
    REQUIRE(poll_until(all, [&] {
        return std::all_of(all.begin(), all.end(),
                           [](peer_process* p) { return neighbours(*p).size() >= 3; });
    }, 10s));
    std::vector<event> answers;
    bool one_link_each = false;
    for (int round = 0; round < 50 && !one_link_each; ++round) {
        answers.clear();
        for (auto* p : all) {
            std::size_t from = p->events().size();
            p->send_line("/peers");
            answers.push_back(p->wait_for(is_event("peers"), 5s, "answer to /peers", from));
        }
        one_link_each = std::all_of(answers.begin(), answers.end(), [](const event& e) {
            return e.json.value("connections", -1) ==
                   static_cast<int>(e.json.value("peers", nlohmann::json::array()).size());
        });
    }
    for (std::size_t i = 0; i < n; ++i) {
        INFO(answers[i].json.dump() << "\n" << all[i]->describe());
        CHECK(answers[i].json.value("connections", -1) ==
              static_cast<int>(answers[i].json["peers"].size()));
        for (auto* other : all) {
            if (other == all[i]) continue;
            // Never two links to one peer at once, and never a duplicate's closing shown as
            // the peer going away.
            const auto ups = all[i]->count(is_peer_up(other->peer_id()));
            const auto downs = all[i]->count(is_peer_down(other->peer_id()));
            CHECK(ups <= downs + 1);
            CHECK(all[i]->count([&](const event& e) {
                return e.name() == "peer_down" && e.str("peer_id") == other->peer_id() &&
                       e.str("reason").find("duplicate") != std::string::npos;
            }) == 0);
        }
    }
}

TEST_CASE("/connect to a peer's own address never makes it its own neighbour",
          "[integration][dedup]") {
    peer_options o;
    o.nick = "narcissus";
    auto p = start_peer(o);
    std::vector<peer_process*> self = {p.get()};

    p->send_line("/connect " + p->listen());
    // The dial resolves within milliseconds on loopback; an error event may report it. Waiting
    // for either a peer_up (the failure) or an error bounds the time the dial has to resolve.
    auto outcome = p->try_wait_for(
        [](const event& e) { return e.name() == "peer_up" || e.name() == "error"; }, 1s);

    auto answers = wait_for_connections(self, 0, 5s);
    INFO("dial outcome: " << (outcome ? outcome->json.dump() : "none within 1 s") << "\n"
                          << answers[0].json.dump() << "\n"
                          << p->describe());
    CHECK(answers[0].json.value("connections", -1) == 0);
    CHECK(answers[0].json.value("peers", nlohmann::json::array()).empty());
    CHECK(p->count(is_peer_up(p->peer_id())) == 0);
    CHECK(p->count(is_event("peer_up")) == 0);

    // A message to an empty room comes back once, as the author's own copy.
    p->send_line("talking to myself");
    p->wait_for(is_message_with_text("talking to myself"), 5s, "own copy");
    p->send_line("marker");
    p->wait_for(is_message_with_text("marker"), 5s, "own marker");
    CHECK(p->count(is_message_with_text("talking to myself")) == 1);
}

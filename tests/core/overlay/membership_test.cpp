// HyParView membership, one state machine at a time: what it sends for each event.

#include <algorithm>

#include <catch2/catch.hpp>

#include "core/overlay/membership.hpp"
#include "tests/core/overlay/actions_of.hpp"

using namespace confab;
using namespace confab::core::overlay;
using confab::test::actions_of;
using confab::test::frames_of;
using namespace std::chrono_literals;

namespace {

const std::string room = "a86c1816e8114e6b94f9083c7ab410d8";

std::string addr(const std::string& peer) {
    return "10.0.0." + std::to_string(peer.back() - 'a' + 1) + ":7447";
}

// A peer "me" with neighbours "b", "c", ... (they joined it: it has each as active).
struct fixture {
    membership_config config;
    time_point now{std::chrono::hours(1)};
    std::unique_ptr<membership> m;

    explicit fixture(std::vector<std::string> neighbours = {},
                     std::function<void(membership_config&)> tweak = {}) {
        if (tweak) tweak(config);
        m = std::make_unique<membership>("me", room, config, 42);
        for (const auto& n : neighbours) {
            actions out;
            m->link_up(n, addr(n), false, now, out);
            m->on_frame(n, protocol::join{room}, now, out);
        }
    }
    actions frame(const peer_id& from, const overlay_frame& f) {
        actions out;
        m->on_frame(from, f, now, out);
        return out;
    }
    actions link_up(const peer_id& peer, bool contact = false) {
        actions out;
        m->link_up(peer, addr(peer), contact, now, out);
        return out;
    }
};

}  // namespace

TEST_CASE("a contact takes a newcomer in, seeds its passive view and walks it to the others",
          "[membership]") {
    fixture f({"b", "c"});
    f.link_up("n");
    auto out = f.frame("n", protocol::join{room});
    CHECK(f.m->is_active("n"));
    auto sample = frames_of<protocol::shuffle_reply>(out);
    REQUIRE(sample.size() == 1);
    CHECK(sample[0].first == "n");
    CHECK(sample[0].second.id == 0);
    auto walks = frames_of<protocol::forward_join>(out);
    REQUIRE(walks.size() == 2);  // to b and c, not back to n
    for (const auto& [to, walk] : walks) {
        CHECK(to != "n");
        CHECK(walk.peer.peer_id == "n");
        CHECK(walk.peer.addr == addr("n"));
        CHECK(walk.ttl == f.config.active_walk);
    }
}

TEST_CASE("a newcomer joins through its contact once, and asks later contacts as neighbours",
          "[membership]") {
    fixture f;
    auto first = f.link_up("b", /*contact=*/true);
    CHECK(frames_of<protocol::join>(first).size() == 1);
    CHECK(f.m->is_active("b"));
    // Another newcomer picked us as its contact before our own join was answered: our next
    // contact still gets a join, or the two of us would be an island.
    fixture g;
    g.link_up("x");
    g.frame("x", protocol::join{room});
    REQUIRE(g.m->is_active("x"));
    auto contact = g.link_up("b", true);
    CHECK(frames_of<protocol::join>(contact).size() == 1);
    // Once joined, a further contact is asked to be a neighbour like anyone else.
    auto later = g.link_up("c", true);
    CHECK(frames_of<protocol::join>(later).empty());
    auto asks = frames_of<protocol::neighbor>(later);
    REQUIRE(asks.size() == 1);
    CHECK_FALSE(asks[0].second.high);
}

TEST_CASE("a walk ends where ttl runs out, passes the newcomer into passive views on the way",
          "[membership]") {
    fixture f({"b", "c", "d"});
    SECTION("ttl 0: the receiver asks the newcomer to be its neighbour, high priority") {
        auto out = f.frame("b", protocol::forward_join{room, {"n", addr("n")}, 0});
        auto connects = actions_of<connect_peer>(out);
        REQUIRE(connects.size() == 1);
        CHECK(connects[0].peer.peer_id == "n");
        auto up = f.link_up("n");
        auto asks = frames_of<protocol::neighbor>(up);
        REQUIRE(asks.size() == 1);
        CHECK(asks[0].second.high);
        CHECK(f.m->is_active("n"));
    }
    SECTION("at the passive walk length it is kept as passive and walked on") {
        auto out = f.frame("b", protocol::forward_join{room, {"n", addr("n")},
                                                       f.config.passive_walk});
        auto passive = f.m->passive();
        CHECK(std::any_of(passive.begin(), passive.end(),
                          [](const auto& p) { return p.peer_id == "n"; }));
        auto walks = frames_of<protocol::forward_join>(out);
        REQUIRE(walks.size() == 1);
        CHECK(walks[0].first != "b");
        CHECK(walks[0].second.ttl == f.config.passive_walk - 1);
    }
    SECTION("a walk for ourselves, or with a ttl over the limit, does no harm") {
        CHECK(f.frame("b", protocol::forward_join{room, {"me", "10.9.9.9:1"}, 0}).empty());
        auto out = f.frame("b", protocol::forward_join{room, {"n", addr("n")}, 200});
        auto walks = frames_of<protocol::forward_join>(out);
        REQUIRE(walks.size() == 1);
        CHECK(walks[0].second.ttl == protocol::max_walk_length - 1);
    }
}

TEST_CASE("a full view refuses a low-priority neighbour but makes room for a high one",
          "[membership]") {
    fixture f({"b", "c", "d", "e", "g", "h"});  // active_max = 6
    REQUIRE(f.m->active().size() == 6);
    f.link_up("x");
    auto low = f.frame("x", protocol::neighbor{room, false});
    CHECK_FALSE(f.m->is_active("x"));
    auto refusals = frames_of<protocol::disconnect>(low);
    REQUIRE(refusals.size() == 1);
    CHECK(refusals[0].first == "x");
    CHECK(refusals[0].second.alive);
    CHECK(actions_of<release_peer>(low).size() == 1);

    f.link_up("y");
    auto high = f.frame("y", protocol::neighbor{room, true});
    CHECK(f.m->is_active("y"));
    CHECK(f.m->active().size() == 6);
    // One of the others was told, released, and is kept as a passive peer.
    auto dropped = frames_of<protocol::disconnect>(high);
    REQUIRE(dropped.size() == 1);
    CHECK(dropped[0].first != "y");
    CHECK(actions_of<neighbor_down>(high).size() == 1);
    auto passive = f.m->passive();
    CHECK(std::any_of(passive.begin(), passive.end(),
                      [&](const auto& p) { return p.peer_id == dropped[0].first; }));
}

TEST_CASE("a lost neighbour is replaced from the passive view and retried later",
          "[membership]") {
    fixture f({"b"});
    // Someone we know of, to stand in.
    actions out;
    f.m->add_known({{"p", addr("p")}}, f.now, out);
    f.m->link_down("b", f.now, out);
    CHECK_FALSE(f.m->is_active("b"));
    CHECK(actions_of<neighbor_down>(out).size() == 1);
    auto connects = actions_of<connect_peer>(out);
    REQUIRE_FALSE(connects.empty());
    CHECK(connects.back().peer.peer_id == "p");
    // b failed rather than said goodbye: it is dialled again within retry_first x 1.5.
    auto wake = f.m->next_wake();
    REQUIRE(wake);
    actions later;
    f.m->tick(f.now + f.config.retry_first * 3 / 2, later);
    auto retries = actions_of<connect_peer>(later);
    CHECK(std::any_of(retries.begin(), retries.end(),
                      [](const auto& c) { return c.peer.peer_id == "b"; }));
}

TEST_CASE("a shuffle walks, and its answer comes back the way it went", "[membership]") {
    // me -- b -- (walk goes on to c): b remembers where it came from.
    fixture hop({"a", "c"});
    auto out = hop.frame("a", protocol::shuffle{room, 77, 2, {{"s", addr("s")}}});
    auto onward = frames_of<protocol::shuffle>(out);
    REQUIRE(onward.size() == 1);
    CHECK(onward[0].first == "c");
    CHECK(onward[0].second.ttl == 1);
    // The end's answer goes back to a, and only once.
    auto back = hop.frame("c", protocol::shuffle_reply{room, 77, {{"r", addr("r")}}});
    auto replies = frames_of<protocol::shuffle_reply>(back);
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].first == "a");
    CHECK(hop.frame("c", protocol::shuffle_reply{room, 77, {}}).empty());

    // Where the walk ends: answer with our passive peers, keep theirs.
    fixture end({"a"});
    actions known;
    end.m->add_known({{"k", addr("k")}}, end.now, known);
    auto reply = end.frame("a", protocol::shuffle{room, 5, 0, {{"s", addr("s")}}});
    auto answers = frames_of<protocol::shuffle_reply>(reply);
    REQUIRE(answers.size() == 1);
    CHECK(answers[0].second.id == 5);
    auto passive = end.m->passive();
    CHECK(std::any_of(passive.begin(), passive.end(),
                      [](const auto& p) { return p.peer_id == "s"; }));
}

TEST_CASE("a link the other end opened and never explained is released", "[membership]") {
    fixture f({"b", "c", "d", "e", "g"});  // enough neighbours: no refill takes it up
    f.link_up("q");
    CHECK(f.m->uses("q"));
    actions out;
    f.m->tick(f.now + f.config.claim_timeout, out);
    CHECK(actions_of<release_peer>(out).size() == 1);
    CHECK_FALSE(f.m->uses("q"));
}

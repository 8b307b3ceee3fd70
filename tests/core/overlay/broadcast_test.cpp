// Plumtree broadcast, one state machine at a time: eager and lazy links per author, ihave,
// graft, prune.

#include <algorithm>
#include <set>

#include <catch2/catch.hpp>

#include "core/overlay/broadcast.hpp"
#include "tests/core/overlay/actions_of.hpp"

using namespace confab;
using namespace confab::core::overlay;
using confab::test::actions_of;
using confab::test::frames_of;
using namespace std::chrono_literals;

namespace {

const std::string room = "a86c1816e8114e6b94f9083c7ab410d8";

frame_ptr frame_for(const std::string& id) {
    return std::make_shared<const std::string>("frame of " + id);
}

std::set<peer_id> forwarded_to(const actions& out) {
    std::set<peer_id> to;
    for (const auto& a : out) {
        if (const auto* f = std::get_if<forward_chat>(&a)) to.insert(f->to);
    }
    return to;
}

struct fixture {
    broadcast_config config;
    time_point now{std::chrono::hours(1)};
    broadcast b{room, config};
    explicit fixture(std::vector<peer_id> neighbours) {
        for (const auto& n : neighbours) b.neighbor_up(n, now);
        actions drain;
        b.tick(now + 1h, drain);  // nothing cached: no catch-up to send
    }
};

}  // namespace

TEST_CASE("a new message goes whole to eager neighbours, and a copy prunes the link it came by",
          "[broadcast]") {
    fixture f({"x", "y", "z"});
    actions out;
    f.b.on_new("x", "m1", "alice", frame_for("m1"), 1, f.now, out);
    CHECK(forwarded_to(out) == std::set<peer_id>{"y", "z"});

    actions dup;
    f.b.on_duplicate("y", "alice", dup);
    auto prunes = frames_of<protocol::prune>(dup);
    REQUIRE(prunes.size() == 1);
    CHECK(prunes[0].first == "y");
    CHECK(prunes[0].second.author == "alice");
    CHECK(f.b.role_of("y", "alice") == broadcast::role::lazy);

    // alice's next message: y hears of it by id, after the ihave interval.
    actions next;
    f.b.on_new("x", "m2", "alice", frame_for("m2"), 1, f.now, next);
    CHECK(forwarded_to(next) == std::set<peer_id>{"z"});
    actions tick;
    f.b.tick(f.now + f.config.ihave_every, tick);
    auto haves = frames_of<protocol::ihave>(tick);
    REQUIRE(haves.size() == 1);
    CHECK(haves[0].first == "y");
    CHECK(haves[0].second.ids == std::vector<std::string>{"m2"});
    CHECK(haves[0].second.hops == std::vector<std::uint32_t>{1});
}

TEST_CASE("each author has a tree of its own", "[broadcast]") {
    fixture f({"x", "y"});
    actions out;
    f.b.on_new("x", "m1", "alice", frame_for("m1"), 1, f.now, out);
    f.b.on_duplicate("y", "alice", out);
    CHECK(f.b.role_of("y", "alice") == broadcast::role::lazy);
    // bob's first message takes the shared tree, which alice's copy pruned too...
    CHECK(f.b.role_of("y", "bob") == broadcast::role::lazy);
    // ... but a prune for bob alone leaves alice's tree as it is.
    actions more;
    f.b.on_new("y", "m9", "bob", frame_for("m9"), 1, f.now, more);
    CHECK(f.b.role_of("y", "bob") == broadcast::role::eager);  // it came by y: on bob's path
    f.b.on_frame("x", protocol::prune{room, "bob"}, f.now, more);
    CHECK(f.b.role_of("x", "bob") == broadcast::role::lazy);
    CHECK(f.b.role_of("x", "alice") == broadcast::role::eager);
}

TEST_CASE("a prune from the neighbour whose copy came first is answered with a graft",
          "[broadcast]") {
    // x and z push alice's messages here. m1 came by z first, so the copy pushed on to x was
    // a duplicate there, and x prunes; but m2 came by x first and z's copy was pruned here.
    fixture f({"x", "z"});
    actions out;
    f.b.on_new("z", "m1", "alice", frame_for("m1"), 1, f.now, out);
    f.b.on_new("x", "m2", "alice", frame_for("m2"), 1, f.now, out);
    f.b.on_duplicate("z", "alice", out);
    actions pruned;
    f.b.on_frame("x", protocol::prune{room, "alice"}, f.now, pruned);
    auto grafts = frames_of<protocol::graft>(pruned);
    REQUIRE(grafts.size() == 1);
    CHECK(grafts[0].first == "x");
    CHECK(grafts[0].second.ids.empty());
    CHECK(grafts[0].second.author == "alice");
    CHECK(f.b.role_of("x", "alice") == broadcast::role::eager);
    // The same prune from a neighbour that is not where alice's messages come from is obeyed.
    actions other;
    f.b.on_frame("z", protocol::prune{room, "alice"}, f.now, other);
    CHECK(frames_of<protocol::graft>(other).empty());
    CHECK(f.b.role_of("z", "alice") == broadcast::role::lazy);
}

TEST_CASE("a copy pushed on a link this peer pruned is answered with a graft", "[broadcast]") {
    fixture f({"x", "y"});
    actions out;
    f.b.on_new("x", "m1", "alice", frame_for("m1"), 1, f.now, out);
    f.b.on_duplicate("y", "alice", out);
    REQUIRE(f.b.role_of("y", "alice") == broadcast::role::lazy);
    // y pushed m2 before the prune reached it, and its copy came first.
    actions crossed;
    f.b.on_new("y", "m2", "alice", frame_for("m2"), 1, f.now, crossed);
    auto grafts = frames_of<protocol::graft>(crossed);
    REQUIRE(grafts.size() == 1);
    CHECK(grafts[0].first == "y");
    CHECK(grafts[0].second.ids.empty());
    CHECK(grafts[0].second.author == "alice");
    CHECK(f.b.role_of("y", "alice") == broadcast::role::eager);
    // A copy pushed on an eager link, or one this peer grafted, needs no graft.
    actions eager;
    f.b.on_new("y", "m3", "alice", frame_for("m3"), 1, f.now, eager);
    CHECK(frames_of<protocol::graft>(eager).empty());
    f.b.on_duplicate("x", "alice", out);
    f.b.on_frame("x", protocol::ihave{room, {"m4"}, {1}}, f.now, out);
    actions graft_sent;
    f.b.tick(f.now + f.config.graft_first, graft_sent);
    REQUIRE(frames_of<protocol::graft>(graft_sent).size() == 1);
    actions answered;
    f.b.on_new("x", "m4", "alice", frame_for("m4"), 1, f.now, answered);
    CHECK(frames_of<protocol::graft>(answered).empty());
}

TEST_CASE("an announced id that does not arrive is grafted, from one announcer after another",
          "[broadcast]") {
    fixture f({"x", "y"});
    actions out;
    f.b.on_frame("x", protocol::ihave{room, {"m1"}, {2}}, f.now, out);
    f.b.on_frame("y", protocol::ihave{room, {"m1"}, {3}}, f.now, out);
    CHECK(f.b.missing_count() == 1);
    actions early;
    f.b.tick(f.now + f.config.graft_first - 1ms, early);
    CHECK(frames_of<protocol::graft>(early).empty());
    actions first;
    f.b.tick(f.now + f.config.graft_first, first);
    auto grafts = frames_of<protocol::graft>(first);
    REQUIRE(grafts.size() == 1);
    CHECK(grafts[0].first == "x");
    CHECK(grafts[0].second.ids == std::vector<std::string>{"m1"});
    actions second;
    f.b.tick(f.now + f.config.graft_first + f.config.graft_next, second);
    grafts = frames_of<protocol::graft>(second);
    REQUIRE(grafts.size() == 1);
    CHECK(grafts[0].first == "y");
    // When it arrives, nobody is asked again.
    actions arrived;
    f.b.on_new("y", "m1", "alice", frame_for("m1"), 4, f.now, arrived);
    CHECK(f.b.missing_count() == 0);
}

TEST_CASE("a graft is answered from the cache, and ids never served get nothing",
          "[broadcast]") {
    fixture f({"x", "y"});
    actions out;
    f.b.publish("m1", "me", frame_for("m1"), f.now, out);
    actions answer;
    f.b.on_frame("y", protocol::graft{room, {"m1", "never-served"}, {}}, f.now, answer);
    CHECK(forwarded_to(answer) == std::set<peer_id>{"y"});
    // Not from a neighbour: ignored.
    actions stranger;
    f.b.on_frame("s", protocol::graft{room, {"m1"}, {}}, f.now, stranger);
    CHECK(stranger.empty());
}

TEST_CASE("a neighbour that comes up hears the ids of the last messages", "[broadcast]") {
    fixture f({"x"});
    actions out;
    f.b.on_new("x", "m1", "alice", frame_for("m1"), 1, f.now, out);
    f.b.neighbor_up("late", f.now + 1s);
    actions tick;
    f.b.tick(f.now + 1s + f.config.ihave_every, tick);
    auto haves = frames_of<protocol::ihave>(tick);
    REQUIRE(haves.size() == 1);
    CHECK(haves[0].first == "late");
    CHECK(haves[0].second.ids == std::vector<std::string>{"m1"});
}

TEST_CASE("a kept message outlives the cache: a new neighbour hears its id and may graft it",
          "[broadcast]") {
    fixture f({"x"});
    actions out;
    f.b.on_new("x", "p1", "alice", frame_for("p1"), 1, f.now, out);
    f.b.keep("alice", "p1");
    // Long past the cache and the catch-up window.
    const auto later = f.now + f.config.cache_for + f.config.catch_up + 1min;
    actions expired;
    f.b.tick(later, expired);
    f.b.neighbor_up("late", later);
    actions tick;
    f.b.tick(later + f.config.ihave_every, tick);
    auto haves = frames_of<protocol::ihave>(tick);
    REQUIRE(haves.size() == 1);
    CHECK(haves[0].first == "late");
    CHECK(haves[0].second.ids == std::vector<std::string>{"p1"});
    CHECK(haves[0].second.hops == std::vector<std::uint32_t>{1});
    actions answer;
    f.b.on_frame("late", protocol::graft{room, {"p1"}, {}}, later, answer);
    CHECK(forwarded_to(answer) == std::set<peer_id>{"late"});
}

TEST_CASE("an author keeps one message: the next replaces it, unkeep drops it", "[broadcast]") {
    fixture f({"x"});
    actions out;
    f.b.on_new("x", "p1", "alice", frame_for("p1"), 1, f.now, out);
    f.b.keep("alice", "p1");
    f.b.on_new("x", "p2", "alice", frame_for("p2"), 1, f.now, out);
    f.b.keep("alice", "p2");
    f.b.on_new("x", "q1", "bob", frame_for("q1"), 1, f.now, out);
    f.b.keep("bob", "q1");
    CHECK(f.b.kept_count() == 2);
    f.b.unkeep("bob");
    CHECK(f.b.kept_count() == 1);
    // Still cached and within the catch-up window: announced once, not twice.
    f.b.neighbor_up("late", f.now);
    actions tick;
    f.b.tick(f.now + f.config.ihave_every, tick);
    auto haves = frames_of<protocol::ihave>(tick);
    REQUIRE(haves.size() == 1);
    CHECK(haves[0].second.ids == std::vector<std::string>{"p1", "p2", "q1"});
    // Past the cache only p2 (alice's latest) is left to serve.
    const auto later = f.now + f.config.cache_for + 1s;
    actions expired;
    f.b.tick(later, expired);
    actions answer;
    f.b.on_frame("late", protocol::graft{room, {"p1", "p2", "q1"}, {}}, later, answer);
    auto served = actions_of<forward_chat>(answer);
    REQUIRE(served.size() == 1);
    CHECK(*served[0].frame == "frame of p2");
}

TEST_CASE("keep is bounded, and names only a cached message", "[broadcast]") {
    broadcast_config config;
    config.max_kept = 2;
    time_point now{std::chrono::hours(1)};
    broadcast b{room, config};
    b.neighbor_up("x", now);
    actions out;
    b.keep("alice", "never-received");
    CHECK(b.kept_count() == 0);
    for (const auto* author : {"a", "b", "c"}) {
        const std::string id = std::string("m-") + author;
        b.on_new("x", id, author, frame_for(id), 1, now, out);
        b.keep(author, id);
    }
    CHECK(b.kept_count() == 2);
}

TEST_CASE("a much shorter path announced by a lazy neighbour is grafted",
          "[broadcast]") {
    fixture f({"far", "near"});
    actions out;
    f.b.on_new("far", "m1", "alice", frame_for("m1"), 9, f.now, out);
    f.b.on_duplicate("near", "alice", out);  // near is lazy for alice now
    actions swap;
    f.b.on_frame("near", protocol::ihave{room, {"m1"}, {2}}, f.now, swap);
    auto grafts = frames_of<protocol::graft>(swap);
    REQUIRE(grafts.size() == 1);
    CHECK(grafts[0].first == "near");
    CHECK(grafts[0].second.ids.empty());
    CHECK(grafts[0].second.author == "alice");
    // far stays eager until its copy of the next message comes second and prunes it: no
    // message falls between the two.
    CHECK(frames_of<protocol::prune>(swap).empty());
    CHECK(f.b.role_of("near", "alice") == broadcast::role::eager);
    CHECK(f.b.role_of("far", "alice") == broadcast::role::eager);
}

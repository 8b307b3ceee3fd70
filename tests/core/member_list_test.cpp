// The member list of one room: presence in, joins, leaves and nick changes out; the silent
// expire; this peer's own announcements are scheduled.

#include <algorithm>
#include <functional>

#include <catch2/catch.hpp>

#include "core/member_list.hpp"

using namespace confab;
using namespace confab::core;
using namespace std::chrono_literals;
using protocol::presence;
using kind = member_change::kind;

namespace {

struct fixture {
    member_list_config config;
    member_list::clock::time_point now{std::chrono::hours(1)};
    std::int64_t wall = 1'700'000'000'000;
    member_list list;
    std::vector<member_change> out;

    explicit fixture(member_list_config c = {}) : config(c), list("self", c, 42) {}

    bool hear(const std::string& author, std::uint64_t seq, presence what,
              const std::string& nick = "") {
        return list.on_presence({author, nick.empty() ? author : nick, seq, what}, now, wall, out);
    }
    void pass(member_list::clock::duration d) {
        now += d;
        wall += std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    }
};

}  // namespace

TEST_CASE("a member's first presence is a join, later ones refresh it quietly", "[member_list]") {
    fixture f;
    CHECK(f.hear("alice", 3, presence::join));
    REQUIRE(f.out.size() == 1);
    CHECK(f.out[0].what == kind::join);
    CHECK(f.out[0].who.peer_id == "alice");
    CHECK(f.out[0].who.last_seen == f.wall);
    f.out.clear();
    f.pass(10s);
    CHECK(f.hear("alice", 4, presence::here));
    CHECK(f.out.empty());
    REQUIRE(f.list.members().size() == 1);
    CHECK(f.list.members()[0].last_seen == f.wall);
    // A "here" from a member not listed yet (it joined before we did) is a join too.
    CHECK(f.hear("bob", 9, presence::here));
    REQUIRE(f.out.size() == 1);
    CHECK(f.out[0].what == kind::join);
}

TEST_CASE("leave removes a member, and its older presence arriving late does not bring it back",
          "[member_list]") {
    fixture f;
    f.hear("alice", 3, presence::join);
    f.out.clear();
    CHECK_FALSE(f.hear("alice", 5, presence::leave));
    REQUIRE(f.out.size() == 1);
    CHECK(f.out[0].what == kind::leave);
    CHECK(f.out[0].reason == member_gone::left);
    CHECK(f.list.size() == 0);
    f.out.clear();
    CHECK_FALSE(f.hear("alice", 4, presence::here));  // in flight when it left
    CHECK(f.out.empty());
    CHECK(f.list.size() == 0);
    // Back for real: a newer seq.
    CHECK(f.hear("alice", 6, presence::join));
    REQUIRE(f.out.size() == 1);
    CHECK(f.out[0].what == kind::join);
}

TEST_CASE("a stale presence of a listed member is ignored", "[member_list]") {
    fixture f;
    f.hear("alice", 5, presence::here, "alice");
    f.out.clear();
    CHECK_FALSE(f.hear("alice", 4, presence::here, "old-nick"));
    CHECK(f.out.empty());
    CHECK(f.list.members()[0].nick == "alice");
}

TEST_CASE("a member unheard for three intervals times out, not before", "[member_list]") {
    member_list_config c;
    c.announce_every = 10s;
    fixture f(c);
    f.hear("alice", 1, presence::join);
    f.hear("bob", 1, presence::join);
    f.out.clear();
    f.pass(20s);
    f.hear("bob", 2, presence::here);
    REQUIRE(f.list.next_wake());
    CHECK(*f.list.next_wake() == f.now + 10s);  // alice's time is up then
    f.pass(10s - 1ms);
    f.list.expire(f.now, f.out);
    CHECK(f.out.empty());
    f.pass(1ms);
    f.list.expire(f.now, f.out);
    REQUIRE(f.out.size() == 1);
    CHECK(f.out[0].what == kind::leave);
    CHECK(f.out[0].who.peer_id == "alice");
    CHECK(f.out[0].reason == member_gone::timeout);
    REQUIRE(f.list.members().size() == 1);
    CHECK(f.list.members()[0].peer_id == "bob");
    // Its last announcement, handed over late by a peer that still lists it, is stale.
    f.out.clear();
    CHECK_FALSE(f.hear("alice", 1, presence::join));
    CHECK(f.out.empty());
}

TEST_CASE("a new nick in a member's presence is reported", "[member_list]") {
    fixture f;
    f.hear("p1", 1, presence::join, "alice");
    f.out.clear();
    CHECK(f.hear("p1", 2, presence::here, "alice2"));
    REQUIRE(f.out.size() == 1);
    CHECK(f.out[0].what == kind::nick);
    CHECK(f.out[0].old_nick == "alice");
    CHECK(f.out[0].who.nick == "alice2");
    CHECK(f.list.members()[0].nick == "alice2");
}

TEST_CASE("the list is bounded: past max_members new members are ignored", "[member_list]") {
    member_list_config c;
    c.max_members = 3;
    fixture f(c);
    for (int i = 0; i < 10; ++i) f.hear("m" + std::to_string(i), 1, presence::join);
    CHECK(f.list.size() == 3);
    CHECK(f.out.size() == 3);
    // Those listed still refresh; a place freed is taken by the next newcomer.
    CHECK(f.hear("m0", 2, presence::here));
    CHECK_FALSE(f.hear("m7", 2, presence::here));
    f.hear("m1", 3, presence::leave);
    CHECK(f.hear("m7", 3, presence::here));
    CHECK(f.list.size() == 3);
}

TEST_CASE("this peer's own presence is not listed by the list", "[member_list]") {
    fixture f;
    CHECK_FALSE(f.hear("self", 1, presence::join));
    CHECK(f.out.empty());
    CHECK(f.list.size() == 0);
}

TEST_CASE("members are listed by nick, then peer id", "[member_list]") {
    fixture f;
    f.hear("p3", 1, presence::join, "carol");
    f.hear("p2", 1, presence::join, "alice");
    f.hear("p1", 1, presence::join, "alice");
    auto list = f.list.members();
    REQUIRE(list.size() == 3);
    CHECK(list[0].peer_id == "p1");
    CHECK(list[1].peer_id == "p2");
    CHECK(list[2].nick == "carol");
}

TEST_CASE("announcements: join when linked, then here every interval (jittered), none alone",
          "[member_list]") {
    member_list_config c;
    c.announce_every = 60s;
    fixture f(c);
    CHECK_FALSE(f.list.announcement(f.now));
    CHECK_FALSE(f.list.next_wake());
    f.list.linked(f.now);
    f.list.linked(f.now);  // a second neighbour changes nothing
    CHECK(f.list.announcement(f.now) == presence::join);
    CHECK_FALSE(f.list.announcement(f.now));
    auto gaps = std::vector<member_list::clock::duration>{};
    for (int i = 0; i < 20; ++i) {
        const auto before = f.now;
        REQUIRE(f.list.next_wake());
        f.now = *f.list.next_wake();
        CHECK(f.list.announcement(f.now) == presence::here);
        gaps.push_back(f.now - before);
    }
    for (auto g : gaps) {
        CHECK(g >= 54s);
        CHECK(g <= 66s);
    }
    // Not all alike: 200 peers started together do not announce in step.
    CHECK(std::adjacent_find(gaps.begin(), gaps.end(), std::not_equal_to<>()) != gaps.end());
    // Alone: nothing; linked again: a join, at once.
    f.list.unlinked();
    CHECK_FALSE(f.list.next_wake());
    f.pass(5min);
    CHECK_FALSE(f.list.announcement(f.now));
    f.list.linked(f.now);
    CHECK(f.list.announcement(f.now) == presence::join);
}

TEST_CASE("announce_now brings the next announcement forward, only when linked",
          "[member_list]") {
    fixture f;
    f.list.announce_now(f.now);
    CHECK_FALSE(f.list.announcement(f.now));
    f.list.linked(f.now);
    CHECK(f.list.announcement(f.now) == presence::join);
    f.pass(1s);
    f.list.announce_now(f.now);
    CHECK(f.list.announcement(f.now) == presence::here);
}

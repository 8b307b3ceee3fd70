// Who is in the room, with real peers: eight peers in one room, where each has at most six
// neighbours (HyParView's active view), so some members reach each other only through others.
// /names lists every member everywhere; a peer that quits is reported "left", one killed goes
// after the timeout (--announce-every 1: three seconds).

#include <csignal>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/peer_process.hpp"

using namespace confab::test;

namespace {

// The members a peer counts now, by peer id, from its member_join and member_leave events.
std::set<std::string> members_heard(const peer_process& p) {
    std::set<std::string> members;
    for (const auto& e : p.events()) {
        if (e.name() == "member_join") members.insert(e.str("peer_id"));
        if (e.name() == "member_leave") members.erase(e.str("peer_id"));
    }
    return members;
}

event_predicate is_member_leave(std::string peer_id, std::string reason) {
    return [peer_id = std::move(peer_id), reason = std::move(reason)](const event& e) {
        return e.name() == "member_leave" && e.str("peer_id") == peer_id &&
               e.str("reason") == reason;
    };
}

// Asks for /names and returns the answer's members, by peer id: nick.
std::map<std::string, std::string> names_of(peer_process& p) {
    const auto from = p.events().size();
    p.send_line("/names");
    auto names = p.wait_for(is_event("names"), 5s, "names from " + p.nick(), from);
    CHECK(names.str("room") == "lobby");
    std::map<std::string, std::string> members;
    for (const auto& m : names.json.at("members")) {
        members[m.at("peer_id").get<std::string>()] = m.at("nick").get<std::string>();
        CHECK(m.at("last_seen").get<std::int64_t>() > 1'600'000'000'000);
    }
    return members;
}

}  // namespace

TEST_CASE("every member is listed by every peer, a peer that quits left and a killed one times out",
          "[integration][members]") {
    constexpr int n = 8;
    std::vector<std::unique_ptr<peer_process>> owned;
    for (int i = 0; i < n; ++i) {
        peer_options o;
        o.nick = "m";
        o.nick += std::to_string(i);
        o.log_level = "info";
        o.extra_args = {"--announce-every", "1"};
        // A chain at first: each knows only the one before; the overlay finds the rest.
        if (i > 0) o.joins = {owned.back()->listen()};
        owned.push_back(start_peer(o));
    }
    auto procs = pointers(owned);
    std::map<std::string, std::string> everyone;  // peer id: nick
    for (const auto& p : owned) everyone[p->peer_id()] = p->nick();

    auto knows_all_others = [&](const peer_process& p) {
        auto heard = members_heard(p);
        heard.insert(p.peer_id());
        return heard.size() == everyone.size();
    };
    const bool all_listed = poll_until(
        procs, [&] { return std::all_of(owned.begin(), owned.end(), [&](const auto& p) {
                         return knows_all_others(*p);
                     }); },
        20s);
    for (const auto& p : owned) {
        INFO(p->nick() << " heard " << members_heard(*p).size() << " members\n" << p->describe());
        REQUIRE(all_listed);
    }
    // Not everyone is everyone's neighbour: presence reached them through others.
    const bool some_not_neighbours = std::any_of(owned.begin(), owned.end(), [&](const auto& p) {
        return neighbours(*p).size() < n - 1;
    });
    CHECK(some_not_neighbours);
    for (const auto& p : owned) {
        INFO(p->nick());
        CHECK(names_of(*p) == everyone);
        for (const auto& e : p->events()) {
            if (e.name() == "member_join") CHECK(e.str("room") == "lobby");
        }
    }

    // m7 quits: said "leave", everyone hears it (well before a timeout could say so).
    auto& quitter = *owned[7];
    std::vector<std::size_t> from;
    for (const auto& p : owned) from.push_back(p->events().size());
    quitter.send_line("/quit");
    REQUIRE(quitter.wait_exit(10s) == 0);
    std::vector<peer_process*> rest(procs.begin(), procs.begin() + 7);
    wait_all(rest, is_member_leave(quitter.peer_id(), "left"), 10s, "m7 left",
             std::span<const std::size_t>(from.data(), 7));
    for (auto* p : rest) {
        auto leave = *p->find(is_member_leave(quitter.peer_id(), "left"));
        CHECK(leave.str("room") == "lobby");
        CHECK(leave.str("nick") == "m7");
    }

    // m6 is killed: nothing said; after three silent seconds it is gone everywhere.
    auto& killed = *owned[6];
    killed.kill(SIGKILL);
    REQUIRE(killed.wait_exit(5s));
    std::vector<peer_process*> alive(procs.begin(), procs.begin() + 6);
    wait_all(alive, is_member_leave(killed.peer_id(), "timeout"), 15s, "m6 timed out");
    everyone.erase(quitter.peer_id());
    everyone.erase(killed.peer_id());
    for (auto* p : alive) {
        INFO(p->nick());
        CHECK(p->count(is_member_leave(killed.peer_id(), "left")) == 0);
        CHECK(names_of(*p) == everyone);
    }
}

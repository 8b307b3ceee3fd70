// Catch-up: a broadcast sends a message once to each neighbour linked at that moment, so a
// link that comes up just after it went out (a neighbour still linking up, or a link being
// replaced) would miss it for good. Each new neighbour is told the ids of the messages of the
// last 30 s (ihave), and asks for those it lacks (graft).

#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/fake_peer.hpp"
#include "tests/support/peer_process.hpp"

using namespace confab::test;

TEST_CASE("a peer that links up just after a message went out still gets it, once",
          "[integration][mesh]") {
    pair_of_peers p;  // alice and bob, neighbours
    const std::string text = "written before carol and dave linked up";
    p.a->send_line(text);
    const auto id = p.b->wait_for(is_message_with_text(text), 5s, "alice's message at bob").str("id");

    SECTION("on the wire: bob announces it, and hands it on as alice signed it when asked") {
        fake_peer carol(*p.b, "carol");
        auto have = carol.next_of_type("ihave", 5s);
        REQUIRE(have);
        const auto ids = (*have)["ids"].get<std::vector<std::string>>();
        CHECK(std::find(ids.begin(), ids.end(), id) != ids.end());
        REQUIRE(carol.send({{"type", "graft"}, {"room", (*have)["room"]}, {"ids", {id}}}));
        auto env = carol.next_chat(5s);
        REQUIRE(env);
        CHECK(env->value("body", "") == text);
        CHECK(env->value("author", "") == p.a->peer_id());
    }
    SECTION("a real peer delivers it exactly once, and so do the others") {
        peer_options o;
        o.nick = "dave";
        o.joins = {p.b->listen()};
        auto dave = start_peer(o);
        dave->wait_for(is_message_with_text(text), 5s, "alice's earlier message at dave");
        // A marker written after dave is linked reaches everyone after any duplicate would.
        p.a->send_line("marker");
        std::vector<peer_process*> all{p.a.get(), p.b.get(), dave.get()};
        wait_all(all, is_message_with_text("marker"), 5s, "the marker");
        CHECK(dave->count(is_message_with_text(text)) == 1);
        CHECK(p.b->count(is_message_with_text(text)) == 1);
        CHECK(p.a->count(is_message_with_text(text)) == 1);
    }
}

// A headless peer shuts down cleanly on EOF and on /quit, and its neighbour hears of it.

#include <string>

#include <catch2/catch.hpp>

#include "tests/support/peer_process.hpp"

using namespace confab::test;

TEST_CASE("EOF on stdin exits 0 and the neighbour sees peer_down", "[integration][shutdown]") {
    pair_of_peers peers;
    peers.b->close_stdin();
    auto code = peers.b->wait_exit(5s);
    INFO(peers.b->describe());
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    peers.a->wait_for(is_peer_down(peers.b->peer_id()), 5s, "peer_down for bob");
}

TEST_CASE("/quit exits 0 and the neighbour sees peer_down", "[integration][shutdown]") {
    pair_of_peers peers;
    peers.b->send_line("/quit");
    auto code = peers.b->wait_exit(5s);
    INFO(peers.b->describe());
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    peers.a->wait_for(is_peer_down(peers.b->peer_id()), 5s, "peer_down for bob");
}

TEST_CASE("a line written right after start and then EOF still reaches the peer it joined",
          "[integration][shutdown]") {
    peer_options oa;
    oa.nick = "alice";
    auto a = start_peer(oa);
    peer_options ob;
    ob.nick = "script";
    ob.joins = {a->listen()};
    auto b = start_peer(ob);
    // As `printf 'build failed\n' | confab --headless --join ...` does: no waiting for peers.
    b->send_line("build failed");
    b->close_stdin();
    a->wait_for(is_message_with_text("build failed"), 8s, "the script's one message");
    auto code = b->wait_exit(8s);
    INFO(b->describe());
    REQUIRE(code.has_value());
    CHECK(*code == 0);
}

TEST_CASE("a message nobody could take is reported at EOF, not silently dropped",
          "[integration][shutdown]") {
    peer_options o;
    o.nick = "alone";
    auto p = start_peer(o);
    p->send_line("anyone there?");
    p->wait_for(is_event("notice"), 5s, "notice that nobody is connected");
    p->close_stdin();
    auto err = p->wait_for(is_event("error"), 8s, "error for the message never sent");
    CHECK(err.str("message") == "1 message(s) not sent: no peer connected before shutdown");
    auto code = p->wait_exit(8s);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
}

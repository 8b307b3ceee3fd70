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

// The headless command language: errors are events and never end the process, /nick, /peers
// and /connect do what they say.

#include <string>

#include <catch2/catch.hpp>

#include "tests/support/peer_process.hpp"

using namespace confab::test;

namespace {

// Sends /peers and returns the answer (events before `from` are not considered).
event ask_peers(peer_process& p) {
    std::size_t from = p.events().size();
    p.send_line("/peers");
    return p.wait_for(is_event("peers"), 5s, "answer to /peers", from);
}

event next_error(peer_process& p, std::size_t from, std::string_view what) {
    return p.wait_for(is_event("error"), 5s, what, from);
}

}  // namespace

TEST_CASE("an unknown command gives an error event naming it and the peer stays up",
          "[integration][commands]") {
    pair_of_peers peers;
    std::size_t from = peers.a->events().size();
    peers.a->send_line("/frobnicate now");
    auto e = next_error(*peers.a, from, "error for /frobnicate");
    INFO(e.json.dump());
    CHECK(e.str("message").find("frobnicate") != std::string::npos);
    ask_peers(*peers.a);
    CHECK(peers.a->running());
}

TEST_CASE("a message over 16384 bytes gives an error naming the limit and is not delivered",
          "[integration][commands]") {
    pair_of_peers peers;
    std::string long_text(20000, 'x');
    std::size_t from = peers.a->events().size();
    peers.a->send_line(long_text);
    auto e = next_error(*peers.a, from, "error for a 20000-byte message");
    INFO(e.json.dump());
    std::string m = e.str("message");
    bool names_limit = m.find("16384") != std::string::npos ||
                       m.find("16 KiB") != std::string::npos ||
                       m.find("16KiB") != std::string::npos;
    CHECK(names_limit);

    // The marker is sent after the long line, so once bob has it the long one would be there.
    peers.a->send_line("marker after the long one");
    peers.b->wait_for(is_message_with_text("marker after the long one"), 5s, "marker");
    auto is_long = [](const event& ev) {
        return ev.name() == "message" && ev.str("text").size() > 16384;
    };
    INFO(peers.a->describe(5) << "\n" << peers.b->describe(5));
    CHECK(peers.b->count(is_long) == 0);
    CHECK(peers.a->count(is_long) == 0);
}

TEST_CASE("a message of exactly 16384 bytes is delivered", "[integration][commands]") {
    pair_of_peers peers;
    std::string longest(16384, 'y');
    peers.a->send_line(longest);
    auto e = peers.b->wait_for(is_message_with_text(longest), 5s, "the 16384-byte message");
    CHECK(e.str("from") == "alice");
    CHECK(peers.a->count(is_event("error")) == 0);
}

TEST_CASE("/nick renames: the neighbour sees a nick event and the next message's from",
          "[integration][commands]") {
    pair_of_peers peers;
    peers.a->send_line("/nick alice2");
    auto own = peers.a->wait_for(is_event("nick"), 5s, "own nick event");
    CHECK(own.str("nick") == "alice2");
    CHECK(own.json.value("own", false));

    auto seen = peers.b->wait_for(is_event("nick"), 5s, "nick event for alice");
    CHECK(seen.str("peer_id") == peers.a->peer_id());
    CHECK(seen.str("nick") == "alice2");
    CHECK(seen.str("old") == "alice");

    peers.a->send_line("hello under the new name");
    auto msg = peers.b->wait_for(is_message_with_text("hello under the new name"), 5s,
                                 "message after the rename");
    CHECK(msg.str("from") == "alice2");
    CHECK(msg.str("peer_id") == peers.a->peer_id());
}

TEST_CASE("/peers lists the neighbour with its nick and address", "[integration][commands]") {
    pair_of_peers peers;
    auto e = ask_peers(*peers.a);
    INFO(e.json.dump());
    REQUIRE(e.json.contains("peers"));
    REQUIRE(e.json["peers"].is_array());
    REQUIRE(e.json["peers"].size() == 1);
    const auto& bob = e.json["peers"][0];
    CHECK(bob.value("peer_id", "") == peers.b->peer_id());
    CHECK(bob.value("nick", "") == "bob");
    CHECK(!bob.value("addr", "").empty());
    CHECK(e.json.value("connections", -1) >= 1);
}

TEST_CASE("/connect to a bad address gives an error event and the peer stays up",
          "[integration][commands]") {
    pair_of_peers peers;
    std::size_t from = peers.a->events().size();

    SECTION("not HOST:PORT") {
        peers.a->send_line("/connect nowhere");
        auto e = next_error(*peers.a, from, "error for /connect nowhere");
        CHECK(!e.str("message").empty());
    }
    SECTION("nothing listening there") {
        peers.a->send_line("/connect 127.0.0.1:" + std::to_string(dead_port()));
        auto e = next_error(*peers.a, from, "error for /connect to a dead port");
        CHECK(!e.str("message").empty());
    }
    auto answer = ask_peers(*peers.a);
    INFO(answer.json.dump());
    CHECK(answer.json.value("peers", nlohmann::json::array()).size() == 1);
}

TEST_CASE("/me sends an emote that arrives marked as an action, and plain text does not",
          "[integration][commands]") {
    pair_of_peers peers;
    peers.a->send_line("/me waves");
    auto emote = peers.b->wait_for(is_message_with_text("waves"), 5s, "the emote");
    CHECK(emote.json.value("action", false));
    CHECK(emote.str("from") == "alice");
    auto own = peers.a->wait_for(is_message_with_text("waves"), 5s, "own emote");
    CHECK(own.json.value("action", false));

    peers.a->send_line("plain words");
    auto plain = peers.b->wait_for(is_message_with_text("plain words"), 5s, "plain message");
    CHECK_FALSE(plain.json.value("action", true));
}

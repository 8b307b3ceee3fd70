// Signed messages between real processes: a peer delivers and forwards only what the named
// author signed, cuts off the neighbour that sends a forgery, drops messages from the future,
// delivers a replay once, and reports an author that signs two messages with one seq.

#include <algorithm>
#include <string>

#include <catch2/catch.hpp>

#include "tests/support/fake_peer.hpp"
#include "tests/support/peer_process.hpp"
#include "tests/support/wire.hpp"

using namespace confab::test;
using Catch::Matchers::Contains;

namespace {

const std::string mismatch = "signature does not match the author's key";

// How often `text` occurs in the peer's log.
std::size_t log_count(const peer_process& p, const std::string& text) {
    const std::string log = p.stderr_text();
    std::size_t n = 0;
    for (auto pos = log.find(text); pos != std::string::npos; pos = log.find(text, pos + 1)) ++n;
    return n;
}

// The frames a peer sent before cutting us off, as JSON.
bool received(tls_connection& c, const std::string& type, const std::string& key,
              const std::string& contains) {
    const auto frames = c.frames();
    return std::any_of(frames.begin(), frames.end(), [&](const std::string& f) {
        auto j = nlohmann::json::parse(f, nullptr, false);
        return j.is_object() && j.value("type", "") == type &&
               j.value(key, "").find(contains) != std::string::npos;
    });
}

// A peer on its own: no --join.
std::unique_ptr<peer_process> start_named(const std::string& nick) {
    peer_options o;
    o.nick = nick;
    return start_peer(o);
}

// A marker sent after the frames under test and seen delivered: the target has handled them
// (one connection is read in order).
void send_marker(fake_peer& p, peer_process& target, const std::string& text) {
    REQUIRE(p.send_chat(p.sign(p.envelope(text))));
    target.wait_for(is_message_with_text(text), 5s, "the marker " + text);
}

}  // namespace

TEST_CASE("a message forged in another peer's name is not delivered, and its sender is cut off",
          "[integration][signature]") {
    pair_of_peers p;  // alice and bob, neighbours
    fake_peer mallory(*p.a);

    // Mallory's own key signs an envelope that names bob as its author.
    auto forged = mallory.envelope("bob never wrote this");
    forged["author"] = p.b->peer_id();
    forged["nick"] = "bob";
    REQUIRE(mallory.send_chat(mallory.sign(forged)));

    CHECK(mallory.connection().wait_closed(5s));
    p.a->wait_for(is_peer_down(mallory.id()), 5s, "alice dropping mallory");
    INFO(p.a->describe());
    // Alice said why, then goodbye.
    CHECK(received(mallory.connection(), "error", "message", mismatch));
    CHECK(received(mallory.connection(), "bye", "reason", "invalid signature"));
    CHECK(log_count(*p.a, "dropped chat message") == 1);
    CHECK(log_count(*p.a, mismatch) >= 1);

    // Not forwarded either: a marker alice writes after it reaches bob, the forgery never does.
    p.a->send_line("marker from alice");
    p.b->wait_for(is_message_with_text("marker from alice"), 5s, "alice's marker at bob");
    CHECK(p.a->count(is_message_with_text("bob never wrote this")) == 0);
    CHECK(p.b->count(is_message_with_text("bob never wrote this")) == 0);
    // Alice and bob are still neighbours.
    CHECK(p.a->count(is_peer_down(p.b->peer_id())) == 0);
}

TEST_CASE("a genuine message altered in flight is refused, and does not keep the genuine one out",
          "[integration][signature]") {
    // Alice and bob are not neighbours: mallory sits between them and relays.
    auto alice = start_named("alice");
    auto bob = start_named("bob");
    fake_peer from_bob(*bob, "mallory");
    bob->send_line("meet at noon");
    auto genuine = from_bob.next_chat(5s);
    REQUIRE(genuine);
    REQUIRE(genuine->value("body", "") == "meet at noon");

    {
        fake_peer to_alice(*alice, "mallory");
        auto altered = *genuine;
        altered["body"] = "meet at midnight";
        REQUIRE(to_alice.send_chat(altered));
        CHECK(to_alice.connection().wait_closed(5s));
    }
    {
        // The same content under a broken signature has the genuine message's id: refused all
        // the same, and it must not make alice take the genuine one for a copy later.
        fake_peer to_alice(*alice, "mallory2");
        auto broken = *genuine;
        auto sig = broken["sig"].get<std::string>();
        sig[0] = sig[0] == 'f' ? '0' : 'f';
        broken["sig"] = sig;
        REQUIRE(to_alice.send_chat(broken));
        CHECK(to_alice.connection().wait_closed(5s));
    }

    fake_peer relay(*alice, "relay");
    REQUIRE(relay.send_chat(*genuine));
    auto delivered = alice->wait_for(is_message_with_text("meet at noon"), 5s, "bob's message");
    INFO(alice->describe());
    CHECK(delivered.str("peer_id") == bob->peer_id());
    CHECK(delivered.str("from") == "bob");
    CHECK(alice->count(is_message_with_text("meet at midnight")) == 0);
    CHECK(log_count(*alice, "dropped chat message") == 2);
    // The relay forwarded a genuine message: it stays.
    send_marker(relay, *alice, "relay still here");
    CHECK(alice->count(is_peer_down(relay.id())) == 0);
}

TEST_CASE("a replayed message is delivered once, and replaying it is not held against anyone",
          "[integration][signature]") {
    auto alice = start_named("alice");
    fake_peer mallory(*alice);
    fake_peer other(*alice, "other");

    const auto env = mallory.sign(mallory.envelope("said once"));
    for (int i = 0; i < 3; ++i) REQUIRE(mallory.send_chat(env));
    // The same envelope in other bytes (spaces, another key order) through another neighbour:
    // the same message id.
    REQUIRE(other.connection().send(
        frame(R"({ "envelope" : )" + env.dump(2) + R"(, "type" : "chat" })")));
    REQUIRE(other.send_chat(env));

    send_marker(mallory, *alice, "mallory's marker");
    send_marker(other, *alice, "other's marker");
    INFO(alice->describe());
    CHECK(alice->count(is_message_with_text("said once")) == 1);
    CHECK(alice->count(is_event("peer_down")) == 0);
    CHECK(log_count(*alice, "dropped chat message") == 0);
}

TEST_CASE("a message dated more than 10 minutes ahead is dropped and its sender cut off",
          "[integration][signature]") {
    auto alice = start_named("alice");
    fake_peer mallory(*alice);

    // A clock a few minutes fast is forgiven.
    auto ahead = mallory.envelope("a little ahead");
    ahead["ts"] = ahead["ts"].get<std::int64_t>() + 5 * 60 * 1000;
    REQUIRE(mallory.send_chat(mallory.sign(ahead)));
    auto future = mallory.envelope("from the future");
    future["ts"] = future["ts"].get<std::int64_t>() + 60 * 60 * 1000;
    REQUIRE(mallory.send_chat(mallory.sign(future)));

    alice->wait_for(is_peer_down(mallory.id()), 5s, "peer_down for mallory");
    INFO(alice->describe());
    CHECK(alice->count(is_message_with_text("from the future")) == 0);
    CHECK(alice->count(is_message_with_text("a little ahead")) == 1);
    CHECK(log_count(*alice, "dropped chat message") == 1);
    CHECK(log_count(*alice, "dated more than 10 minutes in the future") >= 1);
}

TEST_CASE("two messages an author signed with the same seq are both delivered, with a warning",
          "[integration][signature]") {
    auto alice = start_named("alice");
    fake_peer mallory(*alice);

    auto first = mallory.envelope("version one");
    auto second = first;
    second["body"] = "version two";
    REQUIRE(mallory.send_chat(mallory.sign(first)));
    REQUIRE(mallory.send_chat(mallory.sign(second)));

    send_marker(mallory, *alice, "marker");
    INFO(alice->describe());
    CHECK(alice->count(is_message_with_text("version one")) == 1);
    CHECK(alice->count(is_message_with_text("version two")) == 1);
    CHECK(log_count(*alice, "peer " + mallory.id() + " is equivocating: two messages with seq " +
                                std::to_string(first["seq"].get<int>())) == 1);
}

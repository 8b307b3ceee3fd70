// A client misbehaves on a peer's port, in plain TCP or inside TLS: the peer closes that one
// connection and keeps serving the honest peers that joined through it.

#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/identity.hpp"
#include "tests/support/fake_peer.hpp"
#include "tests/support/peer_process.hpp"
#include "tests/support/tls_connection.hpp"
#include "tests/support/wire.hpp"

using namespace confab::test;

namespace {

struct target_with_two_peers {
    std::unique_ptr<peer_process> target;
    std::unique_ptr<peer_process> b;
    std::unique_ptr<peer_process> c;

    target_with_two_peers() {
        peer_options o;
        o.nick = "target";
        target = start_peer(o);
        o.joins = {target->listen()};
        o.nick = "bob";
        b = start_peer(o);
        o.nick = "carol";
        c = start_peer(o);
        b->wait_for(is_peer_up(target->peer_id()), 5s, "peer_up for target");
        c->wait_for(is_peer_up(target->peer_id()), 5s, "peer_up for target");
    }

    // The honest peers still chat both ways, and the target still relays and delivers.
    void check_chat_still_works() {
        std::vector<peer_process*> all = {target.get(), b.get(), c.get()};
        b->send_line("bob after the attack");
        wait_all(all, is_message_with_text("bob after the attack"), 5s, "bob's message");
        c->send_line("carol after the attack");
        wait_all(all, is_message_with_text("carol after the attack"), 5s, "carol's message");
        CHECK(target->running());
    }
};

nlohmann::json hello_from(const std::string& peer_id) {
    return {{"type", "hello"},
            {"version", 2},
            {"peer_id", peer_id},
            {"nick", "mallory"},
            {"listen_port", 0},
            {"rooms", nlohmann::json::array({{{"name", "lobby"},
                                              {"id", "00000000000000000000000000000000"},
                                              {"proof", ""}}})},
            {"features", nlohmann::json::array()}};
}

}  // namespace

TEST_CASE(
    "a plain-TCP client that sends garbage, a huge length prefix or a plaintext hello reads "
    "nothing of the chat and is dropped, while honest peers keep chatting",
    "[integration][hostile]") {
    target_with_two_peers mesh;
    raw_connection attacker(port_of(mesh.target->listen()));

    SECTION("garbage") {
        attacker.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    SECTION("a length of 0xFFFFFFFF") {
        attacker.send(std::string(4, '\xff') + "abcd");
    }
    SECTION("a plaintext hello, as a peer without TLS would send") {
        attacker.send(frame(hello_from(random_peer_id()).dump()));
    }

    bool closed = attacker.wait_closed(5s);
    INFO(mesh.target->describe());
    CHECK(closed);
    // At most a TLS alert comes back: nothing readable, not even who the target is.
    CHECK(attacker.received().find(mesh.target->peer_id()) == std::string::npos);
    CHECK(attacker.received().find("hello") == std::string::npos);
    CHECK(attacker.frames().size() <= 1);
    mesh.check_chat_still_works();
}

TEST_CASE(
    "a peer closes a TLS connection that sends garbage, oversized or invalid frames, and "
    "keeps serving its honest neighbours",
    "[integration][hostile]") {
    target_with_two_peers mesh;
    auto me = confab::core::identity::generate();
    auto attacker = tls_connection::dial(port_of(mesh.target->listen()), me);
    REQUIRE(attacker.ok());
    CHECK(attacker.peer_id() == mesh.target->peer_id());

    SECTION("a frame that is not JSON") {
        attacker.send(frame("this is not json at all"));
    }
    SECTION("a length of 0xFFFFFFFF") {
        attacker.send(std::string(4, '\xff') + "abcd");
    }
    SECTION("a length of zero") {
        attacker.send(std::string(4, '\0') + "abcd");
    }
    SECTION("a valid hello, then invalid JSON") {
        attacker.send(frame(member_hello(me.peer_id(), "mallory", attacker).dump()));
        attacker.send(frame("{\"type\":\"chat\", \"env\": {"));
    }
    SECTION("a number too large for a double, after a valid hello") {
        attacker.send(frame(member_hello(me.peer_id(), "mallory", attacker).dump()));
        attacker.send(frame(R"({"type":"ping","nonce":1,"x":1e400})"));
    }
    SECTION("a chat message without a signature, after a valid hello") {
        nlohmann::json env = {{"room", "lobby"},     {"author", me.peer_id()},
                              {"nick", "mallory"},   {"seq", 1},
                              {"ts", 1700000000000}, {"body", "unsigned"}};
        attacker.send(frame(member_hello(me.peer_id(), "mallory", attacker).dump()));
        attacker.send(frame(nlohmann::json{{"type", "chat"}, {"envelope", env}}.dump()));
    }
    SECTION("peer lists before any hello (an acceptor hears nothing but hello first)") {
        nlohmann::json peers = {{"type", "peers"}, {"peers", nlohmann::json::array()}};
        for (int i = 0; i < 100; ++i) attacker.send(frame(peers.dump()));
    }

    bool closed = attacker.wait_closed(5s);
    INFO(mesh.target->describe());
    CHECK(closed);
    mesh.check_chat_still_works();
}

TEST_CASE("a hello that claims another peer id than the TLS key proves is refused",
          "[integration][hostile]") {
    target_with_two_peers mesh;
    auto me = confab::core::identity::generate();
    auto attacker = tls_connection::dial(port_of(mesh.target->listen()), me);
    REQUIRE(attacker.ok());
    // bob's id, claimed by a key that is not bob's.
    attacker.send(frame(member_hello(mesh.b->peer_id(), "mallory", attacker).dump()));
    CHECK(attacker.wait_closed(5s));
    // Closed before the target said anything: no hello, no peers, no messages.
    CHECK(attacker.received().empty());
    mesh.check_chat_still_works();
}

TEST_CASE("a connection that says nothing is told nothing and closed after the handshake deadline",
          "[integration][hostile]") {
    target_with_two_peers mesh;
    SECTION("not even a TLS hello") {
        raw_connection silent(port_of(mesh.target->listen()));
        // TLS within 5 s; 8 s leaves room for a loaded machine.
        bool closed = silent.wait_closed(8s);
        INFO(mesh.target->describe());
        CHECK(closed);
        CHECK(silent.received().empty());
    }
    SECTION("TLS, then no hello") {
        auto me = confab::core::identity::generate();
        auto silent = tls_connection::dial(port_of(mesh.target->listen()), me);
        REQUIRE(silent.ok());
        bool closed = silent.wait_closed(8s);
        INFO(mesh.target->describe());
        CHECK(closed);
        // The acceptor answers a hello; to a silent client it does not even say who it is.
        CHECK(silent.received().empty());
    }
    SECTION("a client that dribbles one byte a second") {
        raw_connection slow(port_of(mesh.target->listen()));
        const std::string client_hello_start = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
        const auto start = test_clock::now();
        bool closed = false;
        for (char byte : client_hello_start) {
            slow.send(std::string(1, byte));
            if (slow.wait_closed(1s)) {
                closed = true;
                break;
            }
        }
        if (!closed) closed = slow.wait_closed(10s - (test_clock::now() - start));
        INFO(mesh.target->describe());
        CHECK(closed);
        CHECK(test_clock::now() - start < 10s);
    }
    mesh.check_chat_still_works();
}

TEST_CASE("connections beyond the cap on handshakes in progress are closed at once",
          "[integration][hostile]") {
    target_with_two_peers mesh;
    const auto port = port_of(mesh.target->listen());
    // 16 silent connections hold every handshake slot (node_config::max_handshakes) ...
    std::vector<std::unique_ptr<raw_connection>> holders;
    for (int i = 0; i < 16; ++i) holders.push_back(std::make_unique<raw_connection>(port));
    // ... so the next ones are closed without waiting for any deadline. (Accepts are handled
    // in order, so by the time these are accepted the 16 are counted.)
    int closed_at_once = 0;
    for (int i = 0; i < 4; ++i) {
        raw_connection extra(port);
        if (extra.wait_closed(2s)) ++closed_at_once;
    }
    INFO(mesh.target->describe());
    CHECK(closed_at_once == 4);
    // The honest neighbours, already connected, never noticed.
    mesh.check_chat_still_works();
}

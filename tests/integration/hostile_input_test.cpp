// A raw TCP client misbehaves on a peer's port: the peer closes that one connection and keeps
// serving the honest peers that joined through it.

#include <string>

#include <catch2/catch.hpp>

#include "tests/support/fake_peer.hpp"
#include "tests/support/peer_process.hpp"
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

}  // namespace

TEST_CASE(
    "a peer closes a connection that sends garbage, oversized or invalid frames, and "
    "keeps serving its honest neighbours",
    "[integration][hostile]") {
    target_with_two_peers mesh;
    auto port = port_of(mesh.target->listen());
    raw_connection attacker(port);

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
        nlohmann::json hello = {{"type", "hello"},
                                {"version", 1},
                                {"peer_id", random_peer_id()},
                                {"nick", "mallory"},
                                {"listen_port", 0},
                                {"rooms", {"lobby"}},
                                {"features", nlohmann::json::array()}};
        attacker.send(frame(hello.dump()));
        attacker.send(frame("{\"type\":\"chat\", \"env\": {"));
    }
    SECTION("a number too large for a double, after a valid hello") {
        nlohmann::json hello = {
            {"type", "hello"},   {"version", 1},     {"peer_id", random_peer_id()},
            {"nick", "mallory"}, {"listen_port", 0}, {"rooms", {"lobby"}}};
        attacker.send(frame(hello.dump()));
        attacker.send(frame(R"({"type":"ping","nonce":1,"x":1e400})"));
    }
    SECTION("a chat message without a signature, after a valid hello") {
        nlohmann::json hello = {
            {"type", "hello"},   {"version", 1},     {"peer_id", random_peer_id()},
            {"nick", "mallory"}, {"listen_port", 0}, {"rooms", {"lobby"}}};
        nlohmann::json env = {{"room", "lobby"},     {"author", random_peer_id()},
                              {"nick", "mallory"},   {"seq", 1},
                              {"ts", 1700000000000}, {"body", "unsigned"}};
        attacker.send(frame(hello.dump()));
        attacker.send(frame(nlohmann::json{{"type", "chat"}, {"envelope", env}}.dump()));
    }
    SECTION("peer lists before any hello (an acceptor hears nothing but hello first)") {
        nlohmann::json peers = {{"type", "peers"}, {"peers", nlohmann::json::array()}};
        for (int i = 0; i < 100; ++i) attacker.send(frame(peers.dump()));
    }

    bool closed = attacker.wait_closed(5s);
    INFO("received " << attacker.frames().size() << " frames\n" << mesh.target->describe());
    CHECK(closed);
    mesh.check_chat_still_works();
}

TEST_CASE("a connection that says nothing is told nothing and closed after the hello deadline",
          "[integration][hostile]") {
    target_with_two_peers mesh;
    raw_connection silent(port_of(mesh.target->listen()));
    // The contract's hello deadline is 5 s; 8 s leaves room for a loaded machine.
    bool closed = silent.wait_closed(8s);
    INFO("received " << silent.frames().size() << " frames\n" << mesh.target->describe());
    CHECK(closed);
    // The acceptor answers a hello; to a silent client it does not even say who it is.
    CHECK(silent.frames().empty());
    mesh.check_chat_still_works();
}

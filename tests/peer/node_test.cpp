// Nodes in one process on one loop: listening, the mesh rules and flooding, without the
// cost of starting processes. The integration tests do the same through real processes.

#include "peer/node.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/write.hpp>
#include <catch2/catch.hpp>

#include "core/envelope_signature.hpp"
#include "core/identity.hpp"
#include "core/room_secret.hpp"
#include "protocol/frame.hpp"
#include "tests/support/temp_dir.hpp"

using namespace confab;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

// Remembers everything a node reports.
struct recorder : peer::event_sink {
    std::string listen;
    std::vector<peer::peer_info> up, down;
    std::vector<peer::chat_message> messages;
    std::vector<std::string> errors, notices;
    std::optional<std::size_t> connections;  // from the last on_peers
    std::vector<peer::peer_info> peers;

    void on_ready(const std::string&, const std::string&, const std::string& l,
                  const std::string&) override {
        listen = l;
    }
    void on_peer_up(const peer::peer_info& p) override { up.push_back(p); }
    void on_peer_down(const peer::peer_info& p, const std::string&) override { down.push_back(p); }
    void on_message(const peer::chat_message& m) override { messages.push_back(m); }
    void on_nick(const std::string&, const std::string&, const std::string&, bool) override {}
    void on_peers(const std::vector<peer::peer_info>& list, std::size_t n) override {
        peers = list;
        connections = n;
    }
    void on_error(const std::string& m) override { errors.push_back(m); }
    void on_notice(const std::string& m) override { notices.push_back(m); }
};

struct test_node {
    test::temp_dir dir;
    recorder events;
    std::unique_ptr<peer::node> node;

    // `tweak` adjusts the defaults (loopback, any port, explicit) for one test.
    test_node(asio::io_context& io, const std::string& nick,
              const std::function<void(peer::node_config&)>& tweak = {}) {
        peer::node_config config;
        config.nick = nick;
        config.listen = {"127.0.0.1", 0};
        config.listen_explicit = true;
        config.data_dir = dir.path();
        if (tweak) tweak(config);
        node = std::make_unique<peer::node>(io, core::identity::generate(), config, events);
    }
    protocol::host_port address() const {
        std::string error;
        return *protocol::parse_host_port(events.listen, &error);
    }
};

// Runs the loop until `done` holds or the deadline passes; true when it held.
bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::steady_clock::duration limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        io.run_one_for(10ms);
    }
    return true;
}

// A neighbour driven by hand: it connects, says hello and writes frames synchronously (a few
// small frames fit the socket buffer, so the loop need not run meanwhile).
struct raw_neighbour {
    core::identity key = core::identity::generate();
    peer::tls_credentials credentials{key};
    asio::ssl::context tls = peer::make_tls_context(credentials);
    peer::tls_stream socket;
    std::uint64_t seq = 0;

    // Returns once the target counts it as a neighbour.
    raw_neighbour(asio::io_context& io, const test_node& target) : socket(io, tls) {
        const auto addr = target.address();
        const auto neighbours_before = target.events.up.size();
        socket.lowest_layer().connect({asio::ip::make_address(addr.host), addr.port});
        // The target answers on this same loop: the handshake must not block it.
        std::optional<std::error_code> shook;
        socket.async_handshake(asio::ssl::stream_base::client,
                               [&](std::error_code ec) { shook = ec; });
        REQUIRE(run_until(io, [&] { return shook.has_value(); }));
        REQUIRE_FALSE(*shook);
        protocol::hello h;
        h.peer_id = key.peer_id();
        h.nick = "mallory";
        // The test nodes' rooms are open: a claim needs no proof.
        h.rooms = {{"lobby", core::open_room_keys("lobby").room_id, ""}};
        send(h);
        send(protocol::join{h.rooms[0].id});
        REQUIRE(run_until(io, [&] { return target.events.up.size() > neighbours_before; }));
    }
    void send(const protocol::message& m) {
        asio::write(socket, asio::buffer(protocol::encode_frame(protocol::serialize(m))));
    }
    // An envelope of this neighbour's, signed unless a test changes it afterwards.
    nlohmann::json envelope(const std::string& body, std::int64_t ts = now_ms()) {
        protocol::envelope e{"lobby", key.peer_id(), "mallory", ++seq, ts, body};
        auto env = protocol::envelope_to_json(e);
        core::sign_envelope(key, env);
        return env;
    }
    void send_chat(const nlohmann::json& env) { send(protocol::chat{0, {}, env}); }

    static std::int64_t now_ms() {
        using namespace std::chrono;
        return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    }
};

// alice, listening, with mallory (driven by hand) as her neighbour.
struct alice_and_mallory {
    asio::io_context io{1};
    test_node alice{io, "alice"};
    std::optional<raw_neighbour> mallory;

    alice_and_mallory() {
        alice.node->start();
        mallory.emplace(io, alice);
    }
};

// Shuts every node down and lets the loop run dry, as main does.
void finish(asio::io_context& io, std::initializer_list<test_node*> nodes) {
    for (auto* n : nodes) n->node->shutdown();
    io.run_for(5s);
    CHECK(io.stopped());
}

}  // namespace

TEST_CASE("without an explicit --listen a taken port makes the node pick another and say so",
          "[node]") {
    asio::io_context io{1};
    test_node first(io, "first");
    first.node->start();
    auto taken = first.address();

    test_node second(io, "second", [&](peer::node_config& c) {
        c.listen = taken;
        c.listen_explicit = false;
    });
    second.node->start();
    CHECK(second.address().port != taken.port);
    REQUIRE(second.events.notices.size() == 1);
    CHECK_THAT(second.events.notices[0],
               Contains("port " + std::to_string(taken.port) + " is in use"));
    finish(io, {&first, &second});
}

TEST_CASE("an explicit --listen on a taken port is an error naming the address", "[node]") {
    asio::io_context io{1};
    test_node first(io, "first");
    first.node->start();
    auto taken = first.address();

    test_node second(io, "second", [&](peer::node_config& c) { c.listen = taken; });
    try {
        second.node->start();
        FAIL("start() should have thrown");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), Contains("cannot listen on " + taken.to_string()));
    }
    finish(io, {&first});
}

TEST_CASE("two nodes that dial each other at once keep exactly one link", "[node]") {
    asio::io_context io{1};
    test_node a(io, "alice"), b(io, "bob");
    a.node->start();
    b.node->start();
    a.node->connect(b.address());
    b.node->connect(a.address());

    auto one_link_each = [&] {
        a.node->list_peers();
        b.node->list_peers();
        return a.events.connections == 1u && b.events.connections == 1u &&
               a.events.peers.size() == 1 && b.events.peers.size() == 1;
    };
    REQUIRE(run_until(io, one_link_each));
    CHECK(a.events.up.size() == 1);
    CHECK(b.events.up.size() == 1);
    CHECK(a.events.down.empty());
    CHECK(b.events.down.empty());

    a.node->say("hello bob");
    REQUIRE(run_until(io, [&] { return !b.events.messages.empty(); }));
    CHECK(b.events.messages[0].text == "hello bob");
    CHECK(b.events.messages[0].from == "alice");
    CHECK_FALSE(b.events.messages[0].own);
    REQUIRE(a.events.messages.size() == 1);
    CHECK(a.events.messages[0].own);
    CHECK(a.events.messages[0].id == b.events.messages[0].id);
    finish(io, {&a, &b});
}

TEST_CASE("a node that dials its own address finds itself and never connects", "[node]") {
    asio::io_context io{1};
    test_node a(io, "alice");
    a.node->start();
    a.node->connect(a.address());
    REQUIRE(run_until(io, [&] { return !a.events.errors.empty(); }));
    CHECK_THAT(a.events.errors[0], Contains("is this peer's own address"));
    CHECK(a.events.up.empty());

    // Asking again is refused at once, without dialling.
    a.node->connect(a.address());
    CHECK(a.events.errors.size() == 2);
    finish(io, {&a});
}

TEST_CASE("a chain of three: the ends find each other through the room's walks, and each "
          "message arrives once",
          "[node]") {
    asio::io_context io{1};
    test_node a(io, "a"), b(io, "b"), c(io, "c");
    for (auto* n : {&a, &b, &c}) n->node->start();
    b.node->connect(a.address());
    c.node->connect(b.address());

    // c only named b; the mesh is full once a and c found each other.
    REQUIRE(run_until(io, [&] { return a.events.up.size() == 2 && c.events.up.size() == 2; }));

    c.node->say("from the end of the chain");
    REQUIRE(run_until(
        io, [&] { return a.events.messages.size() == 1 && b.events.messages.size() == 1; }));
    // A marker after it: once it arrives everywhere, any duplicate would have too.
    a.node->say("marker");
    REQUIRE(run_until(
        io, [&] { return c.events.messages.size() == 2 && b.events.messages.size() == 2; }));
    CHECK(a.events.messages.size() == 2);
    CHECK(b.events.messages[0].text == "from the end of the chain");
    finish(io, {&a, &b, &c});
}

TEST_CASE("a room joined at run time is proven on the links there are, and its messages reach "
          "its members only",
          "[node][rooms]") {
    asio::io_context io{1};
    test_node a(io, "a"), b(io, "b"), c(io, "c");
    for (auto* n : {&a, &b, &c}) n->node->start();
    b.node->connect(a.address());
    c.node->connect(b.address());
    REQUIRE(run_until(io, [&] { return b.events.up.size() == 2; }));

    // b and c join "dev" (open in these tests) on the links they have; a stays out of it.
    const auto dev = core::open_room_keys("dev");
    b.node->join_room(dev, {});
    c.node->join_room(dev, {});
    CHECK(c.node->rooms() == std::vector<std::string>{"lobby", "dev"});
    REQUIRE(run_until(io, [&] {
        c.node->say_in("dev", "in dev");
        io.run_for(50ms);
        return !b.events.messages.empty();
    }));
    CHECK(b.events.messages[0].room == "dev");
    // A lobby message after it reaches a: had a been handed dev's, it would have come first.
    c.node->say("in the lobby");
    REQUIRE(run_until(io, [&] { return !a.events.messages.empty(); }));
    for (const auto& m : a.events.messages) CHECK(m.room == "lobby");

    // Leaving: c's dev messages are refused with a sentence, b's links stay for the lobby.
    c.node->part_room("dev");
    CHECK(c.node->rooms() == std::vector<std::string>{"lobby"});
    c.node->say_in("dev", "after leaving");
    CHECK(c.events.errors.back() == "not in room \"dev\"");
    finish(io, {&a, &b, &c});
}

TEST_CASE("a node whose active view is full still takes in a newcomer that has no neighbour",
          "[node]") {
    asio::io_context io{1};
    // Room for one neighbour only: the newcomer's join makes the hub drop the one it has.
    test_node hub(io, "hub", [](peer::node_config& c) {
        c.overlay.membership.active_size = 1;
        c.overlay.membership.active_max = 1;
    });
    test_node first(io, "first"), late(io, "late");
    for (auto* n : {&hub, &first, &late}) n->node->start();

    first.node->connect(hub.address());
    REQUIRE(run_until(io, [&] { return hub.events.up.size() == 1; }));

    late.node->connect(hub.address());
    REQUIRE(run_until(io, [&] { return late.events.up.size() >= 1; }));
    CHECK(late.events.up[0].nick == "hub");
    // And the one it dropped was told, not left hanging: its link to the hub closed.
    REQUIRE(run_until(io, [&] { return !first.events.down.empty(); }));
    CHECK(first.events.down[0].nick == "hub");
    finish(io, {&hub, &first, &late});
}

TEST_CASE("a node restarted on the same data dir finds its mesh again without being told",
          "[node]") {
    asio::io_context io{1};
    test_node a(io, "alice");
    a.node->start();
    auto b = std::make_unique<test_node>(io, "bob");
    b->node->start();
    b->node->connect(a.address());
    REQUIRE(run_until(io, [&] { return a.events.up.size() == 1; }));
    b->node->shutdown();  // saves the peers it knows
    REQUIRE(run_until(io, [&] { return a.events.down.size() == 1; }));

    // The same folder, no --join, no /connect: the saved address book is enough.
    test_node again(io, "bob2", [&](peer::node_config& c) { c.data_dir = b->dir.path(); });
    again.node->start();
    REQUIRE(run_until(io, [&] { return again.events.up.size() == 1; }));
    CHECK(again.events.up[0].nick == "alice");
    finish(io, {&a, &again});
}

TEST_CASE("a node drops a forged message, counts it by reason and closes the link it came from",
          "[node][signature]") {
    alice_and_mallory t;
    auto& a = t.alice;
    // Signed by mallory, in the name of someone else.
    auto forged = t.mallory->envelope("not mine");
    forged["author"] = core::identity::generate().peer_id();
    core::sign_envelope(t.mallory->key, forged);
    t.mallory->send_chat(forged);
    REQUIRE(run_until(t.io, [&] { return a.events.down.size() == 1; }));
    CHECK(a.events.messages.empty());
    CHECK(a.node->gate().count(core::chat_outcome::bad_signature) == 1);
    CHECK(a.node->gate().rejected() == 1);
    finish(t.io, {&a});
}

TEST_CASE("a node does not let a forged copy keep the genuine message out", "[node][signature]") {
    alice_and_mallory t;
    auto& a = t.alice;
    auto genuine = t.mallory->envelope("the real thing");
    auto copy = genuine;
    copy["sig"] = std::string(128, '0');  // same content, so the same message id
    t.mallory->send_chat(copy);
    REQUIRE(run_until(t.io, [&] { return a.events.down.size() == 1; }));

    raw_neighbour relay(t.io, a);
    relay.send_chat(genuine);
    REQUIRE(run_until(t.io, [&] { return !a.events.messages.empty(); }));
    CHECK(a.events.messages[0].text == "the real thing");
    CHECK(a.node->gate().count(core::chat_outcome::bad_signature) == 1);
    CHECK(a.node->gate().rejected() == 1);
    finish(t.io, {&a});
}

TEST_CASE("a node drops a message dated more than 10 minutes ahead and cuts the neighbour",
          "[node][signature]") {
    alice_and_mallory t;
    auto& a = t.alice;
    t.mallory->send_chat(t.mallory->envelope("on time"));
    t.mallory->send_chat(
        t.mallory->envelope("too early", raw_neighbour::now_ms() + 11 * 60 * 1000));
    REQUIRE(run_until(t.io, [&] { return a.events.down.size() == 1; }));
    REQUIRE(a.events.messages.size() == 1);
    CHECK(a.events.messages[0].text == "on time");
    CHECK(a.node->gate().count(core::chat_outcome::from_future) == 1);
    CHECK(a.node->gate().rejected() == 1);
    finish(t.io, {&a});
}

TEST_CASE("a node delivers two messages signed with one seq and counts the equivocation",
          "[node][signature]") {
    alice_and_mallory t;
    auto& a = t.alice;
    auto first = t.mallory->envelope("one");
    --t.mallory->seq;
    auto second = t.mallory->envelope("two");
    REQUIRE(first["seq"] == second["seq"]);
    t.mallory->send_chat(first);
    t.mallory->send_chat(first);  // a copy is not equivocation
    t.mallory->send_chat(second);
    REQUIRE(run_until(t.io, [&] { return a.events.messages.size() == 2; }));
    CHECK(a.node->gate().equivocations() == 1);
    CHECK(a.node->gate().rejected() == 0);
    finish(t.io, {&a});
}

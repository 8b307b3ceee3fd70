#include "peer/link.hpp"

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_future.hpp>
#include <catch2/catch.hpp>

#include "core/envelope_signature.hpp"
#include "core/identity.hpp"
#include "peer/detail/coro.hpp"
#include "protocol/frame.hpp"
#include "protocol/messages.hpp"
#include "protocol/validate.hpp"

using namespace confab;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using asio::ip::tcp;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

using test_link = peer::link<tcp::socket>;
using clock_type = std::chrono::steady_clock;

// Generous, because the test machine is shared; a passing test never waits this long.
constexpr auto bound = 3s;

void run_async(asio::awaitable<void> body) {
    asio::io_context io{1};
    auto done = asio::co_spawn(io, std::move(body), asio::use_future);
    io.run();
    done.get();
}

// A valid peer id made of one letter. It ends in "a" because the last character of a
// 32-byte key carries only one bit: any other ending is not a canonical id.
std::string peer_id(char c) {
    return std::string(protocol::peer_id_length - 1, c) + "a";
}

protocol::hello make_hello(char id_char, std::string nick, std::uint16_t port) {
    protocol::hello h;
    h.peer_id = peer_id(id_char);
    h.nick = std::move(nick);
    h.listen_port = port;
    // The link carries the claims; the node checks them.
    h.rooms = {{"lobby", std::string(32, '0'), ""}};
    return h;
}

std::string frame_of(const protocol::message& m) {
    return protocol::encode_frame(protocol::serialize(m));
}

// Signed by a key of its own, as the parser requires a signature (the link does not check
// whose it is; the node does).
protocol::message make_chat(std::uint64_t seq, std::string body) {
    static const core::identity bob = core::identity::generate();
    protocol::envelope env{"lobby", bob.peer_id(), "bob", seq, 1'700'000'000'000, std::move(body)};
    protocol::chat chat{0, env, protocol::envelope_to_json(env)};
    core::sign_envelope(bob, chat.raw);
    return chat;
}

// ---- a connected pair of sockets -------------------------------------------------------

struct socket_pair {
    tcp::socket a;
    tcp::socket b;
};

asio::awaitable<socket_pair> connect_pair_unbounded() {
    auto ex = co_await asio::this_coro::executor;
    tcp::acceptor acceptor(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket a(ex);
    co_await a.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
    tcp::socket b = co_await acceptor.async_accept(asio::use_awaitable);
    co_return socket_pair{std::move(a), std::move(b)};
}

asio::awaitable<socket_pair> connected_pair() {
    auto result = co_await (connect_pair_unbounded() || peer::detail::timeout(bound));
    // An exception in the connect half also lands here: `||` waits for the timer instead.
    REQUIRE(result.index() == 0);
    co_return std::get<0>(std::move(result));
}

// ---- the raw side: a plain socket speaking frames by hand ------------------------------

struct raw_side {
    tcp::socket socket;
    protocol::frame_decoder decoder{};
};

// What the raw side saw next. `what` is a word so that a failed CHECK reads well.
struct raw_read {
    std::string what;  // "frame", "end" (ec says how), "garbage" or "timeout"
    std::string payload;
    std::error_code ec;
};

asio::awaitable<raw_read> read_frame_unbounded(raw_side& r) {
    std::array<char, 4096> buf;
    for (;;) {
        auto next = r.decoder.next();
        if (next.status == protocol::decode_status::frame) {
            co_return raw_read{"frame", std::move(next.payload), {}};
        }
        if (next.status == protocol::decode_status::error) {
            co_return raw_read{"garbage", std::move(next.error), {}};
        }
        auto [ec, n] =
            co_await r.socket.async_read_some(asio::buffer(buf), peer::detail::use_nothrow);
        if (ec) co_return raw_read{"end", {}, ec};
        r.decoder.feed({buf.data(), n});
    }
}

asio::awaitable<raw_read> read_frame(raw_side& r, clock_type::duration limit = bound) {
    auto result = co_await (read_frame_unbounded(r) || peer::detail::timeout(limit));
    if (result.index() == 1) co_return raw_read{"timeout", {}, {}};
    co_return std::get<0>(std::move(result));
}

// The next frame, which must arrive in time, parse, and be of type T (named `type`).
template <typename T>
asio::awaitable<T> expect(raw_side& r, std::string_view type) {
    auto got = co_await read_frame(r);
    REQUIRE(got.what == "frame");
    auto parsed = protocol::parse_message(got.payload);
    INFO("frame: " << got.payload);
    REQUIRE(parsed.status == protocol::parse_status::ok);
    REQUIRE(parsed.type == type);
    co_return std::get<T>(std::move(*parsed.msg));
}

// The stream must end cleanly (FIN, not RST) within the bound.
asio::awaitable<void> expect_eof(raw_side& r, clock_type::duration limit = bound) {
    auto got = co_await read_frame(r, limit);
    INFO("payload: " << got.payload);
    REQUIRE(got.what == "end");
    CHECK(got.ec == asio::error::eof);
}

asio::awaitable<std::error_code> write_unbounded(raw_side& r, const std::string& bytes) {
    auto [ec, n] =
        co_await asio::async_write(r.socket, asio::buffer(bytes), peer::detail::use_nothrow);
    co_return ec;
}

// Callers build the bytes in a named variable first: GCC 12 mishandles a temporary converted
// to protocol::message inside a co_await expression (it freed garbage when the bye was destroyed).
asio::awaitable<void> write_raw(raw_side& r, std::string bytes) {
    auto result = co_await (write_unbounded(r, bytes) || peer::detail::timeout(bound));
    REQUIRE(result.index() == 0);
    REQUIRE_FALSE(std::get<0>(result));
}

asio::awaitable<void> raw_handshake(raw_side& r) {
    auto hello = frame_of(make_hello('b', "bob", 0));
    co_await write_raw(r, std::move(hello));
    auto theirs = co_await expect<protocol::hello>(r, "hello");
    CHECK(theirs.peer_id == peer_id('a'));
}

// ---- the link side ---------------------------------------------------------------------

// Collects what the link hands on; `on_message` lets a test act from inside the handler.
struct recorder {
    std::vector<protocol::message> got;
    std::function<void(test_link&)> on_message;

    test_link::message_handler handler() {
        return [this](test_link& l, protocol::message& m, const std::string&) {
            got.push_back(m);
            if (on_message) on_message(l);
        };
    }

    std::vector<std::string> chat_bodies() const {
        std::vector<std::string> out;
        for (const auto& m : got) {
            if (auto* c = std::get_if<protocol::chat>(&m)) out.push_back(c->env.body);
        }
        return out;
    }
};

asio::awaitable<std::optional<protocol::hello>> link_handshake(test_link& l) {
    auto ours = make_hello('a', "alice", 7447);
    auto result = co_await (l.handshake(ours) || peer::detail::timeout(bound));
    REQUIRE(result.index() == 0);
    co_return std::get<0>(std::move(result));
}

// Sets `ended` when run() returned by itself within the bound.
asio::awaitable<void> run_link(test_link& l, recorder& rec, bool& ended) {
    auto result = co_await (l.run(rec.handler()) || peer::detail::timeout(bound));
    ended = result.index() == 0;
}

asio::awaitable<void> link_handshake_ok(test_link& l) {
    auto theirs = co_await link_handshake(l);
    REQUIRE(theirs);
}

// Both ends finish the hello exchange before a scenario starts, so that no scenario frame can
// reach the link in the same read as the hello (that case has a test of its own).
asio::awaitable<void> handshake_both(test_link& l, raw_side& r) {
    co_await (link_handshake_ok(l) && raw_handshake(r));
}

// A link that has finished its hello exchange with a raw peer, ready for a scenario.
struct greeted {
    test_link l;
    raw_side raw;
    recorder rec;
    bool ended = false;  // run() returned by itself within the bound

    greeted(tcp::socket a, tcp::socket b, peer::link_limits limits)
        : l(std::move(a), false, limits), raw{std::move(b)} {}
};

asio::awaitable<std::unique_ptr<greeted>> greet(peer::link_limits limits = {}) {
    auto [a, b] = co_await connected_pair();
    auto g = std::make_unique<greeted>(std::move(a), std::move(b), limits);
    co_await handshake_both(g->l, g->raw);
    co_return g;
}

// Serves the link while `script` plays the raw side; returns when both are done.
asio::awaitable<void> play(greeted& g, asio::awaitable<void> script) {
    co_await (run_link(g.l, g.rec, g.ended) && std::move(script));
}

// ---- scenarios -------------------------------------------------------------------------

asio::awaitable<void> two_links_body() {
    auto [a, b] = co_await connected_pair();
    test_link la(std::move(a), true, {});
    test_link lb(std::move(b), false, {});
    auto hello_a = make_hello('a', "alice", 7447);
    auto hello_b = make_hello('b', "bob", 0);
    auto result =
        co_await ((la.handshake(hello_a) && lb.handshake(hello_b)) || peer::detail::timeout(bound));
    REQUIRE(result.index() == 0);
    auto [got_by_a, got_by_b] = std::get<0>(std::move(result));
    REQUIRE(got_by_a);
    REQUIRE(got_by_b);
    CHECK(got_by_a->peer_id == hello_b.peer_id);
    CHECK(got_by_a->nick == "bob");
    CHECK(got_by_a->listen_port == 0);
    CHECK(got_by_b->peer_id == hello_a.peer_id);
    CHECK(got_by_b->nick == "alice");
    CHECK(got_by_b->listen_port == 7447);
    CHECK(la.close_reason().empty());
    CHECK(lb.close_reason().empty());
}

asio::awaitable<void> refused_handshake_link(test_link& l) {
    auto theirs = co_await link_handshake(l);
    CHECK_FALSE(theirs);
}

// Sends `first` instead of a hello and expects the link's hello, then an error frame.
asio::awaitable<void> refused_handshake_raw(raw_side& r, std::string first,
                                            std::string& error_message) {
    co_await write_raw(r, std::move(first));
    co_await expect<protocol::hello>(r, "hello");
    auto err = co_await expect<protocol::error>(r, "error");
    error_message = err.message;
}

asio::awaitable<void> not_hello_body() {
    auto [a, b] = co_await connected_pair();
    test_link l(std::move(a), false, {});
    raw_side raw{std::move(b)};
    std::string error_message;
    auto first = frame_of(protocol::ping{1});
    co_await (refused_handshake_link(l) &&
              refused_handshake_raw(raw, std::move(first), error_message));
    CHECK_THAT(l.close_reason(), Contains("hello"));
    CHECK_THAT(error_message, Contains("hello"));
}

asio::awaitable<void> bad_version_body() {
    auto [a, b] = co_await connected_pair();
    test_link l(std::move(a), false, {});
    raw_side raw{std::move(b)};
    auto hello = make_hello('b', "bob", 0);
    hello.version = 3;
    std::string error_message;
    auto first = frame_of(hello);
    co_await (refused_handshake_link(l) &&
              refused_handshake_raw(raw, std::move(first), error_message));
    CHECK(l.close_reason() == "unsupported protocol version 3");
    CHECK_THAT(error_message, Contains("unsupported protocol version 3"));
}

asio::awaitable<void> silence_body() {
    auto [a, b] = co_await connected_pair();
    peer::link_limits limits;
    limits.hello_timeout = 200ms;
    test_link l(std::move(a), false, limits);
    tcp::socket silent = std::move(b);  // open, and never says a word

    auto start = clock_type::now();
    auto theirs = co_await link_handshake(l);
    auto elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count();
    CHECK_FALSE(theirs);
    CHECK(l.close_reason() == "no hello within 200 ms");
    CHECK(elapsed_ms >= 200);
    CHECK(elapsed_ms < 1000);  // "about" hello_timeout, with room for a busy machine
}

asio::awaitable<void> garbage_raw(raw_side& r) {
    std::string garbage(4, '\xFF');
    co_await write_raw(r, std::move(garbage));
    auto err = co_await expect<protocol::error>(r, "error");
    CHECK_THAT(err.message, Contains("frame length"));
    co_await expect_eof(r);
}

asio::awaitable<void> garbage_body() {
    auto g = co_await greet();
    co_await play(*g, garbage_raw(g->raw));
    CHECK(g->ended);
    CHECK_THAT(g->l.close_reason(), StartsWith("protocol error"));
    CHECK(g->rec.got.empty());
}

asio::awaitable<void> unknown_type_raw(raw_side& r) {
    co_await write_raw(r, protocol::encode_frame(R"({"type":"frobnicate","x":1})"));
    auto err = co_await expect<protocol::error>(r, "error");
    CHECK_THAT(err.message, Contains("frobnicate"));
    auto chat = frame_of(make_chat(1, "still there?"));
    co_await write_raw(r, std::move(chat));
    // The handler closes the link once the chat is in.
    co_await expect_eof(r);
}

asio::awaitable<void> unknown_type_body() {
    auto g = co_await greet();
    g->rec.on_message = [](test_link& link) { link.close("test done"); };
    co_await play(*g, unknown_type_raw(g->raw));
    CHECK(g->ended);
    CHECK(g->rec.chat_bodies() == std::vector<std::string>{"still there?"});
    CHECK(g->l.close_reason() == "test done");
}

asio::awaitable<void> ping_raw(raw_side& r) {
    co_await write_raw(r, protocol::encode_frame(R"({"type":"ping","nonce":5})"));
    auto pong = co_await expect<protocol::pong>(r, "pong");
    CHECK(pong.nonce == 5);
    auto bye = frame_of(protocol::bye{"done"});
    co_await write_raw(r, std::move(bye));
    co_await expect_eof(r);
}

asio::awaitable<void> ping_body() {
    auto g = co_await greet();
    co_await play(*g, ping_raw(g->raw));
    CHECK(g->ended);
    CHECK(g->rec.got.empty());  // ping and bye are the link's own business
}

asio::awaitable<void> keepalive_raw(raw_side& r) {
    co_await expect<protocol::ping>(r, "ping");
    co_await expect_eof(r);
}

asio::awaitable<void> keepalive_body() {
    peer::link_limits limits;
    limits.ping_after = 100ms;
    limits.dead_after = 300ms;
    auto g = co_await greet(limits);
    co_await play(*g, keepalive_raw(g->raw));
    CHECK(g->ended);
    CHECK(g->l.close_reason() == "nothing received for 300 ms");
}

asio::awaitable<void> bye_raw(raw_side& r) {
    auto bye = frame_of(protocol::bye{"shutdown"});
    co_await write_raw(r, std::move(bye));
    co_await expect_eof(r);
}

asio::awaitable<void> bye_body() {
    auto g = co_await greet();
    co_await play(*g, bye_raw(g->raw));
    CHECK(g->ended);
    CHECK(g->l.close_reason() == "neighbour said bye (shutdown)");
}

asio::awaitable<void> close_raw(raw_side& r, bool send_chat_first) {
    if (send_chat_first) {
        auto chat = frame_of(make_chat(1, "close now"));
        co_await write_raw(r, std::move(chat));
    }
    auto queued = co_await expect<protocol::nick>(r, "nick");
    CHECK(queued.nick == "carol");
    auto bye = co_await expect<protocol::bye>(r, "bye");
    CHECK(bye.reason == "shutdown");
    co_await expect_eof(r);
}

void send_then_close(test_link& l) {
    l.send(peer::make_frame(protocol::nick{"carol"}));
    l.close("x", "shutdown");
}

// `during_run`: close from the handler while the writer sleeps, rather than before run().
asio::awaitable<void> close_body(bool during_run) {
    peer::link_limits limits;
    limits.flush_grace = 200ms;
    auto g = co_await greet(limits);
    if (during_run) {
        g->rec.on_message = send_then_close;
    } else {
        send_then_close(g->l);
    }
    co_await play(*g, close_raw(g->raw, during_run));
    CHECK(g->ended);
    CHECK(g->l.close_reason() == "x");
}

// Queues a frame per loop turn, so that the writer drains what the socket takes and the queue
// only grows once the kernel buffers are full.
asio::awaitable<void> flood(test_link& l, std::size_t& sent_bytes) {
    auto frame = peer::make_frame(protocol::error{std::string(16 * 1024, 'x')});
    for (int i = 0; i < 100'000 && !l.closing(); ++i) {
        l.send(frame);
        sent_bytes += frame->size();
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    }
}

asio::awaitable<void> queue_cap_body(std::string& reason) {
    peer::link_limits limits;
    limits.max_queue_bytes = 64 * 1024;
    auto g = co_await greet(limits);  // the raw side never reads after the handshake
    std::size_t sent_bytes = 0;
    co_await play(*g, flood(g->l, sent_bytes));
    CHECK(g->ended);
    CHECK(g->l.closing());
    CHECK(sent_bytes > limits.max_queue_bytes);
    reason = g->l.close_reason();
}

asio::awaitable<void> burst_raw(raw_side& r) {
    auto burst = frame_of(make_chat(1, "one")) + frame_of(make_chat(2, "two")) +
                 frame_of(make_chat(3, "three")) + frame_of(protocol::bye{});
    co_await write_raw(r, std::move(burst));
    co_await expect_eof(r);
}

asio::awaitable<void> burst_body() {
    auto g = co_await greet();
    co_await play(*g, burst_raw(g->raw));
    CHECK(g->ended);
    CHECK(g->rec.chat_bodies() == std::vector<std::string>{"one", "two", "three"});
    CHECK(g->l.close_reason() == "neighbour said bye");
}

// The link serves from the hello on; the handler closes it once a message is in.
asio::awaitable<void> serve_until_message(test_link& l, recorder& rec, bool& ended) {
    co_await link_handshake_ok(l);
    rec.on_message = [](test_link& link) { link.close("test done"); };
    co_await run_link(l, rec, ended);
}

asio::awaitable<void> hello_and_chat_raw(raw_side& r) {
    auto both = frame_of(make_hello('b', "bob", 0)) + frame_of(make_chat(1, "early"));
    co_await write_raw(r, std::move(both));
    co_await expect<protocol::hello>(r, "hello");
    // Outlasts the link's bound, so that a stuck link is reported by the checks on the link.
    co_await expect_eof(r, bound + 2s);
}

asio::awaitable<void> behind_hello_body() {
    auto [a, b] = co_await connected_pair();
    test_link l(std::move(a), false, {});
    raw_side raw{std::move(b)};
    recorder rec;
    bool ended = false;
    co_await (serve_until_message(l, rec, ended) && hello_and_chat_raw(raw));
    CHECK(ended);
    CHECK(rec.chat_bodies() == std::vector<std::string>{"early"});
}

}  // namespace

TEST_CASE("two links exchange hellos and each gets the other's", "[link]") {
    run_async(two_links_body());
}

TEST_CASE("a first frame that is not a hello is refused with an error frame", "[link]") {
    run_async(not_hello_body());
}

TEST_CASE("a hello with an unsupported version is refused", "[link]") {
    run_async(bad_version_body());
}

TEST_CASE("a neighbour that never says hello is dropped after hello_timeout", "[link]") {
    run_async(silence_body());
}

TEST_CASE("garbage after the handshake ends the link with an error frame, then EOF", "[link]") {
    run_async(garbage_body());
}

TEST_CASE("an unknown message type gets an error reply and the link stays up", "[link]") {
    run_async(unknown_type_body());
}

TEST_CASE("a ping is answered with a pong carrying its nonce", "[link]") {
    run_async(ping_body());
}

TEST_CASE("a silent neighbour is pinged, then dropped after dead_after", "[link]") {
    run_async(keepalive_body());
}

TEST_CASE("a bye from the neighbour ends the link with its reason", "[link]") {
    run_async(bye_body());
}

TEST_CASE("close() before run() flushes the queue, says bye and closes", "[link]") {
    run_async(close_body(false));
}

TEST_CASE("close() during run() flushes the queue, says bye and closes", "[link]") {
    run_async(close_body(true));
}

TEST_CASE("a neighbour that never reads is dropped when the send queue is over its cap", "[link]") {
    std::string reason;
    run_async(queue_cap_body(reason));
    CHECK_THAT(reason, Contains("send queue over 65536 bytes"));
}

TEST_CASE("several frames in one write are all delivered in order", "[link]") {
    run_async(burst_body());
}

TEST_CASE("a frame in the same write as the hello is delivered without further input", "[link]") {
    run_async(behind_hello_body());
}

TEST_CASE("frames are built from messages", "[link]") {
    auto f = peer::make_frame(protocol::ping{7});
    REQUIRE(f->size() > protocol::frame_header_size);
    CHECK(f->substr(protocol::frame_header_size) == protocol::serialize(protocol::ping{7}));
}

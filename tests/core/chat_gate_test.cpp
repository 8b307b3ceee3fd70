// The chat gate: every outcome, who gets cut off and why, and the counters. Envelopes go
// through the wire's own serialise and parse, as they would from a neighbour.

#include "core/chat_gate.hpp"

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "core/envelope_signature.hpp"
#include "core/identity.hpp"
#include "core/message_id.hpp"
#include "protocol/messages.hpp"

using namespace confab;
using core::chat_bye;
using core::chat_gate;
using core::chat_outcome;
using core::identity;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t wall = 1700000000000;  // "now" on the wall clock, in ms
const auto t0 = chat_gate::clock::time_point{} + 1h;
const std::string relay = "some-relay";  // a neighbour that is not the author

json envelope_by(const identity& author, std::uint64_t seq, const std::string& body,
                 std::int64_t ts = wall) {
    return {{"room", "lobby"}, {"author", author.peer_id()},
            {"nick", "alice"}, {"seq", seq},
            {"ts", ts},        {"body", body}};
}

json signed_by(const identity& author, std::uint64_t seq, const std::string& body,
               std::int64_t ts = wall) {
    json env = envelope_by(author, seq, body, ts);
    core::sign_envelope(author, env);
    return env;
}

// A chat frame as a neighbour would send it: its payload, and what parse_message made of it.
struct received {
    std::string payload;
    protocol::chat chat;
};

received wire(const json& env) {
    received r;
    r.payload = json{{"type", "chat"}, {"envelope", env}}.dump();
    auto parsed = protocol::parse_message(r.payload);
    REQUIRE(parsed.status == protocol::parse_status::ok);
    r.chat = std::get<protocol::chat>(*parsed.msg);
    return r;
}

core::chat_verdict check(chat_gate& gate, const received& r, const std::string& from,
                         chat_gate::clock::time_point now = t0, std::int64_t wall_ms = wall) {
    return gate.check(r.chat, from, now, wall_ms);
}

}  // namespace

TEST_CASE("chat_gate accepts a sound message once") {
    chat_gate gate;
    const auto alice = identity::generate();
    const auto m = wire(signed_by(alice, 1, "hello"));

    auto v = check(gate, m, relay);
    CHECK(v.outcome == chat_outcome::accept);
    CHECK(v.id == core::message_id(m.chat.raw));
    CHECK(v.problem.empty());
    CHECK(v.cut == chat_bye::none);
    CHECK_FALSE(v.equivocation);

    // The same message again, and through the author itself.
    v = check(gate, m, alice.peer_id());
    CHECK(v.outcome == chat_outcome::duplicate);
    CHECK(v.cut == chat_bye::none);
    CHECK(gate.count(chat_outcome::accept) == 1);
    CHECK(gate.count(chat_outcome::duplicate) == 1);
    CHECK(gate.rejected() == 0);
}

TEST_CASE("chat_gate drops a copy under another signature without blaming anyone") {
    chat_gate gate;
    const auto alice = identity::generate();
    const auto genuine = signed_by(alice, 1, "hello");
    REQUIRE(check(gate, wire(genuine), relay).outcome == chat_outcome::accept);
    auto resigned = genuine;
    resigned["sig"] = std::string(128, '0');  // broken, but the same content: the same id
    const auto copy = wire(resigned);
    const auto v = check(gate, copy, relay);
    CHECK(v.outcome == chat_outcome::duplicate);
    CHECK(v.cut == chat_bye::none);  // no signature check was paid for, nobody is blamed
    CHECK(gate.rejected() == 0);
}

TEST_CASE("chat_gate treats our own messages as already seen") {
    chat_gate gate;
    const auto me = identity::generate();
    const auto mine = wire(signed_by(me, 1, "mine"));
    gate.mark_own(core::message_id(mine.chat.raw));
    CHECK(check(gate, mine, relay).outcome == chat_outcome::duplicate);
    CHECK(gate.count(chat_outcome::accept) == 0);
}

TEST_CASE("chat_gate refuses a bad signature, cuts the neighbour, and lets the genuine one in") {
    chat_gate gate;
    const auto alice = identity::generate();
    const auto mallory = identity::generate();

    SECTION("signed by someone else in the author's name") {
        auto forged = envelope_by(alice, 1, "not mine");
        core::sign_envelope(mallory, forged);
        forged["author"] = alice.peer_id();
        const auto m = wire(forged);
        const auto v = check(gate, m, mallory.peer_id());
        CHECK(v.outcome == chat_outcome::bad_signature);
        CHECK(v.problem == "signature does not match the author's key");
        CHECK(v.cut == chat_bye::invalid_signature);
        CHECK(to_string(v.cut) == "invalid signature");
    }
    SECTION("a forged copy arriving first does not keep the genuine message out") {
        const auto genuine = signed_by(alice, 1, "the real thing");
        auto copy = genuine;
        copy["sig"] = std::string(128, '0');
        const auto v = check(gate, wire(copy), relay);
        CHECK(v.outcome == chat_outcome::bad_signature);
        CHECK(v.cut == chat_bye::invalid_signature);
        const auto real = check(gate, wire(genuine), relay);
        CHECK(real.outcome == chat_outcome::accept);
        CHECK(real.id == v.id);
    }
    CHECK(gate.count(chat_outcome::bad_signature) == 1);
    CHECK(gate.rejected() == 1);
}

TEST_CASE("chat_gate refuses a message dated more than ten minutes ahead") {
    chat_gate gate;
    const auto alice = identity::generate();
    const auto ten_minutes = std::int64_t{10} * 60 * 1000;

    const auto on_the_edge = wire(signed_by(alice, 1, "just in time", wall + ten_minutes));
    CHECK(check(gate, on_the_edge, relay).outcome == chat_outcome::accept);

    const auto early = wire(signed_by(alice, 2, "too early", wall + ten_minutes + 1));
    auto v = check(gate, early, relay);
    CHECK(v.outcome == chat_outcome::from_future);
    CHECK(v.problem == "dated more than 10 minutes in the future");
    CHECK(v.cut == chat_bye::invalid_message);
    CHECK(to_string(v.cut) == "invalid message");

    // Not remembered: once our clock has caught up, the same message is fine.
    v = check(gate, early, relay, t0, wall + 1);
    CHECK(v.outcome == chat_outcome::accept);
    CHECK(gate.count(chat_outcome::from_future) == 1);
}

TEST_CASE("chat_gate holds each author to its rate and cuts off only the author itself") {
    core::chat_gate_config config;
    config.author_rate = 10;
    config.author_burst = 3;
    config.author_patience = 2;
    chat_gate gate(config);
    const auto alice = identity::generate();
    const auto bob = identity::generate();
    std::uint64_t seq = 0;
    auto next = [&](const identity& who) { return wire(signed_by(who, ++seq, "line")); };

    for (int i = 0; i < 3; ++i)
        REQUIRE(check(gate, next(alice), relay).outcome == chat_outcome::accept);
    // Over the burst: dropped, and the relay is not blamed however long it lasts.
    for (int i = 0; i < 5; ++i) {
        const auto m = next(alice);
        const auto v = check(gate, m, relay);
        CHECK(v.outcome == chat_outcome::over_rate);
        CHECK(v.cut == chat_bye::none);
    }
    // Another author is not affected.
    CHECK(check(gate, next(bob), relay).outcome == chat_outcome::accept);

    // From the author itself: patience (2) runs out on the third drop.
    CHECK(check(gate, next(alice), alice.peer_id()).cut == chat_bye::none);
    CHECK(check(gate, next(alice), alice.peer_id()).cut == chat_bye::none);
    const auto v = check(gate, next(alice), alice.peer_id());
    CHECK(v.outcome == chat_outcome::over_rate);
    CHECK(v.cut == chat_bye::flooding);
    CHECK(to_string(v.cut) == "flooding");
    CHECK(gate.count(chat_outcome::over_rate) == 8);

    // Tokens come back with time: 10 a second.
    CHECK(check(gate, next(alice), relay, t0 + 100ms).outcome == chat_outcome::accept);
    CHECK(check(gate, next(alice), relay, t0 + 100ms).outcome == chat_outcome::over_rate);
}

TEST_CASE("chat_gate counts a copy of an accepted message as no message at all for the rate") {
    core::chat_gate_config config;
    config.author_rate = 1;
    config.author_burst = 1;
    chat_gate gate(config);
    const auto alice = identity::generate();
    const auto m = wire(signed_by(alice, 1, "once"));
    REQUIRE(check(gate, m, relay).outcome == chat_outcome::accept);
    for (int i = 0; i < 5; ++i) CHECK(check(gate, m, relay).outcome == chat_outcome::duplicate);
    CHECK(gate.count(chat_outcome::over_rate) == 0);
}

TEST_CASE("chat_gate accepts two messages with one seq and reports the equivocation") {
    chat_gate gate;
    const auto alice = identity::generate();
    const auto first = wire(signed_by(alice, 7, "one"));
    const auto second = wire(signed_by(alice, 7, "two"));
    CHECK_FALSE(check(gate, first, relay).equivocation);
    CHECK(check(gate, first, relay).outcome == chat_outcome::duplicate);  // a copy is not one
    const auto v = check(gate, second, relay);
    CHECK(v.outcome == chat_outcome::accept);
    CHECK(v.equivocation);
    CHECK(gate.equivocations() == 1);
    CHECK(gate.rejected() == 0);
}

TEST_CASE("chat_gate names every outcome and bye reason") {
    for (auto o : {chat_outcome::accept, chat_outcome::duplicate, chat_outcome::over_rate,
                   chat_outcome::bad_signature, chat_outcome::from_future}) {
        CHECK_FALSE(to_string(o).empty());
        CHECK(to_string(o) != "?");
    }
    CHECK(to_string(chat_bye::none).empty());
}

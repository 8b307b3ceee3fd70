// One peer in several rooms, through the headless front: repeated --room, /join ROOM,
// /part, /rooms, /room, /invite ROOM; each room's messages reach its members only, and every
// message event says its room.

#include <string>

#include <catch2/catch.hpp>

#include "core/atomic_file.hpp"
#include "tests/support/peer_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace confab::test;
using Catch::Matchers::Contains;

namespace {

std::vector<std::string> names_in(const nlohmann::json& rooms) {
    std::vector<std::string> out;
    for (const auto& r : rooms)
        out.push_back(r.is_string() ? r.get<std::string>() : r.at("room").get<std::string>());
    return out;
}

// Says `text` from `from` and waits until `to` shows it; returns the message event.
event said(peer_process& from, peer_process& to, const std::string& text) {
    from.send_line(text);
    return to.wait_for(is_message_with_text(text), 10s, text);
}

}  // namespace

TEST_CASE(
    "a peer started in two rooms writes to the current one, and each room's messages "
    "reach its members only",
    "[integration][rooms]") {
    peer_options a;
    a.nick = "alice";
    a.more_rooms = {"den"};
    auto alice = start_peer(a);
    const auto ready = alice->events().front();
    CHECK(names_in(ready.json.at("rooms")) == std::vector<std::string>{"lobby", "den"});
    CHECK(ready.str("room") == "lobby");

    peer_options b;
    b.nick = "bob";
    b.joins = {alice->listen()};
    auto bob = start_peer(b);
    peer_options d;
    d.nick = "dan";
    d.room = "den";
    d.joins = {alice->listen()};
    auto dan = start_peer(d);
    alice->wait_for(is_peer_up(bob->peer_id()), 5s, "bob linked");
    alice->wait_for(is_peer_up(dan->peer_id()), 5s, "dan linked");

    // Plain text goes to the first room until /room says otherwise.
    auto m = said(*alice, *bob, "to the lobby");
    CHECK(m.str("room") == "lobby");
    alice->send_line("/room #den");
    CHECK(alice->wait_for(is_event("room"), 5s, "switched").str("room") == "den");
    m = said(*alice, *dan, "to the den");
    CHECK(m.str("room") == "den");
    m = said(*dan, *alice, "dan answers");
    CHECK(m.str("room") == "den");
    alice->send_line("/me waves");
    CHECK(dan->wait_for(is_message_with_text("waves"), 5s, "the emote").str("room") == "den");
    // Nothing crossed over: bob saw the lobby's message only, dan the den's only.
    alice->send_line("/room lobby");
    said(*alice, *bob, "lobby again");
    CHECK(bob->count(is_message_with_text("to the den")) == 0);
    CHECK(bob->count(is_message_with_text("dan answers")) == 0);
    CHECK(dan->count(is_message_with_text("to the lobby")) == 0);
    CHECK(dan->count(is_message_with_text("lobby again")) == 0);

    auto from = alice->events().size();
    alice->send_line("/rooms");
    auto rooms = alice->wait_for(is_event("rooms"), 5s, "the room list", from);
    CHECK(names_in(rooms.json.at("rooms")) == std::vector<std::string>{"lobby", "den"});
    CHECK(rooms.str("current") == "lobby");
    CHECK(rooms.json.at("rooms").at(0).at("current") == true);
    CHECK(rooms.json.at("rooms").at(1).at("current") == false);

    from = alice->events().size();
    alice->send_line("/invite den");
    auto invite = alice->wait_for(is_event("invite"), 5s, "den's invite", from);
    CHECK(invite.str("room") == "den");
    CHECK_FALSE(invite.str("invite").empty());
    alice->send_line("/room garden");
    CHECK_THAT(alice->wait_for(is_event("error"), 5s, "not in garden", from).str("message"),
               Contains("not in #garden; /join garden first"));
}

TEST_CASE(
    "/join ROOM takes the room's secret from the passphrase, /part leaves it, and the "
    "last room cannot be parted",
    "[integration][rooms]") {
    temp_dir dir;
    const auto pass = dir.path() / "pass";
    confab::core::write_file_atomically(pass, "correct horse battery staple\n", 0600);

    peer_options a;
    a.nick = "alice";
    a.shared_secret = false;
    a.extra_args = {"--secret-file", pass.string()};
    auto alice = start_peer(a);
    peer_options b = a;
    b.nick = "bob";
    b.more_rooms = {"den"};
    b.joins = {alice->listen()};
    auto bob = start_peer(b);
    alice->wait_for(is_peer_up(bob->peer_id()), 5s, "bob linked");

    // The passphrase gives #den the same secret at both: the link carries it at once.
    alice->send_line("/join #den");
    auto joined = alice->wait_for(is_event("joined"), 5s, "joined den");
    CHECK(joined.str("room") == "den");
    CHECK(alice->count(is_event("error")) == 0);
    bob->send_line("/room den");
    bob->wait_for(is_event("room"), 5s, "bob writes to den");
    // The first den message may race the room's proof on the link; the outbox keeps it.
    auto m = said(*bob, *alice, "in the den");
    CHECK(m.str("room") == "den");

    auto from = alice->events().size();
    alice->send_line("/part");  // the current room: den
    auto parted = alice->wait_for(is_event("parted"), 5s, "parted den", from);
    CHECK(parted.str("room") == "den");
    CHECK(parted.str("current") == "lobby");
    // After the part, bob's den messages no longer reach alice; the lobby's still do.
    bob->send_line("den after the part");
    bob->send_line("/room lobby");
    said(*bob, *alice, "lobby after the part");
    CHECK(alice->count(is_message_with_text("den after the part")) == 0);

    from = alice->events().size();
    alice->send_line("/part lobby");
    CHECK_THAT(alice->wait_for(is_event("error"), 5s, "last room", from).str("message"),
               Contains("the only room this peer is in; /quit leaves it"));
    from = alice->events().size();
    alice->send_line("/part den");
    CHECK_THAT(alice->wait_for(is_event("error"), 5s, "not in den", from).str("message"),
               Contains("not in #den"));
}

TEST_CASE("/join of a room no secret is known for makes a new room and says so",
          "[integration][rooms]") {
    peer_options a;
    a.nick = "alice";
    a.shared_secret = false;
    auto alice = start_peer(a);
    alice->send_line("/join garden");
    auto joined = alice->wait_for(is_event("joined"), 5s, "joined garden");
    CHECK(joined.str("room") == "garden");
    CHECK_FALSE(joined.str("invite").empty());
    auto notice = alice->wait_for(is_event("notice"), 5s, "new room notice");
    CHECK_THAT(notice.str("message"), Contains("#garden is a new room"));
    alice->send_line("/join bad room");
    CHECK_THAT(alice->wait_for(is_event("error"), 5s, "two words").str("message"),
               Contains("usage: /join"));
}

TEST_CASE("/quit MESSAGE says goodbye in every room", "[integration][rooms]") {
    peer_options a;
    a.nick = "alice";
    a.more_rooms = {"den"};
    auto alice = start_peer(a);
    peer_options d;
    d.nick = "dan";
    d.room = "den";
    d.joins = {alice->listen()};
    auto dan = start_peer(d);
    peer_options b;
    b.nick = "bob";
    b.joins = {alice->listen()};
    auto bob = start_peer(b);
    alice->wait_for(is_peer_up(dan->peer_id()), 5s, "dan linked");
    alice->wait_for(is_peer_up(bob->peer_id()), 5s, "bob linked");
    alice->send_line("/quit off to lunch");
    CHECK(dan->wait_for(is_message_with_text("leaves: off to lunch"), 5s, "in den").str("room") ==
          "den");
    CHECK(bob->wait_for(is_message_with_text("leaves: off to lunch"), 5s, "in lobby").str("room") ==
          "lobby");
}

#include "client/command.hpp"

#include <algorithm>
#include <string>
#include <variant>

#include <catch2/catch.hpp>

using namespace confab::client;
using Catch::Matchers::Contains;

namespace {

// The error message, or a note saying what came back instead, so that a failure reads well.
std::string error_of(const command& c) {
    if (auto* e = std::get_if<cmd_error>(&c)) return e->message;
    return "(not an error; variant index " + std::to_string(c.index()) + ")";
}

}  // namespace

TEST_CASE("plain text is a message to the room", "[command]") {
    auto c = parse_command("hello there");
    REQUIRE(std::holds_alternative<cmd_say>(c));
    CHECK(std::get<cmd_say>(c).text == "hello there");
}

TEST_CASE("a line starting with // sends the rest with one slash", "[command]") {
    auto c = parse_command("//x");
    REQUIRE(std::holds_alternative<cmd_say>(c));
    CHECK(std::get<cmd_say>(c).text == "/x");

    auto longer = parse_command("//nick is a command");
    REQUIRE(std::holds_alternative<cmd_say>(longer));
    CHECK(std::get<cmd_say>(longer).text == "/nick is a command");
}

TEST_CASE("a blank or whitespace-only line is nothing", "[command]") {
    CHECK(std::holds_alternative<cmd_none>(parse_command("")));
    CHECK(std::holds_alternative<cmd_none>(parse_command("   ")));
    CHECK(std::holds_alternative<cmd_none>(parse_command(" \t ")));
    CHECK(std::holds_alternative<cmd_none>(parse_command("\r")));
}

TEST_CASE("a trailing carriage return is stripped", "[command]") {
    auto say = parse_command("hi\r");
    REQUIRE(std::holds_alternative<cmd_say>(say));
    CHECK(std::get<cmd_say>(say).text == "hi");

    auto nick = parse_command("/nick bob\r");
    REQUIRE(std::holds_alternative<cmd_nick>(nick));
    CHECK(std::get<cmd_nick>(nick).nick == "bob");

    CHECK(std::holds_alternative<cmd_quit>(parse_command("/quit\r")));
}

TEST_CASE("/nick NAME changes the nick", "[command]") {
    auto c = parse_command("/nick alice");
    REQUIRE(std::holds_alternative<cmd_nick>(c));
    CHECK(std::get<cmd_nick>(c).nick == "alice");

    // Extra spaces around the one name are not part of it.
    auto spaced = parse_command("/nick   alice  ");
    REQUIRE(std::holds_alternative<cmd_nick>(spaced));
    CHECK(std::get<cmd_nick>(spaced).nick == "alice");
}

TEST_CASE("/nick without a name or with two words is a usage error", "[command]") {
    for (const char* line : {"/nick", "/nick ", "/nick alice bob"}) {
        INFO("line: " << line);
        auto c = parse_command(line);
        CHECK(std::holds_alternative<cmd_error>(c));
        CHECK_THAT(error_of(c), Contains("usage: /nick NAME"));
    }
}

TEST_CASE("/peers lists peers", "[command]") {
    CHECK(std::holds_alternative<cmd_peers>(parse_command("/peers")));
}

TEST_CASE("/peers with an argument is an error", "[command]") {
    auto c = parse_command("/peers extra");
    CHECK(std::holds_alternative<cmd_error>(c));
    CHECK_THAT(error_of(c), Contains("/peers takes no arguments"));
    CHECK_THAT(error_of(c), Contains("usage: /peers"));
}

TEST_CASE("/connect HOST:PORT gives the parsed address", "[command]") {
    auto c = parse_command("/connect 127.0.0.1:7447");
    REQUIRE(std::holds_alternative<cmd_connect>(c));
    CHECK(std::get<cmd_connect>(c).address.host == "127.0.0.1");
    CHECK(std::get<cmd_connect>(c).address.port == 7447);
}

TEST_CASE("/connect with something that is not HOST:PORT names the input", "[command]") {
    auto c = parse_command("/connect nonsense");
    CHECK(std::holds_alternative<cmd_error>(c));
    CHECK_THAT(error_of(c), Contains("\"nonsense\""));

    auto empty = parse_command("/connect");
    CHECK(std::holds_alternative<cmd_error>(empty));
    CHECK_THAT(error_of(empty), Contains("usage: /connect HOST:PORT"));
}

TEST_CASE("/quit and /help", "[command]") {
    CHECK(std::holds_alternative<cmd_quit>(parse_command("/quit")));
    CHECK(std::holds_alternative<cmd_help>(parse_command("/help")));
}

TEST_CASE("an unknown command is an error that points to /help", "[command]") {
    auto c = parse_command("/frobnicate now");
    CHECK(std::holds_alternative<cmd_error>(c));
    CHECK_THAT(error_of(c), Contains("unknown command /frobnicate"));
    CHECK_THAT(error_of(c), Contains("/help"));
}

TEST_CASE("help_text lists every command", "[command]") {
    auto text = help_text();
    for (const char* usage : {"/nick NAME", "/peers", "/connect HOST:PORT", "/help", "/quit"}) {
        CHECK_THAT(text, Contains(usage));
    }
}

TEST_CASE("irssi habits: commands in any case, /quit with a parting message", "[command]") {
    auto c = parse_command("/NICK Bob");
    REQUIRE(std::holds_alternative<cmd_nick>(c));
    CHECK(std::get<cmd_nick>(c).nick == "Bob");
    CHECK(std::holds_alternative<cmd_peers>(parse_command("/Peers")));
    CHECK(std::holds_alternative<cmd_quit>(parse_command("/quit see you tomorrow")));
}

TEST_CASE("irssi and weechat aliases parse as the command they stand for", "[command]") {
    auto action = parse_command("/action waves");
    REQUIRE(std::holds_alternative<cmd_me>(action));
    CHECK(std::get<cmd_me>(action).text == "waves");
    auto bare_action = parse_command("/ACTION");
    CHECK_THAT(error_of(bare_action), Contains("usage: /me ACTION"));
    auto exit = parse_command("/exit gone for lunch");
    REQUIRE(std::holds_alternative<cmd_quit>(exit));
    CHECK(std::get<cmd_quit>(exit).message == "gone for lunch");
    CHECK(std::holds_alternative<cmd_peers>(parse_command("/who")));
    CHECK(std::holds_alternative<cmd_peers>(parse_command("/Names")));
    CHECK_THAT(error_of(parse_command("/names all")), Contains("/peers takes no arguments"));
}

TEST_CASE("a nick with a space is refused with the reason", "[command]") {
    auto c = parse_command("/nick a b");
    REQUIRE(std::holds_alternative<cmd_error>(c));
    CHECK_THAT(std::get<cmd_error>(c).message,
               Catch::Matchers::StartsWith("a nick cannot contain spaces"));
}

TEST_CASE("/me ACTION is an emote, without an action it is a usage error", "[command]") {
    auto c = parse_command("/me waves at  everyone ");
    REQUIRE(std::holds_alternative<cmd_me>(c));
    CHECK(std::get<cmd_me>(c).text == "waves at  everyone");
    CHECK_THAT(error_of(parse_command("/me")), Contains("usage: /me ACTION"));
    CHECK_THAT(error_of(parse_command("/ME   ")), Contains("usage: /me ACTION"));
}

TEST_CASE("/clear takes no arguments", "[command]") {
    CHECK(std::holds_alternative<cmd_clear>(parse_command("/clear")));
    CHECK_THAT(error_of(parse_command("/clear all")), Contains("takes no arguments"));
}

TEST_CASE("command_names lists every command /help shows", "[command]") {
    const auto names = command_names();
    for (const auto& name : names) CHECK_THAT(help_text(), Contains("/" + name));
    for (const char* expected : {"me", "nick", "peers", "connect", "clear", "help", "quit"}) {
        CHECK(std::find(names.begin(), names.end(), expected) != names.end());
    }
}

TEST_CASE("/send takes a path and an optional nick as one argument string", "[command]") {
    auto c = parse_command("/send ~/my report.pdf bob");
    REQUIRE(std::holds_alternative<cmd_send>(c));
    CHECK(std::get<cmd_send>(c).args == "~/my report.pdf bob");
    CHECK_THAT(error_of(parse_command("/send")), Contains("usage: /send PATH [NICK]"));
}

TEST_CASE("/accept, /reject and /cancel take one transfer id, any case", "[command]") {
    auto a = parse_command("/accept 3F9A2C1B");
    REQUIRE(std::holds_alternative<cmd_accept>(a));
    CHECK(std::get<cmd_accept>(a).id == "3f9a2c1b");
    CHECK(std::holds_alternative<cmd_reject>(parse_command("/reject 3f9a")));
    CHECK(std::holds_alternative<cmd_cancel>(parse_command("/cancel 3f9a")));
    CHECK_THAT(error_of(parse_command("/accept")), Contains("usage: /accept ID"));
    CHECK_THAT(error_of(parse_command("/cancel a b")), Contains("usage: /cancel ID"));
    CHECK(std::holds_alternative<cmd_files>(parse_command("/files")));
}

TEST_CASE("/join takes an invite or a room, /part, /room and /invite a room, /rooms nothing",
          "[command][rooms]") {
    auto j = parse_command("/join confab1ABCdef");
    REQUIRE(std::holds_alternative<cmd_join>(j));
    CHECK(std::get<cmd_join>(j).target == "confab1ABCdef");  // parse_invite reads any case
    CHECK(std::get<cmd_join>(parse_command("/join #den")).target == "den");
    CHECK(std::get<cmd_join>(parse_command("/JOIN den")).target == "den");
    CHECK_THAT(error_of(parse_command("/join")), Contains("usage: /join INVITE|ROOM"));
    CHECK_THAT(error_of(parse_command("/join #")), Contains("usage: /join INVITE|ROOM"));
    CHECK_THAT(error_of(parse_command("/join a b")), Contains("usage: /join INVITE|ROOM"));

    CHECK(std::get<cmd_part>(parse_command("/part")).room.empty());
    CHECK(std::get<cmd_part>(parse_command("/part #den")).room == "den");
    CHECK_THAT(error_of(parse_command("/part den now")), Contains("usage: /part [ROOM]"));
    CHECK(std::get<cmd_room>(parse_command("/room den")).room == "den");
    CHECK_THAT(error_of(parse_command("/room")), Contains("usage: /room ROOM"));
    CHECK(std::holds_alternative<cmd_rooms>(parse_command("/rooms")));
    CHECK_THAT(error_of(parse_command("/rooms den")), Contains("takes no arguments"));
    CHECK(std::get<cmd_invite>(parse_command("/invite")).room.empty());
    CHECK(std::get<cmd_invite>(parse_command("/invite #den")).room == "den");
    for (const char* usage : {"/join INVITE|ROOM", "/part [ROOM]", "/rooms", "/room ROOM",
                              "/invite [ROOM]"}) {
        CHECK_THAT(help_text(), Contains(usage));
    }
}

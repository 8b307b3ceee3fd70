// Rooms and invites with real peers: the ready event's invite, --invite, --secret-file,
// --open, DATA/secrets.json, /join and /invite.

#include <filesystem>
#include <string>

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "core/base32.hpp"
#include "core/identity.hpp"
#include "core/invite.hpp"
#include "tests/support/fake_peer.hpp"
#include "tests/support/peer_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_connection.hpp"
#include "tests/support/wire.hpp"

using namespace confab::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// A test peer that makes its own secret, as a user's first start does (the harness otherwise
// gives every test peer the same one).
peer_options own_secret(std::string nick = "peer", std::string room = "lobby") {
    peer_options o;
    o.nick = std::move(nick);
    o.room = std::move(room);
    o.shared_secret = false;
    return o;
}

confab::core::invite parse(const std::string& text) {
    std::string error;
    auto parsed = confab::core::parse_invite(text, &error);
    INFO(text << ": " << error);
    REQUIRE(parsed);
    return *parsed;
}

// The invite in a peer's ready event.
std::string invite_of(peer_process& p) {
    auto ready = p.wait_for(is_event("ready"), 5s, "ready event");
    return ready.str("invite");
}

std::filesystem::path secrets_of(const peer_process& p) {
    return p.dir() / "data" / "secrets.json";
}

// A peer that must refuse to start: its exit code and stderr.
std::pair<int, std::string> refused(peer_options o) {
    o.log_level = "error";
    peer_process p(std::move(o));
    auto code = p.wait_exit(5s);
    INFO(p.describe());
    REQUIRE(code.has_value());
    CHECK(p.count(is_event("ready")) == 0);
    return {*code, p.stderr_text()};
}

std::filesystem::path passphrase_file(const confab::test::temp_dir& dir, std::string name,
                                      std::string_view contents, mode_t mode = 0600) {
    auto path = dir.path() / name;
    confab::core::write_file_atomically(path, contents, mode);
    return path;
}

}  // namespace

TEST_CASE("ready carries an invite to the room at the bound address, and open: false",
          "[integration][rooms]") {
    auto p = start_peer(own_secret("peer", "garden"));
    const auto ready = p->events().front();
    INFO(ready.json.dump());
    REQUIRE(ready.json.contains("open"));
    CHECK(ready.json["open"] == false);
    CHECK_THAT(ready.str("invite"), StartsWith("confab1"));
    const auto inv = parse(ready.str("invite"));
    CHECK(inv.room == "garden");
    CHECK(inv.secret.size() == 16);
    CHECK(inv.addresses == std::vector<std::string>{p->listen()});

    // /invite says it again.
    p->send_line("/invite");
    auto again = p->wait_for(is_event("invite"), 5s, "invite event");
    CHECK(again.str("invite") == ready.str("invite"));
    CHECK(again.str("room") == "garden");
}

TEST_CASE("secrets.json and the identity key are 0600, and the secret survives restarts",
          "[integration][rooms]") {
    peer_options o = own_secret();
    auto p = start_peer(o);
    const auto first = parse(invite_of(*p));
    struct stat st {};
    REQUIRE(::stat(secrets_of(*p).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat((p->dir() / "data" / "identity.pem").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    const auto json = nlohmann::json::parse(confab::core::read_file(secrets_of(*p)));
    CHECK(json.at("lobby") == confab::core::base32_encode(first.secret));

    // The same data dir after a restart: the same secret, so the same invite but for the port.
    const auto data = p->dir() / "data";
    p->close_stdin();
    REQUIRE(p->wait_exit(10s) == 0);
    o.extra_args = {"--data-dir", data.string()};  // the later flag wins
    auto again = start_peer(o);
    CHECK(parse(invite_of(*again)).secret == first.secret);
}

TEST_CASE("option --invite with a typo exits 2 with the check-character sentence",
          "[integration][rooms]") {
    auto alice = start_peer({});
    std::string typo = invite_of(*alice);
    typo[12] = typo[12] == 'q' ? 'r' : 'q';
    peer_options o;
    o.extra_args = {"--invite", typo};
    auto [code, err] = refused(o);
    CHECK(code == 2);
    CHECK(err ==
          "confab: --invite: the invite has a typo: its check character does not match; copy "
          "the whole invite again\n");
}

TEST_CASE("options --open with --invite, or an empty --secret-file, are refused with exit 2",
          "[integration][rooms]") {
    auto alice = start_peer({});
    peer_options o;
    o.extra_args = {"--open", "--invite", invite_of(*alice)};
    auto [code, err] = refused(o);
    CHECK(code == 2);
    CHECK_THAT(err, StartsWith("confab: --open means rooms without a secret; it cannot go with "
                               "--invite\n"));

    confab::test::temp_dir dir;
    const auto empty = passphrase_file(dir, "empty", "");
    o.extra_args = {"--secret-file", empty.string()};
    std::tie(code, err) = refused(o);
    CHECK(code == 2);
    CHECK(err == "confab: --secret-file: " + empty.string() +
                     " is empty; write the room's passphrase in it\n");

    const auto shared = passphrase_file(dir, "shared", "hunter2\n", 0644);
    o.extra_args = {"--secret-file", shared.string()};
    std::tie(code, err) = refused(o);
    CHECK(code == 2);
    CHECK_THAT(err, Contains("chmod 600"));
}

TEST_CASE("option --open: ready says open, with no invite, and nothing is stored",
          "[integration][rooms]") {
    peer_options o = own_secret();
    o.extra_args = {"--open"};
    auto p = start_peer(o);
    const auto ready = p->events().front();
    INFO(ready.json.dump());
    CHECK(ready.json["open"] == true);
    CHECK(ready.str("invite").empty());
    CHECK_FALSE(std::filesystem::exists(secrets_of(*p)));
}

TEST_CASE("a peer started with --invite joins the room, dials the inviter and keeps the secret",
          "[integration][rooms]") {
    auto alice = start_peer(own_secret("alice", "garden"));
    const std::string invite = invite_of(*alice);

    // The harness passes --room; the invite's own room agrees.
    peer_options b = own_secret("bob", "garden");
    b.extra_args = {"--invite", invite};
    auto bob = start_peer(b);
    const auto ready = bob->events().front();
    CHECK(ready.str("room") == "garden");
    CHECK(parse(ready.str("invite")).secret == parse(invite).secret);
    bob->wait_for(is_peer_up(alice->peer_id()), 5s, "bob connected to alice");
    alice->wait_for(is_peer_up(bob->peer_id()), 5s, "alice connected to bob");
    const auto json = nlohmann::json::parse(confab::core::read_file(secrets_of(*bob)));
    CHECK(json.at("garden") == confab::core::base32_encode(parse(invite).secret));
}

TEST_CASE("the same passphrase gives the same secret on every peer, another a different one",
          "[integration][rooms]") {
    confab::test::temp_dir dir;
    const auto one = passphrase_file(dir, "one", "correct horse battery staple\n");
    const auto same = passphrase_file(dir, "same", "correct horse battery staple");
    const auto other = passphrase_file(dir, "other", "correct horse battery stable\n");
    auto secret_with = [](const std::filesystem::path& file) {
        peer_options o;
        o.extra_args = {"--secret-file", file.string()};
        auto p = start_peer(o);
        auto inv = parse(invite_of(*p));
        CHECK(inv.secret.size() == 32);
        return inv.secret;
    };
    const auto secret = secret_with(one);
    CHECK(secret_with(same) == secret);
    CHECK(secret_with(other) != secret);
}

TEST_CASE("/join: this room's invite dials its peers, another room's joins it, another secret "
          "for this room says how to use it",
          "[integration][rooms]") {
    auto alice = start_peer(own_secret("alice"));
    peer_options b = own_secret("bob");
    b.extra_args = {"--invite", invite_of(*alice)};
    auto bob = start_peer(b);
    bob->wait_for(is_peer_up(alice->peer_id()), 5s, "bob connected to alice");

    // carol has her own secret for the lobby: bob's invite is news to her, alice's too.
    auto carol = start_peer(own_secret("carol"));
    std::size_t from = carol->events().size();
    carol->send_line("/join " + invite_of(*alice));
    auto e = carol->wait_for(is_event("error"), 5s, "another secret", from);
    CHECK_THAT(e.str("message"), Contains("another secret"));
    CHECK_THAT(e.str("message"), Contains("confab --invite " + invite_of(*alice)));

    // bob holds alice's secret: /join with her invite simply connects (again).
    from = bob->events().size();
    bob->send_line("/join " + invite_of(*alice));
    auto n = bob->wait_for(is_event("notice"), 5s, "connecting notice", from);
    CHECK_THAT(n.str("message"), Contains("connecting to " + alice->listen()));

    // Another room: bob joins it too, with the secret the invite carries, and chats there.
    auto den = start_peer(own_secret("dan", "den"));
    from = bob->events().size();
    bob->send_line("/join " + invite_of(*den));
    auto joined = bob->wait_for(is_event("joined"), 5s, "joined #den", from);
    CHECK(joined.str("room") == "den");
    CHECK(parse(joined.str("invite")).secret == parse(invite_of(*den)).secret);
    bob->wait_for(is_peer_up(den->peer_id()), 5s, "bob connected to dan");
    bob->send_line("hello den");
    auto m = den->wait_for(is_message_with_text("hello den"), 5s, "bob's message in #den");
    CHECK(m.str("room") == "den");

    std::string typo = invite_of(*den);
    typo.back() = typo.back() == 'a' ? 'b' : 'a';
    from = bob->events().size();
    bob->send_line("/join " + typo);
    e = bob->wait_for(is_event("error"), 5s, "typo", from);
    CHECK_THAT(e.str("message"), Contains("check character does not match"));
}

TEST_CASE("test peers share one secret unless told not to", "[integration][rooms]") {
    auto a = start_peer({});
    auto b = start_peer({});
    const auto secret = parse(invite_of(*a)).secret;
    CHECK(confab::core::base32_encode(secret) == shared_test_secret);
    CHECK(parse(invite_of(*b)).secret == secret);
    auto c = start_peer(own_secret());
    CHECK(parse(invite_of(*c)).secret != secret);
}

// ---- membership: the handshake's proof of the room's secret ----

TEST_CASE("a peer with another secret cannot join, hears nothing of the room, and says why",
          "[integration][rooms]") {
    auto alice = start_peer(own_secret("alice"));
    auto carol = start_peer(own_secret("carol"));
    SECTION("another random secret") {}
    SECTION("no secret: an open room of the same name") {
        carol.reset();
        peer_options o;
        o.nick = "carol";
        o.shared_secret = false;
        o.extra_args = {"--open"};
        carol = start_peer(o);
    }
    // bob has alice's secret (her invite); carol does not.
    peer_options b = own_secret("bob");
    b.extra_args = {"--invite", invite_of(*alice)};
    auto bob = start_peer(b);
    bob->wait_for(is_peer_up(alice->peer_id()), 5s, "bob connected to alice");
    alice->send_line("for members only");
    bob->wait_for(is_message_with_text("for members only"), 5s, "alice's message at bob");

    carol->send_line("/connect " + alice->listen());
    auto refusal = carol->wait_for(is_event("error"), 5s, "carol's error");
    CHECK(refusal.str("message") ==
          "wrong secret for room \"lobby\" (peer " + alice->listen() + ")");
    // alice hears of it too, and neither counts the other as a neighbour.
    alice->wait_for(
        [](const event& e) {
            return e.name() == "notice" && e.str("message").find("wrong secret") != std::string::npos;
        },
        5s, "alice's notice of the refusal");
    alice->send_line("still for members only");
    bob->wait_for(is_message_with_text("still for members only"), 5s, "the second message");
    INFO(carol->describe());
    CHECK(carol->count(is_event("peer_up")) == 0);
    CHECK(carol->count(is_event("message")) == 0);
    CHECK(alice->count(is_peer_up(carol->peer_id())) == 0);
}

TEST_CASE("a room proof cannot be replayed on another connection", "[integration][rooms]") {
    // Two connections to one peer as the same member: the proof made for the first (over its
    // TLS exporter) is refused on the second, even with the same key and room id.
    auto alice = start_peer({});
    auto me = confab::core::identity::generate();
    auto first = tls_connection::dial(port_of(alice->listen()), me);
    auto second = tls_connection::dial(port_of(alice->listen()), me);
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    auto replayed = member_hello(me.peer_id(), "mallory", first);
    REQUIRE(second.send(frame(replayed.dump())));
    CHECK(second.wait_closed(5s));
    // A bye and nothing else: not alice's hello.
    const auto frames = second.frames();
    REQUIRE(frames.size() == 1);
    CHECK(nlohmann::json::parse(frames[0]) ==
          nlohmann::json{{"type", "bye"}, {"reason", "wrong secret"}});
    CHECK(alice->count(is_peer_up(me.peer_id())) == 0);
}

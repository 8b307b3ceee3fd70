// The worked examples of docs/protocol.md, read from the document itself and checked against
// the code, so that the document cannot drift from what confab sends: a second
// implementation checks itself against these values. (The values are pinned in the code's own
// tests too; this test pins the document to them.)

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/envelope_signature.hpp"
#include "core/invite.hpp"
#include "core/message_id.hpp"
#include "core/room_secret.hpp"
#include "core/sha256.hpp"
#include "protocol/frame.hpp"
#include "protocol/messages.hpp"
#include "protocol/presence.hpp"

namespace {

using namespace confab;
using json = nlohmann::json;

const std::string& document() {
    static const std::string text = [] {
        std::ifstream in(CONFAB_PROTOCOL_DOC, std::ios::binary);
        REQUIRE(in);
        std::ostringstream out;
        out << in.rdbuf();
        return out.str();
    }();
    return text;
}

// The text from `start` (which must be in the document) to the end of the document.
std::string_view from(std::string_view start) {
    const auto at = document().find(start);
    INFO(start);
    REQUIRE(at != std::string::npos);
    return std::string_view(document()).substr(at);
}

// The body of the first ``` block at or after `start`, without the fence lines.
std::string code_block_after(std::string_view start) {
    const auto text = from(start);
    const auto open = text.find("```");
    REQUIRE(open != std::string_view::npos);
    const auto body = text.find('\n', open) + 1;
    const auto close = text.find("\n```", body);
    REQUIRE(close != std::string_view::npos);
    return std::string(text.substr(body, close - body));
}

// The first `...` span at or after `start`: an example value quoted in the text.
std::string quoted_after(std::string_view start) {
    auto text = from(start).substr(start.size());
    const auto open = text.find('`');
    REQUIRE(open != std::string_view::npos);
    const auto close = text.find('`', open + 1);
    REQUIRE(close != std::string_view::npos);
    return std::string(text.substr(open + 1, close - open - 1));
}

// The last `...` span of the table row that starts with `row`: the row's value.
std::string table_value(std::string_view row) {
    const auto text = from("| " + std::string(row));
    const auto line = text.substr(0, text.find('\n'));
    const auto close = line.rfind('`');
    REQUIRE(close != std::string_view::npos);
    const auto open = line.rfind('`', close - 1);
    REQUIRE(open != std::string_view::npos);
    return std::string(line.substr(open + 1, close - open - 1));
}

// The payload of a JSON example that may be wrapped over several lines: wrapping happens only
// between tokens, so joining the lines gives the frame.
std::string joined(const std::string& block) {
    std::string out;
    std::istringstream lines(block);
    for (std::string line; std::getline(lines, line);) {
        const auto first = line.find_first_not_of(' ');
        if (first != std::string::npos) out += line.substr(first);
    }
    return out;
}

std::vector<std::uint8_t> worked_example_secret() {
    std::vector<std::uint8_t> secret;
    for (std::uint8_t i = 0; i < 16; ++i) secret.push_back(i);
    return secret;
}

template <class T>
T parsed(const std::string& payload) {
    INFO(payload);
    const auto r = protocol::parse_message(payload);
    REQUIRE(r.status == protocol::parse_status::ok);
    REQUIRE(std::holds_alternative<T>(*r.msg));
    return std::get<T>(*r.msg);
}

}  // namespace

TEST_CASE("docs/protocol.md: the framing example", "[protocol_doc]") {
    const std::string payload = R"({"type":"ping","nonce":7})";
    REQUIRE(document().find("the payload `" + payload + "` (25 bytes) is sent as\n`00 00 00 19`") !=
            std::string::npos);
    CHECK(protocol::encode_frame(payload) == std::string("\0\0\0\x19", 4) + payload);
}

TEST_CASE("docs/protocol.md: the room keys of the worked example", "[protocol_doc]") {
    const auto keys = core::derive_room_keys("lobby", worked_example_secret());
    CHECK(table_value("room id |") == keys.room_id);
    CHECK(table_value("auth key |") == core::to_hex(keys.auth_key));
    const std::vector<std::uint8_t> zeros(32, 0);
    const std::string prover = "mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpiytgnbvgy3q";
    CHECK(table_value("dialler's proof") ==
          core::room_proof(keys, zeros, core::proof_role::dialler, prover));
    CHECK(table_value("acceptor's proof") ==
          core::room_proof(keys, zeros, core::proof_role::acceptor, prover));
    CHECK(table_value("open room `lobby`") == core::open_room_keys("lobby").room_id);
    CHECK(table_value("passphrase `correct horse battery staple`") ==
          core::to_hex(core::stretch_passphrase("correct horse battery staple", "lobby")));
}

TEST_CASE("docs/protocol.md: the hello examples carry the worked example's room id and proofs",
          "[protocol_doc]") {
    const auto dialler = parsed<protocol::hello>(joined(code_block_after("### `hello`")));
    const auto acceptor =
        parsed<protocol::hello>(joined(code_block_after("The acceptor's answer, from a peer")));
    const auto keys = core::derive_room_keys("lobby", worked_example_secret());
    // The proofs with E = 32 zero bytes: a real connection's E differs.
    const std::vector<std::uint8_t> zeros(32, 0);
    CHECK(dialler.version == protocol::protocol_version);
    CHECK(acceptor.version == protocol::protocol_version);
    CHECK(dialler.rooms ==
          std::vector<protocol::room_claim>{
              {"lobby", keys.room_id,
               core::room_proof(keys, zeros, core::proof_role::dialler, dialler.peer_id)},
              {"dev", core::open_room_keys("dev").room_id, ""}});
    // Only the room they share, with the acceptor's own proof.
    CHECK(acceptor.rooms ==
          std::vector<protocol::room_claim>{
              {"lobby", keys.room_id,
               core::room_proof(keys, zeros, core::proof_role::acceptor, acceptor.peer_id)}});
    CHECK(acceptor.peer_id != dialler.peer_id);
}

TEST_CASE("docs/protocol.md: the chat example's canonical bytes, id and signature",
          "[protocol_doc]") {
    const auto chat = parsed<protocol::chat>(joined(code_block_after("### `chat`")));
    const auto canonical = protocol::canonical_bytes_unsigned(chat.raw);
    CHECK(quoted_after("For the example above the canonical bytes without `sig` are") ==
          canonical);
    CHECK(from("For the example above").find("(one line, " + std::to_string(canonical.size()) +
                                             " bytes)") != std::string_view::npos);
    CHECK(quoted_after("The example's id is") == core::message_id(chat.raw));
    // Signed with RFC 8032's first test key, whose peer id the document names.
    CHECK(chat.env.author == "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkena");
    CHECK(core::verify_envelope(chat.raw).empty());
}

TEST_CASE("docs/protocol.md: the presence example's canonical bytes, id and signature",
          "[protocol_doc]") {
    const auto chat = parsed<protocol::chat>(joined(code_block_after("### Presence")));
    CHECK(chat.env.kind == protocol::presence_kind);
    CHECK(protocol::parse_presence(chat.env.body) == protocol::presence::here);
    const auto canonical = protocol::canonical_bytes_unsigned(chat.raw);
    CHECK(quoted_after("Signed with the worked example's key, as the `chat` example; its "
                       "canonical bytes without `sig`") == canonical);
    CHECK(from("Signed with the worked example's key").find("(" + std::to_string(canonical.size()) +
                                                         " bytes)") != std::string_view::npos);
    CHECK(quoted_after("(" + std::to_string(canonical.size()) + " bytes) and its id is") ==
          core::message_id(chat.raw));
    CHECK(core::verify_envelope(chat.raw).empty());
}

TEST_CASE("docs/protocol.md: the other message examples are well-formed frames", "[protocol_doc]") {
    std::istringstream keepalive(code_block_after("### `ping` and `pong`"));
    std::string ping_line;
    std::string pong_line;
    std::getline(keepalive, ping_line);
    std::getline(keepalive, pong_line);
    CHECK(parsed<protocol::ping>(ping_line).nonce == parsed<protocol::pong>(pong_line).nonce);
    CHECK(parsed<protocol::bye>(code_block_after("### `bye`")).reason == "shutdown");
    CHECK_FALSE(parsed<protocol::error>(code_block_after("### `error`")).message.empty());
    CHECK(parsed<protocol::nick>(code_block_after("### `nick`")).nick == "alice2");
}

TEST_CASE("docs/protocol.md: the overlay frame examples are well-formed, in the worked example's room",
          "[protocol_doc]") {
    const auto room = core::derive_room_keys("lobby", worked_example_secret()).room_id;
    const auto chat = parsed<protocol::chat>(joined(code_block_after("### `chat`")));
    const auto id = core::message_id(chat.raw);
    const auto& author = chat.env.author;

    const auto rooms = parsed<protocol::rooms>(joined(code_block_after("### `rooms`")));
    REQUIRE(rooms.rooms.size() == 1);
    CHECK(rooms.rooms[0].id == room);
    CHECK(parsed<protocol::join>(joined(code_block_after("### `join`"))).room == room);
    const auto walk = parsed<protocol::forward_join>(joined(code_block_after("### `forward_join`")));
    CHECK(walk.room == room);
    CHECK(walk.ttl <= protocol::max_walk_length);
    CHECK(parsed<protocol::neighbor>(joined(code_block_after("### `neighbor`"))) ==
          protocol::neighbor{room, true});
    CHECK(parsed<protocol::disconnect>(joined(code_block_after("### `disconnect`"))) ==
          protocol::disconnect{room, true});
    const auto shuffle = parsed<protocol::shuffle>(joined(code_block_after("### `shuffle`")));
    const auto reply =
        parsed<protocol::shuffle_reply>(joined(code_block_after("### `shuffle_reply`")));
    CHECK(shuffle.room == room);
    CHECK(reply.room == room);
    CHECK(reply.id == shuffle.id);
    CHECK(parsed<protocol::ihave>(joined(code_block_after("### `ihave`"))) ==
          protocol::ihave{room, {id}, {2}});
    CHECK(parsed<protocol::graft>(joined(code_block_after("### `graft`"))) ==
          protocol::graft{room, {id}, author});
    CHECK(parsed<protocol::prune>(joined(code_block_after("### `prune`"))) ==
          protocol::prune{room, author});
    // hops is outside the envelope: the same message, with the same id.
    CHECK(chat.hops == 0);
    const auto relayed = parsed<protocol::chat>(joined(code_block_after("### Hops in `chat`")));
    CHECK(relayed.hops == 3);
    CHECK(relayed.raw == chat.raw);
}

TEST_CASE("docs/protocol.md: the invite example", "[protocol_doc]") {
    std::string error;
    const auto inv = core::parse_invite(code_block_after("is one string that survives"), &error);
    INFO(error);
    REQUIRE(inv);
    CHECK(inv->room == "lobby");
    CHECK(inv->secret == worked_example_secret());
    CHECK(inv->addresses == std::vector<std::string>{"192.0.2.7:7447"});
}

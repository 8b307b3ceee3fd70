#include "protocol/messages.hpp"

#include <limits>

#include <catch2/catch.hpp>

#include "protocol/validate.hpp"

using namespace confab::protocol;
using json = nlohmann::json;

namespace {

const std::string alice = std::string(52, 'a');
const std::string bob = std::string(51, 'b') + "q";
constexpr std::uint64_t two_to_53 = std::uint64_t{1} << 53;
// Well-formed, not genuine: the parser checks a signature's form only (core verifies it).
const std::string some_sig = std::string(64, 'a') + std::string(64, '0');

const std::string some_room_id = "0123456789abcdef0123456789abcdef";
const std::string some_proof = std::string(64, 'f');

json hello_json() {
    return {{"type", "hello"},      {"version", 1},          {"peer_id", alice},
            {"nick", "alice"},      {"listen_port", 7447},   {"rooms", {"lobby", "dev"}},
            {"features", {"tls"}},  {"room_id", some_room_id}, {"proof", some_proof}};
}

json envelope_json() {
    return {{"room", "lobby"},     {"author", alice}, {"nick", "alice"}, {"seq", 1},
            {"ts", 1700000000000}, {"body", "hi"},    {"sig", some_sig}};
}

json chat_json() {
    return {{"type", "chat"}, {"envelope", envelope_json()}};
}

json peers_json() {
    return {{"type", "peers"},
            {"peers",
             {{{"peer_id", alice}, {"addr", "127.0.0.1:7447"}},
              {{"peer_id", bob}, {"addr", "[::1]:7448"}}}}};
}

json with(json j, const std::string& key, json value) {
    j[key] = std::move(value);
    return j;
}

json without(json j, const std::string& key) {
    j.erase(key);
    return j;
}

json chat_with(const std::string& key, json value) {
    return with(chat_json(), "envelope", with(envelope_json(), key, std::move(value)));
}

json chat_without(const std::string& key) {
    return with(chat_json(), "envelope", without(envelope_json(), key));
}

// Parses text, requires it to be malformed, and returns the error.
std::string malformed_text_error(std::string_view text) {
    INFO(text);
    const auto r = parse_message(text);
    CHECK(r.status == parse_status::malformed);
    CHECK_FALSE(r.msg.has_value());
    return r.error;
}

std::string malformed_error(const json& j) {
    return malformed_text_error(j.dump());
}

// Parses j, requires success, and returns the message as the alternative T.
template <class T>
T parsed_as(const json& j) {
    INFO(j.dump());
    const auto r = parse_message(j.dump());
    REQUIRE(r.status == parse_status::ok);
    CHECK(r.error.empty());
    REQUIRE(r.msg.has_value());
    REQUIRE(std::holds_alternative<T>(*r.msg));
    return std::get<T>(*r.msg);
}

// Parses the text of a bye, requires success, and returns its reason.
std::string reason_of(std::string_view text) {
    INFO(text);
    const auto r = parse_message(text);
    REQUIRE(r.status == parse_status::ok);
    REQUIRE(std::holds_alternative<bye>(*r.msg));
    return std::get<bye>(*r.msg).reason;
}

json strings(std::size_t count) {
    return json(std::vector<std::string>(count, "x"));
}

}  // namespace

TEST_CASE("a frame that is not valid UTF-8 is malformed") {
    CHECK(malformed_text_error("{\"type\":\"bye\",\"reason\":\"\xff\"}") ==
          "frame is not valid UTF-8");
    CHECK(malformed_text_error("{\"type\":\"bye\",\"reason\":\"\xed\xa0\x80\"}") ==
          "frame is not valid UTF-8");
}

TEST_CASE("a frame that is not JSON is malformed, with the position") {
    CHECK(malformed_text_error("{\"type\":") ==
          "frame is not valid JSON: parse error at line 1, column 9: syntax error while parsing "
          "value - unexpected end of input; expected '[', '{', or a literal");
    CHECK(malformed_text_error("{} x") ==
          "frame is not valid JSON: parse error at line 1, column 4: syntax error while parsing "
          "value - invalid literal; expected end of input");
    CHECK(malformed_text_error("").starts_with("frame is not valid JSON: "));
}

TEST_CASE("a byte order mark before the JSON is malformed, as a strict parser would find it") {
    // nlohmann skips it; accepting it would mean forwarding it to peers that refuse it.
    CHECK(malformed_text_error("\xef\xbb\xbf{\"type\":\"ping\"}") ==
          "frame starts with a byte order mark (U+FEFF)");
    CHECK(malformed_text_error(" \xef\xbb\xbf{\"type\":\"ping\"}")
              .starts_with("frame is not valid JSON: "));
    // U+FEFF inside a string is just a character.
    CHECK(reason_of("{\"type\":\"bye\",\"reason\":\"\xef\xbb\xbf\"}") == "\xef\xbb\xbf");
}

TEST_CASE("a lone surrogate escape is malformed; a surrogate pair is one character") {
    for (const auto* text : {R"({"type":"bye","reason":"\ud800"})",
                             R"({"type":"bye","reason":"\udc00"})",
                             R"({"type":"bye","reason":"\ud800x"})",
                             R"({"type":"bye","reason":"\ude00\ud83d"})"}) {
        CHECK(malformed_text_error(std::string_view(text)).starts_with("frame is not valid JSON: "));
    }
    CHECK(reason_of(R"({"type":"bye","reason":"\ud83d\ude00"})") == "\xf0\x9f\x98\x80");
}

TEST_CASE("a JSON error does not echo input that could end inside a character") {
    const auto error = malformed_text_error("{\"type\":nul\xc3\xa9}");
    CHECK(error.starts_with("frame is not valid JSON: parse error at line 1, column "));
    CHECK(error.find("last read") == std::string::npos);
    CHECK(is_valid_utf8(error));
}

TEST_CASE("a JSON error does not echo input that looks like the end of the echo") {
    // Found by tests/fuzz: nlohmann quotes the token it stopped in, here `"'; expected "` and
    // the first byte of a two-byte character; the echo was cut at the first "'; expected ".
    const auto error = malformed_text_error("\"'; expected \"\xd7\x8e");
    CHECK(is_valid_utf8(error));
    CHECK(error.find("'; expected \"") == std::string::npos);
    CHECK(error.ends_with("invalid literal; expected end of input"));
    // It is sent back in an error frame, and serialising invalid UTF-8 throws.
    CHECK_NOTHROW(serialize(confab::protocol::error{error}));
}

TEST_CASE("JSON that is not an object is malformed") {
    for (const auto* text : {"[]", "[{\"type\":\"ping\"}]", "\"ping\"", "42", "null", "true"}) {
        CHECK(malformed_text_error(std::string_view(text)) == "frame is not a JSON object");
    }
}

TEST_CASE("an object without a string type is malformed") {
    CHECK(malformed_error(json{{"nonce", 1}}) == "frame has no \"type\" field");
    CHECK(malformed_error(json{{"type", 7}}) == "field \"type\" must be a string");
    CHECK(malformed_error(json{{"type", nullptr}}) == "field \"type\" must be a string");
}

TEST_CASE("an object that repeats a key is malformed") {
    CHECK(malformed_text_error(R"({"type":"bye","reason":"a","reason":"b"})") ==
          "frame repeats the key \"reason\" in one object");
    CHECK(malformed_text_error(R"({"type":"chat","envelope":{"body":"a","body":"b"}})") ==
          "frame repeats the key \"body\" in one object");
    // Keys are compared as decoded: an escape does not make a second key.
    CHECK(malformed_text_error(R"({"type":"bye","reason":"a","reas\u006fn":"b"})") ==
          "frame repeats the key \"reason\" in one object");
    // The same key in sibling objects is not a repeat.
    CHECK(parsed_as<peers>(peers_json()).list.size() == 2);
}

TEST_CASE("JSON nested deeper than 16 levels is malformed") {
    // The frame object is level 1, the envelope level 2, so 14 more arrays reach 16.
    const auto nested = [](int levels) {
        return std::string(levels, '[') + std::string(levels, ']');
    };
    const auto chat_nesting = [&](int levels) {
        auto text = chat_json().dump();
        // Keys are sorted, so the text starts with {"envelope":{ .
        text.insert(std::string_view(R"({"envelope":{)").size(),
                    "\"deep\":" + nested(levels) + ",");
        return text;
    };
    CHECK(parse_message(chat_nesting(14)).status == parse_status::ok);
    CHECK(malformed_text_error(chat_nesting(15)) == "frame nests JSON deeper than 16 levels");
    // Deep enough to overflow the stack if anything walked it recursively.
    CHECK(malformed_text_error(nested(500000)) == "frame nests JSON deeper than 16 levels");
}

TEST_CASE("an unknown type is reported as unknown_type, not malformed") {
    const auto r = parse_message(R"({"type":"foo","x":1})");
    CHECK(r.status == parse_status::unknown_type);
    CHECK(r.type == "foo");
    CHECK(r.error == "unknown message type \"foo\"");
    CHECK_FALSE(r.msg.has_value());
}

TEST_CASE("errors quote at most 64 bytes of a long value") {
    const auto r = parse_message(json{{"type", std::string(1000, 't')}}.dump());
    CHECK(r.status == parse_status::unknown_type);
    CHECK(r.type == std::string(1000, 't'));
    CHECK(r.error == "unknown message type \"" + std::string(64, 't') + "...\"");
    // A cut never splits a character: 63 ASCII bytes, then a two-byte character.
    const auto accented = std::string(63, 'x') + "\xc3\xa9";
    CHECK(parse_message(json{{"type", accented + "yyy"}}.dump()).error ==
          "unknown message type \"" + std::string(63, 'x') + "...\"");
    CHECK(malformed_text_error(R"({"type":"bye",")" + std::string(100, 'k') + R"(":1,")" +
                               std::string(100, 'k') + R"(":2})") ==
          "frame repeats the key \"" + std::string(64, 'k') + "...\" in one object");
}

TEST_CASE("a malformed message of a known type reports its type") {
    const auto r = parse_message(without(hello_json(), "nick").dump());
    CHECK(r.status == parse_status::malformed);
    CHECK(r.type == "hello");
}

TEST_CASE("hello is parsed with every field") {
    const auto h = parsed_as<hello>(hello_json());
    CHECK(h.version == 1);
    CHECK(h.peer_id == alice);
    CHECK(h.nick == "alice");
    CHECK(h.listen_port == 7447);
    CHECK(h.rooms == std::vector<std::string>{"lobby", "dev"});
    CHECK(h.features == std::vector<std::string>{"tls"});
}

TEST_CASE("hello accepts any version from 1, no rooms, port 0 and absent features") {
    CHECK(parsed_as<hello>(with(hello_json(), "version", 2)).version == 2);
    CHECK(parsed_as<hello>(with(hello_json(), "rooms", json::array())).rooms.empty());
    CHECK(parsed_as<hello>(with(hello_json(), "listen_port", 0)).listen_port == 0);
    CHECK(parsed_as<hello>(with(hello_json(), "listen_port", 65535)).listen_port == 65535);
    CHECK(parsed_as<hello>(without(hello_json(), "features")).features.empty());
    CHECK(parsed_as<hello>(with(hello_json(), "rooms", strings(max_hello_rooms))).rooms.size() ==
          max_hello_rooms);
}

TEST_CASE("hello with a missing field is malformed and names it") {
    for (const auto* field :
         {"version", "peer_id", "nick", "listen_port", "rooms", "room_id", "proof"}) {
        CHECK(malformed_error(without(hello_json(), field)) ==
              "hello: field \"" + std::string(field) + "\" is missing");
    }
}

TEST_CASE("hello with an ill-typed or invalid field is malformed and names it") {
    const auto h = hello_json();
    const std::string version = R"(hello: field "version" must be a positive integer)";
    CHECK(malformed_error(with(h, "version", 0)) == version);
    CHECK(malformed_error(with(h, "version", -1)) == version);
    CHECK(malformed_error(with(h, "version", 1.0)) == version);
    CHECK(malformed_error(with(h, "version", "1")) == version);
    CHECK(malformed_error(with(h, "version", 4294967296)) == version);

    CHECK(malformed_error(with(h, "peer_id", 5)) == R"(hello: field "peer_id" must be a string)");
    CHECK(malformed_error(with(h, "room_id", "ABCDEF0123456789abcdef0123456789")) ==
          R"(hello: field "room_id" is invalid: must be 32 lowercase hex digits)");
    CHECK(malformed_error(with(h, "proof", "00")) ==
          R"(hello: field "proof" is invalid: must be empty or 64 lowercase hex digits)");
    CHECK(parsed_as<hello>(with(h, "proof", "")).proof.empty());
    CHECK(malformed_error(with(h, "peer_id", "abc")) ==
          R"(hello: field "peer_id" is invalid: peer id must be 52 characters (got 3))");
    CHECK(malformed_error(with(h, "nick", std::string(40, 'n'))) ==
          R"(hello: field "nick" is invalid: nick must be 1 to 32 bytes (got 40))");
    CHECK(malformed_error(with(h, "nick", "a b")) ==
          R"(hello: field "nick" is invalid: nick must not contain spaces or control characters)");

    CHECK(malformed_error(with(h, "links", -1)) ==
          R"(hello: field "links" must be an integer from 0 to 65535)");
    CHECK(parsed_as<hello>(h).links == 0);  // optional: older peers do not send it
    const std::string port = R"(hello: field "listen_port" must be an integer from 0 to 65535)";
    CHECK(malformed_error(with(h, "listen_port", 65536)) == port);
    CHECK(malformed_error(with(h, "listen_port", -1)) == port);
    CHECK(malformed_error(with(h, "listen_port", "7447")) == port);
    CHECK(malformed_error(with(h, "listen_port", nullptr)) == port);

    CHECK(malformed_error(with(h, "rooms", "lobby")) ==
          R"(hello: field "rooms" must be an array of strings)");
    CHECK(malformed_error(with(h, "rooms", strings(17))) ==
          R"(hello: field "rooms" has 17 entries; the limit is 16)");
    CHECK(malformed_error(with(h, "rooms", {"lobby", 3})) ==
          R"(hello: field "rooms[1]" must be a string)");
    CHECK(malformed_error(with(h, "rooms", {"lobby", ""})) ==
          R"(hello: field "rooms[1]" is invalid: room must be 1 to 64 bytes (got 0))");

    CHECK(malformed_error(with(h, "features", json::object())) ==
          R"(hello: field "features" must be an array of strings)");
    CHECK(malformed_error(with(h, "features", strings(33))) ==
          R"(hello: field "features" has 33 entries; the limit is 32)");
    CHECK(malformed_error(with(h, "features", {true})) ==
          R"(hello: field "features[0]" must be a string)");
}

TEST_CASE("peers is parsed as a list of addresses") {
    const auto p = parsed_as<peers>(peers_json());
    CHECK(p.list == std::vector<peer_address>{{alice, "127.0.0.1:7447"}, {bob, "[::1]:7448"}});
    CHECK(parsed_as<peers>(with(peers_json(), "peers", json::array())).list.empty());
}

TEST_CASE("peers with a missing or ill-typed field is malformed and names it") {
    CHECK(malformed_error(json{{"type", "peers"}}) == R"(peers: field "peers" is missing)");
    CHECK(malformed_error(with(peers_json(), "peers", json::object())) ==
          R"(peers: field "peers" must be an array)");

    const json entry = {{"peer_id", alice}, {"addr", "127.0.0.1:7447"}};
    CHECK(parsed_as<peers>(with(peers_json(), "peers", json(std::vector<json>(64, entry))))
              .list.size() == 64);
    CHECK(malformed_error(with(peers_json(), "peers", json(std::vector<json>(65, entry)))) ==
          R"(peers: field "peers" has 65 entries; the limit is 64)");

    CHECK(malformed_error(with(peers_json(), "peers", {entry, "127.0.0.1:1"})) ==
          R"(peers: field "peers[1]" must be an object)");
    CHECK(malformed_error(with(peers_json(), "peers", {entry, without(entry, "peer_id")})) ==
          R"(peers: field "peers[1].peer_id" is missing)");
    CHECK(malformed_error(with(peers_json(), "peers", {without(entry, "addr")})) ==
          R"(peers: field "peers[0].addr" is missing)");
    CHECK(malformed_error(with(peers_json(), "peers", {with(entry, "addr", 7447)})) ==
          R"(peers: field "peers[0].addr" must be a string)");
    CHECK(malformed_error(with(peers_json(), "peers", {with(entry, "peer_id", "x")})) ==
          R"(peers: field "peers[0].peer_id" is invalid: peer id must be 52 characters (got 1))");
    CHECK(malformed_error(with(peers_json(), "peers", {with(entry, "addr", "nowhere")})) ==
          R"(peers: field "peers[0].addr" is invalid: "nowhere" is not HOST:PORT )"
          R"((example: 127.0.0.1:7447))");
    CHECK(malformed_error(
              with(peers_json(), "peers", {with(entry, "addr", std::string(300, 'h') + ":1")})) ==
          R"(peers: field "peers[0].addr" is invalid: address is 302 bytes; the limit is 259 )"
          R"(bytes)");
    CHECK(malformed_error(with(peers_json(), "peers", {with(entry, "addr", "1.2.3.4:0")})) ==
          R"(peers: field "peers[0].addr" is invalid: port "0" in "1.2.3.4:0" is not a number )"
          R"(from 1 to 65535)");
}

TEST_CASE("chat is parsed with its envelope kept as received") {
    const auto c = parsed_as<chat>(chat_json());
    CHECK(c.env == envelope{"lobby", alice, "alice", 1, 1700000000000, "hi"});
    CHECK(c.raw == envelope_json());
}

TEST_CASE("chat carries an optional kind, plain text leaves it out of the envelope") {
    CHECK(parsed_as<chat>(chat_json()).env.kind.empty());
    CHECK(parsed_as<chat>(chat_with("kind", "action")).env.kind == "action");
    // A kind from a newer peer is accepted, to be shown as plain text.
    CHECK(parsed_as<chat>(chat_with("kind", "file_offer")).env.kind == "file_offer");
    CHECK_FALSE(envelope_to_json(envelope{"lobby", alice, "alice", 1, 1, "hi"}).contains("kind"));
    CHECK(envelope_to_json(envelope{"lobby", alice, "alice", 1, 1, "waves", "action"})["kind"] ==
          "action");
}

TEST_CASE("chat with a kind that is not a short lowercase token is malformed") {
    for (const json& bad : {json(""), json("Action"), json("a-b"), json(std::string(17, 'a')),
                            json(7)}) {
        CHECK_THAT(malformed_error(chat_with("kind", bad)),
                   Catch::Matchers::StartsWith("chat: field \"envelope.kind\" "));
    }
}

TEST_CASE("chat accepts seq and ts at their limits") {
    const auto c = parsed_as<chat>(chat_with("seq", two_to_53));
    CHECK(c.env.seq == two_to_53);
    CHECK(parsed_as<chat>(chat_with("ts", two_to_53)).env.ts == std::int64_t{1} << 53);
    CHECK(parsed_as<chat>(chat_with("ts", 0)).env.ts == 0);
}

TEST_CASE("chat with a missing envelope field is malformed and names it") {
    CHECK(malformed_error(json{{"type", "chat"}}) == R"(chat: field "envelope" is missing)");
    CHECK(malformed_error(with(chat_json(), "envelope", "hi")) ==
          R"(chat: field "envelope" must be an object)");
    for (const auto* field : {"room", "author", "nick", "seq", "ts", "body", "sig"}) {
        CHECK(malformed_error(chat_without(field)) ==
              "chat: field \"envelope." + std::string(field) + "\" is missing");
    }
}

TEST_CASE("chat with an ill-typed or invalid envelope field is malformed and names it") {
    const std::string seq = R"(chat: field "envelope.seq" must be a positive integer up to 2^53)";
    CHECK(malformed_error(chat_with("seq", 0)) == seq);
    CHECK(malformed_error(chat_with("seq", -5)) == seq);
    CHECK(malformed_error(chat_with("seq", 1.5)) == seq);
    CHECK(malformed_error(chat_with("seq", "1")) == seq);
    CHECK(malformed_error(chat_with("seq", two_to_53 + 1)) == seq);

    const std::string ts = R"(chat: field "envelope.ts" must be an integer from 0 to 2^53)";
    CHECK(malformed_error(chat_with("ts", -1)) == ts);
    CHECK(malformed_error(chat_with("ts", 1.7e12)) == ts);
    CHECK(malformed_error(chat_with("ts", two_to_53 + 1)) == ts);

    CHECK(malformed_error(chat_with("room", "a b")) ==
          R"(chat: field "envelope.room" is invalid: room must not contain spaces or control )"
          R"(characters)");
    CHECK(malformed_error(chat_with("author", 1)) ==
          R"(chat: field "envelope.author" must be a string)");
    CHECK(malformed_error(chat_with("author", std::string(52, 'A'))) ==
          R"(chat: field "envelope.author" is invalid: peer id must contain only the characters )"
          R"(a-z and 2-7)");
    CHECK(malformed_error(chat_with("nick", "")) ==
          R"(chat: field "envelope.nick" is invalid: nick must be 1 to 32 bytes (got 0))");
    CHECK(malformed_error(chat_with("body", std::string(20000, 'b'))) ==
          R"(chat: field "envelope.body" is invalid: message is 20000 bytes; the limit is 16384 )"
          R"(bytes)");
    CHECK(malformed_error(chat_with("body", "   ")) ==
          R"(chat: field "envelope.body" is invalid: message is only whitespace)");
    CHECK(malformed_error(chat_with("body", json::array())) ==
          R"(chat: field "envelope.body" must be a string)");
}

TEST_CASE("chat with a signature that is not 128 lowercase hex digits is malformed") {
    CHECK(malformed_error(chat_with("sig", 1)) == R"(chat: field "envelope.sig" must be a string)");
    CHECK(malformed_error(chat_with("sig", "")) ==
          R"(chat: field "envelope.sig" is invalid: signature must be 128 hex digits (got 0))");
    CHECK(malformed_error(chat_with("sig", some_sig + "0")) ==
          R"(chat: field "envelope.sig" is invalid: signature must be 128 hex digits (got 129))");
    // Upper case would be a second spelling of the same signature.
    CHECK(malformed_error(chat_with("sig", std::string(128, 'A'))) ==
          R"(chat: field "envelope.sig" is invalid: signature must contain only the )"
          R"(characters 0-9 and a-f)");
    // base64url of 64 bytes is 86 characters, and not what this version sends.
    CHECK(malformed_error(chat_with("sig", std::string(86, '_'))) ==
          R"(chat: field "envelope.sig" is invalid: signature must be 128 hex digits (got 86))");
    CHECK(malformed_error(chat_with("sig", std::string(127, '0') + "g")) ==
          R"(chat: field "envelope.sig" is invalid: signature must contain only the )"
          R"(characters 0-9 and a-f)");
}

TEST_CASE("a number too large for a double is malformed, not an exception") {
    for (const char* text :
         {R"({"type":"ping","nonce":1,"x":1e400})", R"({"type":"ping","nonce":1,"x":-1e400})"}) {
        INFO(text);
        const auto r = parse_message(text);
        CHECK(r.status == parse_status::malformed);
        CHECK_THAT(r.error, Catch::Matchers::StartsWith("frame is not valid JSON"));
    }
}

TEST_CASE("chat with a float anywhere in the envelope is malformed") {
    CHECK(malformed_error(chat_with("score", 0.5)) ==
          R"(chat: field "envelope.score" must not be a floating-point number)");
    CHECK(malformed_error(chat_with("extra", {{"list", {1, 2.0}}})) ==
          R"(chat: field "envelope.extra.list[1]" must not be a floating-point number)");
    // 1e3 is an integer in value but not in spelling, so canonical bytes would differ.
    CHECK(malformed_text_error(R"({"type":"chat","envelope":{"room":"lobby","author":")" + alice +
                               R"(","nick":"alice","seq":1,"ts":0,"body":"hi","sig":")" + some_sig +
                               R"(","n":1e3}})") ==
          R"(chat: field "envelope.n" must not be a floating-point number)");
}

TEST_CASE("chat with an integer beyond 2^53 anywhere in the envelope is malformed") {
    CHECK(malformed_error(chat_with("big", two_to_53 + 1)) ==
          R"(chat: field "envelope.big" is an integer beyond 2^53)");
    CHECK(malformed_error(chat_with("small", -static_cast<std::int64_t>(two_to_53) - 1)) ==
          R"(chat: field "envelope.small" is an integer beyond -2^53)");
    CHECK(parsed_as<chat>(chat_with("edge", -static_cast<std::int64_t>(two_to_53))).raw["edge"] ==
          -static_cast<std::int64_t>(two_to_53));
}

TEST_CASE("ping and pong carry an optional unsigned nonce") {
    CHECK(parsed_as<ping>(json{{"type", "ping"}, {"nonce", 42}}).nonce == 42);
    CHECK(parsed_as<ping>(json{{"type", "ping"}}).nonce == 0);
    const auto max = std::numeric_limits<std::uint64_t>::max();
    CHECK(parsed_as<pong>(json{{"type", "pong"}, {"nonce", max}}).nonce == max);
    CHECK(parsed_as<pong>(json{{"type", "pong"}}).nonce == 0);
}

TEST_CASE("ping and pong with an ill-typed nonce are malformed") {
    for (const json& nonce : {json(-1), json(1.5), json("1"), json(nullptr)}) {
        CHECK(malformed_error(json{{"type", "ping"}, {"nonce", nonce}}) ==
              R"(ping: field "nonce" must be an unsigned integer)");
        CHECK(malformed_error(json{{"type", "pong"}, {"nonce", nonce}}) ==
              R"(pong: field "nonce" must be an unsigned integer)");
    }
}

TEST_CASE("bye carries an optional reason") {
    CHECK(parsed_as<bye>(json{{"type", "bye"}, {"reason", "shutdown"}}).reason == "shutdown");
    CHECK(parsed_as<bye>(json{{"type", "bye"}}).reason.empty());
    CHECK(malformed_error(json{{"type", "bye"}, {"reason", 1}}) ==
          R"(bye: field "reason" must be a string)");
}

TEST_CASE("error requires a message string") {
    CHECK(parsed_as<error>(json{{"type", "error"}, {"message", "no"}}).message == "no");
    CHECK(malformed_error(json{{"type", "error"}}) == R"(error: field "message" is missing)");
    CHECK(malformed_error(json{{"type", "error"}, {"message", {"no"}}}) ==
          R"(error: field "message" must be a string)");
}

TEST_CASE("nick requires a valid nick") {
    CHECK(parsed_as<nick>(json{{"type", "nick"}, {"nick", "bob"}}).nick == "bob");
    CHECK(malformed_error(json{{"type", "nick"}}) == R"(nick: field "nick" is missing)");
    CHECK(malformed_error(json{{"type", "nick"}, {"nick", 3}}) ==
          R"(nick: field "nick" must be a string)");
    CHECK(malformed_error(json{{"type", "nick"}, {"nick", "b\x1b"}}) ==
          R"(nick: field "nick" is invalid: nick must not contain spaces or control characters)");
}

TEST_CASE("unknown extra fields are ignored in every message type") {
    const json extra = {{"from_the_future", {1, "two", {{"three", true}}}}};
    const auto add_extra = [&](json j) {
        j.update(extra);
        return j;
    };
    CHECK(parsed_as<hello>(add_extra(hello_json())) == parsed_as<hello>(hello_json()));
    CHECK(parsed_as<peers>(add_extra(peers_json())) == parsed_as<peers>(peers_json()));
    CHECK(parsed_as<ping>(add_extra({{"type", "ping"}, {"nonce", 1}})).nonce == 1);
    CHECK(parsed_as<pong>(add_extra({{"type", "pong"}, {"nonce", 1}})).nonce == 1);
    CHECK(parsed_as<bye>(add_extra({{"type", "bye"}, {"reason", "r"}})).reason == "r");
    CHECK(parsed_as<error>(add_extra({{"type", "error"}, {"message", "m"}})).message == "m");
    CHECK(parsed_as<nick>(add_extra({{"type", "nick"}, {"nick", "n"}})).nick == "n");
    CHECK(parsed_as<chat>(add_extra(chat_json())).env == parsed_as<chat>(chat_json()).env);

    const json entry = add_extra({{"peer_id", alice}, {"addr", "127.0.0.1:7447"}});
    CHECK(parsed_as<peers>(with(peers_json(), "peers", {entry})).list ==
          std::vector<peer_address>{{alice, "127.0.0.1:7447"}});
}

TEST_CASE("unknown envelope fields are ignored but kept in raw and written back") {
    const auto c = parsed_as<chat>(chat_with("lamport", {{"v", 3}}));
    CHECK(c.env == parsed_as<chat>(chat_json()).env);
    CHECK(c.raw["lamport"] == json{{"v", 3}});
    CHECK(json::parse(serialize(c))["envelope"] == c.raw);
}

TEST_CASE("every message type survives serialize then parse") {
    chat c;
    c.env = {"lobby", alice, "al", 7, 1700000000123, "h\xc3\xa9llo \"world\"\nline 2"};
    c.raw = envelope_to_json(c.env);
    c.raw["sig"] = some_sig;
    const std::vector<message> messages = {
        hello{1, alice, "alice", 7447, 3, {"lobby", "dev"}, {"tls", "files"}, some_room_id,
              some_proof},
        hello{1, bob, "bob", 0, 0, {}, {}, some_room_id, ""},
        peers{{{alice, "127.0.0.1:7447"}, {bob, "[::1]:7448"}}},
        peers{},
        c,
        ping{std::numeric_limits<std::uint64_t>::max()},
        pong{0},
        bye{"shutdown"},
        bye{},
        error{"unsupported protocol version 2"},
        nick{"J\xc3\xbcrgen"},
    };
    for (const auto& m : messages) {
        const auto text = serialize(m);
        INFO(text);
        const auto r = parse_message(text);
        REQUIRE(r.status == parse_status::ok);
        CHECK(r.msg == m);
    }
}

TEST_CASE("serialize writes the type and every field") {
    CHECK(serialize(ping{5}) == R"({"nonce":5,"type":"ping"})");
    CHECK(serialize(bye{}) == R"({"reason":"","type":"bye"})");
    CHECK(
        json::parse(serialize(
            hello{1, alice, "alice", 7447, 2, {"lobby"}, {}, some_room_id, some_proof})) ==
        with(with(with(hello_json(), "rooms", {"lobby"}), "features", json::array()), "links", 2));
    CHECK(json::parse(serialize(parsed_as<peers>(peers_json()))) == peers_json());
}

TEST_CASE("serialize builds the envelope from env when raw is not an object") {
    const envelope e{"lobby", alice, "alice", 1, 1700000000000, "hi"};
    CHECK(json::parse(serialize(chat{e, nullptr})) == chat_without("sig"));
    // Such an envelope is unsigned: no peer takes it.
    CHECK(malformed_text_error(serialize(chat{e, nullptr})) ==
          R"(chat: field "envelope.sig" is missing)");
}

TEST_CASE("serialize writes raw as is when it is an object") {
    const envelope stale{"other", bob, "bob", 9, 9, "stale"};
    CHECK(json::parse(serialize(chat{stale, envelope_json()})) == chat_json());
}

TEST_CASE("canonical_bytes sorts keys, has no whitespace and keeps UTF-8 unescaped") {
    const envelope e{"lobby", alice, "al", 2, 5, "caf\xc3\xa9 \"q\"\ttab"};
    CHECK(canonical_bytes(envelope_to_json(e)) ==
          R"({"author":")" + alice +
              "\",\"body\":\"caf\xc3\xa9 \\\"q\\\"\\ttab\",\"nick\":\"al\",\"room\":\"lobby\","
              "\"seq\":2,\"ts\":5}");
    // Key order and spacing of the input do not matter.
    CHECK(canonical_bytes(json::parse(R"({ "b" : 1, "a" : { "d" : [1, 2], "c" : "x" } })")) ==
          R"({"a":{"c":"x","d":[1,2]},"b":1})");
}

TEST_CASE("a chat envelope over 64 KiB is malformed, whatever field makes it so") {
    auto env = envelope_json();
    env["padding"] = std::string(max_envelope_bytes, 'x');  // an unknown field, kept and forwarded
    const json msg = {{"type", "chat"}, {"envelope", env}};
    const auto r = parse_message(msg.dump());
    REQUIRE(r.status == parse_status::malformed);
    CHECK_THAT(r.error, Catch::Matchers::StartsWith("chat: field \"envelope\" is ") &&
                            Catch::Matchers::EndsWith(" bytes without sig; the limit is 65536"));
    env["padding"] = std::string(1000, 'x');
    CHECK(parse_message(json{{"type", "chat"}, {"envelope", env}}.dump()).status ==
          parse_status::ok);
}

TEST_CASE("the 64 KiB envelope limit counts the canonical bytes without sig, as id and signature do") {
    auto env = envelope_json();
    env["padding"] = "";
    const auto unsigned_size = [&] { return canonical_bytes_unsigned(env).size(); };
    const auto status = [&] {
        return parse_message(json{{"type", "chat"}, {"envelope", env}}.dump()).status;
    };
    env["padding"] = std::string(max_envelope_bytes - unsigned_size(), 'x');
    REQUIRE(unsigned_size() == max_envelope_bytes);
    // With sig (137 more bytes: ,"sig":"<128 hex>") it is over the limit, and still accepted.
    REQUIRE(canonical_bytes(env).size() == max_envelope_bytes + 137);
    CHECK(status() == parse_status::ok);
    env["padding"] = env["padding"].get<std::string>() + "x";
    REQUIRE(unsigned_size() == max_envelope_bytes + 1);
    const auto r = parse_message(json{{"type", "chat"}, {"envelope", env}}.dump());
    REQUIRE(r.status == parse_status::malformed);
    CHECK(r.error == "chat: field \"envelope\" is 65537 bytes without sig; the limit is 65536");
}

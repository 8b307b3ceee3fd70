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

const std::string other_room_id = "fedcba9876543210fedcba9876543210";
// A message id: the hex of a SHA-256.
const std::string some_id = std::string(63, 'e') + "0";

json claim_json(const std::string& name, const std::string& id, const std::string& proof) {
    return {{"name", name}, {"id", id}, {"proof", proof}};
}

json hello_json() {
    return {{"type", "hello"},
            {"version", 2},
            {"peer_id", alice},
            {"nick", "alice"},
            {"listen_port", 7447},
            {"rooms",
             {claim_json("lobby", some_room_id, some_proof), claim_json("dev", other_room_id, "")}},
            {"features", {"tls"}}};
}

// n claims with distinct names and ids.
json claims(std::size_t n) {
    json list = json::array();
    for (std::size_t i = 0; i < n; ++i) {
        auto id = std::to_string(i);
        id = std::string(32 - id.size(), '0') + id;
        list.push_back(claim_json("room" + std::to_string(i), id, ""));
    }
    return list;
}

json address_json(const std::string& peer_id, const std::string& addr) {
    return {{"peer_id", peer_id}, {"addr", addr}};
}

json addresses(std::size_t n) {
    return json(std::vector<json>(n, address_json(alice, "127.0.0.1:7447")));
}

json shuffle_json() {
    return {{"type", "shuffle"},
            {"room", some_room_id},
            {"id", 77},
            {"ttl", 3},
            {"peers",
             {address_json(alice, "127.0.0.1:7447"), address_json(bob, "[::1]:7448")}}};
}

json ids(std::size_t n) {
    return json(std::vector<std::string>(n, some_id));
}

json envelope_json() {
    return {{"room", "lobby"},     {"author", alice}, {"nick", "alice"}, {"seq", 1},
            {"ts", 1700000000000}, {"body", "hi"},    {"sig", some_sig}};
}

json chat_json() {
    return {{"type", "chat"}, {"envelope", envelope_json()}};
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

TEST_CASE("a lone surrogate escape is malformed, and a surrogate pair is one character") {
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
    CHECK(parsed_as<shuffle>(shuffle_json()).peers.size() == 2);
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
    CHECK(h.version == 2);
    CHECK(h.peer_id == alice);
    CHECK(h.nick == "alice");
    CHECK(h.listen_port == 7447);
    CHECK(h.rooms == std::vector<room_claim>{{"lobby", some_room_id, some_proof},
                                             {"dev", other_room_id, ""}});
    CHECK(h.features == std::vector<std::string>{"tls"});
}

TEST_CASE("hello accepts any version from 1, no rooms, port 0 and absent features") {
    CHECK(parsed_as<hello>(with(hello_json(), "version", 3)).version == 3);
    CHECK(parsed_as<hello>(with(hello_json(), "rooms", json::array())).rooms.empty());
    CHECK(parsed_as<hello>(with(hello_json(), "listen_port", 0)).listen_port == 0);
    CHECK(parsed_as<hello>(with(hello_json(), "listen_port", 65535)).listen_port == 65535);
    CHECK(parsed_as<hello>(without(hello_json(), "features")).features.empty());
}

TEST_CASE("hello carries at most 16 room claims") {
    CHECK(parsed_as<hello>(with(hello_json(), "rooms", claims(max_hello_rooms))).rooms.size() ==
          max_hello_rooms);
    CHECK(malformed_error(with(hello_json(), "rooms", claims(max_hello_rooms + 1))) ==
          R"(hello: field "rooms" has 17 entries; the limit is 16)");
}

TEST_CASE("a version 1 hello, with room names and one room_id and proof, is malformed") {
    const json v1 = {{"type", "hello"},       {"version", 1},
                     {"peer_id", alice},      {"nick", "alice"},
                     {"listen_port", 7447},   {"links", 2},
                     {"rooms", {"lobby"}},    {"features", json::array()},
                     {"room_id", some_room_id}, {"proof", some_proof}};
    CHECK(malformed_error(v1) ==
          R"(hello: field "rooms[0]" must be an object {name, id, proof}, not a room name )"
          R"((a version 1 hello?))");
    // The version 1 fields are unknown fields now, ignored like any other.
    CHECK(parsed_as<hello>(with(v1, "rooms", json::array())).rooms.empty());
}

TEST_CASE("hello with a missing field is malformed and names it") {
    for (const auto* field : {"version", "peer_id", "nick", "listen_port", "rooms"}) {
        CHECK(malformed_error(without(hello_json(), field)) ==
              "hello: field \"" + std::string(field) + "\" is missing");
    }
    for (const auto* field : {"name", "id", "proof"}) {
        CHECK(malformed_error(with(hello_json(), "rooms",
                                   {without(claim_json("lobby", some_room_id, ""), field)})) ==
              "hello: field \"rooms[0]." + std::string(field) + "\" is missing");
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
    CHECK(malformed_error(with(h, "peer_id", "abc")) ==
          R"(hello: field "peer_id" is invalid: peer id must be 52 characters (got 3))");
    CHECK(malformed_error(with(h, "nick", std::string(40, 'n'))) ==
          R"(hello: field "nick" is invalid: nick must be 1 to 32 bytes (got 40))");
    CHECK(malformed_error(with(h, "nick", "a b")) ==
          R"(hello: field "nick" is invalid: nick must not contain spaces or control characters)");

    const std::string port = R"(hello: field "listen_port" must be an integer from 0 to 65535)";
    CHECK(malformed_error(with(h, "listen_port", 65536)) == port);
    CHECK(malformed_error(with(h, "listen_port", -1)) == port);
    CHECK(malformed_error(with(h, "listen_port", "7447")) == port);
    CHECK(malformed_error(with(h, "listen_port", nullptr)) == port);

    CHECK(malformed_error(with(h, "features", json::object())) ==
          R"(hello: field "features" must be an array of strings)");
    CHECK(malformed_error(with(h, "features", json(std::vector<std::string>(33, "x")))) ==
          R"(hello: field "features" has 33 entries; the limit is 32)");
    CHECK(malformed_error(with(h, "features", {true})) ==
          R"(hello: field "features[0]" must be a string)");
}

TEST_CASE("a room claim with an ill-typed, invalid or repeated field is malformed") {
    const auto claim = claim_json("lobby", some_room_id, some_proof);
    const auto error_for = [](json rooms) {
        return malformed_error(with(hello_json(), "rooms", std::move(rooms)));
    };
    CHECK(error_for("lobby") == R"(hello: field "rooms" must be an array)");
    CHECK(error_for({claim, 3}) == R"(hello: field "rooms[1]" must be an object {name, id, proof})");
    CHECK(error_for({with(claim, "name", "")}) ==
          R"(hello: field "rooms[0].name" is invalid: room must be 1 to 64 bytes (got 0))");
    CHECK(error_for({with(claim, "name", 1)}) == R"(hello: field "rooms[0].name" must be a string)");
    CHECK(error_for({with(claim, "id", "ABCDEF0123456789abcdef0123456789")}) ==
          R"(hello: field "rooms[0].id" is invalid: must be 32 lowercase hex digits)");
    CHECK(error_for({with(claim, "id", some_room_id + "0")}) ==
          R"(hello: field "rooms[0].id" is invalid: must be 32 lowercase hex digits)");
    CHECK(error_for({with(claim, "proof", "00")}) ==
          R"(hello: field "rooms[0].proof" is invalid: must be empty or 64 lowercase hex digits)");
    CHECK(error_for({with(claim, "proof", std::string(64, 'F'))}) ==
          R"(hello: field "rooms[0].proof" is invalid: must be empty or 64 lowercase hex digits)");
    CHECK(error_for({with(claim, "proof", nullptr)}) ==
          R"(hello: field "rooms[0].proof" must be a string)");
    // Names and ids each name one room: a second claim for either is ambiguous.
    CHECK(error_for({claim, with(claim, "id", other_room_id)}) ==
          R"(hello: field "rooms[1].name" repeats the name of rooms[0])");
    CHECK(error_for({claim, with(claim, "name", "dev")}) ==
          R"(hello: field "rooms[1].id" repeats the id of rooms[0])");
}

TEST_CASE("rooms carries 1 to 16 claims, read as in hello") {
    const json r = {{"type", "rooms"}, {"rooms", {claim_json("dev", other_room_id, some_proof)}}};
    CHECK(parsed_as<rooms>(r).rooms == std::vector<room_claim>{{"dev", other_room_id, some_proof}});
    CHECK(parsed_as<rooms>(with(r, "rooms", claims(16))).rooms.size() == 16);
    CHECK(malformed_error(with(r, "rooms", claims(17))) ==
          R"(rooms: field "rooms" has 17 entries; the limit is 16)");
    CHECK(malformed_error(with(r, "rooms", json::array())) ==
          R"(rooms: field "rooms" must not be empty)");
    CHECK(malformed_error(json{{"type", "rooms"}}) == R"(rooms: field "rooms" is missing)");
    CHECK(malformed_error(with(r, "rooms", {"dev"})) ==
          R"(rooms: field "rooms[0]" must be an object {name, id, proof}, not a room name )"
          R"((a version 1 hello?))");
    CHECK(malformed_error(with(r, "rooms", {claim_json("dev", "x", "")})) ==
          R"(rooms: field "rooms[0].id" is invalid: must be 32 lowercase hex digits)");
}

TEST_CASE("chat carries an optional hops count outside the envelope") {
    CHECK(parsed_as<chat>(chat_json()).hops == 0);
    CHECK(parsed_as<chat>(with(chat_json(), "hops", 0)).hops == 0);
    CHECK(parsed_as<chat>(with(chat_json(), "hops", 65535)).hops == 65535);
    const std::string rule = R"(chat: field "hops" must be an integer from 0 to 65535)";
    for (const json& bad : {json(65536), json(-1), json(1.0), json("1"), json(nullptr)}) {
        CHECK(malformed_error(with(chat_json(), "hops", bad)) == rule);
    }
    // Not signed: the envelope, and so the message id, is the same at every hop.
    CHECK(parsed_as<chat>(with(chat_json(), "hops", 9)).raw == envelope_json());
}

namespace {

// One valid frame of each overlay type.
std::vector<std::pair<std::string, json>> overlay_frames() {
    return {
        {"join", {{"type", "join"}, {"room", some_room_id}}},
        {"forward_join",
         {{"type", "forward_join"},
          {"room", some_room_id},
          {"peer", address_json(bob, "192.0.2.7:7447")},
          {"ttl", 6}}},
        {"neighbor", {{"type", "neighbor"}, {"room", some_room_id}, {"high", true}}},
        {"disconnect", {{"type", "disconnect"}, {"room", some_room_id}, {"alive", false}}},
        {"shuffle", shuffle_json()},
        {"shuffle_reply",
         {{"type", "shuffle_reply"},
          {"room", some_room_id},
          {"id", 77},
          {"peers", {address_json(bob, "[::1]:7448")}}}},
        {"ihave", {{"type", "ihave"}, {"room", some_room_id}, {"ids", ids(2)}, {"hops", {1, 4}}}},
        {"graft", {{"type", "graft"}, {"room", some_room_id}, {"ids", ids(1)}, {"author", bob}}},
        {"prune", {{"type", "prune"}, {"room", some_room_id}, {"author", alice}}},
    };
}

}  // namespace

TEST_CASE("every overlay frame names its room by a valid room id") {
    for (const auto& [type, frame] : overlay_frames()) {
        INFO(type);
        CHECK(parse_message(frame.dump()).status == parse_status::ok);
        CHECK(malformed_error(without(frame, "room")) == type + R"(: field "room" is missing)");
        CHECK(malformed_error(with(frame, "room", 7)) == type + R"(: field "room" must be a string)");
        // A room name is not a room id.
        CHECK(malformed_error(with(frame, "room", "lobby")) ==
              type + R"(: field "room" is invalid: must be 32 lowercase hex digits)");
        CHECK(malformed_error(with(frame, "room", "0123456789ABCDEF0123456789abcdef")) ==
              type + R"(: field "room" is invalid: must be 32 lowercase hex digits)");
        CHECK(malformed_error(with(frame, "room", some_room_id.substr(1))) ==
              type + R"(: field "room" is invalid: must be 32 lowercase hex digits)");
    }
}

TEST_CASE("join is parsed") {
    CHECK(parsed_as<join>(overlay_frames()[0].second) == join{some_room_id});
}

TEST_CASE("forward_join carries the newcomer's address and a walk of at most 8 hops") {
    const auto f = overlay_frames()[1].second;
    CHECK(parsed_as<forward_join>(f) ==
          forward_join{some_room_id, {bob, "192.0.2.7:7447"}, 6});
    CHECK(parsed_as<forward_join>(with(f, "ttl", 0)).ttl == 0);
    CHECK(parsed_as<forward_join>(with(f, "ttl", max_walk_length)).ttl == 8);
    const std::string ttl = R"(forward_join: field "ttl" must be an integer from 0 to 8)";
    for (const json& bad : {json(9), json(256), json(-1), json(1.0), json("3")}) {
        CHECK(malformed_error(with(f, "ttl", bad)) == ttl);
    }
    CHECK(malformed_error(without(f, "ttl")) == R"(forward_join: field "ttl" is missing)");
    CHECK(malformed_error(without(f, "peer")) == R"(forward_join: field "peer" is missing)");
    CHECK(malformed_error(with(f, "peer", "192.0.2.7:7447")) ==
          R"(forward_join: field "peer" must be an object)");
    CHECK(malformed_error(with(f, "peer", without(address_json(bob, "1.2.3.4:5"), "addr"))) ==
          R"(forward_join: field "peer.addr" is missing)");
    CHECK(malformed_error(with(f, "peer", address_json("b", "1.2.3.4:5"))) ==
          R"(forward_join: field "peer.peer_id" is invalid: peer id must be 52 characters (got 1))");
    CHECK(malformed_error(with(f, "peer", address_json(bob, "1.2.3.4:0"))) ==
          R"(forward_join: field "peer.addr" is invalid: port "0" in "1.2.3.4:0" is not a number )"
          R"(from 1 to 65535)");
}

TEST_CASE("neighbor and disconnect carry a JSON boolean") {
    const auto n = overlay_frames()[2].second;
    const auto d = overlay_frames()[3].second;
    CHECK(parsed_as<neighbor>(n) == neighbor{some_room_id, true});
    CHECK(parsed_as<neighbor>(with(n, "high", false)) == neighbor{some_room_id, false});
    CHECK(parsed_as<disconnect>(d) == disconnect{some_room_id, false});
    CHECK(parsed_as<disconnect>(with(d, "alive", true)) == disconnect{some_room_id, true});
    for (const json& bad : {json(1), json(0), json("true"), json(nullptr)}) {
        CHECK(malformed_error(with(n, "high", bad)) ==
              R"(neighbor: field "high" must be true or false)");
        CHECK(malformed_error(with(d, "alive", bad)) ==
              R"(disconnect: field "alive" must be true or false)");
    }
    CHECK(malformed_error(without(n, "high")) == R"(neighbor: field "high" is missing)");
    CHECK(malformed_error(without(d, "alive")) == R"(disconnect: field "alive" is missing)");
}

TEST_CASE("shuffle carries an id from 1 to 2^53, a ttl up to 8 and up to 16 addresses") {
    const auto s = shuffle_json();
    CHECK(parsed_as<shuffle>(s) ==
          shuffle{some_room_id, 77, 3, {{alice, "127.0.0.1:7447"}, {bob, "[::1]:7448"}}});
    CHECK(parsed_as<shuffle>(with(s, "id", 1)).id == 1);
    CHECK(parsed_as<shuffle>(with(s, "id", two_to_53)).id == two_to_53);
    const std::string id = R"(shuffle: field "id" must be an integer from 1 to 2^53)";
    for (const json& bad : {json(0), json(two_to_53 + 1), json(-1), json(2.0), json("7")}) {
        CHECK(malformed_error(with(s, "id", bad)) == id);
    }
    CHECK(parsed_as<shuffle>(with(s, "ttl", 8)).ttl == 8);
    CHECK(malformed_error(with(s, "ttl", 9)) ==
          R"(shuffle: field "ttl" must be an integer from 0 to 8)");
    CHECK(parsed_as<shuffle>(with(s, "peers", json::array())).peers.empty());
    CHECK(parsed_as<shuffle>(with(s, "peers", addresses(max_shuffle_peers))).peers.size() == 16);
    CHECK(malformed_error(with(s, "peers", addresses(max_shuffle_peers + 1))) ==
          R"(shuffle: field "peers" has 17 entries; the limit is 16)");
    for (const auto* field : {"id", "ttl", "peers"}) {
        CHECK(malformed_error(without(s, field)) ==
              "shuffle: field \"" + std::string(field) + "\" is missing");
    }
}

TEST_CASE("shuffle_reply carries an id from 0 to 2^53 and up to 16 addresses") {
    const auto s = overlay_frames()[5].second;
    CHECK(parsed_as<shuffle_reply>(s) == shuffle_reply{some_room_id, 77, {{bob, "[::1]:7448"}}});
    CHECK(parsed_as<shuffle_reply>(with(s, "id", 0)).id == 0);
    CHECK(parsed_as<shuffle_reply>(with(s, "id", two_to_53)).id == two_to_53);
    CHECK(malformed_error(with(s, "id", two_to_53 + 1)) ==
          R"(shuffle_reply: field "id" must be an integer from 0 to 2^53)");
    CHECK(parsed_as<shuffle_reply>(with(s, "peers", addresses(16))).peers.size() == 16);
    CHECK(malformed_error(with(s, "peers", addresses(17))) ==
          R"(shuffle_reply: field "peers" has 17 entries; the limit is 16)");
    CHECK(malformed_error(without(s, "peers")) == R"(shuffle_reply: field "peers" is missing)");
}

TEST_CASE("a list of addresses with a missing, ill-typed or invalid entry is malformed") {
    const auto error_for = [](json peers) {
        return malformed_error(with(shuffle_json(), "peers", std::move(peers)));
    };
    const json entry = address_json(alice, "127.0.0.1:7447");
    CHECK(error_for(json::object()) == R"(shuffle: field "peers" must be an array)");
    CHECK(error_for({entry, "127.0.0.1:1"}) == R"(shuffle: field "peers[1]" must be an object)");
    CHECK(error_for({entry, without(entry, "peer_id")}) ==
          R"(shuffle: field "peers[1].peer_id" is missing)");
    CHECK(error_for({without(entry, "addr")}) == R"(shuffle: field "peers[0].addr" is missing)");
    CHECK(error_for({with(entry, "addr", 7447)}) ==
          R"(shuffle: field "peers[0].addr" must be a string)");
    CHECK(error_for({with(entry, "peer_id", "x")}) ==
          R"(shuffle: field "peers[0].peer_id" is invalid: peer id must be 52 characters (got 1))");
    CHECK(error_for({with(entry, "addr", "nowhere")}) ==
          R"(shuffle: field "peers[0].addr" is invalid: "nowhere" is not HOST:PORT )"
          R"((example: 127.0.0.1:7447))");
    CHECK(error_for({with(entry, "addr", std::string(300, 'h') + ":1")}) ==
          R"(shuffle: field "peers[0].addr" is invalid: address is 302 bytes; the limit is 259 )"
          R"(bytes)");
    CHECK(error_for({with(entry, "addr", "1.2.3.4:0")}) ==
          R"(shuffle: field "peers[0].addr" is invalid: port "0" in "1.2.3.4:0" is not a number )"
          R"(from 1 to 65535)");
    CHECK(parsed_as<shuffle>(with(shuffle_json(), "peers", {with(entry, "addr", "1.2.3.4:65535")}))
              .peers[0]
              .addr == "1.2.3.4:65535");
}

TEST_CASE("ihave carries up to 256 message ids, each with its hop count") {
    const auto i = overlay_frames()[6].second;
    CHECK(parsed_as<ihave>(i) == ihave{some_room_id, {some_id, some_id}, {1, 4}});
    CHECK(parsed_as<ihave>(with(with(i, "ids", json::array()), "hops", json::array())).ids.empty());
    const auto n = [&](std::size_t count) {
        return with(with(i, "ids", ids(count)), "hops", json(std::vector<int>(count, 65535)));
    };
    CHECK(parsed_as<ihave>(n(max_ids_per_frame)).ids.size() == 256);
    CHECK(malformed_error(n(max_ids_per_frame + 1)) ==
          R"(ihave: field "ids" has 257 entries; the limit is 256)");
    CHECK(malformed_error(with(n(256), "hops", json(std::vector<int>(257, 0)))) ==
          R"(ihave: field "hops" has 257 entries; the limit is 256)");
    // Each id needs its hop count.
    CHECK(malformed_error(with(i, "hops", {1})) == R"(ihave: field "hops" has 1 entries; "ids" has 2)");
    CHECK(malformed_error(with(i, "hops", {1, 2, 3})) ==
          R"(ihave: field "hops" has 3 entries; "ids" has 2)");
    const std::string hops = R"(ihave: field "hops[1]" must be an integer from 0 to 65535)";
    for (const json& bad : {json(65536), json(-1), json(1.5), json("2")}) {
        CHECK(malformed_error(with(i, "hops", {0, bad})) == hops);
    }
    CHECK(malformed_error(with(i, "hops", 2)) == R"(ihave: field "hops" must be an array)");
    CHECK(malformed_error(without(i, "hops")) == R"(ihave: field "hops" is missing)");
    CHECK(malformed_error(without(i, "ids")) == R"(ihave: field "ids" is missing)");
}

TEST_CASE("message ids in ihave and graft are 64 lowercase hex digits") {
    const auto ihave_frame = overlay_frames()[6].second;
    const auto graft_frame = overlay_frames()[7].second;
    for (const auto& bad : {std::string(64, 'E'), std::string(63, 'e'), std::string(65, 'e'),
                            std::string(63, 'e') + "g", std::string()}) {
        INFO(bad);
        CHECK(malformed_error(with(ihave_frame, "ids", {some_id, bad})) ==
              R"(ihave: field "ids[1]" is invalid: must be 64 lowercase hex digits)");
        CHECK(malformed_error(with(graft_frame, "ids", {bad})) ==
              R"(graft: field "ids[0]" is invalid: must be 64 lowercase hex digits)");
    }
    CHECK(malformed_error(with(graft_frame, "ids", {7})) == R"(graft: field "ids[0]" must be a string)");
    CHECK(malformed_error(with(graft_frame, "ids", some_id)) ==
          R"(graft: field "ids" must be an array of strings)");
}

TEST_CASE("graft carries up to 256 ids and an optional author") {
    const auto g = overlay_frames()[7].second;
    CHECK(parsed_as<graft>(g) == graft{some_room_id, {some_id}, bob});
    CHECK(parsed_as<graft>(without(g, "author")).author.empty());
    CHECK(parsed_as<graft>(with(g, "ids", json::array())).ids.empty());
    CHECK(parsed_as<graft>(with(g, "ids", ids(max_ids_per_frame))).ids.size() == 256);
    CHECK(malformed_error(with(g, "ids", ids(max_ids_per_frame + 1))) ==
          R"(graft: field "ids" has 257 entries; the limit is 256)");
    CHECK(malformed_error(without(g, "ids")) == R"(graft: field "ids" is missing)");
    // Every author is said by leaving it out; "" is not a peer id.
    CHECK(malformed_error(with(g, "author", "")) ==
          R"(graft: field "author" is invalid: peer id must be 52 characters (got 0))");
    CHECK(malformed_error(with(g, "author", nullptr)) == R"(graft: field "author" must be a string)");
}

TEST_CASE("prune carries an optional author") {
    const auto p = overlay_frames()[8].second;
    CHECK(parsed_as<prune>(p) == prune{some_room_id, alice});
    CHECK(parsed_as<prune>(without(p, "author")) == prune{some_room_id, ""});
    CHECK(malformed_error(with(p, "author", std::string(52, 'A'))) ==
          R"(prune: field "author" is invalid: peer id must contain only the characters a-z )"
          R"(and 2-7)");
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
    CHECK(parsed_as<rooms>(add_extra({{"type", "rooms"}, {"rooms", claims(1)}})).rooms.size() == 1);
    CHECK(parsed_as<ping>(add_extra({{"type", "ping"}, {"nonce", 1}})).nonce == 1);
    CHECK(parsed_as<pong>(add_extra({{"type", "pong"}, {"nonce", 1}})).nonce == 1);
    CHECK(parsed_as<bye>(add_extra({{"type", "bye"}, {"reason", "r"}})).reason == "r");
    CHECK(parsed_as<error>(add_extra({{"type", "error"}, {"message", "m"}})).message == "m");
    CHECK(parsed_as<nick>(add_extra({{"type", "nick"}, {"nick", "n"}})).nick == "n");
    CHECK(parsed_as<chat>(add_extra(chat_json())).env == parsed_as<chat>(chat_json()).env);

    const json entry = add_extra(address_json(alice, "127.0.0.1:7447"));
    CHECK(parsed_as<shuffle>(with(shuffle_json(), "peers", {entry})).peers ==
          std::vector<peer_address>{{alice, "127.0.0.1:7447"}});
    const json claim = add_extra(claim_json("lobby", some_room_id, ""));
    CHECK(parsed_as<hello>(with(hello_json(), "rooms", {claim})).rooms ==
          std::vector<room_claim>{{"lobby", some_room_id, ""}});
    for (const auto& [type, frame] : overlay_frames()) {
        INFO(type);
        const auto plain = parse_message(frame.dump());
        REQUIRE(plain.msg);
        CHECK(parse_message(add_extra(frame).dump()).msg == plain.msg);
    }
}

TEST_CASE("unknown envelope fields are ignored but kept in raw and written back") {
    const auto c = parsed_as<chat>(chat_with("lamport", {{"v", 3}}));
    CHECK(c.env == parsed_as<chat>(chat_json()).env);
    CHECK(c.raw["lamport"] == json{{"v", 3}});
    CHECK(json::parse(serialize(c))["envelope"] == c.raw);
}

TEST_CASE("a parsed chat carries its envelope's canonical bytes without sig") {
    const auto c = parsed_as<chat>(chat_with("lamport", {{"v", 3}}));
    CHECK(c.canonical_unsigned == canonical_bytes_unsigned(c.raw));
    CHECK(c.canonical_unsigned.find("\"sig\"") == std::string::npos);
}

TEST_CASE("chat_with_hops rewrites only the hops of a chat laid out as serialize writes it") {
    // Braces, brackets, quotes and backslashes inside strings must not end the envelope.
    auto c = parsed_as<chat>(
        with(chat_with("extra", {{"list", {1, "}]\"{"}}, {"k\\\"}", "\\"}}), "hops", 3));
    const auto received = serialize(c);
    c.hops = 4;
    CHECK(chat_with_hops(received, 4) == serialize(c));
    c.hops = 65535;
    CHECK(chat_with_hops(received, 65535) == serialize(c));
}

TEST_CASE("chat_with_hops passes the envelope on byte for byte") {
    // Not canonical (an escape the canonical form writes raw): relayed as it came.
    std::string envelope = envelope_json().dump();
    const std::string body = R"("body":"hi")";
    envelope.replace(envelope.find(body), body.size(), R"("body":"h\u00e9")");
    const auto escaped = R"({"envelope":)" + envelope + R"(,"hops":0,"type":"chat"})";
    REQUIRE(parse_message(escaped).status == parse_status::ok);
    CHECK(chat_with_hops(escaped, 1) ==
          R"({"envelope":)" + envelope + R"(,"hops":1,"type":"chat"})");
}

TEST_CASE("chat_with_hops refuses every other layout") {
    const auto ours = with(chat_json(), "hops", 2);
    for (const auto& text : {
             chat_json().dump(),                      // no hops
             with(ours, "extra", {{"a", 1}}).dump(),  // a member before hops
             with(ours, "zzz", 1).dump(),             // a member after type
             ours.dump(2),                            // whitespace
             R"({"type":"chat","hops":2,"envelope":)" + envelope_json().dump() + "}",
         }) {
        INFO(text);
        REQUIRE(parse_message(text).status == parse_status::ok);
        CHECK_FALSE(chat_with_hops(text, 3));
    }
}

TEST_CASE("an ihave is written as its JSON object's dump, with or without hex ids") {
    const std::vector<ihave> haves = {
        ihave{some_room_id, {some_id, std::string(64, '0')}, {0, 65535}},
        ihave{some_room_id, {}, {}},
        ihave{some_room_id, {some_id}, {7}},
        ihave{"r\"oom", {"a\\b", "\xc3\xa9"}, {1, 2}},  // not hex: escaped as JSON
    };
    for (const auto& h : haves) {
        const json expected = {
            {"type", "ihave"}, {"room", h.room}, {"ids", h.ids}, {"hops", h.hops}};
        CHECK(serialize(h) == expected.dump());
        CHECK(serialize(message(h)) == expected.dump());
    }
}

TEST_CASE("every message type survives serialize then parse") {
    chat c;
    c.env = {"lobby", alice, "al", 7, 1700000000123, "h\xc3\xa9llo \"world\"\nline 2"};
    c.raw = envelope_to_json(c.env);
    c.raw["sig"] = some_sig;
    chat relayed = c;
    relayed.hops = 65535;
    const std::vector<peer_address> two = {{alice, "127.0.0.1:7447"}, {bob, "[::1]:7448"}};
    const std::vector<message> messages = {
        hello{2, alice, "alice", 7447,
              {{"lobby", some_room_id, some_proof}, {"dev", other_room_id, ""}}, {"tls", "files"}},
        hello{2, bob, "bob", 0, {}, {}},
        rooms{{{"lobby", some_room_id, some_proof}}},
        c,
        relayed,
        join{some_room_id},
        forward_join{some_room_id, {bob, "example.org:7448"}, 8},
        forward_join{some_room_id, {alice, "127.0.0.1:1"}, 0},
        neighbor{some_room_id, true},
        neighbor{some_room_id, false},
        disconnect{some_room_id, true},
        disconnect{some_room_id, false},
        shuffle{some_room_id, two_to_53, 8, two},
        shuffle{some_room_id, 1, 0, {}},
        shuffle_reply{some_room_id, 0, two},
        shuffle_reply{some_room_id, two_to_53, {}},
        ihave{some_room_id, {some_id, std::string(64, '0')}, {0, 65535}},
        ihave{some_room_id, {}, {}},
        graft{some_room_id, {some_id}, bob},
        graft{some_room_id, {}, ""},
        prune{some_room_id, alice},
        prune{some_room_id, ""},
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
    CHECK(json::parse(serialize(hello{2, alice, "alice", 7447,
                                      {{"lobby", some_room_id, some_proof}}, {}})) ==
          with(with(hello_json(), "rooms", {claim_json("lobby", some_room_id, some_proof)}),
               "features", json::array()));
    CHECK(json::parse(serialize(parsed_as<chat>(chat_json()))) == with(chat_json(), "hops", 0));
    for (const auto& [type, frame] : overlay_frames()) {
        INFO(type);
        const auto r = parse_message(frame.dump());
        REQUIRE(r.msg);
        CHECK(json::parse(serialize(*r.msg)) == frame);
    }
    // Every author: "author" is left out, as "" is not a peer id.
    CHECK(serialize(prune{some_room_id, ""}) ==
          R"({"room":")" + some_room_id + R"(","type":"prune"})");
}

TEST_CASE("serialize builds the envelope from env when raw is not an object") {
    const envelope e{"lobby", alice, "alice", 1, 1700000000000, "hi"};
    CHECK(json::parse(serialize(chat{0, e, nullptr})) == with(chat_without("sig"), "hops", 0));
    // Such an envelope is unsigned: no peer takes it.
    CHECK(malformed_text_error(serialize(chat{0, e, nullptr})) ==
          R"(chat: field "envelope.sig" is missing)");
}

TEST_CASE("serialize writes raw as is when it is an object") {
    const envelope stale{"other", bob, "bob", 9, 9, "stale"};
    CHECK(json::parse(serialize(chat{3, stale, envelope_json()})) ==
          with(chat_json(), "hops", 3));
}

TEST_CASE("serialize writes a chat with raw as the same bytes as its JSON object's dump") {
    // serialize builds a chat's text without copying raw into an object first: the bytes
    // must stay what the object's dump gives (keys in bytewise order, no whitespace).
    const envelope stale{"other", bob, "bob", 9, 9, "stale"};
    for (std::uint32_t hops : {0u, 7u, 65535u}) {
        CHECK(serialize(chat{hops, stale, envelope_json()}) ==
              with(chat_json(), "hops", hops).dump());
    }
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

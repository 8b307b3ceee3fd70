#include "protocol/file_service.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "protocol/frame.hpp"

using namespace confab::protocol;
using json = nlohmann::json;
using Catch::Matchers::Contains;

namespace {

const std::string transfer = "0123456789abcdef0123456789abcdef";
const std::string peer = std::string(51, 'b') + "q";

json fetch_json() {
    return {{"type", "fetch"}, {"transfer", transfer}, {"peer_id", peer}, {"offset", 1024}};
}

json with(json j, const std::string& key, json value) {
    j[key] = std::move(value);
    return j;
}

json without(json j, const std::string& key) {
    j.erase(key);
    return j;
}

std::string error_of(const std::string& text) {
    INFO(text);
    auto r = parse_file_message(text);
    CHECK_FALSE(r.msg.has_value());
    CHECK_FALSE(r.error.empty());
    return r.error;
}

template <class T>
T parsed_as(const json& j) {
    INFO(j.dump());
    auto r = parse_file_message(j.dump());
    REQUIRE(r.error.empty());
    REQUIRE(r.msg.has_value());
    REQUIRE(std::holds_alternative<T>(*r.msg));
    return std::get<T>(*r.msg);
}

std::string header(std::uint32_t n) {
    std::string h(4, '\0');
    h[0] = static_cast<char>(n >> 24);
    h[1] = static_cast<char>(n >> 16);
    h[2] = static_cast<char>(n >> 8);
    h[3] = static_cast<char>(n);
    return h;
}

}  // namespace

TEST_CASE("file service: fetch parses and round-trips", "[file_service]") {
    auto m = parsed_as<fetch_request>(fetch_json());
    CHECK(m == fetch_request{transfer, peer, 1024});
    CHECK(parsed_as<fetch_request>(json::parse(serialize_file_message(m))) == m);
    CHECK(json::parse(serialize_file_message(m)) == fetch_json());
    // Unknown fields are ignored, for later versions.
    CHECK(parsed_as<fetch_request>(with(fetch_json(), "resume_hash", "x")) == m);
}

TEST_CASE("file service: fetch_ok and fetch_refused round-trip", "[file_service]") {
    fetch_ok ok{transfer, 10, 100};
    CHECK(json::parse(serialize_file_message(ok)) ==
          json{{"type", "fetch_ok"}, {"transfer", transfer}, {"offset", 10}, {"size", 100}});
    CHECK(parsed_as<fetch_ok>(json::parse(serialize_file_message(ok))) == ok);
    CHECK(parsed_as<fetch_ok>(
              json{{"type", "fetch_ok"}, {"transfer", transfer}, {"offset", 100}, {"size", 100}}) ==
          fetch_ok{transfer, 100, 100});

    fetch_refused no{"no such offer (withdrawn or never made)", false};
    // retry is left out when false.
    CHECK(json::parse(serialize_file_message(no)) ==
          json{{"type", "fetch_refused"}, {"reason", no.reason}});
    CHECK(parsed_as<fetch_refused>(json::parse(serialize_file_message(no))) == no);
    fetch_refused busy{"too many uploads", true};
    CHECK(json::parse(serialize_file_message(busy))["retry"] == true);
    CHECK(parsed_as<fetch_refused>(json::parse(serialize_file_message(busy))) == busy);
}

TEST_CASE("file service: encode_file_frame is a frame of the JSON", "[file_service]") {
    fetch_request m{transfer, peer, 0};
    auto frame = encode_file_frame(m);
    frame_decoder d;
    d.feed(frame);
    auto r = d.next();
    REQUIRE(r.status == decode_status::frame);
    CHECK(r.payload == serialize_file_message(m));
    std::string error;
    CHECK(file_frame_length(frame, &error) == r.payload.size());
}

TEST_CASE("file service: frame lengths are 1 to 64 KiB", "[file_service]") {
    std::string error;
    CHECK(file_frame_length(header(1), &error) == 1u);
    CHECK(file_frame_length(header(max_file_frame_size), &error) == max_file_frame_size);
    CHECK(error.empty());

    CHECK_FALSE(file_frame_length(header(0), &error).has_value());
    CHECK_THAT(error, Contains("below the minimum"));
    CHECK_FALSE(file_frame_length(header(max_file_frame_size + 1), &error).has_value());
    CHECK_THAT(error, Contains("65537") && Contains("65536"));
    CHECK_FALSE(file_frame_length(header(0xffffffff), &error).has_value());
    CHECK_FALSE(file_frame_length("ab", &error).has_value());
}

TEST_CASE("file service: transfer ids are 32 lowercase hex digits", "[file_service]") {
    CHECK(check_transfer_id(transfer).empty());
    CHECK_THAT(check_transfer_id(transfer.substr(1)), Contains("32 characters (got 31)"));
    CHECK_THAT(check_transfer_id(transfer + "0"), Contains("got 33"));
    CHECK_THAT(check_transfer_id("0123456789ABCDEF0123456789abcdef"), Contains("0-9 and a-f"));
    CHECK_THAT(check_transfer_id("../../../../../../etc/passwd/xxx"), Contains("0-9 and a-f"));
}

TEST_CASE("file service: a fetch with a bad field is refused, naming it", "[file_service]") {
    CHECK_THAT(error_of(without(fetch_json(), "transfer").dump()),
               Contains("fetch: field \"transfer\" is missing"));
    CHECK_THAT(error_of(with(fetch_json(), "transfer", "abc").dump()),
               Contains("\"transfer\" is invalid"));
    CHECK_THAT(error_of(with(fetch_json(), "transfer", 5).dump()), Contains("must be a string"));
    CHECK_THAT(error_of(without(fetch_json(), "peer_id").dump()),
               Contains("\"peer_id\" is missing"));
    CHECK_THAT(error_of(with(fetch_json(), "peer_id", "bob").dump()),
               Contains("\"peer_id\" is invalid"));
    CHECK_THAT(error_of(without(fetch_json(), "offset").dump()), Contains("\"offset\" is missing"));
    for (json bad :
         {json(-1), json(1.5), json("7"), json(nullptr), json((std::uint64_t{1} << 53) + 1)}) {
        CHECK_THAT(error_of(with(fetch_json(), "offset", bad).dump()),
                   Contains("\"offset\" must be an integer from 0 to 2^53"));
    }
    CHECK(parsed_as<fetch_request>(with(fetch_json(), "offset", std::uint64_t{1} << 53)).offset ==
          std::uint64_t{1} << 53);
}

TEST_CASE("file service: fetch_ok and fetch_refused are validated", "[file_service]") {
    json ok{{"type", "fetch_ok"}, {"transfer", transfer}, {"offset", 10}, {"size", 100}};
    CHECK_THAT(error_of(with(ok, "offset", 101).dump()), Contains("beyond \"size\""));
    CHECK_THAT(error_of(without(ok, "size").dump()), Contains("\"size\" is missing"));
    CHECK_THAT(error_of(with(ok, "transfer", "x").dump()), Contains("\"transfer\" is invalid"));

    json no{{"type", "fetch_refused"}, {"reason", "no"}};
    CHECK_THAT(error_of(without(no, "reason").dump()), Contains("\"reason\" is missing"));
    CHECK_THAT(error_of(with(no, "retry", "yes").dump()), Contains("true or false"));
    CHECK_THAT(error_of(with(no, "reason", std::string(max_refusal_reason_bytes + 1, 'x')).dump()),
               Contains("the limit is 1024 bytes"));
}

TEST_CASE("file service: frames that are not one message are refused", "[file_service]") {
    CHECK_THAT(error_of("not json"), Contains("not valid JSON"));
    CHECK_THAT(error_of("[1,2]"), Contains("not a JSON object"));
    CHECK_THAT(error_of("{\"offset\":1}"), Contains("no \"type\""));
    CHECK_THAT(error_of("{\"type\":7}"), Contains("\"type\" must be a string"));
    CHECK_THAT(error_of("{\"type\":\"hello\"}"), Contains("unknown file-service message type"));
    CHECK(parse_file_message("{\"type\":\"hello\"}").type == "hello");
    CHECK_THAT(error_of("{\"type\":\"fetch\",\"type\":\"fetch\"}"), Contains("repeats the key"));
    CHECK_THAT(error_of(std::string(100, '[') + std::string(100, ']')), Contains("deeper"));
    CHECK_THAT(error_of("{\"type\":\"fetch\",\"x\":\"\xff\"}"), Contains("not valid UTF-8"));
    CHECK_THAT(error_of("{\"type\":\"fetch\""), Contains("not valid JSON"));
    CHECK_THAT(error_of("\xef\xbb\xbf{\"type\":\"fetch\"}"), Contains("byte order mark"));
}

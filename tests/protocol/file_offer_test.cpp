#include "protocol/file_offer.hpp"

#include <catch2/catch.hpp>

using namespace confab::protocol;
using json = nlohmann::json;

namespace {

const std::string bob = "mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpiytgnbvgy3q";

file_offer sample() {
    return {"3f9a2c1b0d4e5f60718293a4b5c6d7e8", "report.pdf", 2097152, std::string(64, 'a'),
            40123, {"192.0.2.7", "localhost"}, ""};
}

std::string error_of(const json& file) {
    std::string error;
    auto parsed = parse_file_offer(json{{"file", file}}, &error);
    return parsed ? "(parsed)" : error;
}

}  // namespace

TEST_CASE("a file offer survives to_json then parse, with and without a recipient") {
    auto offer = sample();
    std::string error;
    CHECK(parse_file_offer(json{{"file", file_offer_to_json(offer)}}, &error) == offer);
    CHECK_FALSE(file_offer_to_json(offer).contains("to"));
    offer.to = bob;
    CHECK(parse_file_offer(json{{"file", file_offer_to_json(offer)}}, &error) == offer);
    offer.hosts.clear();
    CHECK(parse_file_offer(json{{"file", file_offer_to_json(offer)}}, &error) == offer);
}

TEST_CASE("a file offer that breaks a rule is refused with the field named") {
    const json good = file_offer_to_json(sample());
    CHECK(error_of(good) == "(parsed)");
    auto with = [&](const char* key, json value) {
        json j = good;
        j[key] = std::move(value);
        return error_of(j);
    };
    CHECK_THAT(with("id", "short"), Catch::Matchers::Contains("\"id\""));
    CHECK_THAT(with("id", std::string(32, 'A')), Catch::Matchers::Contains("\"id\""));
    CHECK_THAT(with("name", ""), Catch::Matchers::Contains("\"name\""));
    CHECK_THAT(with("name", std::string(256, 'x')), Catch::Matchers::Contains("\"name\""));
    CHECK_THAT(with("name", "\xff"), Catch::Matchers::Contains("\"name\""));
    CHECK_THAT(with("size", -1), Catch::Matchers::Contains("\"size\""));
    CHECK_THAT(with("size", 1.5), Catch::Matchers::Contains("\"size\""));
    CHECK_THAT(with("size", (std::uint64_t{1} << 53) + 1), Catch::Matchers::Contains("\"size\""));
    CHECK_THAT(with("sha256", std::string(63, 'a')), Catch::Matchers::Contains("\"sha256\""));
    CHECK_THAT(with("port", 0), Catch::Matchers::Contains("\"port\""));
    CHECK_THAT(with("port", 70000), Catch::Matchers::Contains("\"port\""));
    CHECK_THAT(with("hosts", "x"), Catch::Matchers::Contains("\"hosts\""));
    CHECK_THAT(with("hosts", json::array({1})), Catch::Matchers::Contains("\"hosts\""));
    CHECK_THAT(with("hosts", json(std::vector<std::string>(9, "h"))),
               Catch::Matchers::Contains("\"hosts\""));
    CHECK_THAT(with("to", "nobody"), Catch::Matchers::Contains("\"to\""));
    std::string error;
    CHECK_FALSE(parse_file_offer(json{{"body", "x"}}, &error));
    CHECK_THAT(error, Catch::Matchers::Contains("\"file\""));
}

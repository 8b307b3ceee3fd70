#include <catch2/catch.hpp>

#include "core/message_id.hpp"

using confab::core::message_id;
using confab::core::sha256_hex;

TEST_CASE("sha256_hex matches the FIPS 180-2 vectors") {
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("message_id hashes the envelope's compact form with sorted keys") {
    nlohmann::json a = {{"room", "lobby"}, {"body", "hi"}, {"seq", 1}};
    nlohmann::json b = {{"seq", 1}, {"body", "hi"}, {"room", "lobby"}};
    CHECK(message_id(a) == sha256_hex(R"({"body":"hi","room":"lobby","seq":1})"));
    CHECK(message_id(a) == message_id(b));
    b["seq"] = 2;
    CHECK(message_id(a) != message_id(b));
}

TEST_CASE("message_id leaves the signature out: the same content is the same message") {
    nlohmann::json env = {{"room", "lobby"}, {"body", "hi"}, {"seq", 1}};
    nlohmann::json signed_env = env;
    signed_env["sig"] = std::string(128, 'a');
    nlohmann::json resigned = env;
    resigned["sig"] = std::string(128, 'b');
    CHECK(message_id(signed_env) == sha256_hex(R"({"body":"hi","room":"lobby","seq":1})"));
    CHECK(message_id(signed_env) == message_id(env));
    CHECK(message_id(signed_env) == message_id(resigned));
    // Only the top-level "sig": anything nested is content.
    nlohmann::json nested = env;
    nested["x"] = {{"sig", 1}};
    CHECK(message_id(nested) != message_id(env));
}

// Canonical JSON: which values may be signed and hashed, and the exact bytes they become
// (docs/protocol.md, "Canonical bytes"). The byte tests pin what nlohmann's dump() does, so
// that an upgrade that changes it fails here rather than splitting the mesh.

#include "protocol/canonical.hpp"

#include <cstdint>
#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

using namespace confab::protocol;
using json = nlohmann::json;

namespace {

constexpr std::uint64_t two_to_53 = std::uint64_t{1} << 53;

std::string problem_text(const json& v) {
    auto p = find_canonical_problem(v);
    return p ? (p->path.empty() ? "" : p->path + ": ") + p->problem : "";
}

// The documented string rule, written independently of nlohmann: what a second
// implementation would write.
std::string documented_escape(unsigned char c) {
    switch (c) {
        case '"':
            return "\\\"";
        case '\\':
            return "\\\\";
        case 0x08:
            return "\\b";
        case 0x09:
            return "\\t";
        case 0x0a:
            return "\\n";
        case 0x0c:
            return "\\f";
        case 0x0d:
            return "\\r";
        default:
            break;
    }
    if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        return buf;
    }
    return std::string(1, static_cast<char>(c));
}

}  // namespace

TEST_CASE("integers up to 2^53 either way, strings, booleans and null are canonical") {
    CHECK(is_canonical(json::parse(R"({"a":[1,-1,0,true,false,null,"x",{}],"b":{"c":[]}})")));
    CHECK(is_canonical(json(two_to_53)));
    CHECK(is_canonical(json(-static_cast<std::int64_t>(two_to_53))));
    CHECK(is_canonical(json::parse("9007199254740992")));
    CHECK(is_canonical(json::parse("-9007199254740992")));
}

TEST_CASE("a float anywhere is not canonical, even one that is an integer in value") {
    CHECK(problem_text(json(0.5)) == "must not be a floating-point number");
    CHECK(problem_text(json::parse("1.0")) == "must not be a floating-point number");
    CHECK(problem_text(json::parse("1e3")) == "must not be a floating-point number");
    CHECK(problem_text(json::parse("-0.0")) == "must not be a floating-point number");
    CHECK(problem_text(json::parse(R"({"a":{"b":[1,[2,3.5]]}})")) ==
          "a.b[1][1]: must not be a floating-point number");
    CHECK(problem_text(json::parse(R"([0,{"x":1e0}])")) ==
          "[1].x: must not be a floating-point number");
}

TEST_CASE("an integer beyond 2^53 either way is not canonical") {
    CHECK(problem_text(json(two_to_53 + 1)) == "is an integer beyond 2^53");
    CHECK(problem_text(json::parse("18446744073709551615")) == "is an integer beyond 2^53");
    CHECK(problem_text(json(-static_cast<std::int64_t>(two_to_53) - 1)) ==
          "is an integer beyond -2^53");
    // Past 2^64 nlohmann reads a number as a double: refused as a float.
    CHECK(problem_text(json::parse("18446744073709551616")) ==
          "must not be a floating-point number");
    CHECK(problem_text(json::parse(R"({"list":[1,{"n":9007199254740993}]})")) ==
          "list[1].n: is an integer beyond 2^53");
}

TEST_CASE("a string or key that is not UTF-8 is not canonical (it has no canonical bytes)") {
    CHECK(problem_text(json{{"a", "ok"}, {"b", "\xff"}}) == "b: is not valid UTF-8");
    CHECK(problem_text(json{{"a", {{"\xc3", 1}}}}) == "a: has a key that is not valid UTF-8");
}

TEST_CASE("objects are found in key order: the first problem reported is the first key's") {
    CHECK(problem_text(json{{"z", 1.5}, {"a", two_to_53 + 1}}) == "a: is an integer beyond 2^53");
}

TEST_CASE("canonical bytes: keys sorted bytewise at every depth, no whitespace") {
    CHECK(canonical_bytes(json::parse(R"({ "b" : 1, "a" : { "d" : [1, 2], "c" : "x" } })")) ==
          R"({"a":{"c":"x","d":[1,2]},"b":1})");
    // Bytewise: upper case before lower case, '~' (0x7e) before any non-ASCII lead byte.
    CHECK(canonical_bytes(json::parse("{\"~\":0,\"\xc3\xa9\":1,\"a\":2,\"B\":3,\"\":4}")) ==
          "{\"\":4,\"B\":3,\"a\":2,\"~\":0,\"\xc3\xa9\":1}");
    CHECK(canonical_bytes(json::parse(R"({"e":{},"f":[],"t":true,"u":false,"n":null})")) ==
          R"({"e":{},"f":[],"n":null,"t":true,"u":false})");
}

TEST_CASE("canonical bytes: integers in shortest decimal form, -0 as 0") {
    CHECK(canonical_bytes(json::parse("[-0, 0, 7, -7, 9007199254740992, -9007199254740992]")) ==
          "[0,0,7,-7,9007199254740992,-9007199254740992]");
}

TEST_CASE("canonical bytes: every ASCII character escaped exactly as documented") {
    std::string all, want = "\"";
    for (int c = 0; c < 0x80; ++c) {
        all.push_back(static_cast<char>(c));
        want += documented_escape(static_cast<unsigned char>(c));
    }
    want += "\"";
    CHECK(canonical_bytes(json(all)) == want);
    // The same in a key.
    CHECK(canonical_bytes(json{{all, 1}}) == "{" + want + ":1}");
    // Spot checks, spelled out.
    CHECK(canonical_bytes(json(std::string("a\0b", 3))) == R"("a\u0000b")");
    CHECK(canonical_bytes(json("\x1f\x7f/")) == "\"\\u001f\x7f/\"");
    CHECK(canonical_bytes(json("\x0b")) == R"("\u000b")");
}

TEST_CASE("canonical bytes: non-ASCII stays raw UTF-8, whatever escapes the input used") {
    // U+00E9, U+2028 (a line separator some encoders escape), U+1F600 from a surrogate pair.
    const auto parsed = json::parse(R"(["\u00e9", "\u2028", "\ud83d\ude00", "\/"])");
    CHECK(canonical_bytes(parsed) == "[\"\xc3\xa9\",\"\xe2\x80\xa8\",\"\xf0\x9f\x98\x80\",\"/\"]");
}

TEST_CASE("canonical_bytes_unsigned leaves out sig and nothing else") {
    const json signed_env = {{"body", "hi"}, {"sig", "00"}, {"seq", 1}};
    CHECK(canonical_bytes_unsigned(signed_env) == R"({"body":"hi","seq":1})");
    CHECK(canonical_bytes_unsigned(json{{"body", "hi"}, {"seq", 1}}) == R"({"body":"hi","seq":1})");
    // Only at the top: a nested "sig" is content.
    CHECK(canonical_bytes_unsigned(json{{"x", {{"sig", 1}}}}) == R"({"x":{"sig":1}})");
}

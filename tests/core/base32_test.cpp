#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/base32.hpp"

using confab::core::base32_decode;
using confab::core::base32_encode;

namespace {

std::vector<std::uint8_t> bytes_of(std::string_view s) {
    return {s.begin(), s.end()};
}

}  // namespace

TEST_CASE("base32 matches the RFC 4648 vectors, lowercase and unpadded") {
    const std::pair<std::string_view, std::string_view> vectors[] = {
        {"", ""},
        {"f", "my"},
        {"fo", "mzxq"},
        {"foo", "mzxw6"},
        {"foob", "mzxw6yq"},
        {"fooba", "mzxw6ytb"},
        {"foobar", "mzxw6ytboi"},
    };
    for (const auto& [plain, encoded] : vectors) {
        CAPTURE(plain);
        CHECK(base32_encode(bytes_of(plain)) == encoded);
        auto decoded = base32_decode(encoded);
        REQUIRE(decoded);
        CHECK(*decoded == bytes_of(plain));
    }
}

TEST_CASE("base32 of 32 bytes is 52 characters and round-trips") {
    std::vector<std::uint8_t> key(32);
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 37 + 5);
    std::string text = base32_encode(key);
    CHECK(text.size() == 52);
    CHECK(text.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567") == std::string::npos);
    CHECK(base32_decode(text) == key);
}

TEST_CASE("base32 decoding accepts upper case") {
    CHECK(base32_decode("MZXW6YTBOI") == bytes_of("foobar"));
    CHECK(base32_decode("MzXw6ytBoI") == bytes_of("foobar"));
}

TEST_CASE("base32 decoding rejects foreign characters") {
    CHECK_FALSE(base32_decode("mzxw6yt="));
    CHECK_FALSE(base32_decode("mzxw6ytboi======"));
    CHECK_FALSE(base32_decode("mzxw1"));  // 1 and 8 are not in the alphabet
    CHECK_FALSE(base32_decode("mzxw8"));
    CHECK_FALSE(base32_decode("mzx w6"));
}

TEST_CASE("base32 decoding rejects non-canonical tails") {
    // "my" is "f"; "mz" has a 1 in the bits past the last whole byte.
    CHECK_FALSE(base32_decode("mz"));
    CHECK_FALSE(base32_decode("mzxr"));
    // Lengths that no byte string encodes to.
    CHECK_FALSE(base32_decode("m"));
    CHECK_FALSE(base32_decode("mzx"));
    CHECK_FALSE(base32_decode("mzxw6y"));
}

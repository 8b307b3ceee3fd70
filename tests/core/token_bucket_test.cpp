#include "core/token_bucket.hpp"

#include <catch2/catch.hpp>

using confab::core::token_bucket;
using namespace std::chrono_literals;

TEST_CASE("token bucket: a burst, then the rate", "[token_bucket]") {
    const auto t0 = token_bucket::clock::time_point{} + 1h;
    token_bucket b(10, 5, t0);
    for (int i = 0; i < 5; ++i) CHECK(b.take(t0));
    CHECK_FALSE(b.take(t0));
    CHECK_FALSE(b.take(t0 + 50ms));  // half a token
    CHECK(b.take(t0 + 100ms));
    CHECK_FALSE(b.take(t0 + 100ms));

    SECTION("it never holds more than the burst") {
        const auto later = t0 + 1h;
        int taken = 0;
        while (b.take(later)) ++taken;
        CHECK(taken == 5);
    }
    SECTION("a clock that goes back adds nothing") {
        CHECK_FALSE(b.take(t0));
        CHECK(b.tokens(t0) < 1.0);
    }
    SECTION("over a long run, the rate holds") {
        int taken = 0;
        for (int ms = 0; ms <= 10'000; ++ms) {
            if (b.take(t0 + 100ms + std::chrono::milliseconds(ms))) ++taken;
        }
        CHECK(taken >= 99);
        CHECK(taken <= 101);  // 10 s at 10/s
    }
}

#include <catch2/catch.hpp>

#include <cctype>

#include "core/message_id.hpp"
#include "core/seen_cache.hpp"

using confab::core::seen_cache;

TEST_CASE("seen_cache accepts an id only the first time") {
    seen_cache cache(10);
    CHECK(cache.insert("a"));
    CHECK_FALSE(cache.insert("a"));
    CHECK(cache.insert("b"));
    CHECK(cache.contains("a"));
    CHECK(cache.contains("b"));
    CHECK_FALSE(cache.contains("c"));
    CHECK(cache.size() == 2);
}

TEST_CASE("seen_cache forgets the oldest ids first and stays within capacity") {
    seen_cache cache(3);
    CHECK(cache.insert("1"));
    CHECK(cache.insert("2"));
    CHECK(cache.insert("3"));
    // A repeat does not refresh "1": the order is first-seen order.
    CHECK_FALSE(cache.insert("1"));
    CHECK(cache.insert("4"));
    CHECK(cache.size() == 3);
    CHECK_FALSE(cache.contains("1"));
    CHECK(cache.contains("2"));
    CHECK(cache.contains("4"));

    CHECK(cache.insert("5"));
    CHECK_FALSE(cache.contains("2"));
    CHECK(cache.contains("3"));
    CHECK(cache.size() == 3);

    // Once forgotten, an id counts as new again.
    CHECK(cache.insert("1"));
    CHECK_FALSE(cache.contains("3"));
}

TEST_CASE("seen_cache stores digests compactly yet keeps other spellings apart") {
    confab::core::seen_cache cache(10);
    const std::string digest = confab::core::sha256_hex("envelope");
    CHECK(cache.insert(digest));
    CHECK_FALSE(cache.insert(digest));
    CHECK(cache.contains(digest));
    // Upper-case hex is not the same spelling; it is simply another id.
    std::string upper = digest;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK_FALSE(cache.contains(upper));
}

TEST_CASE("seen_cache knows an id by its hex and by its 32 bytes alike") {
    using confab::core::seen_cache;
    seen_cache cache(2);
    const auto a = confab::core::sha256("a"), b = confab::core::sha256("b");
    CHECK(cache.insert(a));
    CHECK_FALSE(cache.insert(confab::core::to_hex(a)));
    CHECK(cache.contains(confab::core::sha256_hex("a")));
    CHECK(cache.insert(confab::core::sha256_hex("b")));
    CHECK(cache.contains(b));
    CHECK_FALSE(cache.contains(confab::core::sha256("c")));
    // Both spellings share one capacity.
    CHECK(cache.insert(confab::core::sha256("c")));
    CHECK_FALSE(cache.contains(a));
    CHECK(cache.size() == 2);
}

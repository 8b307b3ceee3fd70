#include "core/recent_frames.hpp"

#include <catch2/catch.hpp>

using namespace confab;
using namespace std::chrono_literals;
using clock_type = core::recent_frames::clock;

namespace {
core::recent_frames::frame bytes(const std::string& s) {
    return std::make_shared<const std::string>(s);
}
std::vector<std::string> texts(const std::vector<core::recent_frames::frame>& frames) {
    std::vector<std::string> out;
    for (const auto& f : frames) out.push_back(*f);
    return out;
}
}  // namespace

TEST_CASE("recent frames: what came within the window, oldest first", "[recent_frames]") {
    core::recent_frames recent(10s, 100, 1 << 20);
    const auto t0 = clock_type::time_point{} + 1h;
    recent.add(bytes("a"), t0);
    recent.add(bytes("b"), t0 + 4s);
    recent.add(bytes("c"), t0 + 8s);
    CHECK(texts(recent.within_window(t0 + 9s)) == std::vector<std::string>{"a", "b", "c"});
    SECTION("older ones are forgotten as time passes") {
        CHECK(texts(recent.within_window(t0 + 13s)) == std::vector<std::string>{"b", "c"});
        CHECK(texts(recent.within_window(t0 + 60s)).empty());
        CHECK(recent.size() == 0);
    }
    SECTION("or when asked, in a quiet room") {
        recent.forget_older_than_window(t0 + 13s);
        CHECK(recent.size() == 2);
    }
}

TEST_CASE("recent frames: count and bytes are bounded, the oldest goes first",
          "[recent_frames]") {
    const auto t0 = clock_type::time_point{} + 1h;
    SECTION("by count") {
        core::recent_frames recent(10s, 3, 1 << 20);
        for (int i = 0; i < 5; ++i) recent.add(bytes(std::to_string(i)), t0);
        CHECK(texts(recent.within_window(t0)) == std::vector<std::string>{"2", "3", "4"});
    }
    SECTION("by bytes") {
        core::recent_frames recent(10s, 100, 10);
        recent.add(bytes("aaaa"), t0);
        recent.add(bytes("bbbb"), t0);
        recent.add(bytes("cccc"), t0);  // 12 bytes would be over 10: "aaaa" goes
        CHECK(texts(recent.within_window(t0)) == std::vector<std::string>{"bbbb", "cccc"});
        CHECK(recent.bytes() == 8);
        recent.add(bytes("a frame bigger than all"), t0);  // never kept
        CHECK(recent.size() == 2);
        recent.forget_older_than_window(t0 + 11s);
        CHECK(recent.bytes() == 0);
    }
}

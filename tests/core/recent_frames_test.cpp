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
    core::recent_frames recent(10s, 100);
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
}

TEST_CASE("recent frames: the count is bounded, the oldest goes first", "[recent_frames]") {
    core::recent_frames recent(10s, 3);
    const auto t0 = clock_type::time_point{} + 1h;
    for (int i = 0; i < 5; ++i) recent.add(bytes(std::to_string(i)), t0);
    CHECK(texts(recent.within_window(t0)) == std::vector<std::string>{"2", "3", "4"});
}

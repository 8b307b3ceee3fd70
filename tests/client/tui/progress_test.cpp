#include "client/tui/progress.hpp"

#include <clocale>

#include <catch2/catch.hpp>

#include "client/tui/text.hpp"

using namespace confab::client::tui;
using namespace std::chrono_literals;

TEST_CASE("the ETA reads as M:SS or H:MM:SS, and ? when unknown") {
    CHECK(format_eta(0) == "0:00");
    CHECK(format_eta(4.2) == "0:05");
    CHECK(format_eta(125) == "2:05");
    CHECK(format_eta(3725) == "1:02:05");
    CHECK(format_eta(-1) == "?");
    CHECK(format_eta(1e12) == "?");
}

TEST_CASE("the speed follows progress reports") {
    transfer_progress t;
    t.size = 100'000'000;
    const auto start = std::chrono::steady_clock::time_point{} + 1s;
    t.update(0, start);
    CHECK(t.speed == 0);
    t.update(10'000'000, start + 1s);
    CHECK(t.speed == Approx(10'000'000));
    t.update(12'000'000, start + 2s);  // slowed to 2 MB/s: the estimate moves towards it
    CHECK(t.speed < 10'000'000);
    CHECK(t.speed > 2'000'000);
}

TEST_CASE("a transfer on the status line shows name, bar, percent, speed and ETA") {
    std::setlocale(LC_CTYPE, "C.UTF-8");
    transfer_progress t;
    t.name = "report.pdf";
    t.size = 1000;
    t.bytes = 520;
    CHECK(progress_text(t, 80) == "report.pdf [#####-----] 52%");
    t.speed = 48;
    CHECK(progress_text(t, 80) == "report.pdf [#####-----] 52% 48 B/s 0:10");
    // Narrow: the name gives way first, then the bar.
    CHECK(progress_text(t, 34) == "repor [#####-----] 52% 48 B/s 0:10");
    CHECK(display_width(progress_text(t, 30)) <= 30);
    CHECK(progress_text(t, 30).find('[') == std::string::npos);
    CHECK(progress_text(t, 12) == "report.pdf 5");
    t.name = "\x1b[2Jevil";
    CHECK(progress_text(t, 80).find('\x1b') == std::string::npos);
}

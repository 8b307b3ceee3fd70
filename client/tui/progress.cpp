#include "client/tui/progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "client/tui/text.hpp"
#include "peer/transfers.hpp"

namespace confab::client::tui {

namespace {

constexpr int bar_cells = 10;
constexpr double smoothing = 0.3;  // weight of the newest rate

}  // namespace

void transfer_progress::update(std::uint64_t new_bytes, std::chrono::steady_clock::time_point now) {
    if (started_ && now > last_at_ && new_bytes >= bytes) {
        const double seconds = std::chrono::duration<double>(now - last_at_).count();
        const double rate = static_cast<double>(new_bytes - bytes) / seconds;
        speed = speed == 0 ? rate : smoothing * rate + (1 - smoothing) * speed;
    }
    started_ = true;
    last_at_ = now;
    bytes = new_bytes;
}

std::string format_eta(double seconds) {
    if (!(seconds >= 0) || seconds > 359999) return "?";
    const auto s = static_cast<long>(std::ceil(seconds));
    char out[64];  // roomier than needed: GCC cannot see that s < 360000
    if (s >= 3600) {
        std::snprintf(out, sizeof out, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    } else {
        std::snprintf(out, sizeof out, "%ld:%02ld", s / 60, s % 60);
    }
    return out;
}

std::string progress_text(const transfer_progress& t, int width) {
    const double fraction =
        t.size == 0 ? 1.0 : std::min(1.0, static_cast<double>(t.bytes) / static_cast<double>(t.size));
    const int percent = static_cast<int>(fraction * 100);
    std::string bar = "[";
    const int filled = static_cast<int>(fraction * bar_cells);
    bar.append(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(bar_cells - filled), '-');
    bar += "]";
    std::string tail = " " + std::to_string(percent) + "%";
    if (t.speed > 0) {
        tail += " " + peer::human_size(static_cast<std::uint64_t>(t.speed)) + "/s " +
                format_eta(static_cast<double>(t.size - std::min(t.bytes, t.size)) / t.speed);
    }
    const std::string name = escape_for_display(t.name);
    const int fixed = display_width(bar) + display_width(tail) + 1;
    if (width >= fixed + 4) {
        return truncate_to_width(name, width - fixed) + " " + bar + tail;
    }
    // Too narrow for the bar: the name and the percentage.
    return truncate_to_width(name + tail, width);
}

}  // namespace confab::client::tui

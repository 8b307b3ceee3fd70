#pragma once
// A transfer on the status line: "report.pdf [#####-----] 52% 11.2 MB/s 0:04", and the speed
// estimate behind it. Pure; main thread only.

#include <chrono>
#include <cstdint>
#include <string>

namespace confab::client::tui {

struct transfer_progress {
    std::string transfer;
    std::string name;
    std::uint64_t bytes = 0;
    std::uint64_t size = 0;
    double speed = 0;  // bytes per second, smoothed; 0 until known

    // Folds in a progress report: the speed follows the recent rate, not the average since
    // the start, so that the ETA reacts when a transfer slows down.
    void update(std::uint64_t new_bytes, std::chrono::steady_clock::time_point now);

private:
    std::chrono::steady_clock::time_point last_at_{};
    bool started_ = false;
};

// "H:MM:SS" or "M:SS"; "?" when unknown.
std::string format_eta(double seconds);
// The status-line text for one transfer, in at most `width` cells (the name is shortened
// first, then the bar).
std::string progress_text(const transfer_progress& t, int width);

}  // namespace confab::client::tui

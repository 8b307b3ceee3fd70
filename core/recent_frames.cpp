#include "core/recent_frames.hpp"

#include <utility>

namespace confab::core {

recent_frames::recent_frames(clock::duration window, std::size_t max_frames,
                             std::size_t max_bytes)
    : window_(window), max_frames_(max_frames), max_bytes_(max_bytes) {}

void recent_frames::add(frame f, clock::time_point now) {
    forget_older_than_window(now);
    if (max_frames_ == 0 || f->size() > max_bytes_) return;
    while (frames_.size() >= max_frames_ || bytes_ + f->size() > max_bytes_) forget_oldest();
    bytes_ += f->size();
    frames_.push_back({now, std::move(f)});
}

std::vector<recent_frames::frame> recent_frames::within_window(clock::time_point now) {
    forget_older_than_window(now);
    std::vector<frame> out;
    out.reserve(frames_.size());
    for (const auto& e : frames_) out.push_back(e.bytes);
    return out;
}

void recent_frames::forget_older_than_window(clock::time_point now) {
    while (!frames_.empty() && now - frames_.front().added > window_) forget_oldest();
}

void recent_frames::forget_oldest() {
    bytes_ -= frames_.front().bytes->size();
    frames_.pop_front();
}

}  // namespace confab::core

#pragma once
// The chat frames this peer flooded in the last few seconds, kept so that a link admitted
// just after a message went out is still handed it (docs/protocol.md, "Catch-up"). A
// message in flight while a link is replaced, or while a neighbour is still linking up,
// would otherwise miss that peer for good: flooding never sends a frame twice on its own.
// Bounded in age, in count and in bytes. Main thread.

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace confab::core {

class recent_frames {
public:
    using frame = std::shared_ptr<const std::string>;
    using clock = std::chrono::steady_clock;

    recent_frames(clock::duration window, std::size_t max_frames, std::size_t max_bytes);
    void add(frame f, clock::time_point now);
    // Every frame added within the window before `now`, oldest first.
    std::vector<frame> within_window(clock::time_point now);
    // Adding forgets what has aged out; a quiet room calls this now and then instead.
    void forget_older_than_window(clock::time_point now);

    std::size_t size() const { return frames_.size(); }
    std::size_t bytes() const { return bytes_; }

private:

    struct entry {
        clock::time_point added;
        frame bytes;
    };
    void forget_oldest();

    clock::duration window_;
    std::size_t max_frames_;
    std::size_t max_bytes_;
    std::deque<entry> frames_;
    std::size_t bytes_ = 0;
};

}  // namespace confab::core

#pragma once
// A token bucket: up to `burst` events at once, `rate` per second on average. Pure (the
// caller passes the time), single-owner.

#include <algorithm>
#include <chrono>

namespace confab::core {

class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    token_bucket(double rate_per_second, double burst, clock::time_point now = clock::now())
        : rate_(rate_per_second), burst_(burst), tokens_(burst), last_(now) {}

    // Takes one token if there is one.
    bool take(clock::time_point now) {
        refill(now);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

    double tokens(clock::time_point now) {
        refill(now);
        return tokens_;
    }

private:
    void refill(clock::time_point now) {
        if (now <= last_) return;
        const std::chrono::duration<double> elapsed = now - last_;
        tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
        last_ = now;
    }

    double rate_;
    double burst_;
    double tokens_;
    clock::time_point last_;
};

}  // namespace confab::core

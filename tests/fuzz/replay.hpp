#pragma once
// What a replay test needs to know about the fuzz target it is linked with: where the target's
// committed inputs are. Defined by replay_info.cpp, compiled once per target. Any thread.

namespace confab::fuzz {

struct replay_info {
    const char* seeds;        // tests/fuzz/seeds/NAME
    const char* regressions;  // tests/fuzz/regressions/NAME; may not exist
};

extern const replay_info this_target;

}  // namespace confab::fuzz

#pragma once
// What the fuzz targets share: FUZZ_CHECK for their invariants, and the entry point they define.
// FUZZ_CHECK aborts, so libFuzzer keeps the input as a crash and the replay tests of the normal
// suite (tests/fuzz/replay_test.cpp) fail loudly; unlike assert it is on in Release builds.
// Any thread.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(condition) \
    ((condition) ? void(0) : ::confab::fuzz::check_failed(#condition, __FILE__, __LINE__))

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace confab::fuzz {

[[noreturn]] inline void check_failed(const char* condition, const char* file, int line) {
    std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line, condition);
    std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace confab::fuzz

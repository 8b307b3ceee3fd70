// Replays a fuzz target's committed inputs in the normal suite, without libFuzzer: every file of
// its seeds/ and regressions/ folders goes to the target's LLVMFuzzerTestOneInput, whose
// invariants abort on failure. So a crash the fuzzer once found stays fixed, and the targets
// stay compiling with GCC.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/replay.hpp"

namespace {

namespace fs = std::filesystem;

// The files of `dir` in name order; dot files (.gitkeep) are not inputs.
std::vector<fs::path> inputs_in(const fs::path& dir) {
    std::vector<fs::path> files;
    if (!fs::is_directory(dir)) return files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.is_regular_file() && !entry.path().filename().string().starts_with(".")) {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

void replay(const fs::path& file) {
    INFO("input " << file.string());
    std::ifstream in(file, std::ios::binary);
    REQUIRE(in);
    // A buffer of exactly the input's size, as libFuzzer gives: under scripts/sanitize.sh a read
    // past its end is caught.
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                          std::istreambuf_iterator<char>()};
    const auto copy = std::make_unique<std::uint8_t[]>(bytes.size());
    std::copy(bytes.begin(), bytes.end(), copy.get());
    CHECK(LLVMFuzzerTestOneInput(copy.get(), bytes.size()) == 0);
}

}  // namespace

TEST_CASE("every seed input passes the target's checks") {
    const auto files = inputs_in(confab::fuzz::this_target.seeds);
    INFO("seeds in " << confab::fuzz::this_target.seeds);
    REQUIRE_FALSE(files.empty());
    for (const auto& file : files) replay(file);
}

TEST_CASE("every input that once crashed the target passes its checks now") {
    for (const auto& file : inputs_in(confab::fuzz::this_target.regressions)) replay(file);
    SUCCEED();
}

// Compiled once per replay test, with the folders of its target (tests/fuzz/CMakeLists.txt).

#include "tests/fuzz/replay.hpp"

namespace confab::fuzz {

const replay_info this_target{CONFAB_FUZZ_SEEDS, CONFAB_FUZZ_REGRESSIONS};

}  // namespace confab::fuzz

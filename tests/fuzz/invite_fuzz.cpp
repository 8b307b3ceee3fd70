// Fuzzes core::parse_invite with text as a user would paste it. Parsing never throws, gives the
// same answer twice, and a refusal always says why.

#include <string>

#include "core/invite.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = confab::fuzz::as_text(data, size);
    std::string error;
    const auto invite = confab::core::parse_invite(text, &error);
    if (!invite) FUZZ_CHECK(!error.empty());

    std::string again_error;
    const auto again = confab::core::parse_invite(text, &again_error);
    FUZZ_CHECK(again.has_value() == invite.has_value());
    FUZZ_CHECK(again_error == error);
    return 0;
}

// Fuzzes protocol::parse_strict_json. The input's first byte chooses the depth limit, the rest is
// the text. What it accepts is what nlohmann's plain parser reads from the same text, within the
// depth limit; what the plain parser reads within the limit is refused only for a repeated key
// or a leading byte order mark (which the plain parser skips);
// an accepted value dumps to text that is accepted again as the same value; and an error about
// valid UTF-8 text is valid UTF-8 (it is quoted back to the peer).

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/strict_json.hpp"
#include "protocol/validate.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using nlohmann::json;

// Levels of containers: 0 for a scalar, 1 for [] or {}, 2 for [[]], ...
int nesting(const json& j) {
    if (!j.is_structured()) return 0;
    int deepest = 0;
    for (const auto& item : j) deepest = std::max(deepest, nesting(item));
    return 1 + deepest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const int max_depth = 1 + data[0] % 20;
    const auto text = confab::fuzz::as_text(data + 1, size - 1);
    // The callers check UTF-8 before they parse (parse_message, parse_file_message), so only
    // such text is held to the promise about errors.
    const bool valid_utf8 = confab::protocol::is_valid_utf8(text);

    std::string error;
    const auto strict = confab::protocol::parse_strict_json(text, max_depth, error);

    // The plain parser recurses without limit: keep it away from nesting that could exhaust
    // the stack under the sanitizers (the depth limit exists for this reason).
    json plain = json::value_t::discarded;
    if (text.size() < 10'000) {
        try {
            plain = json::parse(text, nullptr, false);
        } catch (const json::exception&) {
            plain = json::value_t::discarded;
        }
    }

    const bool bom = text.starts_with("\xef\xbb\xbf");
    if (strict) {
        FUZZ_CHECK(error.empty());
        FUZZ_CHECK(!bom);
        FUZZ_CHECK(nesting(*strict) <= max_depth);
        if (text.size() < 10'000) FUZZ_CHECK(!plain.is_discarded() && plain == *strict);
        std::string again_error;
        const auto again =
            confab::protocol::parse_strict_json(strict->dump(), max_depth, again_error);
        FUZZ_CHECK(again && *again == *strict);
        return 0;
    }

    FUZZ_CHECK(!error.empty());
    if (valid_utf8) FUZZ_CHECK(confab::protocol::is_valid_utf8(error));
    if (!plain.is_discarded() && nesting(plain) <= max_depth) {
        // A repeated key, or nesting too deep under a key that a later copy replaced (the
        // plain parser keeps the last copy), or a byte order mark.
        FUZZ_CHECK((bom && error.find("byte order mark") != std::string::npos) ||
                   error.find("repeats the key") != std::string::npos ||
                   error.find("deeper than") != std::string::npos);
    }
    return 0;
}

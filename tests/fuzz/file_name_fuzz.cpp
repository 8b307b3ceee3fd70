// Fuzzes core::sanitize_file_name with a name as a sender could offer it. The result is one safe
// file name for the downloads folder: not empty, not "." or "..", no separator, no NUL, no
// control, bidi or line-break character, not hidden (no leading '.'), no leading or trailing
// space or dot, valid UTF-8, at most max_file_name_bytes; sanitising it again changes nothing;
// and a name that was cut keeps its extension.

#include <algorithm>
#include <string>
#include <string_view>

#include "core/file_name.hpp"
#include "protocol/validate.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

// The code point at s[pos], advancing pos; s is valid UTF-8.
char32_t next_code_point(const std::string& s, std::size_t& pos) {
    const auto lead = static_cast<unsigned char>(s[pos]);
    const std::size_t length = lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
    char32_t cp = length == 1 ? lead : lead & (0x7f >> length);
    for (std::size_t i = 1; i < length; ++i) {
        cp = (cp << 6) | (static_cast<unsigned char>(s[pos + i]) & 0x3f);
    }
    pos += length;
    return cp;
}

bool is_forbidden(char32_t cp) {
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
           cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
           cp == 0x2028 || cp == 0x2029;
}

// The ".ext" that the sanitised name must end with: the last component's extension of up to 15
// letters and digits, when something other than dots and spaces stands before it. Empty when
// there is no such extension.
std::string kept_extension(std::string_view wire_name) {
    while (!wire_name.empty() && (wire_name.back() == '/' || wire_name.back() == '\\')) {
        wire_name.remove_suffix(1);
    }
    if (const auto cut = wire_name.find_last_of("/\\"); cut != std::string_view::npos) {
        wire_name.remove_prefix(cut + 1);
    }
    const auto dot = wire_name.rfind('.');
    if (dot == std::string_view::npos) return {};
    const auto extension = wire_name.substr(dot + 1);
    const auto is_alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    if (extension.empty() || extension.size() > confab::core::max_kept_extension_bytes - 1 ||
        !std::all_of(extension.begin(), extension.end(), is_alnum)) {
        return {};
    }
    const auto stem = wire_name.substr(0, dot);
    if (stem.find_first_not_of(". ") == std::string_view::npos) return {};
    return "." + std::string(extension);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto wire_name = confab::fuzz::as_text(data, size);
    const std::string name = confab::core::sanitize_file_name(wire_name);

    FUZZ_CHECK(!name.empty());
    FUZZ_CHECK(name.size() <= confab::core::max_file_name_bytes);
    FUZZ_CHECK(name != "." && name != "..");
    FUZZ_CHECK(name.front() != '.' && name.front() != ' ');
    FUZZ_CHECK(name.back() != '.' && name.back() != ' ');
    FUZZ_CHECK(name.find_first_of(std::string("/\\\0", 3)) == std::string::npos);
    FUZZ_CHECK(confab::protocol::is_valid_utf8(name));
    for (std::size_t pos = 0; pos < name.size();) {
        FUZZ_CHECK(!is_forbidden(next_code_point(name, pos)));
    }

    FUZZ_CHECK(confab::core::sanitize_file_name(name) == name);
    FUZZ_CHECK(name.ends_with(kept_extension(wire_name)));
    return 0;
}

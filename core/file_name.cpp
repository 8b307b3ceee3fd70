#include "core/file_name.hpp"

#include <cstdint>
#include <stdexcept>
#include <system_error>

namespace confab::core {

namespace {

bool is_separator(char c) {
    return c == '/' || c == '\\';
}
bool is_strippable(char c) {
    return c == '.' || c == ' ';
}
bool is_continuation(unsigned char c) {
    return (c & 0xc0) == 0x80;
}

// Characters that are valid UTF-8 yet must not reach a file name: they break the terminal
// that shows the name, or make it lie about itself ("gpj.exe" shown as "exe.jpg").
bool is_forbidden(char32_t cp) {
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)  // C0, DEL, C1
           || cp == 0x061c || cp == 0x200e || cp == 0x200f        // bidi marks
           || (cp >= 0x202a && cp <= 0x202e)                      // bidi embeddings
           || (cp >= 0x2066 && cp <= 0x2069)                      // bidi isolates
           || cp == 0x2028 || cp == 0x2029;                       // line breaks
}

// Length of the well-formed UTF-8 sequence at the start of `s` (Unicode table 3-7: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, char32_t& cp) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    unsigned char b0 = byte(0);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        length = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        length = 3;
        if (b0 == 0xe0) low = 0xa0;
        if (b0 == 0xed) high = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        length = 4;
        if (b0 == 0xf0) low = 0x90;
        if (b0 == 0xf4) high = 0x8f;
    } else {
        return 0;
    }
    if (s.size() < length) return 0;
    if (byte(1) < low || byte(1) > high) return 0;
    for (std::size_t i = 2; i < length; ++i) {
        if (!is_continuation(byte(i))) return 0;
    }
    cp = b0 & (0xff >> (length + 1));
    for (std::size_t i = 1; i < length; ++i) cp = (cp << 6) | (byte(i) & 0x3f);
    return length;
}

std::string_view last_component(std::string_view name) {
    // '/' and '\\' never occur inside a multi-byte UTF-8 sequence, so bytes can be split on.
    while (!name.empty() && is_separator(name.back())) name.remove_suffix(1);
    std::size_t cut = name.find_last_of("/\\");
    return cut == std::string_view::npos ? name : name.substr(cut + 1);
}

std::string replace_unsafe(std::string_view name) {
    std::string out;
    out.reserve(name.size());
    while (!name.empty()) {
        char32_t cp = 0;
        std::size_t length = utf8_sequence(name, cp);
        if (length == 0) {
            out.push_back('_');
            name.remove_prefix(1);
            continue;
        }
        if (is_forbidden(cp)) {
            out.push_back('_');
        } else {
            out.append(name.substr(0, length));
        }
        name.remove_prefix(length);
    }
    return out;
}

std::string_view strip(std::string_view s) {
    while (!s.empty() && is_strippable(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_strippable(s.back())) s.remove_suffix(1);
    return s;
}

std::string_view strip_back(std::string_view s) {
    while (!s.empty() && is_strippable(s.back())) s.remove_suffix(1);
    return s;
}

// The longest prefix of valid UTF-8 `s` of at most `limit` bytes that ends on a character
// boundary.
std::string_view cut_utf8(std::string_view s, std::size_t limit) {
    if (s.size() <= limit) return s;
    std::size_t end = limit;
    while (end > 0 && is_continuation(static_cast<unsigned char>(s[end]))) --end;
    return s.substr(0, end);
}

// Position of the dot that starts NAME's extension, or npos: a leading dot makes a hidden
// file, not an extension.
std::size_t extension_start(std::string_view name) {
    std::size_t dot = name.rfind('.');
    return dot == 0 ? std::string_view::npos : dot;
}

std::string shorten(std::string_view name) {
    if (name.size() <= max_file_name_bytes) return std::string(name);
    std::size_t dot = extension_start(name);
    if (dot != std::string_view::npos && name.size() - dot <= max_kept_extension_bytes) {
        std::string_view extension = name.substr(dot);
        std::string_view stem =
            strip_back(cut_utf8(name.substr(0, dot), max_file_name_bytes - extension.size()));
        if (!stem.empty()) return std::string(stem) + std::string(extension);
    }
    return std::string(strip_back(cut_utf8(name, max_file_name_bytes)));
}

bool is_free(const std::filesystem::path& path) {
    std::error_code ec;
    // symlink_status: a dangling symlink is taken too, and is never followed.
    return std::filesystem::symlink_status(path, ec).type() ==
           std::filesystem::file_type::not_found;
}

}  // namespace

std::string sanitize_file_name(std::string_view wire_name) {
    std::string replaced = replace_unsafe(last_component(wire_name));
    std::string name = shorten(strip(replaced));
    return name.empty() ? "file" : name;
}

std::filesystem::path unique_destination(const std::filesystem::path& dir,
                                         const std::string& name) {
    std::filesystem::path plain = dir / name;
    if (is_free(plain)) return plain;
    std::size_t dot = extension_start(name);
    std::string stem = name.substr(0, dot);
    std::string extension = dot == std::string::npos ? "" : name.substr(dot);
    for (int n = 1; n <= 10'000; ++n) {
        std::filesystem::path candidate = dir / (stem + " (" + std::to_string(n) + ")" + extension);
        if (is_free(candidate)) return candidate;
    }
    throw std::runtime_error("no free name for " + name + " in " + dir.string());
}

}  // namespace confab::core

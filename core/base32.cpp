#include "core/base32.hpp"

namespace confab::core {

namespace {

constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";

// Value of one base32 character, or -1; upper case is accepted so that an id copied from a
// shouting source still works.
int char_value(char c) {
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= '2' && c <= '7') return c - '2' + 26;
    return -1;
}

}  // namespace

std::string base32_encode(std::span<const std::uint8_t> bytes) {
    std::string out;
    out.reserve((bytes.size() * 8 + 4) / 5);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (std::uint8_t b : bytes) {
        buffer = (buffer << 8) | b;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out.push_back(alphabet[(buffer >> bits) & 0x1f]);
        }
    }
    if (bits > 0) out.push_back(alphabet[(buffer << (5 - bits)) & 0x1f]);
    return out;
}

std::optional<std::vector<std::uint8_t>> base32_decode(std::string_view text) {
    // Unpadded lengths mod 8 of 1, 3 and 6 cannot come from any byte string.
    switch (text.size() % 8) {
        case 1:
        case 3:
        case 6:
            return std::nullopt;
        default:
            break;
    }
    std::vector<std::uint8_t> out;
    out.reserve(text.size() * 5 / 8);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        int v = char_value(c);
        if (v < 0) return std::nullopt;
        buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>(buffer >> bits));
        }
    }
    // Leftover bits must be zero, or two spellings would decode to the same bytes.
    if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

}  // namespace confab::core

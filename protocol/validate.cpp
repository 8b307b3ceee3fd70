#include "protocol/validate.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace confab::protocol {
namespace {

// Decodes the code point starting at s[pos] and advances pos past it, or returns nullopt when
// the bytes there are not well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing
// above U+10FFFF, no truncated sequences).
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& pos) {
    const auto lead = static_cast<unsigned char>(s[pos]);
    if (lead < 0x80) {
        ++pos;
        return lead;
    }
    std::size_t length;
    char32_t cp;
    char32_t min;
    if ((lead & 0xe0) == 0xc0) {
        length = 2;
        cp = lead & 0x1f;
        min = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
        length = 3;
        cp = lead & 0x0f;
        min = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
        length = 4;
        cp = lead & 0x07;
        min = 0x10000;
    } else {
        return std::nullopt;  // a continuation byte or 0xf8..0xff cannot start a sequence
    }
    if (s.size() - pos < length) return std::nullopt;
    for (std::size_t i = 1; i < length; ++i) {
        const auto c = static_cast<unsigned char>(s[pos + i]);
        if ((c & 0xc0) != 0x80) return std::nullopt;
        cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
    pos += length;
    return cp;
}

bool is_ascii_space(char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

// C0, DEL and C1: C1 matters because a terminal may act on U+009B as an escape (CSI).
bool is_control(char32_t cp) {
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

// Shared by nick and room: both are shown inline and typed as command arguments, so they
// must be one visible word.
std::string check_word(std::string_view what, std::string_view value, std::size_t max_bytes) {
    if (value.empty() || value.size() > max_bytes) {
        return std::string(what) + " must be 1 to " + std::to_string(max_bytes) + " bytes (got " +
               std::to_string(value.size()) + ")";
    }
    std::size_t pos = 0;
    while (pos < value.size()) {
        const auto cp = next_code_point(value, pos);
        if (!cp) return std::string(what) + " is not valid UTF-8";
        if (*cp == ' ' || is_control(*cp)) {
            return std::string(what) + " must not contain spaces or control characters";
        }
    }
    return {};
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
    std::size_t pos = 0;
    while (pos < s.size()) {
        if (!next_code_point(s, pos)) return false;
    }
    return true;
}

std::string check_nick(std::string_view nick) {
    return check_word("nick", nick, max_nick_bytes);
}

std::string check_room(std::string_view room) {
    return check_word("room", room, max_room_bytes);
}

std::string check_body(std::string_view body) {
    if (body.empty()) return "message is empty";
    if (body.size() > max_body_bytes) {
        return "message is " + std::to_string(body.size()) + " bytes; the limit is " +
               std::to_string(max_body_bytes) + " bytes";
    }
    if (!is_valid_utf8(body)) return "message is not valid UTF-8";
    if (body.find('\0') != std::string_view::npos) return "message must not contain NUL bytes";
    if (std::all_of(body.begin(), body.end(), is_ascii_space)) return "message is only whitespace";
    return {};
}

std::string check_peer_id(std::string_view id) {
    if (id.size() != peer_id_length) {
        return "peer id must be " + std::to_string(peer_id_length) + " characters (got " +
               std::to_string(id.size()) + ")";
    }
    const auto is_base32 = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); };
    if (!std::all_of(id.begin(), id.end(), is_base32)) {
        return "peer id must contain only the characters a-z and 2-7";
    }
    // 32 bytes fill 256 of the 260 bits: the last character carries one bit and four zero
    // bits, so only "a" (0) and "q" (16) are canonical. Anything else would be a second
    // spelling of the same key, which would defeat duplicate and self-connection checks.
    if (id.back() != 'a' && id.back() != 'q') {
        return "peer id is not the canonical spelling of a key (it must end in a or q)";
    }
    return {};
}

std::string check_signature(std::string_view sig) {
    if (sig.size() != signature_hex_length) {
        return "signature must be " + std::to_string(signature_hex_length) + " hex digits (got " +
               std::to_string(sig.size()) + ")";
    }
    if (!is_lower_hex(sig)) {
        return "signature must contain only the characters 0-9 and a-f";
    }
    return {};
}

bool is_lower_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string check_room_id(std::string_view id) {
    if (id.size() != 32 || !is_lower_hex(id)) return "must be 32 lowercase hex digits";
    return {};
}

std::string check_room_proof_text(std::string_view proof) {
    if (proof.empty()) return {};
    if (proof.size() != 64 || !is_lower_hex(proof)) {
        return "must be empty or 64 lowercase hex digits";
    }
    return {};
}

}  // namespace confab::protocol

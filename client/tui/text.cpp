#include "client/tui/text.hpp"

#include <wchar.h>

#include <algorithm>
#include <cstdio>

namespace confab::client::tui {

namespace {

bool is_continuation(unsigned char b) {
    return (b & 0xC0) == 0x80;
}

// A code point that attaches to the one before it: it takes no cell of its own. NUL also has
// wcwidth 0 but is a control, not a mark, so it stays a unit by itself.
bool is_follower(const decoded& d) {
    return d.valid && d.cp >= 0x20 && ::wcwidth(d.cp) == 0;
}

bool is_bidi_control(char32_t cp) {
    return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

void append_code(std::string& out, char32_t cp) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "<U+%04X>", static_cast<unsigned>(cp));
    out += buf;
}

// The start of the code point that ends at `pos`, as a forward decode from 0 would find it.
// A lead byte always starts a code point going forwards (only continuation bytes are ever
// swallowed), so the nearest lead byte behind `pos` decides.
std::size_t prev_code_point(std::string_view s, std::size_t pos) {
    std::size_t q = pos - 1;
    std::size_t lowest = pos >= 4 ? pos - 4 : 0;
    while (q > lowest && is_continuation(static_cast<unsigned char>(s[q]))) --q;
    if (q != pos - 1) {
        auto d = decode_utf8(s, q);
        // At or past `pos`: a caller that pointed inside a code point gets its start.
        if (d.valid && q + d.length >= pos) return q;
    }
    return pos - 1;  // an ASCII byte or an invalid one, which decodes alone
}

bool is_space_unit(std::string_view s, std::size_t begin, std::size_t end) {
    return end == begin + 1 && s[begin] == ' ';
}

}  // namespace

decoded decode_utf8(std::string_view s, std::size_t pos) {
    if (pos >= s.size()) return {0, 1, false};
    auto b0 = static_cast<unsigned char>(s[pos]);
    if (b0 < 0x80) return {b0, 1, true};

    std::size_t length;
    char32_t cp;
    // The smallest second byte allowed rejects overlong forms (E0, F0) and the largest rejects
    // surrogates (ED) and code points past U+10FFFF (F4), as RFC 3629 prescribes.
    unsigned char lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        length = 2;
        cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        length = 3;
        cp = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        length = 4;
        cp = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        return {b0, 1, false};
    }
    if (pos + length > s.size()) return {b0, 1, false};
    for (std::size_t i = 1; i < length; ++i) {
        auto b = static_cast<unsigned char>(s[pos + i]);
        if (i == 1 ? (b < lo || b > hi) : !is_continuation(b)) return {b0, 1, false};
        cp = (cp << 6) | (b & 0x3F);
    }
    return {cp, length, true};
}

void append_utf8(std::string& out, char32_t cp) {
    // Surrogates and values past U+10FFFF have no UTF-8 form.
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = 0xFFFD;
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::string escape_for_display(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
        auto d = decode_utf8(text, pos);
        if (!d.valid) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned>(d.cp));
            out += buf;
        } else if (d.cp == '\t') {
            out += ' ';
        } else if (d.cp < 0x20) {
            out += '^';
            out += static_cast<char>(d.cp + 0x40);
        } else if (d.cp == 0x7F) {
            out += "^?";
        } else if ((d.cp >= 0x80 && d.cp <= 0x9F) || is_bidi_control(d.cp) || d.cp == 0x2028 ||
                   d.cp == 0x2029) {
            // U+2028/U+2029 are line and paragraph separators: some terminals break the line.
            append_code(out, d.cp);
        } else {
            out.append(text.substr(pos, d.length));
        }
        pos += d.length;
    }
    return out;
}

int cell_width(char32_t cp) {
    int w = ::wcwidth(static_cast<wchar_t>(cp));
    return w < 0 ? 1 : w;
}

int display_width(std::string_view text) {
    int width = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        auto d = decode_utf8(text, pos);
        width += d.valid ? cell_width(d.cp) : 1;
        pos += d.length;
    }
    return width;
}

std::size_t next_boundary(std::string_view s, std::size_t pos) {
    if (pos >= s.size()) return s.size();
    pos += decode_utf8(s, pos).length;
    while (pos < s.size()) {
        auto d = decode_utf8(s, pos);
        if (!is_follower(d)) break;
        pos += d.length;
    }
    return pos;
}

std::size_t prev_boundary(std::string_view s, std::size_t pos) {
    pos = std::min(pos, s.size());
    if (pos == 0) return 0;
    // Back to a code point that starts a unit (one that is no follower, or the very first),
    // then forwards, so that both directions agree on where units are.
    std::size_t start = prev_code_point(s, pos);
    while (start > 0 && is_follower(decode_utf8(s, start))) start = prev_code_point(s, start);
    for (;;) {
        std::size_t next = next_boundary(s, start);
        if (next >= pos) return start;
        start = next;
    }
}

std::size_t next_word_end(std::string_view s, std::size_t pos) {
    pos = std::min(pos, s.size());
    bool in_word = false;
    while (pos < s.size()) {
        std::size_t next = next_boundary(s, pos);
        bool space = is_space_unit(s, pos, next);
        if (space && in_word) break;
        in_word = in_word || !space;
        pos = next;
    }
    return pos;
}

std::size_t prev_word_start(std::string_view s, std::size_t pos) {
    pos = std::min(pos, s.size());
    while (pos > 0 && s[pos - 1] == ' ') --pos;
    while (pos > 0) {
        std::size_t prev = prev_boundary(s, pos);
        if (is_space_unit(s, prev, pos)) break;
        pos = prev;
    }
    return pos;
}

std::vector<std::string> wrap(std::string_view text, int first_width, int rest_width) {
    first_width = std::max(first_width, 1);
    rest_width = std::max(rest_width, 1);

    std::vector<std::string> rows;
    std::size_t row_start = 0;
    int row_width = 0;
    // The last run of spaces in the current row, [run_begin, run_end), if `has_run`. It is a
    // place to break only when the row has something before it.
    bool has_run = false;
    std::size_t run_begin = 0, run_end = 0;

    auto emit = [&](std::size_t end) {
        rows.emplace_back(text.substr(row_start, end - row_start));
        row_width = 0;
        has_run = false;
    };

    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t next = next_boundary(text, pos);
        int width = display_width(text.substr(pos, next - pos));
        bool space = is_space_unit(text, pos, next);
        int limit = rows.empty() ? first_width : rest_width;

        // A unit too wide for any row still goes in, alone, so that the loop always advances.
        if (row_width + width <= limit || pos == row_start) {
            row_width += width;
            if (space) {
                if (!has_run || run_end != pos) run_begin = pos;
                has_run = true;
                run_end = next;
            }
            pos = next;
            continue;
        }
        bool trailing_run = has_run && run_end == pos;
        if (space) {
            emit(trailing_run ? run_begin : pos);
            // By units: a space carrying a combining mark is drawn, so it is kept.
            while (pos < text.size()) {
                std::size_t after = next_boundary(text, pos);
                if (!is_space_unit(text, pos, after)) break;
                pos = after;
            }
            row_start = pos;
        } else if (has_run && run_begin > row_start) {
            // The word being built moves to the next row whole. It is scanned again there:
            // the next row may be narrower than this one. It has no spaces, so no unit is
            // scanned more than twice and wrap stays linear.
            std::size_t resume = run_end;
            emit(run_begin);
            row_start = pos = resume;
        } else {
            // Mid-word, or after spaces that began the text and no word yet (still a break
            // at spaces, so they go).
            emit(trailing_run ? run_begin : pos);
            row_start = pos;
        }
    }
    if (row_start < text.size() || rows.empty()) emit(text.size());
    return rows;
}

std::string truncate_to_width(std::string_view text, int width) {
    int used = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t next = next_boundary(text, pos);
        int w = display_width(text.substr(pos, next - pos));
        if (used + w > width) break;
        used += w;
        pos = next;
    }
    return std::string(text.substr(0, pos));
}

int nick_colour(std::string_view peer_id, int palette_size) {
    if (palette_size <= 0) return 0;
    std::uint32_t hash = 2166136261u;
    for (char c : peer_id) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 16777619u;
    }
    return static_cast<int>(hash % static_cast<std::uint32_t>(palette_size));
}

}  // namespace confab::client::tui

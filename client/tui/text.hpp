#pragma once
// Text as the terminal shows it: UTF-8 decoding, cell widths (wcwidth), escaping of anything
// that could move the cursor or reorder text, word wrapping, and the boundaries the input
// line moves over. Pure; any thread. Widths need an UTF-8 LC_CTYPE (the TUI sets it at
// start-up; tests set C.UTF-8).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace confab::client::tui {

// Decodes the code point starting at `pos`. Invalid or truncated sequences decode as one
// byte each with `valid == false` (and `cp` holding that byte); overlong forms, surrogates and
// values past U+10FFFF are invalid too. At or past the end: {0, 1, false}.
struct decoded {
    char32_t cp = 0;
    std::size_t length = 1;  // bytes consumed, >= 1
    bool valid = true;
};
decoded decode_utf8(std::string_view s, std::size_t pos);
void append_utf8(std::string& out, char32_t cp);  // a surrogate or > U+10FFFF writes U+FFFD

// Text from the network made safe to draw: every C0 control (but tab), DEL and C1 control
// becomes caret or <U+XXXX> notation (ESC -> "^[", DEL -> "^?", U+009B -> "<U+009B>"), every
// bidi control (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) and the line and
// paragraph separators U+2028/U+2029 become <U+XXXX>, an invalid byte becomes "\xNN", and a
// tab becomes one space. Hex digits are upper case. The result contains only printable code
// points, so drawing it cannot move the cursor or inject escape sequences; escaping it again
// changes nothing. Text that already reads "^[" or "\x9B" is not marked as different.
std::string escape_for_display(std::string_view text);

// Cells a code point takes: wcwidth(), with -1 (unprintable or unassigned) counted as 1.
int cell_width(char32_t cp);
// Cells a string (already escaped) takes; an invalid byte counts as 1.
int display_width(std::string_view text);

// Grapheme-ish boundaries for editing: a base code point plus the zero-width code points
// that follow it (combining accents, variation selectors, ZWJ) move and delete as one. A
// follower is a valid non-control code point whose wcwidth is 0; a base is anything else,
// including an invalid byte, or a follower with nothing before it. ZWJ sequences are not
// joined: the emoji after a ZWJ starts a unit, as it takes its own cells in wcwidth's count.
// prev_boundary from inside a unit returns that unit's start.
std::size_t next_boundary(std::string_view s, std::size_t pos);  // s.size() at the end
std::size_t prev_boundary(std::string_view s, std::size_t pos);  // 0 at the start

// Word boundaries for Alt-B/Alt-F and Ctrl-W: a word is a run of non-space code points. Only
// U+0020 is a space, and only as a unit of its own (a space carrying a combining mark is
// drawn, so it is part of a word). Both skip spaces first, then the word.
std::size_t next_word_end(std::string_view s, std::size_t pos);
std::size_t prev_word_start(std::string_view s, std::size_t pos);

// Splits escaped text into rows: the first at most `first_width` cells, the others at most
// `rest_width` (the caller indents continuation rows). Breaks after a space when the row has
// one, else mid-word; never splits a code point or a boundary unit, never lets a wide
// character straddle the edge. Spaces at a break are dropped, so no row but the first starts
// with a space and no row but the last ends with one; spaces at the start or end of the text
// stay unless a break falls in them (then the first row may be empty). Always at least one
// row (possibly empty). Widths below 1 are treated as 1; a unit wider than the row gets a row
// of its own. Linear in the text's length.
std::vector<std::string> wrap(std::string_view text, int first_width, int rest_width);

// Cuts escaped text to at most `width` cells, never splitting a unit.
std::string truncate_to_width(std::string_view text, int width);

// A stable colour index in [0, palette_size) from a peer id: the same peer gets the same
// colour on every run and every machine (FNV-1a, not std::hash).
int nick_colour(std::string_view peer_id, int palette_size);

}  // namespace confab::client::tui

#include "client/tui/text.hpp"

#include <algorithm>
#include <clocale>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

using namespace confab::client::tui;
using namespace std::string_literals;
using rows_t = std::vector<std::string>;

namespace {

// wcwidth needs an UTF-8 LC_CTYPE; set it before any test runs, as the TUI does at start-up.
const bool utf8_locale = std::setlocale(LC_CTYPE, "C.UTF-8") != nullptr;

// Sample characters, spelled as bytes so the source says exactly what is tested.
const std::string e_acute = "\xC3\xA9";        // U+00E9, one cell
const std::string zhong = "\xE4\xB8\xAD";      // U+4E2D, two cells
const std::string wen = "\xE6\x96\x87";        // U+6587, two cells
const std::string grin = "\xF0\x9F\x98\x80";   // U+1F600, two cells
const std::string acute = "\xCC\x81";          // U+0301 combining acute, zero cells
const std::string circumflex = "\xCC\x82";     // U+0302 combining circumflex
const std::string zwj = "\xE2\x80\x8D";        // U+200D zero width joiner
const std::string vs16 = "\xEF\xB8\x8F";       // U+FE0F variation selector 16
const std::string heart = "\xE2\x9D\xA4";      // U+2764, one cell
const std::string man = "\xF0\x9F\x91\xA8";    // U+1F468, two cells
const std::string woman = "\xF0\x9F\x91\xA9";  // U+1F469, two cells

std::string utf8(char32_t cp) {
    std::string s;
    append_utf8(s, cp);
    return s;
}

// Every unit boundary of `s`, walking forwards from 0.
std::vector<std::size_t> boundaries(std::string_view s) {
    std::vector<std::size_t> out{0};
    for (std::size_t pos = 0; pos < s.size();) {
        pos = next_boundary(s, pos);
        out.push_back(pos);
    }
    return out;
}

bool is_single_unit(std::string_view s) {
    return !s.empty() && next_boundary(s, 0) == s.size();
}

// Whether a plain space, one that wrap may drop, starts at `pos`.
bool space_at(std::string_view s, std::size_t pos) {
    return pos < s.size() && s[pos] == ' ' && next_boundary(s, pos) == pos + 1;
}

std::size_t skip_spaces(std::string_view s, std::size_t pos) {
    while (space_at(s, pos)) ++pos;
    return pos;
}

// Random text made of the pieces wrap has to care about: words, runs of spaces, wide and
// combined characters, zero-width joiners.
std::string random_text(std::mt19937& rng) {
    // clang-format off
    static const std::vector<std::string> pieces{
        "a", "b", "xyz", " ", " ", "  ", e_acute, zhong, wen, grin, acute, circumflex, zwj,
        vs16, heart, man + zwj + woman, "e" + acute, "^[", "<U+202E>", "\\x9B",
    };
    // clang-format on
    std::uniform_int_distribution<std::size_t> length(0, 40);
    std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
    std::string s;
    for (std::size_t n = length(rng); n > 0; --n) s += pieces[pick(rng)];
    return s;
}

std::string random_bytes(std::mt19937& rng) {
    std::uniform_int_distribution<std::size_t> length(0, 40);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string s;
    for (std::size_t n = length(rng); n > 0; --n) s += static_cast<char>(byte(rng));
    return s;
}

// Checks every promise wrap() makes, for one input.
void check_wrap(const std::string& text, int first_width, int rest_width) {
    INFO("text: \"" << escape_for_display(text) << "\" widths " << first_width << "/"
                    << rest_width);
    auto rows = wrap(text, first_width, rest_width);
    REQUIRE(!rows.empty());

    auto cuts = boundaries(text);
    auto is_cut = [&](std::size_t pos) {
        return std::binary_search(cuts.begin(), cuts.end(), pos);
    };

    std::size_t pos = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& row = rows[i];
        INFO("row " << i << ": \"" << row << "\"");
        int limit = std::max(1, i == 0 ? first_width : rest_width);
        // Spaces dropped at the break before this row.
        if (i > 0) {
            pos = skip_spaces(text, pos);
            CHECK_FALSE(space_at(row, 0));
        }
        REQUIRE(text.compare(pos, row.size(), row) == 0);
        CHECK(is_cut(pos));
        CHECK(is_cut(pos + row.size()));
        CHECK((display_width(row) <= limit || is_single_unit(row)));
        pos += row.size();
        if (i + 1 < rows.size()) {
            CHECK((row.empty() || row.back() != ' '));
            // A break with no spaces is a hard one; it must be because the next unit did not
            // fit, never early.
            bool hard = pos < text.size() && !space_at(text, pos) && !row.empty();
            if (hard) {
                auto next = next_boundary(text, pos);
                CHECK(display_width(row) + display_width(text.substr(pos, next - pos)) > limit);
            }
        }
    }
    // Only spaces dropped at the last break may remain.
    CHECK(skip_spaces(text, pos) == text.size());
}

}  // namespace

TEST_CASE("the tests run under an UTF-8 locale", "[text]") {
    REQUIRE(utf8_locale);
    REQUIRE(cell_width(U'\u4E2D') == 2);
}

TEST_CASE("decode_utf8 decodes each length", "[text]") {
    auto a = decode_utf8("a", 0);
    CHECK(a.cp == U'a');
    CHECK(a.length == 1);
    CHECK(a.valid);

    auto two = decode_utf8(e_acute, 0);
    CHECK(two.cp == 0xE9);
    CHECK(two.length == 2);
    CHECK(two.valid);

    auto three = decode_utf8(zhong, 0);
    CHECK(three.cp == 0x4E2D);
    CHECK(three.length == 3);

    auto four = decode_utf8(grin, 0);
    CHECK(four.cp == 0x1F600);
    CHECK(four.length == 4);

    auto at = decode_utf8("x" + zhong + "y", 1);
    CHECK(at.cp == 0x4E2D);
    CHECK(at.length == 3);

    auto nul = decode_utf8("\0"s, 0);
    CHECK(nul.cp == 0);
    CHECK(nul.valid);
}

TEST_CASE("decode_utf8 takes one byte of anything invalid", "[text]") {
    auto invalid_at_0 = [](const std::string& s) {
        auto d = decode_utf8(s, 0);
        INFO("bytes: " << escape_for_display(s));
        CHECK_FALSE(d.valid);
        CHECK(d.length == 1);
        CHECK(d.cp == static_cast<unsigned char>(s[0]));
    };
    invalid_at_0("\x80");  // a lone continuation byte
    invalid_at_0("\xBF");
    invalid_at_0("\xFF");              // never in UTF-8
    invalid_at_0("\xF5\x80\x80\x80");  // would be past U+10FFFF
    invalid_at_0("\xC0\xAF");          // overlong '/'
    invalid_at_0("\xC1\xBF");          // overlong
    invalid_at_0("\xE0\x80\xAF");      // overlong '/'
    invalid_at_0("\xF0\x80\x80\xAF");  // overlong '/'
    invalid_at_0("\xED\xA0\x80");      // a surrogate, U+D800
    invalid_at_0("\xF4\x90\x80\x80");  // U+110000
    invalid_at_0("\xE4\xB8");          // truncated at the end
    invalid_at_0("\xE4\xB8x");         // truncated by an ASCII byte
    invalid_at_0("\xC3\xC3\xA9");      // a lead byte where a continuation belongs

    // The edges that are valid.
    CHECK(decode_utf8("\xED\x9F\xBF", 0).cp == 0xD7FF);
    CHECK(decode_utf8("\xEE\x80\x80", 0).cp == 0xE000);
    CHECK(decode_utf8("\xF4\x8F\xBF\xBF", 0).cp == 0x10FFFF);
    CHECK(decode_utf8("\xE0\xA0\x80", 0).cp == 0x800);
    CHECK(decode_utf8("\xF0\x90\x80\x80", 0).cp == 0x10000);

    // The byte after a truncated sequence is decoded on its own.
    auto after = decode_utf8("\xE4\xB8x", 2);
    CHECK(after.cp == U'x');
    CHECK(after.valid);
}

TEST_CASE("decode_utf8 past the end consumes one byte, invalid", "[text]") {
    auto d = decode_utf8("ab", 2);
    CHECK_FALSE(d.valid);
    CHECK(d.length == 1);
}

TEST_CASE("append_utf8 and decode_utf8 round-trip every code point", "[text]") {
    for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        auto s = utf8(cp);
        auto d = decode_utf8(s, 0);
        if (!d.valid || d.cp != cp || d.length != s.size()) {
            FAIL("code point " << static_cast<unsigned>(cp) << " does not round-trip");
        }
    }
    CHECK(utf8(0x7F).size() == 1);
    CHECK(utf8(0x80).size() == 2);
    CHECK(utf8(0x7FF).size() == 2);
    CHECK(utf8(0x800).size() == 3);
    CHECK(utf8(0xFFFF).size() == 3);
    CHECK(utf8(0x10000).size() == 4);
}

TEST_CASE("append_utf8 writes U+FFFD for what UTF-8 cannot hold", "[text]") {
    const std::string replacement = "\xEF\xBF\xBD";
    CHECK(utf8(0xD800) == replacement);
    CHECK(utf8(0xDFFF) == replacement);
    CHECK(utf8(0x110000) == replacement);
    CHECK(utf8(0xFFFFFFFF) == replacement);

    std::string appended = "x";
    append_utf8(appended, 0x4E2D);
    CHECK(appended == "x" + zhong);
}

TEST_CASE("escape_for_display leaves printable text alone", "[text]") {
    for (const auto& s : {"hello, world"s, ""s, e_acute + zhong + grin, "e" + acute + vs16,
                          man + zwj + woman, "caf" + e_acute + " ^ \\ < > ~"s}) {
        CHECK(escape_for_display(s) == s);
    }
}

TEST_CASE("escape_for_display shows C0 controls and DEL in caret notation", "[text]") {
    CHECK(escape_for_display("\0"s) == "^@");
    CHECK(escape_for_display("\x01") == "^A");
    CHECK(escape_for_display("\x07") == "^G");
    CHECK(escape_for_display("\x08") == "^H");
    CHECK(escape_for_display("a\nb") == "a^Jb");
    CHECK(escape_for_display("a\rb") == "a^Mb");
    CHECK(escape_for_display("\x1b") == "^[");
    CHECK(escape_for_display("\x1c\x1d\x1e\x1f") == "^\\^]^^^_");
    CHECK(escape_for_display("\x7f") == "^?");
    for (int c = 0; c < 0x20; ++c) {
        if (c == '\t') continue;
        std::string expected{'^', static_cast<char>(c + 0x40)};
        CHECK(escape_for_display(std::string(1, static_cast<char>(c))) == expected);
    }
}

TEST_CASE("escape_for_display turns a tab into one space", "[text]") {
    CHECK(escape_for_display("a\tb\t\t") == "a b  ");
}

TEST_CASE("escape_for_display disarms terminal escape sequences", "[text]") {
    CHECK(escape_for_display("\x1b[2J\x1b]0;pwned\x07") == "^[[2J^[]0;pwned^G");
    // CSI as an 8-bit C1 control, encoded in UTF-8 and as a raw byte.
    CHECK(escape_for_display("\xC2\x9B"s + "31m") == "<U+009B>31m");
    CHECK(escape_for_display("\x9B"s + "31m") == "\\x9B31m");
}

TEST_CASE("escape_for_display shows C1 controls as <U+XXXX>", "[text]") {
    CHECK(escape_for_display(utf8(0x80)) == "<U+0080>");
    CHECK(escape_for_display(utf8(0x85)) == "<U+0085>");
    CHECK(escape_for_display(utf8(0x9F)) == "<U+009F>");
    // U+00A0 is the first code point past C1, and printable.
    CHECK(escape_for_display(utf8(0xA0)) == utf8(0xA0));
}

TEST_CASE("escape_for_display shows bidi controls and line separators", "[text]") {
    for (char32_t cp : {0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066,
                        0x2067, 0x2068, 0x2069, 0x2028, 0x2029}) {
        char expected[16];
        std::snprintf(expected, sizeof expected, "<U+%04X>", static_cast<unsigned>(cp));
        CHECK(escape_for_display("a" + utf8(cp) + "b") == "a"s + expected + "b");
    }
    // A "Trojan Source" line: the override cannot reorder what is drawn.
    CHECK(escape_for_display("admin" + utf8(0x202E) + "txt.exe") == "admin<U+202E>txt.exe");
    // Neighbours of the bidi ranges are left alone.
    CHECK(escape_for_display(utf8(0x2027)) == utf8(0x2027));
    CHECK(escape_for_display(utf8(0x202F)) == utf8(0x202F));
    CHECK(escape_for_display(utf8(0x200D)) == zwj);
    CHECK(escape_for_display(utf8(0x2065)) == utf8(0x2065));
}

TEST_CASE("escape_for_display shows invalid bytes as \\xNN in upper case", "[text]") {
    CHECK(escape_for_display("\xff") == "\\xFF");
    CHECK(escape_for_display("a\x80z") == "a\\x80z");
    CHECK(escape_for_display("\xE4\xB8") == "\\xE4\\xB8");
    CHECK(escape_for_display("\xED\xA0\x80") == "\\xED\\xA0\\x80");
    CHECK(escape_for_display("\xC0\xAF") == "\\xC0\\xAF");
}

TEST_CASE("escaped text is printable UTF-8 and escaping it again changes nothing", "[text]") {
    std::mt19937 rng(20240601);
    for (int i = 0; i < 2000; ++i) {
        auto raw = random_bytes(rng);
        auto escaped = escape_for_display(raw);
        INFO("escaped: " << escaped);
        for (std::size_t pos = 0; pos < escaped.size();) {
            auto d = decode_utf8(escaped, pos);
            REQUIRE(d.valid);
            CHECK(d.cp >= 0x20);
            CHECK_FALSE((d.cp >= 0x7F && d.cp <= 0x9F));
            CHECK_FALSE((d.cp >= 0x202A && d.cp <= 0x202E));
            CHECK_FALSE((d.cp >= 0x2066 && d.cp <= 0x2069));
            pos += d.length;
        }
        CHECK(escape_for_display(escaped) == escaped);
    }
}

TEST_CASE("cell_width follows wcwidth", "[text]") {
    CHECK(cell_width(U'a') == 1);
    CHECK(cell_width(0xE9) == 1);
    CHECK(cell_width(0x4E2D) == 2);   // CJK
    CHECK(cell_width(0xFF01) == 2);   // fullwidth '!'
    CHECK(cell_width(0x1F600) == 2);  // emoji
    CHECK(cell_width(0x0301) == 0);   // combining acute
    CHECK(cell_width(0x200D) == 0);   // ZWJ
    CHECK(cell_width(0xFE0F) == 0);   // variation selector
}

TEST_CASE("cell_width counts what wcwidth cannot measure as one cell", "[text]") {
    CHECK(cell_width(0x1B) == 1);
    CHECK(cell_width(0x7F) == 1);
    CHECK(cell_width(0x9B) == 1);
    CHECK(cell_width(0x10FFFF) == 1);  // a noncharacter
}

TEST_CASE("display_width sums the cells", "[text]") {
    CHECK(display_width("") == 0);
    CHECK(display_width("hello") == 5);
    CHECK(display_width("caf" + e_acute) == 4);
    CHECK(display_width(zhong + wen) == 4);
    CHECK(display_width("e" + acute + circumflex) == 1);
    CHECK(display_width(grin + "!") == 3);
    CHECK(display_width(heart + vs16) == 1);
    // Each person of a ZWJ sequence is counted, as wcwidth sees them.
    CHECK(display_width(man + zwj + woman) == 4);
    CHECK(display_width(escape_for_display("\x1b[0m")) == 5);
    // An invalid byte, should one get here unescaped, is one cell.
    CHECK(display_width("\xff"s + "a") == 2);
}

TEST_CASE("next_boundary and prev_boundary step over a code point", "[text]") {
    std::string s = "a" + e_acute + zhong + grin + "z";
    CHECK(next_boundary(s, 0) == 1);
    CHECK(next_boundary(s, 1) == 3);
    CHECK(next_boundary(s, 3) == 6);
    CHECK(next_boundary(s, 6) == 10);
    CHECK(next_boundary(s, 10) == 11);
    CHECK(next_boundary(s, 11) == 11);
    CHECK(next_boundary(s, 99) == 11);

    CHECK(prev_boundary(s, 11) == 10);
    CHECK(prev_boundary(s, 10) == 6);
    CHECK(prev_boundary(s, 6) == 3);
    CHECK(prev_boundary(s, 3) == 1);
    CHECK(prev_boundary(s, 1) == 0);
    CHECK(prev_boundary(s, 0) == 0);
    CHECK(prev_boundary(s, 99) == 10);

    CHECK(next_boundary("", 0) == 0);
    CHECK(prev_boundary("", 0) == 0);
}

TEST_CASE("a base and its zero-width followers are one unit", "[text]") {
    std::string s = "e" + acute + circumflex + "x";  // 1 + 2 + 2 + 1 bytes
    CHECK(next_boundary(s, 0) == 5);
    CHECK(next_boundary(s, 5) == 6);
    CHECK(prev_boundary(s, 6) == 5);
    CHECK(prev_boundary(s, 5) == 0);

    std::string emoji = heart + vs16 + "!";
    CHECK(next_boundary(emoji, 0) == 6);
    CHECK(prev_boundary(emoji, 6) == 0);

    // The joiner follows the first person; the second person, being wide, starts a unit.
    std::string family = man + zwj + woman;
    CHECK(next_boundary(family, 0) == 7);
    CHECK(next_boundary(family, 7) == 11);
    CHECK(prev_boundary(family, 11) == 7);
    CHECK(prev_boundary(family, 7) == 0);
}

TEST_CASE("a zero-width code point with nothing before it is a unit of its own", "[text]") {
    std::string s = acute + circumflex + "a";
    CHECK(next_boundary(s, 0) == 4);
    CHECK(prev_boundary(s, 4) == 0);
    CHECK(prev_boundary(s, 5) == 4);
}

TEST_CASE("controls and invalid bytes are units of their own", "[text]") {
    // NUL has wcwidth 0 but does not combine; an invalid byte is one unit.
    std::string s = "a\0b"s + "\xff" + acute;
    CHECK(next_boundary(s, 0) == 1);
    CHECK(next_boundary(s, 1) == 2);
    CHECK(next_boundary(s, 3) == 6);  // a mark after an invalid byte still follows it
    CHECK(prev_boundary(s, 6) == 3);
    CHECK(prev_boundary(s, 3) == 2);

    // A stray continuation byte after a complete character.
    std::string stray = e_acute + "\xA9";
    CHECK(next_boundary(stray, 0) == 2);
    CHECK(next_boundary(stray, 2) == 3);
    CHECK(prev_boundary(stray, 3) == 2);
    CHECK(prev_boundary(stray, 2) == 0);
}

TEST_CASE("prev_boundary from inside a unit returns the unit's start", "[text]") {
    std::string s = "x" + std::string("e") + acute + circumflex;
    CHECK(prev_boundary(s, 2) == 1);  // at the acute
    CHECK(prev_boundary(s, 4) == 1);  // at the circumflex
    CHECK(prev_boundary(s, 3) == 1);  // inside the acute's bytes
    std::string wide = "x" + zhong;
    CHECK(prev_boundary(wide, 2) == 1);
    CHECK(prev_boundary(wide, 3) == 1);
}

TEST_CASE("next_boundary and prev_boundary agree on random text", "[text]") {
    std::mt19937 rng(7);
    for (int i = 0; i < 1000; ++i) {
        auto s = i % 2 ? random_text(rng) : random_bytes(rng);
        INFO("text: " << escape_for_display(s));
        auto forward = boundaries(s);
        std::vector<std::size_t> backward{s.size()};
        for (std::size_t pos = s.size(); pos > 0;) {
            auto prev = prev_boundary(s, pos);
            REQUIRE(prev < pos);
            pos = prev;
            backward.push_back(pos);
        }
        std::reverse(backward.begin(), backward.end());
        CHECK(forward == backward);
        for (std::size_t b = 0; b + 1 < forward.size(); ++b) {
            // No unit starts with a byte that continues a code point.
            CHECK(decode_utf8(s, forward[b]).length <= forward[b + 1] - forward[b]);
        }
    }
}

TEST_CASE("next_word_end skips spaces, then the word", "[text]") {
    std::string s = "hello  wide world";
    CHECK(next_word_end(s, 0) == 5);
    CHECK(next_word_end(s, 2) == 5);
    CHECK(next_word_end(s, 5) == 11);
    CHECK(next_word_end(s, 6) == 11);
    CHECK(next_word_end(s, 11) == 17);
    CHECK(next_word_end(s, 17) == 17);
    CHECK(next_word_end(s, 99) == 17);
    CHECK(next_word_end("   ", 0) == 3);
    CHECK(next_word_end("", 0) == 0);
}

TEST_CASE("prev_word_start skips spaces, then the word", "[text]") {
    std::string s = "hello  wide world  ";
    CHECK(prev_word_start(s, 19) == 12);
    CHECK(prev_word_start(s, 17) == 12);
    CHECK(prev_word_start(s, 15) == 12);
    CHECK(prev_word_start(s, 13) == 12);
    CHECK(prev_word_start(s, 12) == 7);
    CHECK(prev_word_start(s, 11) == 7);
    CHECK(prev_word_start(s, 7) == 0);
    CHECK(prev_word_start(s, 3) == 0);
    CHECK(prev_word_start(s, 0) == 0);
    CHECK(prev_word_start(s, 99) == 12);
    CHECK(prev_word_start("   ", 3) == 0);
    CHECK(prev_word_start("", 0) == 0);
}

TEST_CASE("word motions move over whole units", "[text]") {
    // Only U+0020 separates words; everything else, wide or combined, is part of one.
    std::string word = zhong + "e" + acute + grin;
    std::string s = "ab " + word + " cd";
    std::size_t word_start = 3, word_end = 3 + word.size();
    CHECK(next_word_end(s, 2) == word_end);
    CHECK(next_word_end(s, word_start + 3) == word_end);
    CHECK(prev_word_start(s, word_end) == word_start);
    CHECK(prev_word_start(s, word_end + 1) == word_start);
    CHECK(prev_word_start(s, word_start + 3) == word_start);

    // A space carrying a combining mark is drawn as a mark, so it belongs to the word.
    std::string marked = "a " + acute + "b c";
    CHECK(next_word_end(marked, 0) == 5);
    CHECK(next_word_end(marked, 5) == 7);
    CHECK(prev_word_start(marked, 5) == 0);
    CHECK(prev_word_start(marked, 7) == 6);
}

TEST_CASE("wrap keeps short text on one row", "[text][wrap]") {
    CHECK(wrap("", 10, 10) == rows_t{""});
    CHECK(wrap("hello world", 20, 20) == rows_t{"hello world"});
    CHECK(wrap("hello world", 11, 5) == rows_t{"hello world"});
}

TEST_CASE("wrap breaks at spaces and drops them", "[text][wrap]") {
    CHECK(wrap("hello world", 5, 5) == rows_t{"hello", "world"});
    CHECK(wrap("hello world", 8, 8) == rows_t{"hello", "world"});
    CHECK(wrap("hello world", 6, 6) == rows_t{"hello", "world"});
    CHECK(wrap("hello   world", 7, 7) == rows_t{"hello", "world"});
    CHECK(wrap("hello   world", 6, 6) == rows_t{"hello", "world"});
    CHECK(wrap("one two three four", 9, 9) == rows_t{"one two", "three", "four"});
    CHECK(wrap("a b c d", 3, 3) == rows_t{"a b", "c d"});
}

TEST_CASE("wrap breaks a word longer than the row", "[text][wrap]") {
    CHECK(wrap("abcdefghij", 4, 4) == rows_t{"abcd", "efgh", "ij"});
    CHECK(wrap("ab abcdefgh", 4, 4) == rows_t{"ab", "abcd", "efgh"});
    CHECK(wrap("abcdef gh", 4, 4) == rows_t{"abcd", "ef", "gh"});
}

TEST_CASE("wrap uses the first width for the first row only", "[text][wrap]") {
    CHECK(wrap("aaa bbb ccc", 7, 3) == rows_t{"aaa bbb", "ccc"});
    CHECK(wrap("aaa bbb ccc", 3, 7) == rows_t{"aaa", "bbb ccc"});
    // The word carried to the second row is wrapped again for that row's narrower width.
    CHECK(wrap("a bcdef", 6, 2) == rows_t{"a", "bc", "de", "f"});
}

TEST_CASE("wrap never lets a wide character straddle the edge", "[text][wrap]") {
    CHECK(wrap(zhong + wen + zhong, 3, 3) == rows_t{zhong, wen, zhong});
    CHECK(wrap(zhong + wen + zhong, 4, 4) == rows_t{zhong + wen, zhong});
    CHECK(wrap("a" + zhong, 2, 2) == rows_t{"a", zhong});
    CHECK(wrap("ab" + grin + "c", 3, 3) == rows_t{"ab", grin + "c"});
}

TEST_CASE("wrap gives a unit wider than the row a row of its own", "[text][wrap]") {
    CHECK(wrap(zhong + wen, 1, 1) == rows_t{zhong, wen});
    CHECK(wrap(grin + "x", 1, 1) == rows_t{grin, "x"});
    CHECK(wrap("x" + grin + "y", 1, 1) == rows_t{"x", grin, "y"});
    CHECK(wrap("ab " + grin + " cd", 1, 1) == rows_t{"a", "b", grin, "c", "d"});
}

TEST_CASE("wrap never splits a base from its marks", "[text][wrap]") {
    std::string e = "e" + acute;
    CHECK(wrap(e + e + e, 2, 2) == rows_t{e + e, e});
    CHECK(wrap(e + e + e, 1, 1) == rows_t{e, e, e});
    std::string heart_emoji = heart + vs16;
    CHECK(wrap(heart_emoji + heart_emoji, 1, 1) == rows_t{heart_emoji, heart_emoji});
    // The joiner stays with the person before it.
    CHECK(wrap(man + zwj + woman, 3, 3) == rows_t{man + zwj, woman});
}

TEST_CASE("wrap treats widths below 1 as 1", "[text][wrap]") {
    CHECK(wrap("abc", 0, 0) == rows_t{"a", "b", "c"});
    CHECK(wrap("abc", -5, -1) == rows_t{"a", "b", "c"});
    CHECK(wrap("ab cd", 0, 10) == rows_t{"a", "b cd"});
}

TEST_CASE("wrap keeps spaces that are not at a break", "[text][wrap]") {
    CHECK(wrap("  abc def", 5, 5) == rows_t{"  abc", "def"});
    CHECK(wrap("  abcdef", 4, 4) == rows_t{"  ab", "cdef"});
    CHECK(wrap("abc  ", 10, 10) == rows_t{"abc  "});
    CHECK(wrap("   ", 10, 10) == rows_t{"   "});
}

TEST_CASE("wrap drops spaces at a break even at the ends", "[text][wrap]") {
    CHECK(wrap("abc ", 3, 3) == rows_t{"abc"});
    CHECK(wrap("abc    ", 4, 4) == rows_t{"abc"});
    // Spaces that fill the first row, then a break: they go, leaving that row empty.
    CHECK(wrap("     ", 2, 2) == rows_t{""});
    CHECK(wrap("   x", 2, 2) == rows_t{"", "x"});
    CHECK(wrap("  " + zhong, 3, 3) == rows_t{"", zhong});
}

TEST_CASE("wrap works on escaped text", "[text][wrap]") {
    auto escaped = escape_for_display("a\x1b[31mb");
    CHECK(escaped == "a^[[31mb");
    CHECK(wrap(escaped, 4, 4) == rows_t{"a^[[", "31mb"});
}

TEST_CASE("wrap keeps its promises on random text and widths", "[text][wrap]") {
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> width(1, 10);
    for (int i = 0; i < 3000; ++i) {
        check_wrap(random_text(rng), width(rng), width(rng));
    }
}

TEST_CASE("wrap keeps its promises on random bytes and odd widths", "[text][wrap]") {
    std::mt19937 rng(54321);
    std::uniform_int_distribution<int> width(-2, 6);
    for (int i = 0; i < 2000; ++i) {
        auto raw = random_bytes(rng);
        check_wrap(raw, width(rng), width(rng));
        check_wrap(escape_for_display(raw), width(rng), width(rng));
    }
}

TEST_CASE("wrap takes time linear in its input", "[text][wrap]") {
    // A quadratic wrap would take minutes here and hit the test timeout.
    std::string words;
    for (int i = 0; i < 100000; ++i) words += "word" + zhong + " ";
    std::string one_word(1000000, 'x');
    auto rows = wrap(words, 80, 3);
    CHECK(rows.size() > 100000);
    CHECK(wrap(one_word, 80, 80).size() == 12500);
    CHECK(wrap(std::string(1000000, ' ') + "x", 80, 80) == rows_t{"", "x"});
    std::string long_after_short = "a " + one_word;
    CHECK(wrap(long_after_short, 100, 1).size() == 1 + one_word.size());
}

TEST_CASE("truncate_to_width cuts at whole units", "[text]") {
    CHECK(truncate_to_width("hello", 3) == "hel");
    CHECK(truncate_to_width("hello", 5) == "hello");
    CHECK(truncate_to_width("hello", 99) == "hello");
    CHECK(truncate_to_width("hello", 0) == "");
    CHECK(truncate_to_width("hello", -3) == "");
    CHECK(truncate_to_width("", 4) == "");
    CHECK(truncate_to_width(zhong + wen, 3) == zhong);
    CHECK(truncate_to_width(zhong + wen, 1) == "");
    CHECK(truncate_to_width("e" + acute + "x", 1) == "e" + acute);
    CHECK(truncate_to_width("ab" + grin, 3) == "ab");
    CHECK(truncate_to_width(man + zwj + woman, 3) == man + zwj);
    for (int w = 0; w < 12; ++w) {
        auto cut = truncate_to_width("a" + zhong + "b" + e_acute + grin + "cd", w);
        CHECK(display_width(cut) <= w);
    }
}

TEST_CASE("nick_colour is FNV-1a of the id", "[text]") {
    // FNV-1a 32-bit test vectors: "" 0x811c9dc5, "a" 0xe40c292c, "foobar" 0xbf9cf968; a palette
    // of INT_MAX shows the hash nearly whole.
    CHECK(nick_colour("", 0x7fffffff) == static_cast<int>(0x811c9dc5u % 0x7fffffffu));
    CHECK(nick_colour("a", 0x7fffffff) == static_cast<int>(0xe40c292cu % 0x7fffffffu));
    CHECK(nick_colour("foobar", 0x7fffffff) == static_cast<int>(0xbf9cf968u % 0x7fffffffu));
    // Values pinned so that a change of hash (which would recolour everyone) is noticed.
    CHECK(nick_colour("alice", 6) == 5);
    CHECK(nick_colour("alice", 8) == 7);
    CHECK(nick_colour("foobar", 6) == 4);
}

TEST_CASE("nick_colour stays in the palette", "[text]") {
    CHECK(nick_colour("anyone", 0) == 0);
    CHECK(nick_colour("anyone", -4) == 0);
    CHECK(nick_colour("anyone", 1) == 0);
    for (int i = 0; i < 200; ++i) {
        int c = nick_colour("peer-" + std::to_string(i), 7);
        CHECK(c >= 0);
        CHECK(c < 7);
    }
    // Bytes above 0x7F are hashed unsigned.
    int high = nick_colour("\xff\xfe", 1000);
    CHECK(high >= 0);
    CHECK(high < 1000);
}

TEST_CASE("nick_colour spreads peers over the palette", "[text]") {
    std::set<int> seen;
    for (int i = 0; i < 100; ++i) seen.insert(nick_colour("peer-" + std::to_string(i), 6));
    CHECK(seen.size() == 6);

    // Peer ids are base32 keys; similar ones should not crowd into one colour.
    std::vector<int> counts(6);
    for (int i = 0; i < 600; ++i) {
        ++counts[nick_colour("AAAAAAAAAAAAAAAAAAAAAAAA" + std::to_string(i), 6)];
    }
    for (int n : counts) CHECK(n > 50);
}

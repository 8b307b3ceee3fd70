#include "client/tui/line_editor.hpp"

#include <clocale>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "client/tui/text.hpp"

using namespace confab::client::tui;

namespace {

// Unit boundaries and widths come from wcwidth, which needs an UTF-8 locale.
void use_utf8() { REQUIRE(std::setlocale(LC_CTYPE, "C.UTF-8") != nullptr); }

line_editor with_text(const std::string& text) {
    line_editor e;
    e.insert(text);
    return e;
}

// The cursor positions Right visits from the start, the start included.
std::vector<std::size_t> right_stops(line_editor& e) {
    e.home();
    std::vector<std::size_t> stops{e.cursor()};
    while (e.cursor() < e.text().size()) {
        e.right();
        REQUIRE(e.cursor() > stops.back());
        stops.push_back(e.cursor());
    }
    return stops;
}

const std::string e_acute = "e\xCC\x81";     // e + U+0301 COMBINING ACUTE ACCENT: one unit
const std::string nichi = "\xE6\x97\xA5";    // 日, two cells
const std::string heart = "\xE2\x9D\xA4\xEF\xB8\x8F";  // U+2764 + U+FE0F VARIATION SELECTOR-16

}  // namespace

TEST_CASE("insert puts text at the cursor and moves it", "[line_editor]") {
    use_utf8();
    line_editor e;
    CHECK(e.empty());
    e.insert("hllo");
    CHECK(e.text() == "hllo");
    CHECK(e.cursor() == 4);
    e.home();
    e.right();
    e.insert("e");
    CHECK(e.text() == "hello");
    CHECK(e.cursor() == 2);
    e.end();
    e.insert(" w\xC3\xB6rld");
    CHECK(e.text() == "hello w\xC3\xB6rld");
    CHECK(e.cursor() == e.text().size());
    CHECK_FALSE(e.empty());
}

TEST_CASE("insert drops control characters so a paste cannot carry escapes", "[line_editor]") {
    use_utf8();
    CHECK(with_text("a\x1B[31mred\x1B[0m").text() == "a[31mred[0m");
    CHECK(with_text("tab\there").text() == "tabhere");
    CHECK(with_text("line\nbreak\r").text() == "linebreak");
    CHECK(with_text("del\x7F").text() == "del");
    CHECK(with_text(std::string("nul\0x", 5)).text() == "nulx");
    CHECK(with_text("bell\x07").text() == "bell");
    // C1 controls: U+009B is a CSI to terminals that take 8-bit controls.
    CHECK(with_text("c1\xC2\x9B" "31m").text() == "c131m");
    CHECK(with_text("c1\xC2\x85").text() == "c1");

    line_editor e = with_text("\x1B\x1B\n");
    CHECK(e.text().empty());
    CHECK(e.cursor() == 0);
}

TEST_CASE("insert drops invalid UTF-8 and keeps valid multibyte text", "[line_editor]") {
    use_utf8();
    CHECK(with_text("a\xFF" "b").text() == "ab");
    CHECK(with_text("a\xE2\x82").text() == "a");          // truncated sequence
    CHECK(with_text("\xC0\xAF" "x").text() == "x");       // overlong "/"
    CHECK(with_text("\xED\xA0\x80" "x").text() == "x");   // a surrogate
    CHECK(with_text("\x80\x80ok").text() == "ok");        // stray continuation bytes
    std::string fine = "caf\xC3\xA9 " + nichi + " \xF0\x9F\x98\x80 " + e_acute + heart;
    CHECK(with_text(fine).text() == fine);
}

TEST_CASE("set_text filters like insert and puts the cursor at the end", "[line_editor]") {
    use_utf8();
    line_editor e;
    e.set_text("bob\x1B: hi");
    CHECK(e.text() == "bob: hi");
    CHECK(e.cursor() == 7);

    e.set_text("alice: there", 7);
    CHECK(e.text() == "alice: there");
    CHECK(e.cursor() == 7);

    // Filtered bytes before the cursor move it with the text.
    e.set_text("a\x07" "b|c", 3);
    CHECK(e.text() == "ab|c");
    CHECK(e.cursor() == 2);

    // Past the end is the end; inside a unit is the end of that unit.
    e.set_text("abc", 99);
    CHECK(e.cursor() == 3);
    e.set_text("x" + e_acute + "y", 2);
    CHECK(e.cursor() == 4);
}

TEST_CASE("left and right move over whole units", "[line_editor]") {
    use_utf8();
    auto e = with_text("a" + e_acute + nichi + heart + "z");
    // a | e+U+0301 (3 bytes) | 日 (3) | heart+VS16 (6) | z
    CHECK(right_stops(e) == std::vector<std::size_t>{0, 1, 4, 7, 13, 14});

    e.end();
    std::vector<std::size_t> back{e.cursor()};
    for (int i = 0; i < 6; ++i) {
        e.left();
        back.push_back(e.cursor());
    }
    CHECK(back == std::vector<std::size_t>{14, 13, 7, 4, 1, 0, 0});

    e.end();
    e.right();
    CHECK(e.cursor() == 14);
}

TEST_CASE("a combining mark typed after a letter joins its unit", "[line_editor]") {
    use_utf8();
    line_editor e;
    e.insert("e");
    e.insert("\xCC\x81");
    CHECK(e.text() == e_acute);
    CHECK(e.cursor() == 3);
    e.left();
    CHECK(e.cursor() == 0);
    e.end();
    e.backspace();
    CHECK(e.text().empty());
}

TEST_CASE("the cursor stays on a unit boundary when text goes before a lone mark",
          "[line_editor]") {
    use_utf8();
    line_editor e;
    e.set_text("\xCC\x81" "b", 0);
    e.insert("e");
    // The mark now belongs to the "e": the cursor may not sit between them.
    CHECK(e.text() == e_acute + "b");
    CHECK(e.cursor() == 3);
}

TEST_CASE("home and end", "[line_editor]") {
    use_utf8();
    auto e = with_text("hello world");
    e.home();
    CHECK(e.cursor() == 0);
    e.end();
    CHECK(e.cursor() == 11);
}

TEST_CASE("word moves go over whitespace-delimited words", "[line_editor]") {
    use_utf8();
    auto e = with_text("foo bar-baz  qux");
    e.word_left();
    CHECK(e.cursor() == 13);
    e.word_left();
    CHECK(e.cursor() == 4);
    e.word_left();
    CHECK(e.cursor() == 0);
    e.word_left();
    CHECK(e.cursor() == 0);

    e.word_right();
    CHECK(e.cursor() == 3);
    e.word_right();
    CHECK(e.cursor() == 11);
    e.word_right();
    CHECK(e.cursor() == 16);
    e.word_right();
    CHECK(e.cursor() == 16);
}

TEST_CASE("word moves treat wide and combined characters as letters", "[line_editor]") {
    use_utf8();
    std::string word = nichi + e_acute + nichi;
    auto e = with_text("x " + word + " y");
    e.end();
    e.word_left();
    e.word_left();
    CHECK(e.cursor() == 2);
    e.word_right();
    CHECK(e.cursor() == 2 + word.size());
}

TEST_CASE("backspace and delete remove one unit", "[line_editor]") {
    use_utf8();
    auto e = with_text("a" + nichi + e_acute + "b");
    e.left();
    e.backspace();
    CHECK(e.text() == "a" + nichi + "b");
    CHECK(e.cursor() == 4);
    e.left();
    e.erase();
    CHECK(e.text() == "ab");
    CHECK(e.cursor() == 1);

    e.home();
    e.backspace();
    CHECK(e.text() == "ab");
    e.end();
    e.erase();
    CHECK(e.text() == "ab");
    CHECK(e.cursor() == 2);

    auto h = with_text(heart);
    h.backspace();
    CHECK(h.text().empty());
}

TEST_CASE("Ctrl-K and Ctrl-U kill to the end and to the start, Ctrl-Y yanks", "[line_editor]") {
    use_utf8();
    auto e = with_text("hello big world");
    e.home();
    for (int i = 0; i < 6; ++i) e.right();
    e.kill_to_end();
    CHECK(e.text() == "hello ");
    CHECK(e.cursor() == 6);
    e.home();
    e.yank();
    CHECK(e.text() == "big worldhello ");
    CHECK(e.cursor() == 9);

    e.kill_to_start();
    CHECK(e.text() == "hello ");
    CHECK(e.cursor() == 0);
    e.end();
    e.yank();
    CHECK(e.text() == "hello big world");
    CHECK(e.cursor() == 15);
    // Yank does not use the text up: it can be put back again.
    e.yank();
    CHECK(e.text() == "hello big worldbig world");
}

TEST_CASE("Ctrl-W kills the word before the cursor and the spaces after it",
          "[line_editor]") {
    use_utf8();
    auto e = with_text("git commit -m  ");
    e.kill_word();
    CHECK(e.text() == "git commit ");
    CHECK(e.cursor() == 11);

    auto mid = with_text("one two three");
    mid.word_left();   // before "three"
    mid.left();        // after "two"
    mid.left();        // inside "two"
    mid.kill_word();
    CHECK(mid.text() == "one o three");
    CHECK(mid.cursor() == 4);

    // Punctuation is part of a word, as in bash's unix-word-rubout.
    auto path = with_text("see /usr/local/bin");
    path.kill_word();
    CHECK(path.text() == "see ");

    auto start = with_text("word");
    start.home();
    start.kill_word();
    CHECK(start.text() == "word");
}

TEST_CASE("kills in a row collect into one yank", "[line_editor]") {
    use_utf8();
    auto e = with_text("one two three");
    e.kill_word();
    e.kill_word();
    CHECK(e.text() == "one ");
    e.yank();
    CHECK(e.text() == "one two three");

    auto both = with_text("left right");
    for (int i = 0; i < 5; ++i) both.left();
    both.kill_to_end();
    both.kill_to_start();
    CHECK(both.text().empty());
    both.yank();
    CHECK(both.text() == "left right");
}

TEST_CASE("any other call between kills starts a new kill", "[line_editor]") {
    use_utf8();
    auto e = with_text("one two three");
    e.kill_word();
    e.left();
    e.right();
    e.kill_word();
    e.yank();
    CHECK(e.text() == "one two ");

    auto typed = with_text("aa bb");
    typed.kill_word();
    typed.insert("x");
    typed.kill_word();
    typed.yank();
    CHECK(typed.text() == "aa x");
}

TEST_CASE("a kill of nothing keeps the kill buffer", "[line_editor]") {
    use_utf8();
    auto e = with_text("keep me");
    e.kill_word();
    CHECK(e.text() == "keep ");
    e.home();
    e.kill_to_start();  // nothing before the cursor
    e.end();
    e.kill_to_end();    // nothing after it
    e.yank();
    CHECK(e.text() == "keep me");

    line_editor fresh;
    fresh.yank();
    CHECK(fresh.text().empty());
}

TEST_CASE("yank inserts at the cursor, not at the end", "[line_editor]") {
    use_utf8();
    auto e = with_text("ab cd");
    e.kill_word();
    e.insert("X");
    e.home();
    e.right();
    e.yank();
    CHECK(e.text() == "acdb X");
    CHECK(e.cursor() == 3);
}

TEST_CASE("submit returns the line, clears the editor and stores history", "[line_editor]") {
    use_utf8();
    auto e = with_text("hello");
    e.home();
    CHECK(e.submit() == "hello");
    CHECK(e.text().empty());
    CHECK(e.cursor() == 0);
    e.history_up();
    CHECK(e.text() == "hello");
    CHECK(e.cursor() == 5);
}

TEST_CASE("blank lines and repeats of the last line are not stored", "[line_editor]") {
    use_utf8();
    line_editor e;
    for (std::string line : {"a", "", "   ", "b", "b", "a"}) {
        e.insert(line);
        CHECK(e.submit() == line);
    }
    std::vector<std::string> seen;
    for (int i = 0; i < 5; ++i) {
        e.history_up();
        seen.push_back(e.text());
    }
    // Newest first; "a" twice because the repeats were not next to each other.
    CHECK(seen == std::vector<std::string>{"a", "b", "a", "a", "a"});
}

TEST_CASE("history up and down keep the line being typed", "[line_editor]") {
    use_utf8();
    line_editor e;
    for (std::string line : {"first", "second", "third"}) {
        e.insert(line);
        e.submit();
    }
    e.insert("draft");
    e.history_up();
    CHECK(e.text() == "third");
    e.history_up();
    CHECK(e.text() == "second");
    e.history_up();
    CHECK(e.text() == "first");
    e.history_up();
    CHECK(e.text() == "first");
    e.history_down();
    CHECK(e.text() == "second");
    e.history_down();
    CHECK(e.text() == "third");
    e.history_down();
    CHECK(e.text() == "draft");
    CHECK(e.cursor() == 5);
    // Down on the new line does nothing, in particular it does not lose it.
    e.history_down();
    CHECK(e.text() == "draft");
    e.history_up();
    CHECK(e.text() == "third");
}

TEST_CASE("a line recalled from history and edited is sent as edited", "[line_editor]") {
    use_utf8();
    line_editor e;
    e.insert("hello");
    e.submit();
    e.history_up();
    e.insert(" again");
    CHECK(e.submit() == "hello again");
    CHECK(e.text().empty());
    e.history_up();
    CHECK(e.text() == "hello again");
    e.history_up();
    CHECK(e.text() == "hello");
    // After a submit browsing starts from the newest entry with an empty draft.
    e.history_down();
    e.history_down();
    CHECK(e.text().empty());
}

TEST_CASE("up with no history does nothing", "[line_editor]") {
    use_utf8();
    auto e = with_text("typing");
    e.history_up();
    CHECK(e.text() == "typing");
    e.history_down();
    CHECK(e.text() == "typing");
}

TEST_CASE("history keeps the newest max_history lines", "[line_editor]") {
    use_utf8();
    line_editor e;
    const std::size_t extra = 5;
    for (std::size_t i = 0; i < line_editor::max_history + extra; ++i) {
        e.insert("line " + std::to_string(i));
        e.submit();
    }
    for (std::size_t i = 0; i < line_editor::max_history + 10; ++i) e.history_up();
    CHECK(e.text() == "line " + std::to_string(extra));
    e.history_down();
    CHECK(e.text() == "line " + std::to_string(extra + 1));
}

// --- view ---------------------------------------------------------------------------------

TEST_CASE("a short line shows whole with the cursor where it is", "[line_editor][view]") {
    use_utf8();
    auto e = with_text("hello");
    auto v = e.view(20);
    CHECK(v.text == "hello");
    CHECK(v.cursor_column == 5);
    e.left();
    e.left();
    v = e.view(20);
    CHECK(v.text == "hello");
    CHECK(v.cursor_column == 3);

    line_editor empty;
    v = empty.view(10);
    CHECK(v.text.empty());
    CHECK(v.cursor_column == 0);
}

TEST_CASE("a field of no width shows nothing", "[line_editor][view]") {
    use_utf8();
    auto e = with_text("hello");
    auto v = e.view(0);
    CHECK(v.text.empty());
    CHECK(v.cursor_column == 0);
    v = e.view(-3);
    CHECK(v.text.empty());
}

TEST_CASE("columns count cells, not bytes", "[line_editor][view]") {
    use_utf8();
    auto e = with_text(nichi + e_acute + "x");
    auto v = e.view(20);
    CHECK(v.text == nichi + e_acute + "x");
    CHECK(v.cursor_column == 4);
    e.left();
    e.left();
    CHECK(e.view(20).cursor_column == 2);
}

TEST_CASE("the cursor at the end needs a free cell", "[line_editor][view]") {
    use_utf8();
    auto e = with_text("0123456789");
    // Ten characters in ten cells fit while the cursor is on one of them...
    e.home();
    auto v = e.view(10);
    CHECK(v.text == "0123456789");
    CHECK(v.cursor_column == 0);
    // ...but at the end the cursor needs the eleventh.
    e.end();
    v = e.view(10);
    CHECK(v.cursor_column <= 9);
    CHECK(display_width(v.text) == v.cursor_column);
    CHECK(std::string("0123456789").ends_with(v.text));
}

TEST_CASE("the view scrolls by about a third of the width", "[line_editor][view]") {
    use_utf8();
    const int width = 30;
    line_editor e;
    std::string typed;
    for (int i = 0; i < width - 1; ++i) {
        typed += static_cast<char>('a' + i % 26);
        e.insert(typed.substr(typed.size() - 1));
        auto v = e.view(width);
        REQUIRE(v.text == typed);
        REQUIRE(v.cursor_column == i + 1);
    }
    // One more leaves no cell for the cursor: the view jumps, leaving room to type on.
    typed += 'x';
    e.insert("x");
    auto v = e.view(width);
    int scrolled = static_cast<int>(typed.size()) - v.cursor_column;
    CHECK(scrolled >= width / 4);
    CHECK(scrolled <= width / 2);
    CHECK(v.text == typed.substr(static_cast<std::size_t>(scrolled)));

    // Typing on does not scroll again until the room is used up.
    for (int i = 0; i < 5; ++i) {
        e.insert("y");
        typed += 'y';
        auto w = e.view(width);
        CHECK(static_cast<int>(typed.size()) - w.cursor_column == scrolled);
    }
}

TEST_CASE("the scroll position is kept while the cursor stays in view", "[line_editor][view]") {
    use_utf8();
    std::string text;
    for (int i = 0; i < 100; ++i) text += static_cast<char>('a' + i % 26);
    auto e = with_text(text);
    auto at_end = e.view(20);
    int scroll = 100 - at_end.cursor_column;
    // Moving left inside the window changes the column, not the slice.
    for (int i = 0; i < at_end.cursor_column; ++i) {
        e.left();
        auto v = e.view(20);
        REQUIRE(v.text == at_end.text.substr(0, std::min<std::size_t>(20, v.text.size())));
        REQUIRE(v.cursor_column == at_end.cursor_column - i - 1);
        REQUIRE(static_cast<int>(e.cursor()) - v.cursor_column == scroll);
    }
    // One more step leaves at the left edge: the view jumps back.
    e.left();
    auto v = e.view(20);
    int new_scroll = static_cast<int>(e.cursor()) - v.cursor_column;
    CHECK(new_scroll < scroll);
    CHECK(scroll - new_scroll >= 20 / 4);
    CHECK(v.cursor_column > 0);
    CHECK(v.text == text.substr(static_cast<std::size_t>(new_scroll), 20));

    e.home();
    v = e.view(20);
    CHECK(v.cursor_column == 0);
    CHECK(v.text == text.substr(0, 20));
}

TEST_CASE("the view comes back when the line shrinks", "[line_editor][view]") {
    use_utf8();
    auto e = with_text(std::string(80, 'x'));
    CHECK(e.view(20).cursor_column < 20);
    e.set_text("short");
    auto v = e.view(20);
    CHECK(v.text == "short");
    CHECK(v.cursor_column == 5);

    // Killing the tail under a scrolled view shows the text before the cursor again.
    auto k = with_text(std::string(60, 'a') + std::string(40, 'b'));
    k.view(30);
    for (int i = 0; i < 40; ++i) k.left();
    k.view(30);
    k.kill_to_end();
    v = k.view(30);
    CHECK(v.cursor_column >= 30 - 30 / 3 - 1);
    CHECK(v.text == std::string(static_cast<std::size_t>(v.cursor_column), 'a'));

    k.submit();
    v = k.view(30);
    CHECK(v.text.empty());
    CHECK(v.cursor_column == 0);
}

TEST_CASE("a narrower field after a wide one still shows the cursor", "[line_editor][view]") {
    use_utf8();
    auto e = with_text(std::string(50, 'q'));
    e.view(80);
    auto v = e.view(10);
    CHECK(v.cursor_column <= 9);
    CHECK(v.text == std::string(static_cast<std::size_t>(v.cursor_column), 'q'));
}

namespace {

struct unit_cells {
    std::size_t begin;
    int column;
    int width;
};

// Checks one view of `e` against what the text is, cell by cell: the cursor is in the field,
// the slice is whole units (a cut wide character shows as blanks), and the cursor column is
// where its unit is drawn.
void check_view(line_editor& e, int width) {
    auto v = e.view(width);
    const std::string& text = e.text();
    std::vector<unit_cells> units;
    int column = 0;
    int cursor_column = -1;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t next = next_boundary(text, pos);
        int w = display_width(text.substr(pos, next - pos));
        if (pos == e.cursor()) cursor_column = column;
        units.push_back({pos, column, w});
        column += w;
        pos = next;
    }
    bool at_end = cursor_column < 0;
    if (at_end) cursor_column = column;

    INFO("text '" << text << "' cursor " << e.cursor() << " width " << width);
    REQUIRE(v.cursor_column >= 0);
    REQUIRE(v.cursor_column < width);
    int scroll = cursor_column - v.cursor_column;
    REQUIRE(scroll >= 0);
    CHECK(display_width(v.text) <= width);
    if (at_end) CHECK(display_width(v.text) <= width - 1);

    std::string expected;
    bool cursor_unit_shown = at_end;
    for (const auto& u : units) {
        std::string piece = text.substr(u.begin, next_boundary(text, u.begin) - u.begin);
        if (u.column < scroll) {
            if (u.column + u.width > scroll) expected.append(u.column + u.width - scroll, ' ');
        } else if (u.column + u.width <= scroll + width) {
            expected += piece;
            if (u.begin == e.cursor()) cursor_unit_shown = true;
        }
    }
    CHECK(v.text == expected);
    // A wide character under the cursor is shown whole whenever the field can hold it.
    if (width >= 2) CHECK(cursor_unit_shown);
}

}  // namespace

TEST_CASE("wide characters are never cut at either edge", "[line_editor][view]") {
    use_utf8();
    std::string text;
    for (int i = 0; i < 6; ++i) text += "a" + nichi + "b" + nichi + nichi + e_acute;
    for (int width = 1; width <= 13; ++width) {
        auto e = with_text(text);
        // Every position, going left and then right again, so the kept scroll is exercised
        // in both directions.
        e.end();
        for (;;) {
            check_view(e, width);
            if (e.cursor() == 0) break;
            e.left();
        }
        for (;;) {
            check_view(e, width);
            if (e.cursor() == text.size()) break;
            e.right();
        }
        e.home();
        check_view(e, width);
        e.end();
        check_view(e, width);
        e.word_left();
        check_view(e, width);
    }
}

TEST_CASE("the view pads half of a wide character at the left edge", "[line_editor][view]") {
    use_utf8();
    // Eleven wide characters: the end of the line needs 23 cells.
    std::string text;
    for (int i = 0; i < 11; ++i) text += nichi;
    auto e = with_text("a" + text);
    bool padded = false;
    for (int width = 5; width <= 12; ++width) {
        e.end();
        auto v = e.view(width);
        if (!v.text.empty() && v.text.front() == ' ') padded = true;
        check_view(e, width);
    }
    // The odd start puts some left edge in the middle of a wide character.
    CHECK(padded);
}

TEST_CASE("escaped characters are measured as drawn and never cut", "[line_editor][view]") {
    use_utf8();
    // U+200F RIGHT-TO-LEFT MARK is zero-width text, not a control: it is kept, joins the
    // unit before it and is drawn escaped, 8 cells wide.
    const std::string rlm = "\xE2\x80\x8F";
    auto e = with_text("a" + rlm + "b");
    CHECK(e.text() == "a" + rlm + "b");
    auto v = e.view(40);
    CHECK(v.text == "a<U+200F>b");
    CHECK(v.cursor_column == 10);
    e.left();
    CHECK(e.view(40).cursor_column == 9);

    // In a narrow field the nine-cell unit is shown whole or not at all.
    for (int width = 1; width <= 12; ++width) {
        e.end();
        for (int i = 0; i < 3; ++i) {
            auto n = e.view(width);
            INFO("width " << width << " cursor " << e.cursor());
            CHECK(display_width(n.text) <= width);
            CHECK(n.cursor_column < width);
            CHECK(n.text.find("<U+200F") == n.text.rfind("<U+200F"));
            bool whole = n.text.find("a<U+200F>") != std::string::npos;
            bool absent = n.text.find_first_of("a<U+0F>") == std::string::npos;
            CHECK((whole || absent));
            e.left();
        }
    }
}

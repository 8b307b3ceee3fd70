#include "client/tui/scrollback.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace confab::client::tui;

namespace {

// In these tests an entry takes as many rows as its text has characters.
const scrollback::rows_fn rows_of = [](const pane_entry& e) {
    return std::max(1, static_cast<int>(e.text.size()));
};

pane_entry entry(std::string text) {
    pane_entry e;
    e.text = std::move(text);
    return e;
}

// The pane as "text:skip:rows" pieces, top to bottom.
std::string shown(const scrollback& s, int pane_rows) {
    std::string out;
    for (const auto& p : s.visible(pane_rows, rows_of)) {
        if (!out.empty()) out += ' ';
        out += p.entry->text + ":" + std::to_string(p.skip) + ":" + std::to_string(p.rows);
    }
    return out;
}

scrollback numbered(int n) {
    scrollback s;
    for (int i = 0; i < n; ++i) s.add(entry(std::string(1, static_cast<char>('a' + i))));
    return s;
}

}  // namespace

TEST_CASE("a live pane shows the newest entries, the top one cut to fit") {
    scrollback s;
    s.add(entry("aaa"));
    s.add(entry("bb"));
    s.add(entry("c"));
    CHECK(shown(s, 10) == "aaa:0:3 bb:0:2 c:0:1");
    CHECK(shown(s, 4) == "aaa:2:1 bb:0:2 c:0:1");
    CHECK(shown(s, 1) == "c:0:1");
    CHECK(shown(s, 0).empty());
    CHECK(scrollback{}.visible(5, rows_of).empty());
}

TEST_CASE("scrolling up by rows moves through multi-row entries and stops at the top") {
    scrollback s = numbered(10);  // a..j, one row each
    s.scroll_up(3, 4, rows_of);
    CHECK_FALSE(s.live());
    CHECK(shown(s, 4) == "d:0:1 e:0:1 f:0:1 g:0:1");
    s.scroll_up(100, 4, rows_of);
    CHECK(shown(s, 4) == "a:0:1 b:0:1 c:0:1 d:0:1");

    scrollback tall;
    tall.add(entry("aaaa"));
    tall.add(entry("bbbb"));
    tall.scroll_up(2, 3, rows_of);
    CHECK(shown(tall, 3) == "aaaa:3:1 bbbb:0:2");
}

TEST_CASE("new entries while scrolled up do not move the view and are counted") {
    scrollback s = numbered(10);
    s.scroll_up(5, 3, rows_of);
    const std::string before = shown(s, 3);
    s.add(entry("k"));
    s.add(entry("l"));
    CHECK(shown(s, 3) == before);
    CHECK(s.unseen() == 2);
    s.to_live();
    CHECK(s.live());
    CHECK(s.unseen() == 0);
    CHECK(shown(s, 3) == "j:0:1 k:0:1 l:0:1");
}

TEST_CASE("scrolling down past the newest entry returns to live") {
    scrollback s = numbered(10);
    s.scroll_up(4, 3, rows_of);
    s.scroll_down(2, rows_of);
    CHECK_FALSE(s.live());
    CHECK(shown(s, 3) == "f:0:1 g:0:1 h:0:1");
    s.scroll_down(2, rows_of);
    CHECK(s.live());
    s.scroll_up(1, 3, rows_of);
    s.scroll_down(50, rows_of);
    CHECK(s.live());
}

TEST_CASE("history that fits on the pane does not scroll") {
    scrollback s = numbered(3);
    s.scroll_up(1, 5, rows_of);
    CHECK(s.live());
}

TEST_CASE("history keeps the newest entries up to its capacity") {
    scrollback s(3);
    for (char c : std::string("abcde")) s.add(entry(std::string(1, c)));
    CHECK(s.size() == 3);
    CHECK(shown(s, 5) == "c:0:1 d:0:1 e:0:1");

    scrollback big;
    for (int i = 0; i < 10'500; ++i) big.add(entry("x"));
    CHECK(big.size() == 10'000);
}

TEST_CASE("a view anchored to an entry that is trimmed away holds on to the oldest, pane full") {
    scrollback s(4);
    for (char c : std::string("abcd")) s.add(entry(std::string(1, c)));
    s.scroll_up(2, 2, rows_of);
    CHECK(shown(s, 2) == "a:0:1 b:0:1");
    s.add(entry("e"));
    s.add(entry("f"));
    CHECK(shown(s, 2) == "c:0:1 d:0:1");  // the pane stays full
    CHECK(s.unseen() == 2);
}

TEST_CASE("clear empties the pane and returns to live") {
    scrollback s = numbered(5);
    s.scroll_up(1, 2, rows_of);
    s.clear();
    CHECK(s.live());
    CHECK(s.size() == 0);
    CHECK(shown(s, 3).empty());
    s.add(entry("z"));
    CHECK(shown(s, 3) == "z:0:1");
}

TEST_CASE("paging down over new entries counts them as seen") {
    scrollback s = numbered(10);
    s.scroll_up(3, 3, rows_of);  // bottom of the view: g
    for (char c : std::string("klm")) s.add(entry(std::string(1, c)));
    CHECK(s.unseen() == 3);
    s.scroll_down(4, rows_of);  // bottom of the view: k
    CHECK(s.unseen() == 2);
    s.scroll_down(1, rows_of);
    CHECK(s.unseen() == 1);
}

// The terminal UI end to end: the real confab in a private tmux, talking to a real headless
// peer. What these tests read is the screen as tmux renders it (capture-pane), what they type
// goes through the pty as keystrokes, and every wait polls the screen or the peer's events
// with a deadline.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>

#include <catch2/catch.hpp>

#include "tests/support/peer_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tmux_session.hpp"

using namespace confab::test;

namespace {

// CONFAB_BIN runs another build, as it does for peer_process.
std::string confab_binary() {
    const char* other = std::getenv("CONFAB_BIN");
    return other && *other ? other : CONFAB_BINARY;
}

std::vector<std::string> lines_of(const std::string& screen) {
    std::vector<std::string> out;
    std::istringstream in(screen);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

std::string rtrim(std::string s) {
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

// The part of a row left of the peer list's border (all of it when there is none), trimmed.
std::string pane_part(const std::string& row) {
    const auto border = row.find("\u2502");
    return rtrim(border == std::string::npos ? row : row.substr(0, border));
}

// Row `i` of a screen, trimmed; "" when the screen has fewer rows (mid-resize, say).
std::string row_of(const std::string& screen, std::size_t i) {
    auto rows = lines_of(screen);
    return i < rows.size() ? rtrim(rows[i]) : std::string();
}

// The last row (the input line), trimmed; "" for an empty capture.
std::string last_row(const std::string& screen) {
    auto rows = lines_of(screen);
    return rows.empty() ? std::string() : rtrim(rows.back());
}

// The pane parts of the non-empty rows between the title and the status line: what the
// message pane shows, top to bottom.
std::vector<std::string> pane_rows_of(const std::string& screen) {
    auto rows = lines_of(screen);
    std::vector<std::string> out;
    for (std::size_t i = 1; i + 2 < rows.size(); ++i) {
        auto part = pane_part(rows[i]);
        if (!part.empty()) out.push_back(part);
    }
    return out;
}

// Cells of text that has no wide or combining characters (box drawing and dots included).
int narrow_cells(std::string_view s) {
    return static_cast<int>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Whether a row of the message pane matches `pattern` (an ECMAScript regex for the pane part,
// anchored at both ends).
bool row_matches(const std::string& row, const std::string& pattern) {
    return std::regex_match(pane_part(row), std::regex(pattern));
}

bool any_row_matches(const std::string& screen, const std::string& pattern) {
    const std::regex re(pattern);
    for (const auto& row : lines_of(screen))
        if (std::regex_match(pane_part(row), re)) return true;
    return false;
}

// Regex-quotes literal text.
std::string quote_re(std::string_view text) {
    static const std::string special = R"(\^$.|?*+()[]{})";
    std::string out;
    for (char c : text) {
        if (special.find(c) != std::string::npos) out += '\\';
        out += c;
    }
    return out;
}

const std::string clock_re = R"(\d\d:\d\d)";

std::string hh_mm(std::time_t t) {
    std::tm local{};
    ::localtime_r(&t, &local);
    char out[8];
    std::strftime(out, sizeof out, "%H:%M", &local);
    return out;
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

constexpr const char* title_80 = " confab  #lobby  alice  \u25cf 1 peer  [not encrypted]";

// bob, headless, and alice in the terminal UI joined to him, both having seen the other.
struct tui_with_bob {
    struct options {
        int cols = 80;
        int rows = 24;
        // Run confab under `sh -c 'set -m; confab ...; echo $? > exit_status; stty -a > stty;
        // ...; read line < /dev/tty; ...'`, as from an interactive shell: with job control, so
        // that Ctrl-C reaches confab alone, and the shell lives on to record what confab left
        // behind and to read a line from the terminal (tmux hides the cursor of a dead pane,
        // so the terminal's state is read while the shell waits). It reads from a fresh open
        // of /dev/tty: stdin's flags are what stdin_flags records, and may not allow it.
        bool through_shell = false;
        // Both peers in an open room (--open): no secret.
        bool open = false;
    };

    temp_dir files;  // alice's data and downloads, and what the wrapper shell records
    std::unique_ptr<peer_process> bob;
    std::unique_ptr<tmux_session> tui;
    std::string alice_id;

    tui_with_bob() : tui_with_bob(options{}) {}

    explicit tui_with_bob(options o) {
        peer_options ob;
        ob.nick = "bob";
        if (o.open) ob.extra_args = {"--open"};
        bob = start_peer(ob);
        seed_shared_secret(files.path() / "data", "lobby");

        std::vector<std::string> confab = {confab_binary(),
                                           "--nick",
                                           "alice",
                                           "--listen",
                                           "127.0.0.1:0",
                                           "--join",
                                           bob->listen(),
                                           "--data-dir",
                                           (files.path() / "data").string(),
                                           "--downloads",
                                           (files.path() / "downloads").string(),
                                           "--log-level",
                                           "debug",
                                           // bob pastes 10,000 lines at once in one test
                                           "--max-rate",
                                           "2000"};
        if (o.open) confab.push_back("--open");
        tmux_options t;
        t.cols = o.cols;
        t.rows = o.rows;
        if (o.through_shell) {
            const std::string dir = shell_quote(files.path().string());
            t.argv = {"sh", "-c",
                      "set -m; \"$@\"; echo $? > " + dir + "/exit_status; stty -a > " + dir +
                          "/stty; grep flags /proc/$$/fdinfo/0 > " + dir +
                          "/stdin_flags; echo confab exited; read line < /dev/tty; "
                          "echo \"read: $line\"",
                      "sh"};
            t.argv.insert(t.argv.end(), confab.begin(), confab.end());
        } else {
            t.argv = confab;
        }
        tui = std::make_unique<tmux_session>(t);

        auto up = bob->wait_for(
            [](const event& e) { return e.name() == "peer_up" && e.str("nick") == "alice"; }, 10s,
            "peer_up for the TUI's alice");
        alice_id = up.str("peer_id");
        tui->wait_for_screen(
            [&](const std::string& s) {
                return s.find("\u25cf 1 peer") != std::string::npos &&
                       s.find("--> bob (" + bob->peer_id().substr(0, 8) + ") connected") !=
                           std::string::npos;
            },
            10s, "the TUI connected to bob");
    }

    // Types a line and presses Enter.
    void type_line(std::string_view text) {
        tui->send_text(text);
        tui->send_keys({"Enter"});
    }

    std::string log_tail() const {
        std::string log = read_file(files.path() / "data" / "confab.log");
        return log.size() > 4000 ? log.substr(log.size() - 4000) : log;
    }
};

// What every way of leaving must leave behind, for a TUI run through_shell: confab exited 0,
// the terminal is out of curses (cooked mode, main screen, cursor shown, no mouse reporting)
// and bob heard a bye.
void check_left_cleanly(tui_with_bob& f) {
    auto down = f.bob->wait_for(is_peer_down(f.alice_id), 10s, "peer_down for alice");
    INFO("bob's peer_down: " << down.json.dump());
    CHECK(down.str("reason") == "neighbour said bye (shutdown)");

    INFO("confab.log tail:\n" << f.log_tail());
    auto after = f.tui->wait_for_screen("confab exited", 1s, "the wrapper shell after confab");
    INFO("screen after confab:\n" << after);
    CHECK(read_file(f.files.path() / "exit_status") == "0\n");

    const std::string stty = read_file(f.files.path() / "stty");
    INFO("stty -a after confab:\n" << stty);
    auto has_word = [&](const std::string& word) {
        return std::regex_search(stty, std::regex("(^|\\s)" + word + "(\\s|$)"));
    };
    CHECK(has_word("icanon"));
    CHECK(has_word("echo"));
    CHECK_FALSE(has_word("-icanon"));
    CHECK_FALSE(has_word("-echo"));

    // The terminal's own state, as tmux tracks it: what curses and confab switched on is off.
    const std::string flags =
        f.tui->tmux({"display-message", "-p", "-t", tmux_session::target,
                     "alt=#{alternate_on} cursor=#{cursor_flag} mouse=#{mouse_any_flag} "
                     "keypad=#{keypad_cursor_flag}"});
    CHECK(flags == "alt=0 cursor=1 mouse=0 keypad=0\n");

    // And the terminal works as a terminal again: what is typed is echoed, and Enter ends a
    // line for the shell.
    f.tui->send_text("typed after confab");
    f.tui->send_keys({"Enter"});
    auto echoed = f.tui->wait_for_screen("read: typed after confab", 5s, "the shell's read");
    INFO(echoed);
    auto rows = lines_of(echoed);
    CHECK(std::count(rows.begin(), rows.end(), "typed after confab") == 1);
    CHECK(f.tui->wait_exit(5s, "the wrapper shell") == 0);
}

enum class way_out { quit, sigterm, ctrl_c };

// Leaves the TUI of a through_shell fixture the given way and waits for the wrapper shell to
// say confab has exited.
std::string leave(tui_with_bob& f, way_out how) {
    switch (how) {
        case way_out::quit:
            f.type_line("/quit");
            break;
        case way_out::sigterm: {
            const pid_t confab = wait_for_child(f.tui->pane_pid(), 5s);
            REQUIRE(::kill(confab, SIGTERM) == 0);
            break;
        }
        case way_out::ctrl_c:
            f.tui->send_keys({"C-c"});
            break;
    }
    return f.tui->wait_for_screen("confab exited", 10s, "the wrapper shell after confab");
}

}  // namespace

TEST_CASE("a line typed in the TUI arrives at the headless peer as one message from alice",
          "[integration][tui]") {
    tui_with_bob f;
    f.type_line("hello from the terminal");
    auto e = f.bob->wait_for(is_message_with_text("hello from the terminal"), 5s,
                             "alice's typed message at bob");
    INFO(e.json.dump());
    CHECK(e.str("from") == "alice");
    CHECK(e.str("peer_id") == f.alice_id);
    CHECK(e.str("room") == "lobby");
    CHECK(e.json.value("action", true) == false);
    CHECK(e.json.value("own", true) == false);

    // The TUI shows its own line and empties the input line.
    f.tui->wait_for_screen(
        [](const std::string& s) {
            return any_row_matches(s, clock_re + " <alice> hello from the terminal") &&
                   last_row(s) == "[alice]";
        },
        5s, "own message on screen and an empty input line");
    // Sent once: a marker typed after it arrives with nothing between.
    f.type_line("marker");
    f.bob->wait_for(is_message_with_text("marker"), 5s, "marker at bob");
    CHECK(f.bob->count(is_message_with_text("hello from the terminal")) == 1);
    CHECK(f.bob->count(is_event("message")) == 2);
}

TEST_CASE("a headless peer's message appears on the TUI screen after its nick and the time",
          "[integration][tui]") {
    tui_with_bob f;
    const std::time_t before = std::time(nullptr);
    f.bob->send_line("greetings from the headless side");
    const std::string pattern = "(" + clock_re + ") <bob> greetings from the headless side";
    auto screen =
        f.tui->wait_for_screen([&](const std::string& s) { return any_row_matches(s, pattern); },
                               5s, "bob's message on the TUI screen");
    const std::time_t after = std::time(nullptr);
    std::smatch m;
    std::string stamp;
    for (const auto& row : lines_of(screen)) {
        const std::string part = pane_part(row);
        if (std::regex_match(part, m, std::regex(pattern))) stamp = m[1];
    }
    INFO(screen);
    CHECK((stamp == hh_mm(before) || stamp == hh_mm(after)));
    // Exactly once on screen.
    const auto rows = lines_of(screen);
    CHECK(std::count_if(rows.begin(), rows.end(), [](const auto& r) {
              return r.find("greetings from the headless side") != std::string::npos;
          }) == 1);
}

TEST_CASE("/me shows as an action line, one's own and a peer's", "[integration][tui]") {
    tui_with_bob f;
    f.type_line("/me waves");
    auto e = f.bob->wait_for(is_message_with_text("waves"), 5s, "alice's emote at bob");
    CHECK(e.json.value("action", false));
    CHECK(e.str("from") == "alice");
    f.tui->wait_for_screen(
        [](const std::string& s) { return any_row_matches(s, clock_re + "  \\* alice waves"); }, 5s,
        "own emote as an action line");

    f.bob->send_line("/me nods");
    auto screen = f.tui->wait_for_screen(
        [](const std::string& s) { return any_row_matches(s, clock_re + "  \\* bob nods"); }, 5s,
        "bob's emote as an action line");
    INFO(screen);
    CHECK(screen.find("/me") == std::string::npos);
    CHECK(screen.find("<alice> waves") == std::string::npos);
    CHECK(screen.find("<bob> nods") == std::string::npos);
}

TEST_CASE(
    "a hostile message's escape sequences and control characters show escaped and leave "
    "the screen alone",
    "[integration][tui]") {
    tui_with_bob f;
    f.bob->send_line("before the hostile ones");
    f.tui->wait_for_screen(
        [](const std::string& s) {
            return any_row_matches(s, clock_re + " <bob> before the hostile ones");
        },
        5s, "the harmless message");
    const std::string title_before =
        f.tui->tmux({"display-message", "-p", "-t", tmux_session::target, "#{pane_title}"});

    // Clear the screen, switch to red, home the cursor, set the window title; then a bell,
    // backspace, DEL and a right-to-left override.
    f.bob->send_line("\x1b[2J\x1b[31mred\x1b[H\x1b]0;pwned\x07");
    f.bob->send_line(
        "x\x07\x08\x7f\u202e"
        "evil");
    f.bob->send_line("after the hostile ones");
    auto screen = f.tui->wait_for_screen(
        [](const std::string& s) {
            return any_row_matches(s, clock_re + " <bob> after the hostile ones");
        },
        5s, "the message after the hostile ones");
    INFO(screen);
    auto rows = lines_of(screen);
    REQUIRE(rows.size() == 24);
    CHECK(rtrim(rows[0]) == title_80);
    CHECK(any_row_matches(screen, clock_re + " <bob> before the hostile ones"));
    CHECK(
        any_row_matches(screen, clock_re + " <bob> " + quote_re("^[[2J^[[31mred^[[H^[]0;pwned^G")));
    CHECK(any_row_matches(screen, clock_re + " <bob> " + quote_re("x^G^H^?<U+202E>evil")));
    CHECK(screen.find("\u202e") == std::string::npos);

    // Nothing reached the terminal as a control: the cursor is still on the input line, the
    // window title is unchanged and no text is red.
    const std::string state = f.tui->tmux(
        {"display-message", "-p", "-t", tmux_session::target, "#{cursor_y} #{pane_title}"});
    CHECK(state == "23 " + title_before);
    const std::string coloured = f.tui->capture({true, false});
    for (const auto& row : lines_of(coloured)) {
        if (row.find("red^[[H") == std::string::npos) continue;
        INFO("with attributes: " << row);
        // After "<bob> " nothing sets an attribute until the text ends (the border may).
        const auto text = row.find("^[[2J");
        REQUIRE(text != std::string::npos);
        const auto next_sgr = row.find('\x1b', text);
        const auto end = row.find("pwned^G");
        CHECK((next_sgr == std::string::npos || next_sgr > end));
        // And the SGR in force where the text starts sets no foreground colour.
        const auto last_sgr = row.rfind('\x1b', text);
        if (last_sgr != std::string::npos) {
            const std::string sgr = row.substr(last_sgr, row.find('m', last_sgr) + 1 - last_sgr);
            CHECK(std::regex_match(sgr, std::regex("\x1b\\[(0|39)?m")));
        }
    }
}

TEST_CASE("wide and combining characters are shown intact and take their cells",
          "[integration][tui]") {
    tui_with_bob f;
    // 日本語 (3 x 2 cells), 🎉 (2), café with a precomposed é (4), e + U+0301 (1), ✓ (1).
    const std::string text = "\u65e5\u672c\u8a9e \U0001f389 caf\u00e9 e\u0301 \u2713";
    const int text_cells = 6 + 1 + 2 + 1 + 4 + 1 + 1 + 1 + 1;
    f.bob->send_line(text);
    auto screen = f.tui->wait_for_screen(
        [&](const std::string& s) { return any_row_matches(s, clock_re + " <bob> " + text); }, 5s,
        "bob's wide characters on screen");
    INFO(screen);
    // The border of the peer list stays in its column on that row: had any character taken
    // the wrong number of cells, it would have moved.
    int border_col = -1;
    for (const auto& row : lines_of(screen)) {
        if (row.find(" 1 peer") != std::string::npos && row.find("\u2502") != std::string::npos)
            border_col = narrow_cells(row.substr(0, row.find("\u2502")));
    }
    REQUIRE(border_col > 0);
    for (const auto& row : lines_of(screen)) {
        const auto at = row.find(text);
        if (at == std::string::npos) continue;
        const auto border = row.find("\u2502", at);
        REQUIRE(border != std::string::npos);
        const std::string before_text = row.substr(0, at);  // "HH:MM <bob> ", narrow
        const std::string padding = row.substr(at + text.size(), border - at - text.size());
        CHECK(padding.find_first_not_of(' ') == std::string::npos);
        CHECK(narrow_cells(before_text) + text_cells + static_cast<int>(padding.size()) ==
              border_col);
    }
}

TEST_CASE("a long message wraps at word boundaries with continuation rows under the text",
          "[integration][tui]") {
    tui_with_bob f;
    std::vector<std::string> words;
    std::string text;
    for (int i = 1; i <= 30; ++i) {
        words.push_back((i % 3 == 0 ? "longerword" : "word") + std::to_string(100 + i));
        text += (text.empty() ? "" : " ") + words.back();
    }
    f.bob->send_line(text);
    auto screen = f.tui->wait_for_screen(words.back(), 5s, "the end of the long message");
    INFO(screen);
    auto rows = lines_of(screen);
    std::size_t first = rows.size();
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (row_matches(rows[i], clock_re + " <bob> " + words[0] + " .*")) first = i;
    REQUIRE(first < rows.size());
    const std::string prefix = pane_part(rows[first]).substr(0, 12);  // "HH:MM <bob> "
    REQUIRE(prefix.size() == 12);
    std::string rebuilt = pane_part(rows[first]).substr(12);
    int continuation_rows = 0;
    for (std::size_t i = first + 1; i < rows.size(); ++i) {
        const std::string part = pane_part(rows[i]);
        if (part.empty()) break;
        // Indented exactly under the text: 12 spaces, then a word.
        CHECK(part.substr(0, 12) == std::string(12, ' '));
        CHECK(part.size() > 12);
        CHECK(part[12] != ' ');
        rebuilt += " " + part.substr(12);
        ++continuation_rows;
    }
    CHECK(continuation_rows >= 3);
    // Nothing lost, nothing split inside a word.
    CHECK(rebuilt == text);
}

TEST_CASE("resizing to 20x5 and back to 80x24 redraws title, pane, status and input",
          "[integration][tui]") {
    tui_with_bob f;
    f.bob->send_line("said before the resize");
    auto before = f.tui->wait_for_screen("said before the resize", 5s, "the first message");

    f.tui->resize(20, 5);
    auto small = f.tui->wait_for_screen(
        [](const std::string& s) {
            auto rows = lines_of(s);
            if (rows.size() != 5) return false;
            for (const auto& r : rows)
                if (narrow_cells(r) > 20) return false;
            return rows[0].starts_with(" confab  #lobby") && rows[3].starts_with(" [127.0.0.1:") &&
                   rtrim(rows[4]) == "[alice]";
        },
        5s, "the 20x5 layout");
    INFO(small);
    // Usable at that size: a line typed there is sent.
    f.type_line("typed at 20x5");
    f.bob->wait_for(is_message_with_text("typed at 20x5"), 5s, "the line typed at 20x5");

    f.tui->resize(80, 24);
    auto big = f.tui->wait_for_screen(
        [](const std::string& s) {
            auto rows = lines_of(s);
            return rows.size() == 24 && rtrim(rows[0]) == title_80 &&
                   rows[22].starts_with(" [127.0.0.1:") && rtrim(rows[23]) == "[alice]" &&
                   any_row_matches(s, clock_re + " <alice> typed at 20x5");
        },
        5s, "the 80x24 layout again");
    INFO(big);
    auto rows = lines_of(big);
    CHECK(any_row_matches(big, clock_re + " <bob> said before the resize"));
    // The peer list is back, with its border on every pane row.
    CHECK(rows[1].find("\u2502 1 peer") != std::string::npos);
    for (int r = 1; r <= 21; ++r)
        CHECK(rows[static_cast<std::size_t>(r)].find("\u2502") != std::string::npos);
    // The pane shows what it showed before plus the line typed at 20x5, and no leftovers of
    // the small layout.
    auto expected = pane_rows_of(before);
    REQUIRE(!pane_rows_of(big).empty());
    expected.push_back(pane_rows_of(big).back());
    CHECK(std::regex_match(expected.back(), std::regex(clock_re + " <alice> typed at 20x5")));
    CHECK(pane_rows_of(big) == expected);
    CHECK_FALSE(f.tui->pane_dead());
}

TEST_CASE(
    "PgUp scrolls back, a message arriving meanwhile does not move the view and is "
    "counted, End returns to live",
    "[integration][tui]") {
    tui_with_bob f;
    for (int i = 1; i <= 40; ++i) {
        f.bob->send_line("line " + std::to_string(100 + i) + " from bob");
    }
    auto live = f.tui->wait_for_screen(
        [](const std::string& s) {
            return row_matches(row_of(s, 21), clock_re + " <bob> line 140 from bob");
        },
        10s, "all 40 lines, the last at the bottom of the pane");
    REQUIRE(lines_of(live).size() == 24);
    const std::string status_live = row_of(live, 22);
    CHECK(status_live.find("--") == std::string::npos);

    f.tui->send_keys({"PPage"});
    auto up = f.tui->wait_for_screen(
        [](const std::string& s) { return row_of(s, 22).ends_with("-- scrolled up: End --"); }, 5s,
        "the scrolled-up marker");
    INFO(up);
    auto live_rows = lines_of(live);
    auto up_rows = lines_of(up);
    REQUIRE(up_rows.size() == 24);
    // A page is the pane (21 rows) less one row kept for context: the old top row is now at
    // the bottom.
    CHECK(pane_part(up_rows[21]) == pane_part(live_rows[1]));
    CHECK(up.find("line 140 from bob") == std::string::npos);

    f.bob->send_line("bob writes while scrolled");
    auto counted = f.tui->wait_for_screen(
        [](const std::string& s) { return row_of(s, 22).ends_with("-- 1 new below: End --"); }, 5s,
        "1 new below");
    INFO(counted);
    auto counted_rows = lines_of(counted);
    REQUIRE(counted_rows.size() == 24);
    for (int r = 0; r <= 21; ++r) {
        CHECK(counted_rows[static_cast<std::size_t>(r)] == up_rows[static_cast<std::size_t>(r)]);
    }
    CHECK(rtrim(counted_rows[23]) == "[alice]");

    f.tui->send_keys({"End"});
    auto back = f.tui->wait_for_screen(
        [](const std::string& s) {
            return row_matches(row_of(s, 21), clock_re + " <bob> bob writes while scrolled");
        },
        5s, "live again after End");
    INFO(back);
    auto back_rows = lines_of(back);
    REQUIRE(back_rows.size() == 24);
    CHECK(row_matches(back_rows[20], clock_re + " <bob> line 140 from bob"));
    CHECK(rtrim(back_rows[22]) == status_live);
}

// The cap drops the entry the view is anchored to: at fc9423f the view was re-anchored on the
// oldest entry left with nothing drawn below it, so a redraw showed one line and a blank pane.
TEST_CASE("scrolled up while more than the 10,000 kept lines arrive, a redraw shows a full page",
          "[integration][tui]") {
    tui_with_bob f;
    for (int i = 1; i <= 40; ++i) f.bob->send_line("early " + std::to_string(100 + i));
    f.tui->wait_for_screen(
        [](const std::string& s) {
            return row_matches(row_of(s, 21), clock_re + " <bob> early 140");
        },
        10s, "the early lines");
    f.tui->send_keys({"PPage"});
    f.tui->wait_for_screen(
        [](const std::string& s) { return row_of(s, 22).ends_with("-- scrolled up: End --"); }, 5s,
        "scrolled up");
    char text[32];
    for (int i = 1; i <= 10000; ++i) {
        std::snprintf(text, sizeof text, "flood %05d", i);
        f.bob->send_line(text);
    }
    // Pumps bob's stdin until he has sent the last one: about a second in a release build,
    // but a sanitized debug build sharing the cores with another test has needed over 30 s.
    f.bob->wait_for(is_message_with_text("flood 10000"), 60s, "bob sending the flood");
    // Nearly all 10,000 are below the view: the oldest kept ones are on it (paging down
    // over new lines counts them as seen).
    const std::regex many_below(".*-- 99\\d\\d new below: End --");
    f.tui->wait_for_screen(
        [&](const std::string& s) { return std::regex_match(row_of(s, 22), many_below); }, 30s,
        "about 10000 new below");
    f.tui->send_keys({"C-l"});
    f.tui->wait_for_screen(
        [&](const std::string& s) {
            auto rows = pane_rows_of(s);
            if (rows.size() != 21) return false;
            for (const auto& r : rows)
                if (!std::regex_match(r, std::regex(clock_re + " <bob> flood \\d{5}")))
                    return false;
            return std::regex_match(row_of(s, 22), many_below);
        },
        3s, "a full page of what is kept, still scrolled up");
}

TEST_CASE("PgDn after PgUp returns to the live view", "[integration][tui]") {
    tui_with_bob f;
    for (int i = 1; i <= 40; ++i) f.bob->send_line("line " + std::to_string(100 + i));
    auto live = f.tui->wait_for_screen(
        [](const std::string& s) {
            return row_matches(row_of(s, 21), clock_re + " <bob> line 140");
        },
        10s, "all 40 lines");
    f.tui->send_keys({"PPage"});
    f.tui->wait_for_screen([](const std::string& s) { return row_of(s, 22).ends_with("End --"); },
                           5s, "scrolled up");
    f.tui->send_keys({"NPage"});
    auto back = f.tui->wait_for_screen(
        [](const std::string& s) { return !row_of(s, 22).ends_with("End --"); }, 5s,
        "live after PgDn");
    INFO(back);
    CHECK(back == live);
}

TEST_CASE("the peer list shows the connected peer's nick and short id, and F2 toggles it",
          "[integration][tui]") {
    tui_with_bob f;
    const std::string id6 = f.bob->peer_id().substr(0, 6);
    auto screen = f.tui->wait_for_screen(
        [&](const std::string& s) {
            return row_of(s, 1).ends_with("\u2502 1 peer") &&
                   row_of(s, 2).ends_with("\u2502 bob " + id6);
        },
        5s, "bob in the peer list");
    INFO(screen);
    // The border sits at the same column on every pane row.
    auto rows = lines_of(screen);
    const auto col = narrow_cells(rows[1].substr(0, rows[1].find("\u2502")));
    for (int r = 1; r <= 21; ++r) {
        const auto& row = rows[static_cast<std::size_t>(r)];
        REQUIRE(row.find("\u2502") != std::string::npos);
        CHECK(narrow_cells(row.substr(0, row.find("\u2502"))) == col);
    }

    f.tui->send_keys({"F2"});
    auto hidden = f.tui->wait_for_screen(
        [](const std::string& s) { return s.find("\u2502") == std::string::npos; }, 5s,
        "no peer list after F2");
    INFO(hidden);
    CHECK(hidden.find(" bob " + id6) == std::string::npos);
    f.tui->send_keys({"F2"});
    f.tui->wait_for_screen(
        [&](const std::string& s) { return row_of(s, 2).ends_with("\u2502 bob " + id6); }, 5s,
        "the peer list back after F2 again");
}

TEST_CASE("Tab completes a nick at the start of the line with ': '", "[integration][tui]") {
    tui_with_bob f;
    f.tui->send_text("bo");
    f.tui->wait_for_screen([](const std::string& s) { return last_row(s) == "[alice] bo"; }, 5s,
                           "'bo' typed");
    f.tui->send_keys({"Tab"});
    f.tui->send_text("hi");
    f.tui->wait_for_screen([](const std::string& s) { return last_row(s) == "[alice] bob: hi"; },
                           5s, "'bob: ' completed, then 'hi'");
    f.tui->send_keys({"Enter"});
    auto e = f.bob->wait_for(is_event("message"), 5s, "the completed line at bob");
    CHECK(e.str("text") == "bob: hi");
}

TEST_CASE("a bad command shows a one-line explanation and sends nothing", "[integration][tui]") {
    tui_with_bob f;
    const auto before = pane_rows_of(f.tui->capture());
    f.type_line("/bogus now");
    auto screen = f.tui->wait_for_screen("/bogus", 5s, "the explanation");
    INFO(screen);
    // One new entry: a notice whose continuation rows (if the pane is too narrow for it) are
    // indented under its text; nothing else was added.
    auto after = pane_rows_of(screen);
    REQUIRE(after.size() > before.size());
    CHECK(std::equal(before.begin(), before.end(), after.begin()));
    const std::string head = after[before.size()];
    CHECK(std::regex_match(head, std::regex(clock_re + " -!- unknown command /bogus; .*")));
    std::string text = head.substr(10);
    for (std::size_t i = before.size() + 1; i < after.size(); ++i) {
        CHECK(after[i].starts_with(std::string(10, ' ')));
        CHECK(after[i].size() > 10);
        CHECK(after[i][10] != ' ');
        text += " " + after[i].substr(10);
    }
    CHECK(text.find("/help") != std::string::npos);
    CHECK(row_of(screen, 23) == "[alice]");

    f.type_line("still here");
    f.bob->wait_for(is_message_with_text("still here"), 5s, "a message after the bad command");
    CHECK(f.bob->count(is_event("message")) == 1);
}

TEST_CASE("the pane shows the invite to the room, whole on one row, and /invite repeats it",
          "[integration][tui][rooms]") {
    // Wide enough that the invite fits the pane beside the peer list.
    tui_with_bob f({.cols = 120});
    const std::regex invite_row(" *(confab1[a-z2-7]+)");
    auto find_invite = [&](const std::string& screen) {
        std::vector<std::string> found;
        std::smatch m;
        for (const auto& row : lines_of(screen)) {
            const auto part = pane_part(row);
            const auto at = part.find("confab1");
            if (at == std::string::npos) continue;
            std::string rest = part.substr(at);
            if (std::regex_match(rest, m, invite_row)) found.push_back(m[1]);
        }
        return found;
    };
    auto screen = f.tui->wait_for_screen(
        [&](const std::string& s) {
            return s.find("invite others with: confab --invite") != std::string::npos &&
                   !find_invite(s).empty();
        },
        5s, "the invite line");
    INFO(screen);
    const auto invite = find_invite(screen).front();
    // It is the room's: bob, in the same room with the same secret, says it is his room.
    const std::size_t from = f.bob->events().size();
    f.bob->send_line("/join " + invite);
    auto n = f.bob->wait_for(is_event("notice"), 5s, "bob's /join notice", from);
    CHECK_THAT(n.str("message"),
               Catch::Matchers::Contains("the invite is for #lobby, which this peer is in: "
                                         "connecting to"));

    f.type_line("/invite");
    screen = f.tui->wait_for_screen(
        [&](const std::string& s) { return find_invite(s).size() == 2; }, 5s, "/invite again");
    CHECK(find_invite(screen).back() == invite);
    CHECK(row_of(screen, 0).starts_with(" confab  #lobby  alice"));
}

TEST_CASE("an open room says so in the title and the pane", "[integration][tui][rooms]") {
    tui_with_bob f({.open = true});
    auto screen = f.tui->wait_for_screen(
        [](const std::string& s) {
            return s.find("#lobby is open: it has no secret") != std::string::npos;
        },
        5s, "the open-room notice");
    INFO(screen);
    CHECK(row_of(screen, 0).starts_with(" confab  #lobby (open)  alice"));
    CHECK(screen.find("--invite") == std::string::npos);
}

TEST_CASE("/quit exits 0, restores the terminal and says bye to the peer", "[integration][tui]") {
    tui_with_bob::options o;
    o.through_shell = true;
    tui_with_bob f(o);
    leave(f, way_out::quit);
    check_left_cleanly(f);
}

TEST_CASE("SIGTERM exits 0, restores the terminal and says bye to the peer", "[integration][tui]") {
    tui_with_bob::options o;
    o.through_shell = true;
    tui_with_bob f(o);
    leave(f, way_out::sigterm);
    check_left_cleanly(f);
}

TEST_CASE("Ctrl-C exits 0, restores the terminal and says bye to the peer", "[integration][tui]") {
    tui_with_bob::options o;
    o.through_shell = true;
    tui_with_bob f(o);
    leave(f, way_out::ctrl_c);
    check_left_cleanly(f);
}

// asio's async_wait puts the descriptor it watches in O_NONBLOCK, a flag of the open file
// description: watching a dup() of stdin (as fc9423f did) leaves the shell's terminal
// non-blocking after confab, and the next program that reads it gets EAGAIN (`confab; cat`
// fails with "Resource temporarily unavailable"; bash hides it by clearing the flag itself).
TEST_CASE("leaving gives the terminal back in blocking mode, so the next program can read it",
          "[integration][tui]") {
    tui_with_bob::options o;
    o.through_shell = true;
    way_out how = way_out::quit;
    SECTION("/quit") {
        how = way_out::quit;
    }
    SECTION("SIGTERM") {
        how = way_out::sigterm;
    }
    SECTION("Ctrl-C") {
        how = way_out::ctrl_c;
    }
    tui_with_bob f(o);
    leave(f, how);
    // "flags:\t0100002" from /proc/PID/fdinfo/0 of the shell, in octal.
    const std::string flags = read_file(f.files.path() / "stdin_flags");
    INFO("the shell's stdin after confab: " << flags);
    REQUIRE(flags.starts_with("flags:"));
    const long value = std::strtol(flags.c_str() + 6, nullptr, 8);
    CHECK((value & O_NONBLOCK) == 0);
}

TEST_CASE("closing the terminal (SIGHUP) ends confab and says bye to the peer",
          "[integration][tui]") {
    tui_with_bob f;
    const pid_t confab = f.tui->pane_pid();
    // The pane's pty closes: the kernel hangs up the terminal and confab gets SIGHUP.
    f.tui->tmux({"kill-pane", "-t", tmux_session::target});
    auto down = f.bob->wait_for(is_peer_down(f.alice_id), 10s, "peer_down for alice");
    CHECK(down.str("reason") == "neighbour said bye (shutdown)");
    CHECK(wait_process_gone(confab, 10s));
}

TEST_CASE("a bracketed multi-line paste arrives as one message per line", "[integration][tui]") {
    tui_with_bob f;
    // The tab shows the paste took the bracketed path: pasted, it is a space; typed, it would
    // be Tab, which completes (and here finds nothing, so it would vanish).
    f.tui->paste("line\tone\nline two\n");
    f.bob->wait_for(is_message_with_text("line two"), 5s, "the second pasted line");
    f.tui->wait_for_screen(
        [](const std::string& s) {
            return any_row_matches(s, clock_re + " <alice> line two") && last_row(s) == "[alice]";
        },
        5s, "both lines sent and the input line empty");
    f.type_line("after the paste");
    f.bob->wait_for(is_message_with_text("after the paste"), 5s, "the line typed after");
    std::vector<std::string> texts;
    for (const auto& e : f.bob->events())
        if (e.name() == "message") texts.push_back(e.str("text"));
    CHECK(texts == std::vector<std::string>{"line one", "line two", "after the paste"});
}

TEST_CASE("a paste's unfinished last line stays in the input line", "[integration][tui]") {
    tui_with_bob f;
    f.tui->paste("first\nsecond");
    f.bob->wait_for(is_message_with_text("first"), 5s, "the finished line");
    f.tui->wait_for_screen([](const std::string& s) { return last_row(s) == "[alice] second"; }, 5s,
                           "the rest in the input line");
    f.tui->send_keys({"Enter"});
    f.bob->wait_for(is_message_with_text("second"), 5s, "the rest, after Enter");
    CHECK(f.bob->count(is_event("message")) == 2);
}

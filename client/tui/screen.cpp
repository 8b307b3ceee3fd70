#include "client/tui/screen.hpp"

#include <algorithm>
#include <ctime>
#include <string>

#include <curses.h>

#include "client/tui/text.hpp"

namespace confab::client::tui {

namespace {

// Colour pairs. Nick colours first, so that nick_colour() indexes them directly.
constexpr short nick_palette[] = {COLOR_RED,  COLOR_GREEN,   COLOR_YELLOW,
                                  COLOR_BLUE, COLOR_MAGENTA, COLOR_CYAN};
constexpr int palette_size = sizeof nick_palette / sizeof nick_palette[0];
constexpr short bar_pair = palette_size + 1;
constexpr short error_pair = palette_size + 2;
constexpr short mention_pair = palette_size + 3;

// A pane narrower than this after the prefix wraps continuation rows at the left edge.
constexpr int min_text_cols = 10;
constexpr int peer_list_min_cols = 60;  // narrower terminals hide the peer list
constexpr int short_id_chars = 6;

std::string clock_of(std::int64_t ts_ms) {
    const std::time_t seconds = static_cast<std::time_t>(ts_ms / 1000);
    std::tm local{};
    ::localtime_r(&seconds, &local);
    char out[8];
    std::strftime(out, sizeof out, "%H:%M", &local);
    return out;
}

// What comes before the text on an entry's first row, escaped.
std::string prefix_of(const pane_entry& e) {
    std::string p = clock_of(e.ts);
    if (e.type == pane_entry::kind::backlog) return e.ts ? p + " " : std::string();
    switch (e.type) {
        case pane_entry::kind::message:
            p += " <";
            p += escape_for_display(e.nick);
            p += "> ";
            break;
        case pane_entry::kind::action:
            p += "  * ";
            break;
        case pane_entry::kind::notice:
        case pane_entry::kind::error:
            p += " -!- ";
            break;
        case pane_entry::kind::backlog:
            break;
    }
    return p;
}

// The text an entry wraps: an action starts with its author's nick.
std::string body_of(const pane_entry& e) {
    if (e.type != pane_entry::kind::action) return escape_for_display(e.text);
    std::string body = escape_for_display(e.nick);
    body += ' ';
    body += escape_for_display(e.text);
    return body;
}

// Where continuation rows start: under the text, unless that leaves too little room.
int indent_for(int prefix_cols, int pane_cols) {
    if (pane_cols - prefix_cols >= min_text_cols) return prefix_cols;
    return pane_cols > 4 ? 2 : 0;
}

attr_t pair_attr(bool colours, short pair) {
    return colours ? COLOR_PAIR(pair) : A_NORMAL;
}

// Draws escaped text at (y, x), cut to `cols` cells so that curses never wraps it.
void put(int y, int x, std::string_view text, int cols, attr_t attr = A_NORMAL) {
    if (cols <= 0) return;
    const std::string cut = truncate_to_width(text, cols);
    attrset(attr);
    mvaddnstr(y, x, cut.data(), static_cast<int>(cut.size()));
    attrset(A_NORMAL);
}

// Fills a row (or part of it) with spaces in `attr`.
void blank(int y, int x, int cols, attr_t attr = A_NORMAL) {
    if (cols <= 0) return;
    attrset(attr);
    mvhline(y, x, ' ', cols);
    attrset(A_NORMAL);
}

}  // namespace

screen::screen(bool colours) : colours_(colours) {
    if (colours_) {
        for (short i = 0; i < palette_size; ++i) init_pair(i + 1, nick_palette[i], -1);
        init_pair(bar_pair, COLOR_WHITE, COLOR_BLUE);
        init_pair(error_pair, COLOR_RED, -1);
        init_pair(mention_pair, COLOR_BLACK, COLOR_YELLOW);
    }
}

screen::layout screen::lay_out(const ui_state& state) const {
    layout l;
    l.rows = std::max(LINES, 0);
    l.cols = std::max(COLS, 0);
    if (l.rows == 0 || l.cols == 0) return l;
    // The input line is always there; the title and status lines give way to the pane on a
    // tiny terminal.
    l.input_row = l.rows - 1;
    int top = 0;
    int bottom = l.input_row;
    if (l.rows >= 3) top = 1;
    if (l.rows >= 4) l.status_row = --bottom;
    l.pane_top = top;
    l.pane_rows = std::max(0, bottom - top);
    if (state.show_peer_list && l.cols >= peer_list_min_cols) l.peers_cols = std::min(24, l.cols / 4);
    // A blank column before the list's border keeps text from touching it.
    l.pane_cols = l.cols - l.peers_cols - (l.peers_cols > 0 ? 1 : 0);
    return l;
}

int screen::pane_rows() const {
    return layout_.pane_rows;
}

// The rows of an entry's text at a pane width. When the prefix leaves no room for text (a
// wide nick in a narrow pane), the first row is the prefix alone.
std::vector<std::string> screen::wrap_entry(const pane_entry& e, int cols) const {
    const int prefix_cols = display_width(prefix_of(e));
    const int indent = indent_for(prefix_cols, cols);
    if (cols - prefix_cols < 1) {
        auto rows = wrap(body_of(e), cols - indent, cols - indent);
        rows.insert(rows.begin(), std::string());
        return rows;
    }
    return wrap(body_of(e), cols - prefix_cols, cols - indent);
}

int screen::rows_of(const pane_entry& e) const {
    const int cols = std::max(1, layout_.pane_cols);
    if (e.wrapped_width != cols) {
        e.wrapped_rows = static_cast<int>(wrap_entry(e, cols).size());
        e.wrapped_width = cols;
    }
    return e.wrapped_rows;
}

void screen::draw(ui_state& state, unsigned regions) {
    const layout l = lay_out(state);
    if (l.rows != layout_.rows || l.cols != layout_.cols || l.peers_cols != layout_.peers_cols) {
        regions = all_regions;
        erase();
    }
    layout_ = l;
    if (l.rows == 0 || l.cols == 0) return;
    if (regions & title_region) draw_title(state);
    if (regions & pane_region) draw_pane(state);
    if (regions & (pane_region | peers_region)) draw_peers(state);
    if (regions & status_region) draw_status(state);
    // The input line is drawn last in any case: the terminal's cursor belongs there.
    draw_input(state);
    wnoutrefresh(stdscr);
    doupdate();
}

void screen::draw_title(const ui_state& state) {
    if (layout_.rows < 3) return;
    const attr_t bar = colours_ ? pair_attr(true, bar_pair) : A_REVERSE;
    std::string title = " confab  #" + escape_for_display(state.room);
    if (state.open) title += " (open)";
    if (state.leaving) {
        title += "  leaving: saying bye to peers...";
    } else if (state.peer_id.empty()) {
        title += "  starting...";
    } else {
        title += "  " + escape_for_display(state.nick);
        const auto n = state.peers.size();
        // A filled dot when connected to the mesh, a hollow one when alone.
        title += n > 0 ? "  \u25cf " : "  \u25cb ";
        title += std::to_string(n) + (n == 1 ? " peer" : " peers");
        title += "  [not encrypted]";
    }
    blank(0, 0, layout_.cols, bar);
    put(0, 0, title, layout_.cols, bar | A_BOLD);
}

void screen::draw_pane(const ui_state& state) {
    const auto pieces = state.pane.visible(layout_.pane_rows, rows_fn());
    int y = layout_.pane_top;
    for (const auto& piece : pieces) {
        const auto rows = wrap_entry(*piece.entry, std::max(1, layout_.pane_cols));
        for (int r = piece.skip; r < piece.skip + piece.rows; ++r) {
            blank(y, 0, layout_.pane_cols);
            draw_entry_row(*piece.entry, rows, r, y);
            ++y;
        }
    }
    for (; y < layout_.pane_top + layout_.pane_rows; ++y) blank(y, 0, layout_.pane_cols);
    if (layout_.peers_cols > 0) {
        for (y = layout_.pane_top; y < layout_.pane_top + layout_.pane_rows; ++y) {
            blank(y, layout_.pane_cols, 1);
        }
    }
}

void screen::draw_entry_row(const pane_entry& e, const std::vector<std::string>& rows, int index,
                            int y) {
    const int cols = layout_.pane_cols;
    const std::string prefix = prefix_of(e);
    const int prefix_cols = display_width(prefix);
    attr_t text_attr = A_NORMAL;
    const attr_t nick_attr =
        pair_attr(colours_, static_cast<short>(nick_colour(e.peer_id, palette_size) + 1)) |
        (e.own ? A_BOLD : A_NORMAL);
    switch (e.type) {
        case pane_entry::kind::message:
            if (e.mention) text_attr = colours_ ? pair_attr(true, mention_pair) : A_REVERSE;
            break;
        case pane_entry::kind::action:
            text_attr = e.mention ? (colours_ ? pair_attr(true, mention_pair) : A_REVERSE) : nick_attr;
            break;
        case pane_entry::kind::notice:
            // A notice waiting for an answer (a file offer) stands out; the others are dim.
            text_attr = e.mention ? A_BOLD : A_DIM;
            break;
        case pane_entry::kind::backlog:
            text_attr = A_DIM;
            break;
        case pane_entry::kind::error:
            text_attr = colours_ ? pair_attr(true, error_pair) | A_BOLD : A_BOLD;
            break;
    }
    int x = indent_for(prefix_cols, cols);
    if (index == 0 && e.type == pane_entry::kind::backlog) {
        put(y, 0, prefix, cols, A_DIM);
        x = prefix_cols;
    } else if (index == 0 && !prefix.empty()) {
        const std::string clock = prefix.substr(0, 5);
        put(y, 0, clock, cols, A_DIM);
        if (e.type == pane_entry::kind::message) {
            // " <nick> " with the nick in its colour.
            const std::string nick = prefix.substr(7, prefix.size() - 9);
            put(y, 5, " <", cols - 5);
            put(y, 7, nick, cols - 7, nick_attr);
            const int after = 7 + display_width(nick);
            put(y, after, "> ", cols - after);
        } else {
            put(y, 5, prefix.substr(5), cols - 5, e.type == pane_entry::kind::action ? nick_attr
                                                                                    : A_DIM);
        }
        x = prefix_cols;
    }
    if (index < static_cast<int>(rows.size())) {
        put(y, x, rows[static_cast<std::size_t>(index)], cols - x, text_attr);
    }
}

void screen::draw_peers(const ui_state& state) {
    if (layout_.peers_cols == 0 || layout_.pane_rows == 0) return;
    const int x0 = layout_.pane_cols + 1;
    const int width = layout_.peers_cols - 1;
    mvvline(layout_.pane_top, x0, ACS_VLINE, layout_.pane_rows);
    const int x = x0 + 1;
    int y = layout_.pane_top;
    const int last = layout_.pane_top + layout_.pane_rows;
    blank(y, x, width);
    const auto n = state.peers.size();
    put(y++, x, " " + std::to_string(n) + (n == 1 ? " peer" : " peers"), width, A_BOLD);
    std::size_t shown = 0;
    for (const auto& p : state.peers) {
        if (y >= last) break;
        blank(y, x, width);
        // The last row says how many did not fit, rather than hiding them silently.
        if (y == last - 1 && shown + 1 < n) {
            put(y++, x, " +" + std::to_string(n - shown) + " more", width, A_DIM);
            shown = n;
            break;
        }
        const std::string nick = " " + escape_for_display(p.nick);
        const std::string id = p.peer_id.substr(0, short_id_chars);
        const int id_cols = static_cast<int>(id.size()) + 1;
        const int nick_cols = std::max(0, width - id_cols);
        put(y, x, nick, nick_cols,
            pair_attr(colours_, static_cast<short>(nick_colour(p.peer_id, palette_size) + 1)));
        const int id_x = x + std::min(display_width(truncate_to_width(nick, nick_cols)) + 1,
                                      nick_cols + 1);
        put(y, id_x, id, x + width - id_x, A_DIM);
        ++y;
        ++shown;
    }
    for (; y < last; ++y) blank(y, x, width);
}

void screen::draw_status(const ui_state& state) {
    if (layout_.status_row < 0) return;
    const attr_t bar = colours_ ? pair_attr(true, bar_pair) : A_REVERSE;
    const int y = layout_.status_row;
    blank(y, 0, layout_.cols, bar);
    std::string left;
    if (!state.listen.empty()) left += " [" + state.listen + "]";
    if (!state.peer_id.empty()) left += " [id " + state.peer_id.substr(0, 8) + "]";
    std::string right;
    if (state.transfers.empty() && state.pane.live()) {
        left += " [F2 peers  PgUp/PgDn scroll  /help]";
    } else if (state.transfers.empty()) {
        // Scrolled up: the marker on the right says what matters; no half-cut hints.
    } else {
        // Transfers take the room the key hints had, shared out between them.
        const int room = std::max(0, layout_.cols - display_width(left) - 2);
        const int each = std::max(12, room / static_cast<int>(state.transfers.size()) - 3);
        for (const auto& t : state.transfers) {
            if (display_width(left) + each + 3 > layout_.cols) break;
            left += " [" + progress_text(t, each) + "]";
        }
    }
    if (!state.pane.live()) {
        const auto unseen = state.pane.unseen();
        right = unseen > 0 ? "-- " + std::to_string(unseen) + " new below: End --"
                           : "-- scrolled up: End --";
        if (state.unseen_mentions > 0) {
            right = "-- " + std::to_string(state.unseen_mentions) + " mentioning you " +
                    right.substr(3);
        }
        right += ' ';
    }
    const int right_cols = display_width(right);
    put(y, 0, left, layout_.cols - right_cols - 1, bar);
    if (right_cols > 0 && right_cols <= layout_.cols) {
        put(y, layout_.cols - right_cols, right, right_cols, bar | A_BOLD);
    }
}

void screen::draw_input(ui_state& state) {
    const int y = layout_.input_row;
    if (y < 0) return;
    std::string prompt = "[" + escape_for_display(state.nick) + "] ";
    int prompt_cols = display_width(prompt);
    // The text matters more than the prompt on a narrow terminal.
    if (layout_.cols - prompt_cols < 10) {
        prompt.clear();
        prompt_cols = 0;
    }
    blank(y, 0, layout_.cols);
    put(y, 0, prompt, layout_.cols, A_BOLD);
    const int field = layout_.cols - prompt_cols;
    const auto view = state.input.view(field);
    put(y, prompt_cols, view.text, field);
    move(y, std::min(prompt_cols + view.cursor_column, layout_.cols - 1));
}

}  // namespace confab::client::tui

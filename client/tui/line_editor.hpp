#pragma once
// The input line: UTF-8 text with a cursor anywhere, the readline/emacs moves irssi and
// weechat users type without thinking, a kill buffer, and history. Pure: the front maps keys
// to these calls and draws view(). Main thread only (no locking), but touches no globals.

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace confab::client::tui {

class line_editor {
public:
    // Lines kept for Up/Down.
    static constexpr std::size_t max_history = 1000;

    const std::string& text() const { return text_; }
    std::size_t cursor() const { return cursor_; }  // a byte offset on a unit boundary
    bool empty() const { return text_.empty(); }

    // Inserts at the cursor. Control characters (C0, DEL, C1) in `s` are dropped, so a paste
    // cannot put an escape sequence into a message; invalid UTF-8 bytes are dropped too.
    void insert(std::string_view s);
    // Replaces the line; the same filter as insert() applies. Cursor to the end, or to byte
    // `cursor` of `s` (moved to the next unit boundary), e.g. after a Tab completion.
    void set_text(std::string s);
    void set_text(std::string s, std::size_t cursor);

    void left();          // one unit (a wide or combined character is one unit)
    void right();
    void home();          // Home, Ctrl-A
    void end();           // End, Ctrl-E
    void word_left();     // Alt-B
    void word_right();    // Alt-F
    void backspace();     // the unit before the cursor
    void erase();         // Delete: the unit under the cursor
    void kill_to_end();   // Ctrl-K
    void kill_to_start(); // Ctrl-U
    void kill_word();     // Ctrl-W: the word before the cursor, and the spaces after it
    void yank();          // Ctrl-Y: the last killed text, at the cursor
    // Kills in a row (with no other call between them) collect into one text, as in readline:
    // Ctrl-W Ctrl-W Ctrl-Y puts back both words.

    // Enter: returns the line, stores it in history (unless blank or equal to the last
    // entry) and clears the editor.
    std::string submit();
    // Up/Down. The line being typed is kept and comes back when Down passes the newest entry.
    void history_up();
    void history_down();

    // What to draw in a field `width` cells wide: a slice of the text that keeps the cursor
    // visible (scrolling horizontally by about a third of the width when it leaves),
    // and the cursor's column inside that slice. `text` is escaped for display.
    struct view_t {
        std::string text;
        int cursor_column = 0;
    };
    view_t view(int width);

private:
    void kill(std::size_t from, std::size_t to);

    std::string text_;
    std::size_t cursor_ = 0;
    std::string kill_buffer_;
    bool last_was_kill_ = false;  // the previous call was a kill: the next one adds to it
    std::deque<std::string> history_;
    std::size_t history_pos_ = 0;  // == history_.size() while editing the new line
    std::string draft_;            // the new line, while browsing history
    int scroll_ = 0;               // first visible cell, kept between calls to view()
};

}  // namespace confab::client::tui

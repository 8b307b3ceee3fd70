#include "client/tui/line_editor.hpp"

#include <algorithm>
#include <vector>

#include "client/tui/text.hpp"

namespace confab::client::tui {

namespace {

// What may be typed into a message: valid UTF-8 with no control characters. A paste could
// otherwise carry an escape sequence to every peer's terminal. C1 controls go too: U+009B is
// a CSI to terminals that read 8-bit controls.
std::string printable_only(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t pos = 0; pos < s.size();) {
        auto d = decode_utf8(s, pos);
        bool control = d.cp < 0x20 || (d.cp >= 0x7f && d.cp <= 0x9f);
        if (d.valid && !control) out.append(s.substr(pos, d.length));
        pos += std::max<std::size_t>(d.length, 1);
    }
    return out;
}

// The first unit boundary at or after `pos`. Used wherever an offset comes from outside the
// unit walk: a combining mark at the start of a tail joins the unit before it once text is
// put in front of it, and word boundaries are found per code point.
std::size_t boundary_at_or_after(std::string_view s, std::size_t pos) {
    // From the start of the unit around pos, not from the start of the line: typing a long
    // line must not be quadratic.
    pos = std::min(pos, s.size());
    std::size_t at = pos == 0 ? 0 : prev_boundary(s, pos);
    while (at < pos && at < s.size()) {
        std::size_t next = next_boundary(s, at);
        if (next <= at) break;
        at = next;
    }
    return std::min(at, s.size());
}

}  // namespace

void line_editor::insert(std::string_view s) {
    last_was_kill_ = false;
    std::string clean = printable_only(s);
    text_.insert(cursor_, clean);
    cursor_ = boundary_at_or_after(text_, cursor_ + clean.size());
}

void line_editor::set_text(std::string s) {
    // Everything that enters the line goes through the same filter as typing: completions
    // carry nicks from the network and file names from the disk.
    text_ = printable_only(s);
    cursor_ = text_.size();
    last_was_kill_ = false;
}

void line_editor::set_text(std::string s, std::size_t cursor) {
    cursor = boundary_at_or_after(s, std::min(cursor, s.size()));
    std::string head = printable_only(std::string_view(s).substr(0, cursor));
    text_ = head + printable_only(std::string_view(s).substr(cursor));
    cursor_ = boundary_at_or_after(text_, head.size());
    last_was_kill_ = false;
}

void line_editor::left() {
    last_was_kill_ = false;
    cursor_ = prev_boundary(text_, cursor_);
}

void line_editor::right() {
    last_was_kill_ = false;
    cursor_ = next_boundary(text_, cursor_);
}

void line_editor::home() {
    last_was_kill_ = false;
    cursor_ = 0;
}

void line_editor::end() {
    last_was_kill_ = false;
    cursor_ = text_.size();
}

void line_editor::word_left() {
    last_was_kill_ = false;
    cursor_ = boundary_at_or_after(text_, prev_word_start(text_, cursor_));
}

void line_editor::word_right() {
    last_was_kill_ = false;
    cursor_ = boundary_at_or_after(text_, next_word_end(text_, cursor_));
}

void line_editor::backspace() {
    last_was_kill_ = false;
    std::size_t from = prev_boundary(text_, cursor_);
    text_.erase(from, cursor_ - from);
    cursor_ = from;
}

void line_editor::erase() {
    last_was_kill_ = false;
    std::size_t to = next_boundary(text_, cursor_);
    text_.erase(cursor_, to - cursor_);
}

void line_editor::kill_to_end() { kill(cursor_, text_.size()); }

void line_editor::kill_to_start() { kill(0, cursor_); }

void line_editor::kill_word() {
    kill(boundary_at_or_after(text_, prev_word_start(text_, cursor_)), cursor_);
}

void line_editor::kill(std::size_t from, std::size_t to) {
    if (from >= to) return;
    std::string killed = text_.substr(from, to - from);
    // As in readline, kills in a row build one piece of text, so Ctrl-W Ctrl-W Ctrl-Y moves
    // two words. A kill before the cursor goes in front of what was killed before.
    if (!last_was_kill_) {
        kill_buffer_ = std::move(killed);
    } else if (to == cursor_) {
        kill_buffer_.insert(0, killed);
    } else {
        kill_buffer_ += killed;
    }
    text_.erase(from, to - from);
    cursor_ = from;
    last_was_kill_ = true;
}

void line_editor::yank() {
    insert(kill_buffer_);
}

std::string line_editor::submit() {
    std::string line = std::move(text_);
    text_.clear();
    cursor_ = 0;
    scroll_ = 0;
    draft_.clear();
    last_was_kill_ = false;
    bool blank = line.find_first_not_of(' ') == std::string::npos;
    if (!blank && (history_.empty() || history_.back() != line)) {
        history_.push_back(line);
        if (history_.size() > max_history) history_.pop_front();
    }
    history_pos_ = history_.size();
    return line;
}

void line_editor::history_up() {
    if (history_pos_ == 0) return;
    if (history_pos_ == history_.size()) draft_ = text_;
    --history_pos_;
    set_text(history_[history_pos_]);
}

void line_editor::history_down() {
    if (history_pos_ >= history_.size()) return;
    ++history_pos_;
    set_text(history_pos_ == history_.size() ? std::move(draft_) : history_[history_pos_]);
    if (history_pos_ == history_.size()) draft_.clear();
}

line_editor::view_t line_editor::view(int width) {
    if (width <= 0) return {};

    // Each unit is escaped and measured on its own, so a slice never splits an escape like
    // "<U+200F>" and the columns are those of what is drawn.
    struct unit {
        std::string shown;
        int column;
        int width;
    };
    std::vector<unit> units;
    int total = 0;
    int cursor_column = -1;
    int under_cursor = 1;  // cells the cursor needs: the unit under it, or one free cell
    for (std::size_t pos = 0; pos < text_.size();) {
        std::size_t next = std::max(next_boundary(text_, pos), pos + 1);
        std::string shown = escape_for_display(std::string_view(text_).substr(pos, next - pos));
        int w = display_width(shown);
        if (cursor_column < 0 && cursor_ < next) {
            cursor_column = total;
            under_cursor = std::max(w, 1);
        }
        units.push_back({std::move(shown), total, w});
        total += w;
        pos = next;
    }
    if (cursor_column < 0) cursor_column = total;

    int third = width / 3;
    // Never leave more than a third of the field blank at the right: this also brings text
    // back into view when the line shrinks under a scrolled field.
    scroll_ = std::min(scroll_, std::max(0, total + 1 - (width - third)));
    if (cursor_column < scroll_) {
        scroll_ = std::max(0, cursor_column - third);
    } else if (cursor_column + under_cursor > scroll_ + width) {
        scroll_ = cursor_column + under_cursor - width + third;
    }
    // The whole unit under the cursor when the field is wide enough, the cursor always.
    scroll_ = std::max(scroll_, cursor_column + under_cursor - width);
    scroll_ = std::min(scroll_, cursor_column);

    view_t v;
    v.cursor_column = cursor_column - scroll_;
    for (const auto& u : units) {
        if (u.column < scroll_) {
            // Half a wide character is drawn as blanks, so the columns stay right.
            int cut = std::min(u.column + u.width - scroll_, width);
            if (cut > 0) v.text.append(static_cast<std::size_t>(cut), ' ');
            continue;
        }
        if (u.column + u.width > scroll_ + width) break;
        v.text += u.shown;
    }
    return v;
}

}  // namespace confab::client::tui

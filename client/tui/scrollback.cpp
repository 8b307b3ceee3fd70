#include "client/tui/scrollback.hpp"

#include <algorithm>

namespace confab::client::tui {

void scrollback::add(pane_entry entry) {
    bytes_ += entry.text.size() + entry.nick.size();
    entries_.push_back(std::move(entry));
    while (entries_.size() > capacity_ || (bytes_ > max_bytes && entries_.size() > 1)) {
        bytes_ -= entries_.front().text.size() + entries_.front().nick.size();
        entries_.pop_front();
        ++first_index_;
        // The entry the view was anchored to is gone: hold on to the oldest one left.
        if (anchored_ && anchor_ < first_index_) {
            anchor_ = first_index_;
            hidden_ = 0;
        }
    }
    if (anchored_) ++unseen_;
}

std::size_t scrollback::unseen() const {
    if (!anchored_) return 0;
    const std::uint64_t below = first_index_ + entries_.size() - 1 - anchor_;
    return std::min<std::uint64_t>(unseen_, below);
}

void scrollback::clear() {
    first_index_ += entries_.size();
    entries_.clear();
    bytes_ = 0;
    to_live();
}

void scrollback::to_live() {
    anchored_ = false;
    hidden_ = 0;
    unseen_ = 0;
}

void scrollback::scroll_up(int rows, int pane_rows, const rows_fn& rows_of) {
    if (entries_.empty() || rows <= 0 || pane_rows <= 0) return;
    if (!anchored_) {
        anchored_ = true;
        anchor_ = first_index_ + entries_.size() - 1;
        hidden_ = 0;
        unseen_ = 0;
    }
    hidden_ += rows;
    while (anchor_ > first_index_) {
        const int r = rows_of(entries_[anchor_ - first_index_]);
        if (hidden_ < r) break;
        hidden_ -= r;
        --anchor_;
    }
    // Stop at the top: the oldest entry's first row on the pane's first row, no further.
    int above = 0;  // rows from the top of history to the pane's bottom, up to pane_rows
    for (std::uint64_t i = anchor_ + 1; i-- > first_index_ && above < pane_rows;) {
        const int r = rows_of(entries_[i - first_index_]);
        above += i == anchor_ ? r - std::min(hidden_, r - 1) : r;
    }
    if (above >= pane_rows) return;
    // Past the top: place the view so that it starts at the oldest row.
    int total = 0;
    for (std::uint64_t i = first_index_; i < first_index_ + entries_.size(); ++i) {
        total += rows_of(entries_[i - first_index_]);
        if (total >= pane_rows) {
            anchor_ = i;
            hidden_ = total - pane_rows;
            return;
        }
    }
    to_live();  // everything fits on one pane: nothing to scroll
}

void scrollback::scroll_down(int rows, const rows_fn& rows_of) {
    if (!anchored_ || rows <= 0) return;
    const std::uint64_t last = first_index_ + entries_.size() - 1;
    // After a resize to a wider pane the anchor entry may have fewer rows than are hidden.
    hidden_ = std::min(hidden_, rows_of(entries_[anchor_ - first_index_]) - 1);
    hidden_ -= rows;
    while (hidden_ < 0) {
        if (anchor_ >= last) {
            to_live();
            return;
        }
        ++anchor_;
        hidden_ += rows_of(entries_[anchor_ - first_index_]);
    }
    if (anchor_ == last && hidden_ == 0) to_live();
}

std::vector<scrollback::piece> scrollback::visible(int pane_rows, const rows_fn& rows_of) const {
    std::vector<piece> pieces;
    if (entries_.empty() || pane_rows <= 0) return pieces;
    std::uint64_t i = anchored_ ? anchor_ : first_index_ + entries_.size() - 1;
    int hidden = anchored_ ? hidden_ : 0;
    int remaining = pane_rows;
    for (;; --i) {
        const pane_entry& e = entries_[i - first_index_];
        const int r = rows_of(e);
        // Only the bottom entry can have rows below the pane.
        const int shown = r - std::min(hidden, r - 1);
        hidden = 0;
        const int take = std::min(shown, remaining);
        pieces.push_back({&e, shown - take, take});
        remaining -= take;
        if (remaining == 0 || i == first_index_) break;
    }
    std::reverse(pieces.begin(), pieces.end());
    // Anchored near the top (history trimmed under the view, or a resize): fill the rest of
    // the pane from below the anchor rather than leave it blank.
    if (remaining > 0 && anchored_) {
        auto& bottom = pieces.back();
        const int below = rows_of(*bottom.entry) - bottom.skip - bottom.rows;
        const int more = std::min(below, remaining);
        bottom.rows += more;
        remaining -= more;
        for (std::uint64_t j = anchor_ + 1; remaining > 0 && j < first_index_ + entries_.size();
             ++j) {
            const pane_entry& e = entries_[j - first_index_];
            const int take = std::min(rows_of(e), remaining);
            pieces.push_back({&e, 0, take});
            remaining -= take;
        }
    }
    return pieces;
}

}  // namespace confab::client::tui

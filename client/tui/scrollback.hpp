#pragma once
// The message pane's history and where the user has scrolled to. Pure: how many screen rows
// an entry takes is the caller's business (it depends on the width), passed in as a function,
// so scrolling works in rows while history is kept in entries. Main thread only.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace confab::client::tui {

struct pane_entry {
    // backlog: a line from the log on disk, shown dimmed as it was written.
    enum class kind { message, action, notice, error, backlog };
    kind type = kind::message;
    std::int64_t ts = 0;  // ms since the Unix epoch, when it was shown
    std::string nick;     // author (message, action)
    std::string peer_id;  // author, for the nick's colour
    std::string text;     // as received: escaped when drawn
    bool own = false;     // written by this peer
    bool mention = false; // mentions this peer's nick

    // How many rows the screen wraps this entry into, kept until the width changes (the rows
    // themselves are made again when drawn: only entries on screen need them).
    mutable int wrapped_width = -1;
    mutable int wrapped_rows = 1;
};

class scrollback {
public:
    using rows_fn = std::function<int(const pane_entry&)>;  // >= 1

    explicit scrollback(std::size_t capacity = 10000) : capacity_(capacity) {}

    void add(pane_entry entry);
    void clear();
    std::size_t size() const { return entries_.size(); }
    // The next add() drops the oldest entry.
    bool full() const { return entries_.size() >= capacity_ || bytes_ >= max_bytes; }
    // Besides the entry count, the text kept is bounded, so that a peer sending 16 KiB
    // messages cannot make 10,000 of them cost hundreds of megabytes. Ordinary lines never
    // reach it (10,000 of 200 bytes are 2 MB).
    static constexpr std::size_t max_bytes = 32 * 1024 * 1024;
    const pane_entry& back() const { return entries_.back(); }

    // Following new messages at the bottom, or scrolled up.
    bool live() const { return !anchored_; }
    // Entries added while scrolled up and still below the view (the "N new below" marker):
    // paging down over them counts them as seen.
    std::size_t unseen() const;

    // Scrolling by rows of a pane `pane_rows` high. Up stops when the oldest entry's first
    // row reaches the top; down past the newest entry returns to live.
    void scroll_up(int rows, int pane_rows, const rows_fn& rows_of);
    void scroll_down(int rows, const rows_fn& rows_of);
    void to_live();

    // What the pane shows, top to bottom: each entry with the rows of it to skip at its top
    // and how many to draw. Touches only the entries on screen.
    struct piece {
        const pane_entry* entry;
        int skip;
        int rows;
    };
    std::vector<piece> visible(int pane_rows, const rows_fn& rows_of) const;

private:
    std::deque<pane_entry> entries_;
    std::size_t capacity_;
    std::uint64_t first_index_ = 0;  // absolute index of entries_.front()
    std::size_t bytes_ = 0;          // text held
    // While scrolled: the entry at the pane's bottom (absolute index) and how many of its
    // last rows are below the pane.
    bool anchored_ = false;
    std::uint64_t anchor_ = 0;
    int hidden_ = 0;
    std::size_t unseen_ = 0;
};

}  // namespace confab::client::tui

#pragma once
// Draws a ui_state with curses: the title bar, the message pane, the peer list, the status
// line and the input line. Only the regions marked dirty are redrawn, and the pane touches only
// the entries on screen, so a message arriving while scrolled up costs one status line.
// Main thread only; needs a live tui::terminal.

#include <string>
#include <vector>

#include "client/tui/ui_state.hpp"

namespace confab::client::tui {

enum region : unsigned {
    title_region = 1,
    pane_region = 2,
    peers_region = 4,
    status_region = 8,
    input_region = 16,
    all_regions = 31,
};

class screen {
public:
    explicit screen(bool colours);

    // Draws `regions` of `state`, then one doupdate().
    void draw(ui_state& state, unsigned regions);

    // The pane's size as last laid out (after a resize, the next draw lays out again).
    int pane_rows() const;
    // How many rows an entry takes in the pane at its current width (wraps and caches).
    int rows_of(const pane_entry& entry) const;
    scrollback::rows_fn rows_fn() const {
        return [this](const pane_entry& e) { return rows_of(e); };
    }

private:
    struct layout {
        int rows = 0, cols = 0;
        int pane_top = 0, pane_rows = 0, pane_cols = 0;
        int peers_cols = 0;  // the peer list's width, its border included; 0 when hidden
        int status_row = -1, input_row = -1;
    };
    layout lay_out(const ui_state& state) const;

    void draw_title(const ui_state& state);
    void draw_pane(const ui_state& state);
    std::vector<std::string> wrap_entry(const pane_entry& e, int cols) const;
    void draw_entry_row(const pane_entry& e, const std::vector<std::string>& rows, int index,
                        int y);
    void draw_peers(const ui_state& state);
    void draw_status(const ui_state& state);
    void draw_input(ui_state& state);

    bool colours_;
    layout layout_;
};

}  // namespace confab::client::tui

#pragma once
// Everything the screen shows, owned by the TUI front and drawn by the screen. Main thread only.

#include <string>
#include <string_view>
#include <vector>

#include "client/tui/line_editor.hpp"
#include "client/tui/progress.hpp"
#include "client/tui/scrollback.hpp"
#include "peer/event_sink.hpp"

namespace confab::client::tui {

struct ui_state {
    std::string room;
    bool open = false;  // the room has no secret (--open)
    std::string nick;
    std::string peer_id;  // empty until the node is ready
    std::string listen;
    std::vector<peer::peer_info> peers;  // neighbours, sorted by nick then id
    bool show_peer_list = true;
    bool leaving = false;  // /quit or a signal: saying bye
    std::vector<transfer_progress> transfers;  // files being received, oldest first
    scrollback pane;
    std::size_t unseen_mentions = 0;  // mentions among the pane's unseen entries
    line_editor input;
};

// Whether `text` mentions `nick`: the nick as a whole word, any case (ASCII letters).
bool mentions(std::string_view text, std::string_view nick);

}  // namespace confab::client::tui

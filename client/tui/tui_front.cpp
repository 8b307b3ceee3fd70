#include "client/tui/tui_front.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <csignal>

#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <curses.h>

#include "client/command.hpp"
#include "client/tui/text.hpp"
#include "core/log.hpp"
#include "core/overloaded.hpp"
#include "protocol/validate.hpp"
#include "peer/detail/coro.hpp"

namespace confab::client::tui {

namespace {

constexpr int wheel_rows = 3;
// A paste larger than this is cut: nobody means to send a megabyte by accident.
constexpr std::size_t max_paste_bytes = 256 * 1024;
constexpr std::string_view paste_end_marker = "\x1b[201~";
// Wake-ups with nothing to read in a row: stdin is at end of file (the terminal is gone).
constexpr int max_empty_wakeups = 50;
// A flood of mentions rings the bell once, not once per message.
constexpr auto bell_interval = std::chrono::seconds(1);

// The terminal, opened again for watching: asio makes the descriptor it watches non-blocking,
// and a dup of stdin would share that flag with the shell's terminal (and keep it after a
// crash).
int open_keyboard() {
    const int fd = ::open("/dev/tty", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    return fd >= 0 ? fd : ::dup(STDIN_FILENO);
}

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string short_id(const std::string& peer_id) {
    return peer_id.substr(0, 8);
}

constexpr wint_t ctrl(char c) {
    return static_cast<wint_t>(c & 0x1f);
}

std::string size_of(const peer::file_info& f) {
    return peer::human_size(f.size);
}

}  // namespace

tui_front::tui_front(asio::io_context& io, const std::string& room, const std::string& nick,
                     const std::filesystem::path& data_dir)
    : io_(io),
      terminal_signals_(io, SIGWINCH, SIGTSTP),
      screen_(terminal_.colours()),
      log_(data_dir / "logs", room),
      keyboard_(io, open_keyboard()) {
    state_.room = room;
    state_.nick = nick;
    for (const auto& line : log_.backlog()) {
        pane_entry e;
        e.type = pane_entry::kind::backlog;
        e.text = line;
        if (auto ts = chat_log::parse_stamp(line)) {
            e.ts = *ts;
            e.text = line.substr(chat_log::stamp_length);
        }
        state_.pane.add(std::move(e));
    }
    if (!log_.backlog().empty()) note("above: the end of " + log_.path().string());
    if (!log_.error().empty()) {
        log_failed_ = true;
        note("history is not saved: " + log_.error(), pane_entry::kind::error);
    }
    dirty(all_regions);
}

void tui_front::start(peer::node& node, std::function<void()> on_done) {
    node_ = &node;
    on_done_ = std::move(on_done);
    auto log_escape = [](const char* what) {
        return [what](std::exception_ptr e) {
            if (e) core::log(core::log_level::error, "tui", what, " failed");
        };
    };
    asio::co_spawn(io_, read_keys(), log_escape("reading the keyboard"));
    asio::co_spawn(io_, watch_terminal_signals(), log_escape("watching resizes"));
}

void tui_front::stop() {
    if (state_.leaving) return;
    state_.leaving = true;
    write_log(now_ms(), "-!- you left");
    std::error_code ignored;
    keyboard_.close(ignored);
    terminal_signals_.cancel(ignored);
    dirty(title_region);
}

// Quitting from the keyboard: say bye to peers, then hand back to main.
void tui_front::leave() {
    if (state_.leaving) return;
    stop();
    node_->shutdown();
    if (on_done_) on_done_();
}

asio::awaitable<void> tui_front::read_keys() {
    while (!state_.leaving) {
        auto [ec] = co_await keyboard_.async_wait(asio::posix::stream_descriptor::wait_read,
                                                  peer::detail::use_nothrow);
        if (ec) break;
        // Drain everything curses can decode now, to ERR: it reads ahead into its own buffer,
        // and bytes left there would not make stdin readable again.
        int keys = 0;
        while (!state_.leaving) {
            wint_t key = 0;
            const int result = wget_wch(stdscr, &key);
            if (result == ERR) break;
            ++keys;
            try {
                on_key(result, key);
            } catch (const std::exception& e) {
                core::log(core::log_level::error, "tui", "a key failed: ", e.what());
                note(std::string("that key failed: ") + e.what(), pane_entry::kind::error);
            }
        }
        // Readable but nothing to read, again and again: end of file, the terminal is gone.
        empty_wakeups_ = keys > 0 ? 0 : empty_wakeups_ + 1;
        if (empty_wakeups_ >= max_empty_wakeups) {
            core::log(core::log_level::warn, "tui", "the terminal is gone; leaving");
            leave();
        }
    }
}

asio::awaitable<void> tui_front::watch_terminal_signals() {
    while (!state_.leaving) {
        auto [ec, signal] = co_await terminal_signals_.async_wait(peer::detail::use_nothrow);
        if (ec) break;
        // Ctrl-Z: here on the loop, not inside a signal handler in the middle of a draw.
        if (signal == SIGTSTP) terminal_.suspend();
        terminal_.resize();
        dirty(all_regions);
    }
}

void tui_front::on_key(int result, wint_t key) {
    if (in_paste_) {
        if (result == KEY_CODE_YES && static_cast<int>(key) == terminal_.keys().paste_end) {
            end_paste();
        } else if (result == OK && paste_.size() < max_paste_bytes) {
            append_utf8(paste_, static_cast<char32_t>(key));
            // The end marker split across reads (slow links) arrives as plain characters.
            if (paste_.ends_with(paste_end_marker)) {
                paste_.resize(paste_.size() - paste_end_marker.size());
                end_paste();
            }
        }
        return;
    }
    if (!(result == OK && key == '\t')) completer_.reset();
    if (result == KEY_CODE_YES) {
        on_function_key(key);
    } else {
        on_character(key);
    }
    dirty(input_region);
}

void tui_front::end_paste() {
    in_paste_ = false;
    std::string text = std::move(paste_);
    paste_.clear();
    on_paste(text);
}

void tui_front::on_function_key(wint_t key) {
    const auto rows = screen_.rows_fn();
    const int page = std::max(1, screen_.pane_rows() - 1);
    const auto& ours = terminal_.keys();
    if (static_cast<int>(key) == ours.paste_begin) {
        in_paste_ = true;
        return;
    }
    if (static_cast<int>(key) == ours.word_left) {
        state_.input.word_left();
        return;
    }
    if (static_cast<int>(key) == ours.word_right) {
        state_.input.word_right();
        return;
    }
    switch (static_cast<int>(key)) {
        case KEY_ENTER:
            enter_line(state_.input.submit());
            break;
        case KEY_BACKSPACE:
            state_.input.backspace();
            break;
        case KEY_DC:
            state_.input.erase();
            break;
        case KEY_LEFT:
            state_.input.left();
            break;
        case KEY_RIGHT:
            state_.input.right();
            break;
        case KEY_HOME:
            state_.input.home();
            break;
        case KEY_END:
            // End goes to the end of the line, and back to live messages, as in weechat.
            state_.input.end();
            state_.pane.to_live();
            dirty(pane_region | status_region);
            break;
        case KEY_UP:
            state_.input.history_up();
            break;
        case KEY_DOWN:
            state_.input.history_down();
            break;
        case KEY_PPAGE:
            state_.pane.scroll_up(page, screen_.pane_rows(), rows);
            dirty(pane_region | status_region);
            break;
        case KEY_NPAGE:
            state_.pane.scroll_down(page, rows);
            dirty(pane_region | status_region);
            break;
        case KEY_F(2):
            state_.show_peer_list = !state_.show_peer_list;
            dirty(all_regions);
            break;
        case KEY_MOUSE: {
            MEVENT event{};
            if (getmouse(&event) != OK) break;
            if (event.bstate & BUTTON4_PRESSED) {
                state_.pane.scroll_up(wheel_rows, screen_.pane_rows(), rows);
            } else if (event.bstate & BUTTON5_PRESSED) {
                state_.pane.scroll_down(wheel_rows, rows);
            }
            dirty(pane_region | status_region);
            break;
        }
        case KEY_RESIZE:
            dirty(all_regions);
            break;
        default:
            break;  // a key we have no use for
    }
}

void tui_front::on_character(wint_t ch) {
    if (ch == '\r' || ch == '\n') {
        enter_line(state_.input.submit());
    } else if (ch == '\t') {
        complete();
    } else if (ch == 0x7f || ch == ctrl('H')) {
        state_.input.backspace();
    } else if (ch == ctrl('A')) {
        state_.input.home();
    } else if (ch == ctrl('E')) {
        state_.input.end();
    } else if (ch == ctrl('B')) {
        state_.input.left();
    } else if (ch == ctrl('F')) {
        state_.input.right();
    } else if (ch == ctrl('D')) {
        state_.input.erase();
    } else if (ch == ctrl('K')) {
        state_.input.kill_to_end();
    } else if (ch == ctrl('U')) {
        state_.input.kill_to_start();
    } else if (ch == ctrl('W')) {
        state_.input.kill_word();
    } else if (ch == ctrl('Y')) {
        state_.input.yank();
    } else if (ch == ctrl('L')) {
        clearok(curscr, TRUE);
        dirty(all_regions);
    } else if (ch == 0x1b) {
        // Alt-x arrives as ESC then x; a lone ESC is ignored.
        wint_t next = 0;
        const int result = wget_wch(stdscr, &next);
        if (result == OK) on_alt(next);
        // Alt-Backspace: curses turned the DEL after the ESC into KEY_BACKSPACE.
        if (result == KEY_CODE_YES && next == KEY_BACKSPACE) state_.input.kill_word();
    } else if (ch >= 0x20) {
        std::string utf8;
        append_utf8(utf8, static_cast<char32_t>(ch));
        state_.input.insert(utf8);
    }
}

void tui_front::on_alt(wint_t ch) {
    if (ch == 'b' || ch == 'B') {
        state_.input.word_left();
    } else if (ch == 'f' || ch == 'F') {
        state_.input.word_right();
    } else if (ch == 'd' || ch == 'D') {
        // Alt-D: the word after the cursor, as in readline.
        state_.input.word_right();
        state_.input.kill_word();
    } else if (ch == 0x7f || ch == ctrl('H')) {
        state_.input.kill_word();
    } else if (ch == 'n' || ch == 'N') {
        state_.show_peer_list = !state_.show_peer_list;
        dirty(all_regions);
    }
}

// A bracketed paste: every complete line is entered as if typed and followed by Enter, the
// rest stays in the input line. The first line completes what was typed before the paste;
// the lines after it are messages even when they start with "/", so that pasting a log or a
// shell session never runs commands. Tabs are spaces here, not completion.
void tui_front::on_paste(const std::string& text) {
    std::string line;
    bool first = true;
    for (std::size_t i = 0; i < text.size() && !state_.leaving; ++i) {
        const char c = text[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            state_.input.insert(line);
            line.clear();
            enter_line(state_.input.submit(), !first);
            first = false;
        } else {
            line += c == '\t' ? ' ' : c;
        }
    }
    if (!state_.leaving) state_.input.insert(line);
}

void tui_front::enter_line(const std::string& line, bool from_paste) {
    // A new line of one's own is a reason to see the bottom again.
    if (!state_.pane.live()) {
        state_.pane.to_live();
        dirty(pane_region | status_region);
    }
    if (from_paste && line.find_first_not_of(" \t") == std::string::npos) return;  // blank
    const command c = from_paste ? command{cmd_say{line}} : parse_command(line);
    const std::string* text = nullptr;
    if (const auto* say = std::get_if<cmd_say>(&c)) text = &say->text;
    if (const auto* me = std::get_if<cmd_me>(&c)) text = &me->text;
    if (text && !text->empty() && !protocol::check_body(*text).empty()) {
        // Too long, say: the line stays in the input for the user to shorten, not lost.
        note(protocol::check_body(*text) + "; the line is kept for editing",
             pane_entry::kind::error);
        if (!from_paste) state_.input.set_text(line);
        return;
    }
    execute(c);
}

void tui_front::execute(const command& c) {
    if (const auto* connect = std::get_if<cmd_connect>(&c)) {
        note("connecting to " + connect->address.to_string());
    }
    if (run_shared(*node_, c)) return;
    std::visit(core::overloaded{
                   [&](const cmd_help&) {
                       std::string text = help_text();
                       text +=
                           "Keys: PgUp/PgDn or the mouse wheel scroll (hold Shift to select "
                           "text with the mouse), End returns to the newest, F2 or Alt-N shows "
                           "or hides the peer list, Tab completes nicks, commands and paths, "
                           "Up/Down recall what you typed, Ctrl-A/E/K/U/W/Y and Alt-B/F/D edit "
                           "as in a shell, Ctrl-L redraws, Ctrl-C leaves.";
                       std::size_t start = 0;
                       while (start < text.size()) {
                           auto end = text.find('\n', start);
                           if (end == std::string::npos) end = text.size();
                           if (end > start) note(text.substr(start, end - start));
                           start = end + 1;
                       }
                   },
                   [&](const cmd_clear&) {
                       state_.pane.clear();
                       dirty(pane_region | status_region);
                   },
                   [&](const cmd_quit& q) {
                       // Said to the room as "* alice leaves: gone for lunch", like IRC's QUIT.
                       if (!q.message.empty()) node_->say("leaves: " + q.message, true);
                       leave();
                   },
                   [&](const cmd_error& e) { note(e.message, pane_entry::kind::error); },
                   [](const auto&) {},  // blank line, or run on the node above
               },
               c);
}

void tui_front::on_invite(const room_access& room) {
    if (room.open) {
        note("#" + room.room +
             " is open: it has no secret, and anyone who can reach your port can join");
    } else if (auto invite = invite_to(room); !invite.empty()) {
        // The invite is one word: it wraps onto a row of its own, where a double-click selects
        // all of it, as long as the pane is wide enough (README: F2 hides the peer list).
        note("invite others with: confab --invite " + invite);
    }
}

// The terminal UI is in one room (shows_several_rooms() is false): these only confirm it.
void tui_front::on_joined(const room_access& room) { note("you are in #" + room.room); }
void tui_front::on_parted(const std::string& room) { note("you left #" + room); }
void tui_front::on_switched(const room_access& room) { note("you are in #" + room.room); }
void tui_front::on_room_list() { note("you are in #" + current().room); }

void tui_front::complete() {
    completer::sources from;
    for (const auto& [id, p] : peers_) from.nicks.push_back(p.nick);
    for (const auto& nick : recent_speakers_) {
        if (nick != state_.nick) from.nicks.push_back(nick);
    }
    from.commands = command_names();
    auto done = completer_.complete(state_.input.text(), state_.input.cursor(), from);
    if (!done) {
        beep();
        return;
    }
    state_.input.set_text(done->line, done->cursor);
}

void tui_front::add(pane_entry entry) {
    entry.ts = now_ms();
    const bool was_live = state_.pane.live();
    const bool trims = state_.pane.full();
    state_.pane.add(std::move(entry));
    // Scrolled up, the pane does not move (unless history was trimmed under it): only the
    // "new below" count changes.
    dirty(was_live || trims ? pane_region | status_region : status_region);
}

void tui_front::ring_bell() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_bell_ < bell_interval) return;
    last_bell_ = now;
    beep();
}

// Tab completes those who spoke lately as well as neighbours: in a big mesh most of the room
// is not directly connected.
void tui_front::remember_speaker(const std::string& nick) {
    std::erase(recent_speakers_, nick);
    recent_speakers_.push_front(nick);
    if (recent_speakers_.size() > max_recent_speakers) recent_speakers_.pop_back();
}

void tui_front::note(std::string text, pane_entry::kind type) {
    pane_entry e;
    e.type = type;
    e.text = std::move(text);
    add(std::move(e));
}

void tui_front::logged_note(std::string text) {
    write_log(now_ms(), "-!- " + escape_for_display(text));
    note(std::move(text));
}

void tui_front::write_log(std::int64_t ts, std::string_view line) {
    if (log_.append(ts, line) || log_failed_) return;
    log_failed_ = true;
    note("history is not saved: " + log_.error(), pane_entry::kind::error);
}

void tui_front::update_peer_list() {
    state_.peers.clear();
    for (const auto& [id, p] : peers_) state_.peers.push_back(p);
    std::sort(state_.peers.begin(), state_.peers.end(), [](const auto& a, const auto& b) {
        auto lower = [](std::string s) {
            for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            return s;
        };
        const auto la = lower(a.nick), lb = lower(b.nick);
        return la != lb ? la < lb : a.peer_id < b.peer_id;
    });
    dirty(title_region | peers_region);
}

void tui_front::dirty(unsigned regions) {
    dirty_ |= regions;
    if (draw_posted_) return;
    draw_posted_ = true;
    // Once per loop turn, after whatever else is ready: a burst of messages is one draw.
    asio::post(io_, [this] {
        draw_posted_ = false;
        if (state_.pane.live()) state_.unseen_mentions = 0;
        const unsigned regions = dirty_;
        dirty_ = 0;
        screen_.draw(state_, regions);
    });
}

void tui_front::on_ready(const std::string& peer_id, const std::string& nick,
                         const std::string& listen, const std::string& room) {
    state_.peer_id = peer_id;
    state_.nick = nick;
    state_.listen = listen;
    state_.room = room;
    state_.open = current().open;
    note("listening on " + listen + " as " + nick + " (peer id " + short_id(peer_id) +
         "); type a message and press Enter, /help for commands");
    set_listen(listen);
    on_invite(current());
    dirty(all_regions);
}

void tui_front::on_peer_up(const peer::peer_info& peer) {
    peers_[peer.peer_id] = peer;
    update_peer_list();
    if (state_.leaving) return;
    logged_note("--> " + peer.nick + " (" + short_id(peer.peer_id) + ") connected, " + peer.addr);
}

void tui_front::on_peer_down(const peer::peer_info& peer, const std::string& reason) {
    peers_.erase(peer.peer_id);
    update_peer_list();
    // Our own goodbyes are not news; the mesh reshaping itself (a full peer making room for a
    // newcomer) is not someone leaving: both go to the log file only.
    if (state_.leaving || reason.find("rebalance") != std::string::npos ||
        reason.find("made room") != std::string::npos) {
        core::log(core::log_level::info, "tui", "link to ", peer.nick, " closed: ", reason);
        return;
    }
    std::string why = reason;
    if (reason.find("(shutdown)") != std::string::npos) why = "quit";
    logged_note("<-- " + peer.nick + " (" + short_id(peer.peer_id) + ") left: " + why);
}

void tui_front::on_message(const peer::chat_message& m) {
    pane_entry e;
    e.type = m.action ? pane_entry::kind::action : pane_entry::kind::message;
    e.nick = m.from;
    e.peer_id = m.peer_id;
    e.text = m.text;
    e.own = m.own;
    e.mention = !m.own && mentions(m.text, state_.nick);
    if (e.mention) {
        ring_bell();
        if (!state_.pane.live()) ++state_.unseen_mentions;
    }
    remember_speaker(m.from);
    const std::string nick = escape_for_display(m.from);
    const std::string text = escape_for_display(m.text);
    write_log(now_ms(), m.action ? "* " + nick + " " + text : "<" + nick + "> " + text);
    add(std::move(e));
}

void tui_front::on_nick(const std::string& peer_id, const std::string& old_nick,
                        const std::string& new_nick, bool own) {
    if (own) {
        state_.nick = new_nick;
        logged_note("you are now known as " + new_nick);
        dirty(title_region | input_region);
        return;
    }
    if (auto it = peers_.find(peer_id); it != peers_.end()) {
        it->second.nick = new_nick;
        update_peer_list();
    }
    logged_note(old_nick + " (" + short_id(peer_id) + ") is now known as " + new_nick);
}

void tui_front::on_peers(const std::vector<peer::peer_info>& peers, std::size_t connections) {
    note("connected to " + std::to_string(peers.size()) +
         (peers.size() == 1 ? " peer" : " peers") + " (" + std::to_string(connections) +
         (connections == 1 ? " open socket)" : " open sockets)"));
    for (const auto& p : peers) note("  " + p.nick + "  " + p.peer_id + "  " + p.addr);
}

void tui_front::on_error(const std::string& message) {
    note(message, pane_entry::kind::error);
}

void tui_front::on_notice(const std::string& message) {
    note(message);
}


void tui_front::on_file_offer(const peer::file_info& f) {
    const std::string id = f.transfer.substr(0, 8);
    if (f.outgoing) {
        std::string to = "the room";
        if (auto it = peers_.find(f.to); it != peers_.end()) {
            to = it->second.nick;
        } else if (!f.to.empty()) {
            to = f.to.substr(0, 8);
        }
        note("you offer " + f.name + " (" + size_of(f) + ") to " + to + "; /cancel " + id +
             " withdraws it");
        return;
    }
    pane_entry e;
    e.type = pane_entry::kind::notice;
    e.mention = true;  // an offer waits for an answer: make it stand out
    e.text = f.from + " offers " + f.name + " (" + size_of(f) + "): /accept " + id +
             " or /reject " + id;
    ring_bell();
    add(std::move(e));
}

void tui_front::on_file_progress(const peer::file_info& f) {
    auto it = std::find_if(state_.transfers.begin(), state_.transfers.end(),
                           [&](const auto& t) { return t.transfer == f.transfer; });
    if (it == state_.transfers.end()) {
        transfer_progress t;
        t.transfer = f.transfer;
        t.name = f.name;
        t.size = f.size;
        state_.transfers.push_back(t);
        it = state_.transfers.end() - 1;
    }
    it->update(f.bytes, std::chrono::steady_clock::now());
    dirty(status_region);
}

void tui_front::end_progress(const std::string& transfer) {
    std::erase_if(state_.transfers, [&](const auto& t) { return t.transfer == transfer; });
    dirty(status_region);
}

void tui_front::on_file_received(const peer::file_info& f) {
    end_progress(f.transfer);
    logged_note("received " + f.name + " (" + size_of(f) + ") from " + f.from + ": " + f.path);
}

void tui_front::on_file_sent(const peer::file_info& f, const std::string& to_nick,
                             std::uint64_t bytes) {
    note(to_nick + " fetched " + f.name + " (" + peer::human_size(bytes) + " sent)");
}

void tui_front::on_file_failed(const peer::file_info& f, const std::string& reason, bool) {
    end_progress(f.transfer);
    note(f.name + ": " + reason, pane_entry::kind::error);
}

void tui_front::on_files(const std::vector<peer::file_info>& transfers) {
    if (transfers.empty()) {
        note("no file transfers; /send PATH offers a file");
        return;
    }
    for (const auto& f : transfers) {
        std::string line = f.transfer.substr(0, 8) + "  " + (f.outgoing ? "out " : "in  ") +
                           f.state + "  " + f.name + " (" + size_of(f) + ")";
        if (!f.outgoing) line += " from " + f.from;
        if (f.state == "receiving" || f.state == "interrupted") {
            line += ", " + peer::human_size(f.bytes) + " so far";
        }
        if (!f.path.empty() && (f.outgoing || f.state == "received")) line += "  " + f.path;
        note(line);
    }
}

}  // namespace confab::client::tui

#pragma once
// The terminal UI: curses on the loop that runs the network. The keyboard is read when stdin
// is readable (never a blocking getch), SIGWINCH arrives through the loop, and events only
// mark parts of the screen dirty; one draw per loop turn puts them on the terminal, so chat
// traffic and typing never wait on each other. Main thread only.

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>

#include "client/front.hpp"
#include "client/tui/chat_log.hpp"
#include "client/tui/completion.hpp"
#include "client/tui/screen.hpp"
#include "client/tui/terminal.hpp"
#include "client/tui/ui_state.hpp"

namespace confab::client::tui {

class tui_front : public front {
public:
    // Takes over the terminal (throws std::runtime_error when it cannot). `room` and `nick`
    // show until the node is ready; the room's log is kept under `data_dir`/logs.
    tui_front(asio::io_context& io, const std::string& room, const std::string& nick,
              const std::filesystem::path& data_dir);

    void start(peer::node& node, std::function<void()> on_done) override;
    void stop() override;

    void on_ready(const std::string& peer_id, const std::string& nick, const std::string& listen,
                  const std::string& room) override;
    void on_peer_up(const peer::peer_info& peer) override;
    void on_peer_down(const peer::peer_info& peer, const std::string& reason) override;
    void on_message(const peer::chat_message& message) override;
    void on_nick(const std::string& peer_id, const std::string& old_nick,
                 const std::string& new_nick, bool own) override;
    void on_peers(const std::vector<peer::peer_info>& peers, std::size_t connections) override;
    void on_error(const std::string& message) override;
    void on_notice(const std::string& message) override;
    void on_file_offer(const peer::file_info& offer) override;
    void on_file_progress(const peer::file_info& transfer) override;
    void on_file_received(const peer::file_info& transfer) override;
    void on_file_sent(const peer::file_info& transfer, const std::string& to_nick,
                      std::uint64_t bytes) override;
    void on_file_failed(const peer::file_info& transfer, const std::string& reason,
                        bool resumable) override;
    void on_files(const std::vector<peer::file_info>& transfers) override;

protected:
    // The invite line (or, for an open room, that it is open) in the pane.
    void on_invite(const room_access& room) override;
    void on_joined(const room_access& room) override;
    void on_parted(const std::string& room) override;
    void on_switched(const room_access& room) override;
    void on_room_list() override;
    // One room on screen until the UI has tabs.
    bool shows_several_rooms() const override { return false; }

private:
    asio::awaitable<void> read_keys();
    asio::awaitable<void> watch_terminal_signals();  // SIGWINCH, SIGTSTP
    void on_key(int result, wint_t key);
    void on_function_key(wint_t key);
    void on_character(wint_t ch);
    void on_alt(wint_t ch);
    void on_paste(const std::string& text);
    void end_paste();
    void ring_bell();
    void remember_speaker(const std::string& nick);
    // Enter: runs the line; `from_paste` lines after a paste's first are always messages.
    void enter_line(const std::string& line, bool from_paste = false);
    void execute(const command& c);
    void complete();
    void leave();

    void add(pane_entry entry);
    void note(std::string text, pane_entry::kind type = pane_entry::kind::notice);
    // A notice that also goes into the room's log (joins, leaves, nick changes).
    void logged_note(std::string text);
    void write_log(std::int64_t ts, std::string_view line);
    void update_peer_list();
    void end_progress(const std::string& transfer);
    void dirty(unsigned regions);

    asio::io_context& io_;
    // Before the terminal: curses takes SIGWINCH and SIGTSTP for itself unless a handler
    // already exists.
    asio::signal_set terminal_signals_;
    terminal terminal_;
    screen screen_;
    ui_state state_;
    chat_log log_;
    bool log_failed_ = false;  // told the user once
    completer completer_;
    std::map<std::string, peer::peer_info> peers_;  // by peer id
    asio::posix::stream_descriptor keyboard_;
    peer::node* node_ = nullptr;
    std::function<void()> on_done_;

    unsigned dirty_ = 0;
    bool draw_posted_ = false;
    bool in_paste_ = false;
    std::string paste_;
    int empty_wakeups_ = 0;
    std::chrono::steady_clock::time_point last_bell_{};
    static constexpr std::size_t max_recent_speakers = 50;
    std::deque<std::string> recent_speakers_;  // newest first
};

}  // namespace confab::client::tui

#pragma once
// Runs a program in a private, detached tmux server so that end-to-end tests and benchmarks
// can type at it and read its screen, as a person at a terminal would. Every session has its
// own temp dir (HOME of the pane, the server's socket, its config), its own server, and
// cleans both up in the destructor. Single-threaded: one test thread owns a session.
//
// Waiting is always "poll the screen until it matches, with a deadline": a terminal gives no
// other signal that a redraw has happened.

#include <chrono>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace confab::test {

using tmux_clock = std::chrono::steady_clock;

struct tmux_options {
    std::vector<std::string> argv;  // run directly (exec'd by the pane's shell), not through sh
    int cols = 80;
    int rows = 24;
    // Set in the server's environment and so the pane's, replacing what the session sets
    // (HOME, LANG). TERM in the pane is tmux's default-terminal whatever this says.
    std::vector<std::pair<std::string, std::string>> env;
};

using screen_predicate = std::function<bool(const std::string& screen)>;

class tmux_session {
public:
    // Throws std::runtime_error when tmux is not installed or the server does not start.
    explicit tmux_session(tmux_options options);
    ~tmux_session();
    tmux_session(const tmux_session&) = delete;
    tmux_session& operator=(const tmux_session&) = delete;

    // The session's temp dir: HOME of the pane, removed by the destructor (kept when
    // CONFAB_KEEP_TMP is set).
    const std::filesystem::path& dir() const { return dir_; }
    // The TERM the pane runs with: tmux-256color, or screen-256color where that is missing.
    const std::string& term() const { return term_; }

    // Types text as it is (`send-keys -l`): no key names, no special meaning for ';'.
    void send_text(std::string_view text);
    // Presses keys by tmux name, one after the other: "Enter", "PPage", "End", "C-c", "Tab".
    void send_keys(std::initializer_list<std::string_view> keys);
    // Pastes text through a tmux buffer (`paste-buffer -p`): bracketed when the program asked
    // for bracketed paste, LF sent as CR as a terminal does.
    void paste(std::string_view text);

    struct capture_options {
        bool attributes = false;  // -e: colours and attributes as SGR sequences
        bool history = false;     // -S -: scrolled-off lines too (a dead pane's last screen)
    };
    // The visible screen, one line per row, trailing spaces trimmed (capture-pane -p).
    std::string capture() const { return capture(capture_options{}); }
    std::string capture(capture_options options) const;

    // Resizes the window (and so the pane) to cols x rows; the program gets SIGWINCH.
    void resize(int cols, int rows);

    // Polls the screen until pred holds and returns that screen. Throws std::runtime_error
    // naming `what` with the last screen when the deadline passes or the pane dies first.
    std::string wait_for_screen(const screen_predicate& pred, tmux_clock::duration timeout,
                                std::string_view what) const;
    std::string wait_for_screen(std::string_view substring, tmux_clock::duration timeout,
                                std::string_view what) const;

    pid_t pane_pid() const;
    bool pane_dead() const;
    // The pane's exit status once it is dead and tmux has reaped it: the code of a normal
    // exit, 128 + the signal number when killed. nullopt while it runs.
    std::optional<int> exit_status() const;
    // Polls until the pane is dead and its status known; throws with the screen on timeout.
    int wait_exit(tmux_clock::duration timeout, std::string_view what) const;

    // Any tmux command against this server: the arguments after `tmux -S SOCKET`. Returns
    // stdout; throws std::runtime_error with stderr when tmux fails.
    std::string tmux(const std::vector<std::string>& args) const;
    // The target every command above uses: the one pane of the one window.
    static constexpr const char* target = "confab-e2e:0.0";

private:
    std::string format(const std::string& fmt) const;

    std::filesystem::path dir_;
    std::filesystem::path socket_;
    std::string term_;
    std::vector<std::string> environment_;  // the tmux client's, and so the server's
    bool started_ = false;
    pid_t leader_ = -1;  // the pane's first process, leader of its session
};

// Quotes one word for sh: 'it'\''s' style, safe for any byte but NUL.
std::string shell_quote(std::string_view word);

// Processes whose parent is `pid` (from /proc), for the program a wrapper shell started.
std::vector<pid_t> children_of(pid_t pid);

// Polls until `pid` has exactly one child and returns it; throws after the timeout.
pid_t wait_for_child(pid_t pid, tmux_clock::duration timeout);

// Waits (pidfd, no polling) until a process that need not be our child has exited; false on
// timeout. True at once when there is no such process.
bool wait_process_gone(pid_t pid, tmux_clock::duration timeout);

// utime + stime of a process in clock ticks (/proc/PID/stat), -1 when it cannot be read.
long cpu_ticks(pid_t pid);

}  // namespace confab::test

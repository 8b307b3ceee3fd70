#include "client/tui/terminal.hpp"

#include <langinfo.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <clocale>
#include <csignal>
#include <cstring>
#include <stdexcept>

#include <curses.h>

namespace confab::client::tui {

namespace {

// What leaving must undo, written raw so that a signal handler can send it: bracketed paste
// off, mouse reporting off, keypad (application) mode off, the normal screen back, the cursor
// visible, attributes reset.
constexpr char restore_sequence[] =
    "\x1b[?2004l\x1b[?1000l\x1b[?1006l\x1b[?1l\x1b>\x1b[?1049l\x1b[?25h\x1b[0m\r\n";

termios saved_termios{};
bool termios_saved = false;

void write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n <= 0) return;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

// A crash (or an abort) with curses up: put the terminal back, then die as we would have.
// Only async-signal-safe calls.
void restore_and_reraise(int signal) {
    if (termios_saved) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
    // Keys typed or pasted but not read yet would go to the shell, which would run them.
    ::tcflush(STDIN_FILENO, TCIFLUSH);
    write_all(STDOUT_FILENO, restore_sequence, sizeof restore_sequence - 1);
    std::signal(signal, SIG_DFL);
    std::raise(signal);
}

// Every signal whose default action ends the process without our handler running
// (SIGINT, SIGTERM and SIGHUP are the loop's, through asio::signal_set).
constexpr int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL,  SIGABRT,
                                 SIGQUIT, SIGTRAP, SIGSYS, SIGXCPU, SIGXFSZ};

bool utf8_locale() {
    return std::strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
}

}  // namespace

terminal::terminal() {
    if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO)) {
        throw std::runtime_error(
            "the terminal UI needs a terminal on stdin and stdout; use --headless for scripts");
    }
    // Widths and wide characters need an UTF-8 locale. The user's comes first; a terminal
    // started with LANG unset still gets UTF-8 rather than question marks.
    // LC_CTYPE only: numbers in logs and the status line keep their C formatting.
    std::setlocale(LC_CTYPE, "");
    if (!utf8_locale()) std::setlocale(LC_CTYPE, "C.UTF-8");

    if (::tcgetattr(STDIN_FILENO, &saved_termios) == 0) termios_saved = true;
    for (int s : fatal_signals) std::signal(s, restore_and_reraise);

    // newterm rather than initscr: initscr exits the process on failure.
    if (!newterm(nullptr, stdout, stdin)) {
        for (int s : fatal_signals) std::signal(s, SIG_DFL);
        throw std::runtime_error("cannot start the terminal UI for TERM=\"" +
                                 std::string(std::getenv("TERM") ? std::getenv("TERM") : "") +
                                 "\"; set TERM or use --headless");
    }
    const char* cup = tigetstr("cup");
    if (cup == nullptr || cup == reinterpret_cast<char*>(-1)) {
        endwin();
        for (int s : fatal_signals) std::signal(s, SIG_DFL);
        throw std::runtime_error("TERM=\"" +
                                 std::string(std::getenv("TERM") ? std::getenv("TERM") : "") +
                                 "\" cannot move the cursor; use a real terminal or --headless");
    }
    cbreak();  // not raw: Ctrl-C keeps working
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    intrflush(stdscr, FALSE);
    colours_ = has_colors();
    if (colours_) {
        start_color();
        use_default_colors();
    }
    mouseinterval(0);
    mousemask(BUTTON4_PRESSED | BUTTON5_PRESSED, nullptr);
    define_our_keys();
    set_up_screen();
}

void terminal::define_our_keys() {
    int code = KEY_MAX;
    auto next_free = [&code] {
        while (keybound(++code, 0) != nullptr) {
        }
        return code;
    };
    auto define = [&](std::initializer_list<const char*> sequences, int& key) {
        key = next_free();
        for (const char* s : sequences) {
            // A sequence the terminal description already names keeps its meaning.
            if (key_defined(s) == 0) define_key(s, key);
        }
    };
    // Bracketed paste: the terminal wraps pasted text in these markers, so a multi-line paste
    // arrives as one piece rather than as keystrokes with Enters in them.
    define({"\x1b[200~"}, keys_.paste_begin);
    define({"\x1b[201~"}, keys_.paste_end);
    define({"\x1b[1;5D", "\x1b[1;3D", "\x1b[5D"}, keys_.word_left);
    define({"\x1b[1;5C", "\x1b[1;3C", "\x1b[5C"}, keys_.word_right);
}

void terminal::set_up_screen() {
    write_all(STDOUT_FILENO, "\x1b[?2004h", 8);
}

void terminal::suspend() {
    write_all(STDOUT_FILENO, "\x1b[?2004l", 8);
    endwin();
    ::raise(SIGSTOP);
    // Continued (fg): the shell has reset the terminal its own way; take it back.
    reset_prog_mode();
    set_up_screen();
    clearok(curscr, TRUE);
}

terminal::~terminal() {
    write_all(STDOUT_FILENO, "\x1b[?2004l", 8);
    mousemask(0, nullptr);
    endwin();
    ::tcflush(STDIN_FILENO, TCIFLUSH);  // unread keys must not reach the shell
    for (int s : fatal_signals) std::signal(s, SIG_DFL);
    if (termios_saved) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
    termios_saved = false;
}

void terminal::resize() {
    winsize size{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0) {
        resizeterm(size.ws_row, size.ws_col);
    }
}

}  // namespace confab::client::tui

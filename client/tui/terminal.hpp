#pragma once
// Owns the terminal while the TUI runs: an UTF-8 locale, curses in cbreak mode (Ctrl-C still
// signals), colours, bracketed paste and the mouse wheel. Every way out restores the terminal:
// the destructor, and a fatal signal (a crash must not leave a raw terminal behind). One at a
// time; main thread only.

#include <termios.h>

namespace confab::client::tui {

class terminal {
public:
    // Key codes of our own, picked at start-up among those the terminal description leaves
    // free (ncurses numbers a terminal's extra keys from KEY_MAX + 1 too).
    struct our_keys {
        int paste_begin = -1;  // bracketed paste markers
        int paste_end = -1;
        int word_left = -1;  // Ctrl-Left/Right and Alt-Left/Right (xterm): a word at a time
        int word_right = -1;
    };
    const our_keys& keys() const { return keys_; }
    // Stops the process (Ctrl-Z) with the terminal as it was, and takes it back on `fg`.
    void suspend();

    // Throws std::runtime_error with a sentence when stdin/stdout is not a terminal or curses
    // cannot start (e.g. TERM unknown).
    terminal();
    ~terminal();
    terminal(const terminal&) = delete;
    terminal& operator=(const terminal&) = delete;

    // After SIGWINCH: reads the new size from the terminal and tells curses.
    void resize();
    bool colours() const { return colours_; }

private:
    void set_up_screen();
    void define_our_keys();

    bool colours_ = false;
    our_keys keys_;
};

}  // namespace confab::client::tui

#pragma once
// Owns the terminal while the TUI runs: an UTF-8 locale, curses in cbreak mode (Ctrl-C still
// signals), colours, bracketed paste and the mouse wheel. Every way out restores the terminal:
// the destructor, and a fatal signal (a crash must not leave a raw terminal behind). One at a
// time; main thread only.

#include <termios.h>

namespace confab::client::tui {

class terminal {
public:
    // Key codes for the bracketed-paste markers, beyond every curses key.
    static constexpr int key_paste_begin = 0777 + 1;  // KEY_MAX + 1 (checked in terminal.cpp)
    static constexpr int key_paste_end = key_paste_begin + 1;

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
    bool colours_ = false;
};

}  // namespace confab::client::tui

#pragma once
// Tab completion for the input line, as irssi does it: the word before the cursor is
// completed against nicks (with ": " appended when it is the first word of the line), slash
// commands (when the line starts with "/" and this is the first word) or file paths (after
// "/send "). Pressing Tab again cycles through the candidates. Pure except complete_path,
// which lists a directory.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace confab::client::tui {

// Entries of the directory named by the path-so-far, that start with its last part; each is
// the full replacement (directories end with "/"). "~/" expands to $HOME. Sorted, hidden
// files only when the prefix starts with ".". At most 200 entries.
std::vector<std::string> complete_path(const std::string& prefix);

class completer {
public:
    struct sources {
        std::vector<std::string> nicks;     // sorted or not; duplicates are fine
        std::vector<std::string> commands;  // without the slash, e.g. "nick", "send"
    };

    // Tab on `line` with the cursor at byte `cursor`. Returns the new line and cursor, or
    // nothing when there is no candidate. Consecutive calls (with no edit between them: the
    // caller calls reset() on any other key) cycle through the candidates.
    struct result {
        std::string line;
        std::size_t cursor = 0;
    };
    std::optional<result> complete(const std::string& line, std::size_t cursor,
                                   const sources& from);
    void reset();

private:
    bool start(const std::string& line, std::size_t cursor, const sources& from);
    result current();

    std::vector<std::string> candidates_;  // with their suffix: ": ", " " or "" (a directory)
    std::size_t index_ = 0;
    std::string before_;  // the line before the completed word
    std::string after_;   // the line after the cursor
    std::string last_line_;  // what the last result was, to notice an edit without reset()
    std::size_t last_cursor_ = 0;
    bool active_ = false;
};

}  // namespace confab::client::tui

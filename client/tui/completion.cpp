#include "client/tui/completion.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <system_error>

namespace confab::client::tui {

namespace {

constexpr std::size_t max_path_candidates = 200;

char fold(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Case-insensitive (ASCII), then by bytes, so that the order is total and "Bob" and "bob"
// both stay, in the same order on every run.
bool less_ci(const std::string& a, const std::string& b) {
    auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end(),
                                  [](char x, char y) { return fold(x) == fold(y); });
    if (ia != a.end() && ib != b.end()) {
        return static_cast<unsigned char>(fold(*ia)) < static_cast<unsigned char>(fold(*ib));
    }
    if (ia != a.end() || ib != b.end()) return ib != b.end();  // a prefix sorts first
    return a < b;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), s.begin(),
                      [](char x, char y) { return fold(x) == fold(y); });
}

void sort_unique(std::vector<std::string>& v) {
    std::sort(v.begin(), v.end(), less_ci);
    v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

std::vector<std::string> complete_path(const std::string& prefix) {
    namespace fs = std::filesystem;
    const char* home = std::getenv("HOME");
    bool have_home = home && *home;
    if (prefix == "~") {
        if (have_home) return {"~/"};
        return {};
    }

    auto slash = prefix.rfind('/');
    // The replacements keep the user's spelling ("~/", "./", "a//b"); only the listing
    // uses the expanded path.
    std::string dir_part = slash == std::string::npos ? "" : prefix.substr(0, slash + 1);
    std::string last = slash == std::string::npos ? prefix : prefix.substr(slash + 1);
    fs::path dir = dir_part.empty() ? fs::path(".") : fs::path(dir_part);
    if (dir_part.starts_with("~/")) {
        if (!have_home) return {};
        dir = fs::path(home) / dir_part.substr(2);
    }
    bool show_hidden = last.starts_with('.');

    // A max-heap holding the first entries in order: a huge directory costs no more memory
    // than the entries returned.
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (!name.starts_with(last)) continue;
        if (name.starts_with('.') && !show_hidden) continue;
        std::error_code type_ec;  // a broken symlink, say: offered as a file
        bool is_dir = it->is_directory(type_ec);
        out.push_back(dir_part + name + (is_dir ? "/" : ""));
        std::push_heap(out.begin(), out.end(), less_ci);
        if (out.size() > max_path_candidates) {
            std::pop_heap(out.begin(), out.end(), less_ci);
            out.pop_back();
        }
    }
    std::sort_heap(out.begin(), out.end(), less_ci);
    return out;
}

std::optional<completer::result> completer::complete(const std::string& line, std::size_t cursor,
                                                     const sources& from) {
    // A caller that forgot reset() after an edit gets a fresh completion, not a stale cycle.
    if (active_ && (line != last_line_ || cursor != last_cursor_)) active_ = false;
    // With one candidate there is nothing to cycle: Tab goes on from the completed text, which
    // lists a directory just completed.
    if (active_ && candidates_.size() > 1) {
        index_ = (index_ + 1) % candidates_.size();
        return current();
    }
    if (!start(line, cursor, from)) {
        reset();
        return std::nullopt;
    }
    return current();
}

void completer::reset() {
    active_ = false;
    candidates_.clear();
    index_ = 0;
}

bool completer::start(const std::string& line, std::size_t cursor, const sources& from) {
    cursor = std::min(cursor, line.size());
    std::size_t word_start = 0;
    if (cursor > 0) {
        auto space = line.rfind(' ', cursor - 1);
        if (space != std::string::npos) word_start = space + 1;
    }
    std::string word = line.substr(word_start, cursor - word_start);
    std::string before = line.substr(0, word_start);
    bool first_word = before.find_first_not_of(' ') == std::string::npos;

    std::vector<std::string> bases;
    std::string suffix;  // for paths, set per candidate below
    bool paths = false;
    if (word_start == 0 && word.starts_with('/')) {
        std::string_view typed = std::string_view(word).substr(1);
        for (const auto& c : from.commands) {
            if (starts_with_ci(c, typed)) bases.push_back("/" + c);
        }
        suffix = " ";
    } else if (starts_with_ci(before, "/send ") &&
               before.find_first_not_of(' ', 5) == std::string::npos) {
        bases = complete_path(word);
        paths = true;
    } else {
        if (word.empty()) return false;
        for (const auto& n : from.nicks) {
            if (starts_with_ci(n, word)) bases.push_back(n);
        }
        suffix = first_word ? ": " : " ";
    }
    if (bases.empty()) return false;
    sort_unique(bases);

    candidates_.clear();
    for (auto& b : bases) {
        // A directory takes no space, so that Tab can go on into it.
        if (paths) suffix = b.ends_with('/') ? "" : " ";
        candidates_.push_back(b + suffix);
    }
    index_ = 0;
    before_ = std::move(before);
    after_ = line.substr(cursor);
    active_ = true;
    return true;
}

completer::result completer::current() {
    std::string insert = candidates_[index_];
    // Never double a space: when one follows the cursor already, step over it instead.
    bool step_over = insert.ends_with(' ') && after_.starts_with(' ');
    if (step_over) insert.pop_back();
    result r;
    r.line = before_ + insert + after_;
    r.cursor = before_.size() + insert.size() + (step_over ? 1 : 0);
    last_line_ = r.line;
    last_cursor_ = r.cursor;
    return r;
}

}  // namespace confab::client::tui

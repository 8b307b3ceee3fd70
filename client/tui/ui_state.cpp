#include "client/tui/ui_state.hpp"

namespace confab::client::tui {

namespace {

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Letters, digits and bytes of multi-byte characters continue a word; "alice:" and "@alice"
// mention alice, "malice" does not.
bool word_byte(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x80 || (u >= '0' && u <= '9') || (lower(c) >= 'a' && lower(c) <= 'z') ||
           c == '_';
}

}  // namespace

bool mentions(std::string_view text, std::string_view nick) {
    if (nick.empty() || text.size() < nick.size()) return false;
    for (std::size_t at = 0; at + nick.size() <= text.size(); ++at) {
        bool same = true;
        for (std::size_t i = 0; i < nick.size() && same; ++i) {
            same = lower(text[at + i]) == lower(nick[i]);
        }
        if (!same) continue;
        const bool starts = at == 0 || !word_byte(text[at - 1]);
        const std::size_t end = at + nick.size();
        const bool ends = end == text.size() || !word_byte(text[end]);
        if (starts && ends) return true;
    }
    return false;
}

}  // namespace confab::client::tui

#pragma once
// One line per event on stderr: time, level, component, text. Main thread and worker
// threads alike (each line is one write).

#include <sstream>
#include <string>
#include <string_view>

namespace confab::core {

enum class log_level { error = 0, warn = 1, info = 2, debug = 3 };

void set_log_level(log_level level);
log_level current_log_level();
// "error", "warn", "info" or "debug" into *out; false (and *out untouched) otherwise.
bool parse_log_level(std::string_view text, log_level* out);
void log_line(log_level level, std::string_view component, std::string_view text);

template <typename... Parts>
void log(log_level level, std::string_view component, const Parts&... parts) {
    if (level > current_log_level()) return;
    std::ostringstream out;
    (out << ... << parts);
    log_line(level, component, out.str());
}

}  // namespace confab::core

#include "core/log.hpp"

#include <algorithm>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <unistd.h>

namespace confab::core {

namespace {

std::atomic<log_level> level_{log_level::info};

std::string_view level_name(log_level level) {
    switch (level) {
        case log_level::error:
            return "error";
        case log_level::warn:
            return "warn";
        case log_level::info:
            return "info";
        case log_level::debug:
            return "debug";
    }
    return "?";
}

}  // namespace

void set_log_level(log_level level) {
    level_.store(level, std::memory_order_relaxed);
}

log_level current_log_level() {
    return level_.load(std::memory_order_relaxed);
}

bool parse_log_level(std::string_view text, log_level* out) {
    for (log_level l : {log_level::error, log_level::warn, log_level::info, log_level::debug}) {
        if (text == level_name(l)) {
            *out = l;
            return true;
        }
    }
    return false;
}

void log_line(log_level level, std::string_view component, std::string_view text) {
    using namespace std::chrono;
    auto now = system_clock::now();
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::time_t seconds = system_clock::to_time_t(now);
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char stamp[32];
    std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(ms));

    std::string line;
    line.reserve(64 + component.size() + text.size());
    line += stamp;
    line += ' ';
    std::string_view name = level_name(level);
    line += name;
    line.append(6 - name.size(), ' ');
    line += component;
    line += ": ";
    // One event is one line, so that stderr can be read (and grepped) line by line; and text
    // from the network (a neighbour's error or bye reason) must not drive the terminal:
    // control characters (C0, DEL, and C1 as UTF-8) are shown as '?'. A line is capped.
    constexpr std::size_t max_text = 2000;
    const std::size_t shown = std::min(text.size(), max_text);
    for (std::size_t i = 0; i < shown; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n' || c == '\r' || c == '\t') {
            line += ' ';
        } else if (c < 0x20 || c == 0x7f) {
            line += '?';
        } else if (c == 0xc2 && i + 1 < text.size() &&
                   static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
            line += '?';
            ++i;
        } else {
            line += static_cast<char>(c);
        }
    }
    if (text.size() > max_text) line += " [...]";
    line += '\n';

    // A single write(2) per line keeps lines from different threads whole. Only a partial
    // write (stderr a full pipe, a signal) is continued; a failure has nowhere to be reported.
    const char* data = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        ssize_t w = ::write(STDERR_FILENO, data, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        data += w;
        left -= static_cast<std::size_t>(w);
    }
}

}  // namespace confab::core

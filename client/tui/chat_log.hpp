#pragma once
// The room's history on disk, as irssi's autolog keeps it: DATA/logs/ROOM.log, one line per
// message or notice, appended as it arrives, so a crash (of the UI or anything else) loses at
// most the line being written and never what came before. The last lines are
// shown again, dimmed, when the TUI starts. Main thread only.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace confab::client::tui {

class chat_log {
public:
    // Opens (creating, mode 0600) the log for `room` under `logs_dir`. When it cannot, the
    // log is off and error() says why; the chat works regardless.
    chat_log(const std::filesystem::path& logs_dir, std::string_view room);
    ~chat_log();
    chat_log(const chat_log&) = delete;
    chat_log& operator=(const chat_log&) = delete;

    // "2026-11-24 01:39:12 <bob> hi" etc.: `line` is what follows the time stamp, already
    // escaped for display. False when this write failed (error() says why).
    bool append(std::int64_t ts_ms, std::string_view line);

    // The last `max_lines` lines written before this run.
    const std::vector<std::string>& backlog() const { return backlog_; }
    const std::filesystem::path& path() const { return path_; }
    const std::string& error() const { return error_; }

    // The file name a room's log gets: the room name with '/' and a leading '.' made safe.
    static std::string file_name(std::string_view room);

    static constexpr std::size_t max_backlog_lines = 50;
    // "2026-11-24 01:39:12 " before every line.
    static constexpr std::size_t stamp_length = 20;
    // The time a log line was written (ms since the epoch), or nullopt when it has no stamp.
    static std::optional<std::int64_t> parse_stamp(std::string_view line);

private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::vector<std::string> backlog_;
    std::string error_;
};

}  // namespace confab::client::tui

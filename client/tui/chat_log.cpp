#include "client/tui/chat_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>

namespace confab::client::tui {

namespace {

// Only the end of a long log is read for the backlog.
constexpr std::streamoff backlog_read_bytes = 64 * 1024;

std::vector<std::string> last_lines(const std::filesystem::path& path, std::size_t max_lines) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    const std::streamoff start = size > backlog_read_bytes ? size - backlog_read_bytes : 0;
    in.seekg(start);
    std::deque<std::string> lines;
    std::string line;
    bool first = start > 0;  // a line cut by the seek is not shown
    while (std::getline(in, line)) {
        if (first) {
            first = false;
            continue;
        }
        lines.push_back(line);
        if (lines.size() > max_lines) lines.pop_front();
    }
    return {lines.begin(), lines.end()};
}

}  // namespace

std::optional<std::int64_t> chat_log::parse_stamp(std::string_view line) {
    if (line.size() < stamp_length || line[stamp_length - 1] != ' ') return std::nullopt;
    const std::string stamp(line.substr(0, stamp_length - 1));
    std::tm local{};
    const char* end = ::strptime(stamp.c_str(), "%Y-%m-%d %H:%M:%S", &local);
    if (!end || *end != '\0') return std::nullopt;
    local.tm_isdst = -1;
    const std::time_t seconds = std::mktime(&local);
    if (seconds == -1) return std::nullopt;
    return static_cast<std::int64_t>(seconds) * 1000;
}

std::string chat_log::file_name(std::string_view room) {
    std::string name(room);
    for (auto& c : name) {
        if (c == '/' || c == '\\') c = '_';
    }
    if (!name.empty() && name.front() == '.') name.front() = '_';
    return name + ".log";
}

chat_log::chat_log(const std::filesystem::path& logs_dir, std::string_view room)
    : path_(logs_dir / file_name(room)) {
    std::error_code ec;
    std::filesystem::create_directories(logs_dir, ec);
    if (ec) {
        error_ = "cannot create " + logs_dir.string() + ": " + ec.message();
        return;
    }
    backlog_ = last_lines(path_, max_backlog_lines);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) error_ = "cannot open " + path_.string() + ": " + std::strerror(errno);
}

chat_log::~chat_log() {
    if (fd_ >= 0) ::close(fd_);
}

bool chat_log::append(std::int64_t ts_ms, std::string_view line) {
    if (fd_ < 0) return false;
    const std::time_t seconds = static_cast<std::time_t>(ts_ms / 1000);
    std::tm local{};
    ::localtime_r(&seconds, &local);
    char stamp[32];
    const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S ", &local);
    std::string out(stamp, n);
    out += line;
    out += '\n';
    // One write with O_APPEND: lines from this run never interleave. A short write (a full
    // disk) is finished, or the line is ended so that the next one starts on its own.
    std::size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::write(fd_, out.data() + done, out.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error_ = "cannot write " + path_.string() + ": " + std::strerror(errno);
            if (done > 0) (void)!::write(fd_, "\n", 1);
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace confab::client::tui

#include "core/data_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace confab::core {

namespace {

std::filesystem::path home_dir() {
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') {
        throw std::runtime_error(
            "HOME is not set; name the folders with --data-dir and --downloads");
    }
    return home;
}

// Creates the folder; only a folder we created is narrowed to 0700, since one the user made
// (or chose) keeps the mode they gave it.
void create_folder(const std::filesystem::path& dir) {
    std::error_code ec;
    bool created = std::filesystem::create_directories(dir, ec);
    if (ec) {
        throw std::system_error(ec, "cannot create the data dir " + dir.string());
    }
    if (created) {
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::replace, ec);
        if (ec) throw std::system_error(ec, "cannot set the mode of " + dir.string());
    }
}

// The pid the holder wrote into the lock file, or empty when it cannot be read.
std::string holder_pid(int fd) {
    char buffer[32];
    ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    if (n <= 0) return {};
    std::string pid(buffer, static_cast<std::size_t>(n));
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return {};
    return pid;
}

struct attempt {
    int fd = -1;         // >= 0: locked
    std::string holder;  // when busy: the holder's pid, if known
};

// Creates dir and tries to lock dir/lock without waiting.
attempt try_lock(const std::filesystem::path& dir) {
    create_folder(dir);
    std::filesystem::path lock_path = dir / "lock";
    int fd = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(),
                                "cannot open " + lock_path.string());
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        std::string holder = err == EWOULDBLOCK ? holder_pid(fd) : std::string{};
        ::close(fd);
        if (err != EWOULDBLOCK) {
            throw std::system_error(err, std::generic_category(),
                                    "cannot lock " + lock_path.string());
        }
        return {.fd = -1, .holder = holder};
    }
    // The pid is only for the error message another peer shows; failing to write it is
    // harmless.
    if (::ftruncate(fd, 0) == 0) {
        std::string pid = std::to_string(::getpid()) + "\n";
        [[maybe_unused]] ssize_t n = ::pwrite(fd, pid.data(), pid.size(), 0);
    }
    return {.fd = fd, .holder = {}};
}

}  // namespace

std::filesystem::path default_data_dir() {
    const char* xdg = std::getenv("XDG_DATA_HOME");
    if (xdg != nullptr && *xdg != '\0') return std::filesystem::path(xdg) / "confab";
    return home_dir() / ".local" / "share" / "confab";
}

std::filesystem::path default_downloads_dir() {
    return home_dir() / "Downloads" / "confab";
}

data_dir_lock::data_dir_lock(const std::filesystem::path& dir, bool may_pick_another) {
    attempt first = try_lock(dir);
    if (first.fd >= 0) {
        path_ = dir;
        fd_ = first.fd;
        return;
    }
    if (may_pick_another) {
        for (int i = 2; i <= 9; ++i) {
            std::filesystem::path other = dir / "instances" / std::to_string(i);
            attempt a = try_lock(other);
            if (a.fd >= 0) {
                path_ = other;
                fd_ = a.fd;
                return;
            }
        }
        throw std::runtime_error("data dir " + dir.string() +
                                 " and its instances 2 to 9 are all in use by other confab "
                                 "peers; name a free one with --data-dir");
    }
    std::string pid = first.holder.empty() ? "" : " (pid " + first.holder + ")";
    throw std::runtime_error("data dir " + dir.string() + " is in use by another confab" + pid +
                             "; give each peer its own --data-dir");
}

data_dir_lock::~data_dir_lock() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace confab::core

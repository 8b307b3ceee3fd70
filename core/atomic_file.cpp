#include "core/atomic_file.hpp"

#include <cerrno>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace confab::core {

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what, const std::filesystem::path& path) {
    throw std::system_error(err, std::generic_category(), what + " " + path.string());
}

// Closes the descriptor and removes the temp file unless released: every early exit, thrown
// or not, cleans up after itself.
class temp_file {
public:
    temp_file(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    ~temp_file() {
        if (fd_ >= 0) ::close(fd_);
        if (!path_.empty()) ::unlink(path_.c_str());
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;

    int fd() const { return fd_; }
    const std::string& path() const { return path_; }
    // close(2) can report a delayed write error, so its result matters.
    int close() {
        int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }
    void keep() { path_.clear(); }

private:
    int fd_;
    std::string path_;
};

void fsync_folder(const std::filesystem::path& folder, const std::filesystem::path& path) {
    int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_errno(errno, "cannot open the folder of", path);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) throw_errno(err, "cannot fsync the folder of", path);
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           mode_t mode) {
    std::string pattern = path.string() + ".tmp-XXXXXX";
    int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd < 0) throw_errno(errno, "cannot create a temp file for", path);
    temp_file temp(fd, pattern);

    // mkstemp creates 0600 and the umask would trim an open(2) mode; fchmod says exactly what
    // was asked for.
    if (::fchmod(temp.fd(), mode) != 0) throw_errno(errno, "cannot set the mode of", path);

    const char* data = contents.data();
    std::size_t left = contents.size();
    while (left > 0) {
        ssize_t n = ::write(temp.fd(), data, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(errno, "cannot write", path);
        }
        data += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::fsync(temp.fd()) != 0) throw_errno(errno, "cannot fsync", path);
    if (temp.close() != 0) throw_errno(errno, "cannot close", path);
    if (::rename(temp.path().c_str(), path.c_str()) != 0)
        throw_errno(errno, "cannot replace", path);
    temp.keep();
    // Without this the rename itself may not survive a crash.
    fsync_folder(path.parent_path(), path);
}

std::string read_file(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno(errno, "cannot open", path);
    std::string out;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            throw_errno(err, "cannot read", path);
        }
        if (n == 0) break;
        out.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

}  // namespace confab::core

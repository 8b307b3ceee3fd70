#include "core/partial_download.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/file_name.hpp"

namespace confab::core {

namespace {

std::string describe(int err, const std::string& what, const std::filesystem::path& path) {
    // A full disk is the error a user can do something about: say it in their words.
    if (err == ENOSPC || err == EDQUOT) return "disk full: " + what + " " + path.string();
    return what + " " + path.string() + ": " + std::strerror(err);
}

// Closes on every early return of open(); released once a partial_download owns the fd.
class fd_guard {
public:
    explicit fd_guard(int fd) : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    void reset(int fd) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

std::optional<std::string> lowercase_sha256(std::string_view hex) {
    if (hex.size() != 64) return std::nullopt;
    std::string out;
    out.reserve(hex.size());
    for (char c : hex) {
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
        out.push_back(c);
    }
    return out;
}

// Feeds the first `length` bytes of the file into `hasher`. "" on success, else why not.
std::string rehash(int fd, std::uint64_t length, sha256_hasher& hasher,
                   const std::filesystem::path& path, const std::atomic<bool>* cancel) {
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    std::vector<std::byte> buffer(sha256_file_chunk);
    std::uint64_t done = 0;
    while (done < length) {
        if (cancel && cancel->load(std::memory_order_relaxed)) return "cancelled";
        std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - done));
        ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return describe(errno, "cannot read", path);
        }
        if (n == 0) return "cannot read " + path.string() + ": it shrank while being read";
        hasher.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
        done += static_cast<std::uint64_t>(n);
    }
    return "";
}

// Moves `from` to `to` unless something is at `to`: then fails with EEXIST and leaves both
// alone. rename(2) would silently replace a file created after unique_destination looked.
int rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
        return 0;
    }
    int err = errno;
    if (err != EINVAL && err != ENOSYS && err != EOPNOTSUPP) return err;
    // Filesystems without RENAME_NOREPLACE (NFS, some FUSE): link(2) refuses to replace too.
    if (::link(from.c_str(), to.c_str()) != 0) return errno;
    ::unlink(from.c_str());
    return 0;
}

void fsync_folder(const std::filesystem::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

std::string part_file_name(const std::string& sanitized_name, std::string_view transfer_id) {
    sha256_hasher hasher;
    hasher.update(transfer_id);
    return sanitized_name + "." + hasher.hex_digest().substr(0, 8) + ".part";
}

download_open_result partial_download::open(const std::filesystem::path& downloads_dir,
                                            const incoming_file& file,
                                            const std::atomic<bool>* cancel) {
    std::optional<std::string> expected_sha256 = lowercase_sha256(file.sha256);
    if (!expected_sha256) return {std::nullopt, "the offer's SHA-256 is not 64 hex digits"};
    std::string name = sanitize_file_name(file.name);
    std::filesystem::path part_path = downloads_dir / part_file_name(name, file.transfer_id);

    std::error_code ec;
    std::filesystem::create_directories(downloads_dir, ec);
    if (ec) {
        return {std::nullopt, "cannot create the downloads folder " + downloads_dir.string() +
                                  ": " + ec.message()};
    }

    fd_guard fd(-1);
    struct stat st {};
    for (int attempt = 0;; ++attempt) {
        // O_NOFOLLOW: a symlink planted at the part path must not make us write elsewhere.
        fd.reset(::open(part_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666));
        if (fd.get() < 0) return {std::nullopt, describe(errno, "cannot open", part_path)};
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK) {
                return {std::nullopt, "another download is writing " + part_path.string()};
            }
            return {std::nullopt, describe(errno, "cannot lock", part_path)};
        }
        if (::fstat(fd.get(), &st) != 0) {
            return {std::nullopt, describe(errno, "cannot stat", part_path)};
        }
        // The holder of the lock may have renamed or deleted the file between our open and
        // our flock: then the lock is on a file that is no longer the part file.
        struct stat at_path {};
        if (::lstat(part_path.c_str(), &at_path) == 0 && at_path.st_dev == st.st_dev &&
            at_path.st_ino == st.st_ino) {
            break;
        }
        if (attempt == 10) return {std::nullopt, part_path.string() + " keeps changing"};
    }
    if (!S_ISREG(st.st_mode)) return {std::nullopt, part_path.string() + " is not a regular file"};

    auto on_disk = static_cast<std::uint64_t>(st.st_size);
    if (on_disk > file.size) {
        if (::ftruncate(fd.get(), 0) != 0) {
            return {std::nullopt, describe(errno, "cannot truncate", part_path)};
        }
        on_disk = 0;
    }

    struct statvfs vfs {};
    if (::fstatvfs(fd.get(), &vfs) == 0) {
        std::uint64_t room = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
        std::uint64_t needed = file.size - on_disk;
        if (room < needed) {
            // An empty part file holds nothing worth resuming; leave no litter behind.
            if (on_disk == 0) ::unlink(part_path.c_str());
            return {std::nullopt, "disk full: " + std::to_string(needed) + " more bytes needed, " +
                                      std::to_string(room) + " free in " + downloads_dir.string()};
        }
    }

    sha256_hasher hasher;
    std::string error = rehash(fd.get(), on_disk, hasher, part_path, cancel);
    if (!error.empty()) return {std::nullopt, error};

    return {partial_download(fd.release(), downloads_dir, std::move(name), std::move(part_path),
                             file.size, std::move(*expected_sha256), on_disk, std::move(hasher)),
            ""};
}

partial_download::partial_download(int fd, std::filesystem::path dir, std::string name,
                                   std::filesystem::path part_path, std::uint64_t expected_size,
                                   std::string expected_sha256, std::uint64_t resumed_from,
                                   sha256_hasher hasher)
    : fd_(fd),
      dir_(std::move(dir)),
      name_(std::move(name)),
      part_path_(std::move(part_path)),
      expected_size_(expected_size),
      expected_sha256_(std::move(expected_sha256)),
      resumed_from_(resumed_from),
      received_(resumed_from),
      written_back_(resumed_from),
      hasher_(std::move(hasher)) {}

partial_download::partial_download(partial_download&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      dir_(std::move(other.dir_)),
      name_(std::move(other.name_)),
      part_path_(std::move(other.part_path_)),
      expected_size_(other.expected_size_),
      expected_sha256_(std::move(other.expected_sha256_)),
      resumed_from_(other.resumed_from_),
      received_(other.received_),
      written_back_(other.written_back_),
      hasher_(std::move(other.hasher_)) {}

partial_download& partial_download::operator=(partial_download&& other) noexcept {
    if (this != &other) {
        abandon();
        fd_ = std::exchange(other.fd_, -1);
        dir_ = std::move(other.dir_);
        name_ = std::move(other.name_);
        part_path_ = std::move(other.part_path_);
        expected_size_ = other.expected_size_;
        expected_sha256_ = std::move(other.expected_sha256_);
        resumed_from_ = other.resumed_from_;
        received_ = other.received_;
        written_back_ = other.written_back_;
        hasher_ = std::move(other.hasher_);
    }
    return *this;
}

partial_download::~partial_download() {
    abandon();
}

void partial_download::require_open() const {
    if (fd_ < 0) throw std::logic_error("partial_download used after it was closed");
}

void partial_download::close_fd() {
    // Closing also drops the flock. A delayed write error reported here cannot be acted on:
    // finish() has fsynced first, and an abandoned part file is re-hashed on resume anyway.
    ::close(std::exchange(fd_, -1));
}

std::string partial_download::append(std::span<const std::byte> bytes) {
    require_open();
    if (bytes.size() > expected_size_ - received_) {
        return "the sender sent more than the " + std::to_string(expected_size_) +
               " bytes it offered";
    }
    while (!bytes.empty()) {
        ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(received_));
        if (n < 0) {
            if (errno == EINTR) continue;
            return describe(errno, "cannot write", part_path_);
        }
        // Hash exactly what reached the file, so that a short write followed by an error
        // still leaves hash and part file in agreement.
        auto written = bytes.first(static_cast<std::size_t>(n));
        hasher_.update(written);
        received_ += written.size();
        bytes = bytes.subspan(written.size());
    }
    start_writeback();
    return "";
}

// Starts writing out what has arrived every few megabytes, without waiting for it, so that
// the fsync before the rename finds little left to do: the disk works while the network
// does, instead of after it.
void partial_download::start_writeback() {
    if (received_ - written_back_ < writeback_every) return;
    ::sync_file_range(fd_, static_cast<off_t>(written_back_),
                      static_cast<off_t>(received_ - written_back_), SYNC_FILE_RANGE_WRITE);
    written_back_ = received_;
}

std::string partial_download::append(std::string_view bytes) {
    return append(std::as_bytes(std::span(bytes)));
}

download_finish_result partial_download::finish() {
    require_open();
    struct stat st {};
    std::uint64_t on_disk =
        ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : received_;
    if (received_ != expected_size_ || on_disk != expected_size_) {
        std::uint64_t got = received_ != expected_size_ ? received_ : on_disk;
        discard();
        return {false,
                {},
                "size mismatch: got " + std::to_string(got) + " bytes, expected " +
                    std::to_string(expected_size_)};
    }
    std::string actual = hasher_.hex_digest();
    if (actual != expected_sha256_) {
        discard();
        return {false, {}, "SHA-256 mismatch: got " + actual + ", expected " + expected_sha256_};
    }
    if (::fsync(fd_) != 0) {
        std::string error = describe(errno, "cannot flush", part_path_);
        abandon();
        return {false, {}, error};
    }
    // A file may appear at the chosen name between the check and the move: then look again.
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::filesystem::path destination;
        try {
            destination = unique_destination(dir_, name_);
        } catch (const std::runtime_error& e) {
            abandon();
            return {false, {}, e.what()};
        }
        int err = rename_no_replace(part_path_, destination);
        if (err == EEXIST) continue;
        if (err != 0) {
            std::string error =
                describe(err, "cannot move " + part_path_.string() + " to", destination);
            abandon();
            return {false, {}, error};
        }
        // The bytes are safe and in place; the folder's fsync only makes the new name survive
        // a crash, and failing it changes nothing the user could act on.
        fsync_folder(dir_);
        close_fd();
        return {true, destination, ""};
    }
    abandon();
    return {false, {}, "cannot find a free name for " + name_ + " in " + dir_.string()};
}

void partial_download::abandon() {
    if (fd_ >= 0) close_fd();
}

void partial_download::discard() {
    if (fd_ < 0) return;
    // Unlinked while still locked, so that no other download opens it in between.
    ::unlink(part_path_.c_str());
    close_fd();
}

}  // namespace confab::core

#pragma once
// The data dir: created on first use (mode 0700), locked so that two peers never share an
// identity. Main thread.

#include <filesystem>
#include <string>

namespace confab::core {

// $XDG_DATA_HOME/confab, else $HOME/.local/share/confab.
std::filesystem::path default_data_dir();
// $HOME/Downloads/confab.
std::filesystem::path default_downloads_dir();

class data_dir_lock {
public:
    // Creates the folder and takes an exclusive lock on DIR/lock (the lock dies with the
    // process). When the lock is held by another peer: if `may_pick_another` (the user did
    // not name the folder), uses DIR/instances/2, 3, ... up to 9 instead; otherwise throws
    // std::runtime_error with a sentence saying so.
    data_dir_lock(const std::filesystem::path& dir, bool may_pick_another);
    ~data_dir_lock();
    data_dir_lock(const data_dir_lock&) = delete;
    data_dir_lock& operator=(const data_dir_lock&) = delete;

    // The folder actually locked (differs from the one asked for when it was busy).
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    int fd_ = -1;
};

}  // namespace confab::core

#pragma once
// Where room secrets live: DATA/secrets.json, an object from room name to the room's secret
// in base32, readable by its owner only (mode 0600 from the moment it is created). Each call
// reads the file afresh and every change rewrites it atomically. Main thread (start-up).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace confab::core {

// True when the file's mode lets its group or other users read it.
bool readable_by_others(const std::filesystem::path& file);

class room_secret_store {
public:
    explicit room_secret_store(const std::filesystem::path& data_dir);

    const std::filesystem::path& file() const { return file_; }

    // The secret stored for `room`, or nullopt. Throws std::runtime_error with a sentence
    // naming the file when it cannot be read or is damaged (never overwritten then: it may
    // hold secrets the user cannot get back).
    std::optional<std::vector<std::uint8_t>> find(std::string_view room) const;

    // The stored secret for `room`, or a new random one, stored before it is returned.
    // *created (when given) says which. Throws std::runtime_error as find() does, or when the
    // file cannot be written.
    std::vector<std::uint8_t> load_or_create(std::string_view room, bool* created = nullptr);

    // Stores `secret` (16 or 32 bytes) for `room`, replacing what was there. Returns true when
    // a different secret was replaced. Throws std::runtime_error as above, and
    // std::invalid_argument for a bad room name or secret size.
    bool remember(std::string_view room, std::span<const std::uint8_t> secret);

private:
    using entries = std::vector<std::pair<std::string, std::vector<std::uint8_t>>>;
    entries load() const;
    void save(const entries& all) const;

    std::filesystem::path file_;
};

}  // namespace confab::core

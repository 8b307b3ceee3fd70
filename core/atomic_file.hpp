#pragma once
// Files that a crash never leaves half-written. Any thread.

#include <sys/types.h>
#include <filesystem>
#include <string>
#include <string_view>

namespace confab::core {

// Writes to a temp file in the same folder (created with `mode`), fsyncs it, renames it over
// `path`, then fsyncs the folder. Throws std::system_error naming the path on failure, and
// leaves no temp file behind.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           mode_t mode = 0644);

// Whole file as a string; throws std::system_error naming the path.
std::string read_file(const std::filesystem::path& path);

}  // namespace confab::core

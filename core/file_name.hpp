#pragma once
// Names of received files: a name from the wire made safe for the downloads folder, and a
// final name that never overwrites an existing file. Any thread.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace confab::core {

// The longest sanitised name, in bytes. Linux allows 255; the rest is room for the
// ".<tag>.part" of a part file and the " (N)" of a duplicate.
inline constexpr std::size_t max_file_name_bytes = 200;
// A longer last ".xxx" is not treated as an extension worth keeping when a name is cut.
inline constexpr std::size_t max_kept_extension_bytes = 16;

// A name from the network made safe as one file name in the downloads folder:
// - only the last path component is kept ('/' and '\\' both separate: the sender's
//   folders mean nothing here), trailing separators ignored: "a/b/" -> "b";
// - invalid UTF-8 bytes, control characters (C0, DEL, C1), bidirectional-text controls
//   (which can disguise an extension on screen) and U+2028/U+2029 become '_', one '_' per
//   invalid byte or per replaced character;
// - leading dots and spaces are stripped (no hidden files, never "." or ".."), and so are
//   trailing dots and spaces;
// - at most max_file_name_bytes bytes, cut on a character boundary; the extension (last
//   ".xxx", up to max_kept_extension_bytes) is kept when the name is cut;
// - an empty result becomes "file".
std::string sanitize_file_name(std::string_view wire_name);

// DIR/NAME if nothing (not even a dangling symlink) is there, else the first free of
// "STEM (1)EXT", "STEM (2)EXT", ... where EXT is the last ".xxx" of NAME (so
// "archive.tar.gz" -> "archive.tar (1).gz"; a name whose only dot is its first character has
// no extension). Only these final names are checked, not part files. This is a check, not a
// reservation: the caller must still move into place without replacing (partial_download
// does). Throws std::runtime_error when 10,000 candidates are all taken.
std::filesystem::path unique_destination(const std::filesystem::path& dir, const std::string& name);

}  // namespace confab::core

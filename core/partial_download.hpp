#pragma once
// One received file on disk: written to a part file in the downloads folder and hashed as
// the bytes arrive, resumed from what an earlier attempt left there, and moved to its final
// name only when size and SHA-256 match. Blocks on the disk: the file worker thread, never
// the loop; one thread at a time per object.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/sha256.hpp"

namespace confab::core {

// What an accepted offer says about the file, as it came from the wire.
struct incoming_file {
    std::string transfer_id;
    std::string name;  // unsanitised
    std::uint64_t size = 0;
    std::string sha256;  // 64 hex digits, either case
};

// "NAME.TAG.part", TAG being the first 8 hex digits of SHA-256(transfer_id). Per transfer,
// so that two files offered under one name never share a part file; hashed rather than
// copied from the id, because the id comes from the wire (it could hold '/') and its first
// characters need not differ between transfers.
std::string part_file_name(const std::string& sanitized_name, std::string_view transfer_id);

struct download_open_result;
struct download_finish_result;

class partial_download {
public:
    // Opens DOWNLOADS/part_file_name(sanitize_file_name(file.name), file.transfer_id),
    // creating the folder and the file as needed, and locks it (flock) so that a second
    // download of the same transfer is refused instead of interleaving with this one.
    // An existing part file is a resume: its bytes are read back into the hash and its size
    // is resumed_from(). One larger than file.size cannot be a prefix of the file: it is
    // truncated and the download starts over. Refused, with a sentence saying why, when the
    // offer's hash is not 64 hex digits, when the part path is not a regular file (a
    // symlink is never followed), when the disk has less room than the bytes still to come
    // ("disk full: ..."), on an I/O error, or when *cancel became true while re-hashing
    // ("cancelled"; the part file is kept).
    static download_open_result open(const std::filesystem::path& downloads_dir,
                                     const incoming_file& file,
                                     const std::atomic<bool>* cancel = nullptr);

    partial_download(partial_download&& other) noexcept;
    partial_download& operator=(partial_download&& other) noexcept;
    partial_download(const partial_download&) = delete;
    partial_download& operator=(const partial_download&) = delete;
    // An object still open is abandon()ed: its bytes stay for a resume.
    ~partial_download();

    // Writes the bytes at the end of the part file and hashes what was written. Returns
    // "" on success, else a sentence: "disk full: ..." when the disk is, and a refusal
    // (nothing written) when they would take the file past the offered size. After a
    // failed write the part file and the hash still agree on what reached the disk.
    [[nodiscard]] std::string append(std::span<const std::byte> bytes);
    [[nodiscard]] std::string append(std::string_view bytes);

    // Checks the size, then the SHA-256, against the offer. On a match: fsyncs, moves the
    // part file to unique_destination(folder, name()) without ever replacing a file that
    // appears there meanwhile, and returns the final path. On a mismatch the part file is
    // deleted ("size mismatch: got X bytes, expected Y" / "SHA-256 mismatch: got G, expected
    // E"); on an I/O error it is kept. Either way the download is over (is_open() is false).
    [[nodiscard]] download_finish_result finish();

    // Closes and keeps the part file, for a later resume. No-op once closed.
    void abandon();
    // Closes and deletes the part file (cancelled for good). No-op once closed.
    void discard();

    // Bytes already on disk when opened: the offset to ask the sender for.
    std::uint64_t resumed_from() const { return resumed_from_; }
    // Bytes on disk now.
    std::uint64_t received() const { return received_; }
    std::uint64_t expected_size() const { return expected_size_; }
    // The sanitised name the final file is given (before any " (N)").
    const std::string& name() const { return name_; }
    const std::filesystem::path& part_path() const { return part_path_; }
    // False after finish(), abandon(), discard() or a move. append() and finish() on a
    // closed download throw std::logic_error.
    bool is_open() const { return fd_ >= 0; }

private:
    partial_download(int fd, std::filesystem::path dir, std::string name,
                     std::filesystem::path part_path, std::uint64_t expected_size,
                     std::string expected_sha256, std::uint64_t resumed_from, sha256_hasher hasher);
    void require_open() const;
    void close_fd();
    void start_writeback();
    static constexpr std::uint64_t writeback_every = 8 * 1024 * 1024;

    int fd_ = -1;
    std::filesystem::path dir_;
    std::string name_;
    std::filesystem::path part_path_;
    std::uint64_t expected_size_ = 0;
    std::string expected_sha256_;  // lowercase
    std::uint64_t resumed_from_ = 0;
    std::uint64_t received_ = 0;
    std::uint64_t written_back_ = 0;  // bytes already handed to the disk by start_writeback
    sha256_hasher hasher_;
};

struct download_open_result {
    std::optional<partial_download> download;  // set on success
    std::string error;                         // a sentence for the user otherwise
};

struct download_finish_result {
    bool ok = false;
    std::filesystem::path path;  // the final file, when ok
    std::string error;           // a sentence for the user, when not
};

}  // namespace confab::core

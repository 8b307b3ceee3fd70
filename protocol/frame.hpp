#pragma once
// Frame codec: a 4-byte big-endian length N, then N bytes of one UTF-8 JSON object.
// Pure and single-owner: any thread may use its own decoder.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace confab::protocol {

inline constexpr std::size_t frame_header_size = 4;
// Larger frames are a protocol error: it bounds what one neighbour can make us buffer.
inline constexpr std::size_t max_frame_size = 1024 * 1024;

// Header and payload in one string, ready to write. Throws std::length_error when the payload
// is empty or longer than max_frame_size (a bug in the caller, never input from the wire).
std::string encode_frame(std::string_view payload);

enum class decode_status { frame, need_more, error };

struct decode_result {
    decode_status status;
    std::string payload;  // the frame's JSON text when status == frame
    std::string error;    // a sentence naming what was wrong when status == error
};

// Incremental decoder: feed it whatever a read returned (partial frames, several frames at
// once), then call next() until it says need_more. After an error it stays in error: the
// stream can no longer be trusted to be aligned on a frame boundary.
class frame_decoder {
public:
    void feed(std::string_view bytes);
    decode_result next();
    // Bytes held that are not yet part of a returned frame.
    std::size_t buffered() const { return buffer_.size() - read_pos_; }

private:
    std::string buffer_;
    std::size_t read_pos_ = 0;
    std::string error_;
};

}  // namespace confab::protocol

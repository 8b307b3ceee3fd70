#include "protocol/frame.hpp"

#include <stdexcept>

namespace confab::protocol {

std::string encode_frame(std::string_view payload) {
    if (payload.empty() || payload.size() > max_frame_size) {
        throw std::length_error("frame payload of " + std::to_string(payload.size()) +
                                " bytes is outside 1.." + std::to_string(max_frame_size));
    }
    const auto n = static_cast<std::uint32_t>(payload.size());
    std::string frame;
    frame.reserve(frame_header_size + payload.size());
    frame.push_back(static_cast<char>(n >> 24));
    frame.push_back(static_cast<char>(n >> 16));
    frame.push_back(static_cast<char>(n >> 8));
    frame.push_back(static_cast<char>(n));
    frame.append(payload);
    return frame;
}

void frame_decoder::feed(std::string_view bytes) {
    // Nothing after an error can be decoded, so holding it would only cost memory.
    if (!error_.empty()) return;
    // Drop consumed bytes only once they are at least half the buffer: each byte is then moved
    // a bounded number of times, instead of once per frame taken out in front of it.
    if (read_pos_ > 0 && read_pos_ * 2 >= buffer_.size()) {
        buffer_.erase(0, read_pos_);
        read_pos_ = 0;
    }
    buffer_.append(bytes);
}

decode_result frame_decoder::next() {
    if (!error_.empty()) return {decode_status::error, {}, error_};
    if (buffered() < frame_header_size) return {decode_status::need_more, {}, {}};

    const auto* header = reinterpret_cast<const unsigned char*>(buffer_.data() + read_pos_);
    const std::size_t n = (std::size_t{header[0]} << 24) | (std::size_t{header[1]} << 16) |
                          (std::size_t{header[2]} << 8) | std::size_t{header[3]};
    // Judged on the header alone: waiting for a body we will refuse anyway would let a peer
    // make us buffer up to 4 GiB.
    if (n == 0) {
        error_ = "frame length 0 is below the minimum of 1 byte";
    } else if (n > max_frame_size) {
        error_ = "frame length " + std::to_string(n) + " exceeds the limit of " +
                 std::to_string(max_frame_size) + " bytes";
    }
    if (!error_.empty()) {
        buffer_.clear();
        read_pos_ = 0;
        return {decode_status::error, {}, error_};
    }

    if (buffered() - frame_header_size < n) return {decode_status::need_more, {}, {}};
    decode_result result{
        decode_status::frame, buffer_.substr(read_pos_ + frame_header_size, n), {}};
    read_pos_ += frame_header_size + n;
    if (read_pos_ == buffer_.size()) {
        buffer_.clear();
        read_pos_ = 0;
    }
    return result;
}

}  // namespace confab::protocol

#pragma once
// The file service's frames (docs/protocol.md, "File service"): a receiver connects to the
// sender's file service, sends one `fetch`, and hears `fetch_ok` followed by the raw bytes of
// the file, or `fetch_refused`. Frames are the usual 4-byte big-endian length and one JSON
// object, but smaller (max_file_frame_size). Pure.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace confab::protocol {

// A file-service frame is one small request or answer: anything larger is refused on its
// header alone, before its body is read.
inline constexpr std::size_t max_file_frame_size = 64 * 1024;
// A refusal's reason is a sentence for a user; a longer one is malformed.
inline constexpr std::size_t max_refusal_reason_bytes = 1024;

// Receiver -> sender: "send me transfer T from byte `offset` on; I am `peer_id`".
struct fetch_request {
    std::string transfer;
    std::string peer_id;
    std::uint64_t offset = 0;
    friend bool operator==(const fetch_request&, const fetch_request&) = default;
};

// Sender -> receiver: the bytes from `offset` to `size` follow this frame, then the sender
// closes.
struct fetch_ok {
    std::string transfer;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    friend bool operator==(const fetch_ok&, const fetch_ok&) = default;
};

// Sender -> receiver: no bytes will come, and the sender closes. `retry`: the refusal is
// temporary (the sender is busy), so the receiver keeps what it has and may ask again later;
// otherwise the offer cannot be fetched from this sender (any more).
struct fetch_refused {
    std::string reason;
    bool retry = false;
    friend bool operator==(const fetch_refused&, const fetch_refused&) = default;
};

using file_message = std::variant<fetch_request, fetch_ok, fetch_refused>;

struct file_parse_result {
    std::optional<file_message> msg;  // set on success
    std::string type;                 // the "type" field, when there was one
    std::string error;                // a sentence naming what was wrong otherwise
};

// 32 lowercase hex digits (128 random bits), as protocol/file_offer.hpp's transfer ids.
std::string check_transfer_id(std::string_view id);

// The payload length announced by a frame header (the first frame_header_size bytes of
// `header`), or nullopt with *error set when it is 0 or above max_file_frame_size.
std::optional<std::size_t> file_frame_length(std::string_view header, std::string* error);

// Parses and validates one file-service frame's JSON text. Unknown fields are ignored; an
// unknown "type" is an error (nothing else can be said on this connection).
file_parse_result parse_file_message(std::string_view json_text);

// JSON text of a message.
std::string serialize_file_message(const file_message& m);

// Header and payload of a message, ready to write.
std::string encode_file_frame(const file_message& m);

}  // namespace confab::protocol

// Fuzzes protocol::frame_decoder. The input's first byte chooses how the rest, a byte stream as
// a neighbour could send it, is cut into reads: however it is cut, the decoder must return the
// same frames and the same error as when it gets the stream in one piece; every frame must be
// the exact bytes of the stream (decode then encode gives them back); and it must never hold
// more than a frame's worth of bytes.

#include <string>
#include <string_view>
#include <vector>

#include "protocol/frame.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace confab::protocol;

struct outcome {
    std::vector<std::string> frames;
    std::string error;
};

// Read sizes as a socket might return them: mostly small, sometimes large.
class read_sizes {
public:
    explicit read_sizes(std::uint8_t seed) : state_(0x9e3779b9u ^ seed) {}
    std::size_t next() {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 17;
        state_ ^= state_ << 5;
        return 1 + ((state_ & 3) != 0 ? state_ % 16 : state_ % 2048);
    }

private:
    std::uint32_t state_;
};

std::size_t header_length(std::string_view at) {
    const auto byte = [&](std::size_t i) { return std::size_t{static_cast<unsigned char>(at[i])}; };
    return (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
}

// Takes every frame the decoder has, checking each against the bytes it was cut from.
// `consumed`: how much of the stream the frames so far took. False once the decoder is in error.
bool drain(frame_decoder& decoder, std::string_view stream, std::size_t fed, std::size_t& consumed,
           outcome& out) {
    for (;;) {
        auto result = decoder.next();
        switch (result.status) {
            case decode_status::frame: {
                FUZZ_CHECK(result.error.empty());
                FUZZ_CHECK(!result.payload.empty() && result.payload.size() <= max_frame_size);
                const auto encoded = encode_frame(result.payload);
                FUZZ_CHECK(stream.substr(consumed, encoded.size()) == encoded);
                consumed += encoded.size();
                FUZZ_CHECK(decoder.buffered() == fed - consumed);
                out.frames.push_back(std::move(result.payload));
                break;
            }
            case decode_status::need_more: {
                FUZZ_CHECK(result.payload.empty() && result.error.empty());
                FUZZ_CHECK(decoder.buffered() == fed - consumed);
                // Holding back a complete frame, or a header it should have refused, is a bug.
                if (decoder.buffered() >= frame_header_size) {
                    const auto n = header_length(stream.substr(consumed));
                    FUZZ_CHECK(n >= 1 && n <= max_frame_size);
                    FUZZ_CHECK(decoder.buffered() < frame_header_size + n);
                }
                return true;
            }
            case decode_status::error: {
                FUZZ_CHECK(!result.error.empty() && result.payload.empty());
                FUZZ_CHECK(decoder.buffered() == 0);
                out.error = std::move(result.error);
                return false;
            }
        }
    }
}

// After an error the decoder stays in it and holds nothing, whatever comes next.
void check_stays_in_error(frame_decoder& decoder, const std::string& error) {
    decoder.feed(std::string(frame_header_size, '\0') + "{}");
    const auto again = decoder.next();
    FUZZ_CHECK(again.status == decode_status::error && again.error == error);
    FUZZ_CHECK(decoder.buffered() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    read_sizes sizes(data[0]);
    const auto stream = confab::fuzz::as_text(data + 1, size - 1);

    outcome whole;
    {
        frame_decoder decoder;
        decoder.feed(stream);
        std::size_t consumed = 0;
        if (!drain(decoder, stream, stream.size(), consumed, whole)) {
            check_stays_in_error(decoder, whole.error);
        }
    }

    outcome pieces;
    {
        frame_decoder decoder;
        std::size_t fed = 0;
        std::size_t consumed = 0;
        bool ok = true;
        while (ok && fed < stream.size()) {
            const auto piece = stream.substr(fed, sizes.next());
            decoder.feed(piece);
            fed += piece.size();
            ok = drain(decoder, stream, fed, consumed, pieces);
        }
        if (!ok) check_stays_in_error(decoder, pieces.error);
    }
    FUZZ_CHECK(whole.frames == pieces.frames);
    FUZZ_CHECK(whole.error == pieces.error);

    // decode(encode(x)) == x, from a fresh decoder.
    for (const auto& payload : whole.frames) {
        frame_decoder decoder;
        decoder.feed(encode_frame(payload));
        const auto result = decoder.next();
        FUZZ_CHECK(result.status == decode_status::frame && result.payload == payload);
        FUZZ_CHECK(decoder.next().status == decode_status::need_more && decoder.buffered() == 0);
    }
    return 0;
}

#include "protocol/frame.hpp"

#include <stdexcept>

#include <catch2/catch.hpp>

using namespace confab::protocol;

namespace {

std::string header(std::uint32_t n) {
    return {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
            static_cast<char>(n)};
}

}  // namespace

TEST_CASE("encode_frame writes a big-endian length before the payload") {
    CHECK(encode_frame("{}") == header(2) + "{}");
    const std::string big(300, 'x');
    CHECK(encode_frame(big) == std::string("\x00\x00\x01\x2c", 4) + big);
}

TEST_CASE("encode_frame refuses an empty or oversized payload") {
    CHECK_THROWS_AS(encode_frame(""), std::length_error);
    CHECK_THROWS_AS(encode_frame(std::string(max_frame_size + 1, 'x')), std::length_error);
    CHECK(encode_frame(std::string(max_frame_size, 'x')).size() ==
          max_frame_size + frame_header_size);
}

TEST_CASE("a decoder with nothing fed needs more") {
    frame_decoder d;
    CHECK(d.next().status == decode_status::need_more);
    CHECK(d.buffered() == 0);
}

TEST_CASE("a truncated frame needs more and is not an error") {
    frame_decoder d;
    const auto frame = encode_frame(R"({"type":"ping"})");
    d.feed(frame.substr(0, frame.size() - 1));
    const auto r = d.next();
    CHECK(r.status == decode_status::need_more);
    CHECK(r.error.empty());
    CHECK(d.buffered() == frame.size() - 1);

    d.feed(frame.substr(frame.size() - 1));
    const auto done = d.next();
    REQUIRE(done.status == decode_status::frame);
    CHECK(done.payload == R"({"type":"ping"})");
    CHECK(d.buffered() == 0);
}

TEST_CASE("a header split across feeds is reassembled") {
    frame_decoder d;
    const auto frame = encode_frame("{\"a\":1}");
    d.feed(frame.substr(0, 1));
    CHECK(d.next().status == decode_status::need_more);
    d.feed(frame.substr(1, 2));
    CHECK(d.next().status == decode_status::need_more);
    d.feed(frame.substr(3));
    const auto r = d.next();
    REQUIRE(r.status == decode_status::frame);
    CHECK(r.payload == "{\"a\":1}");
}

TEST_CASE("a frame fed one byte at a time is decoded once") {
    frame_decoder d;
    const auto frame = encode_frame(std::string(1000, 'z'));
    int frames = 0;
    for (const char c : frame) {
        d.feed(std::string_view(&c, 1));
        for (auto r = d.next(); r.status == decode_status::frame; r = d.next()) {
            CHECK(r.payload == std::string(1000, 'z'));
            ++frames;
        }
    }
    CHECK(frames == 1);
    CHECK(d.buffered() == 0);
}

TEST_CASE("several frames in one feed come out in order") {
    frame_decoder d;
    const auto second = encode_frame("second");
    d.feed(encode_frame("first") + second + encode_frame("third") + second.substr(0, 5));
    CHECK(d.next().payload == "first");
    CHECK(d.next().payload == "second");
    CHECK(d.next().payload == "third");
    CHECK(d.next().status == decode_status::need_more);
    CHECK(d.buffered() == 5);
    d.feed(second.substr(5));
    CHECK(d.next().payload == "second");
    CHECK(d.next().status == decode_status::need_more);
}

TEST_CASE("a zero length is an error") {
    frame_decoder d;
    d.feed(header(0));
    const auto r = d.next();
    CHECK(r.status == decode_status::error);
    CHECK(r.error == "frame length 0 is below the minimum of 1 byte");
}

TEST_CASE("an oversized length is an error as soon as the header is complete") {
    frame_decoder d;
    d.feed(header(5000000).substr(0, 3));
    CHECK(d.next().status == decode_status::need_more);
    d.feed(header(5000000).substr(3));
    const auto r = d.next();
    CHECK(r.status == decode_status::error);
    CHECK(r.error == "frame length 5000000 exceeds the limit of 1048576 bytes");
}

TEST_CASE("a length of exactly max_frame_size is accepted") {
    frame_decoder d;
    d.feed(header(max_frame_size));
    CHECK(d.next().status == decode_status::need_more);
    d.feed(std::string(max_frame_size, 'x'));
    const auto r = d.next();
    REQUIRE(r.status == decode_status::frame);
    CHECK(r.payload.size() == max_frame_size);
}

TEST_CASE("after an error the decoder stays in error and holds nothing") {
    frame_decoder d;
    d.feed(encode_frame("ok") + header(0) + encode_frame("lost"));
    CHECK(d.next().payload == "ok");
    CHECK(d.next().status == decode_status::error);
    d.feed(encode_frame("later"));
    const auto r = d.next();
    CHECK(r.status == decode_status::error);
    CHECK(r.error == "frame length 0 is below the minimum of 1 byte");
    CHECK(d.buffered() == 0);
}

TEST_CASE("every frame decodes while a partial frame is always pending") {
    // The buffer never drains completely here, so consumed bytes must be compacted away.
    frame_decoder d;
    const auto frame = encode_frame(std::string(100, 'm'));
    d.feed(frame.substr(0, 50));
    int frames = 0;
    for (int i = 0; i < 10000; ++i) {
        d.feed(frame.substr(50) + frame.substr(0, 50));
        for (auto r = d.next(); r.status == decode_status::frame; r = d.next()) {
            CHECK(r.payload == std::string(100, 'm'));
            ++frames;
        }
        REQUIRE(d.buffered() == 50);
    }
    CHECK(frames == 10000);
}

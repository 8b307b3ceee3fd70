// Fuzzes the file service's codec (protocol/file_service.hpp): the input is a frame as a
// receiver or sender could send it, header first. The header's length is refused or within
// 1..max_file_frame_size; a message that parses serialises to one that parses equal and keeps
// the rules (an offset within the size, a short reason), and encode_file_frame announces its
// true length.

#include <string>
#include <variant>

#include "protocol/file_service.hpp"
#include "protocol/frame.hpp"
#include "protocol/validate.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace confab::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = confab::fuzz::as_text(data, size);

    std::string header_error;
    const auto length = file_frame_length(input, &header_error);
    if (length) {
        FUZZ_CHECK(input.size() >= frame_header_size);
        FUZZ_CHECK(*length >= 1 && *length <= max_file_frame_size);
    } else {
        FUZZ_CHECK(!header_error.empty());
    }
    // The body is parsed whatever the header said, so that the fuzzer need not get it right.
    const auto body = input.substr(std::min(input.size(), frame_header_size));

    const auto result = parse_file_message(body);
    if (!result.msg) {
        FUZZ_CHECK(!result.error.empty());
        FUZZ_CHECK(is_valid_utf8(result.error));
        return 0;
    }
    FUZZ_CHECK(result.error.empty());
    if (const auto* ok = std::get_if<fetch_ok>(&*result.msg)) {
        FUZZ_CHECK(ok->offset <= ok->size);
        FUZZ_CHECK(check_transfer_id(ok->transfer).empty());
    }
    if (const auto* fetch = std::get_if<fetch_request>(&*result.msg)) {
        FUZZ_CHECK(check_transfer_id(fetch->transfer).empty());
        FUZZ_CHECK(check_peer_id(fetch->peer_id).empty());
    }
    if (const auto* refused = std::get_if<fetch_refused>(&*result.msg)) {
        FUZZ_CHECK(refused->reason.size() <= max_refusal_reason_bytes);
    }

    const auto json_text = serialize_file_message(*result.msg);
    const auto again = parse_file_message(json_text);
    FUZZ_CHECK(again.msg && *again.msg == *result.msg && again.type == result.type);

    const auto frame = encode_file_frame(*result.msg);
    std::string error;
    const auto announced = file_frame_length(frame, &error);
    FUZZ_CHECK(announced && *announced == frame.size() - frame_header_size);
    FUZZ_CHECK(frame.substr(frame_header_size) == json_text);
    return 0;
}

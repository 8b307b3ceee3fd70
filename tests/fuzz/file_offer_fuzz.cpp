// Fuzzes protocol::parse_file_offer with a chat envelope's JSON text (parsed as parse_message
// would). An offer that parses keeps every rule of file_offer.hpp, and goes through
// file_offer_to_json back to an equal offer; a refusal says why.

#include <algorithm>
#include <string>

#include "protocol/file_offer.hpp"
#include "protocol/strict_json.hpp"
#include "protocol/validate.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace confab::protocol;

namespace {

bool is_lower_hex(const std::string& s, std::size_t length) {
    return s.size() == length && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = confab::fuzz::as_text(data, size);
    if (!is_valid_utf8(text)) return 0;  // parse_message refuses it before any offer is read
    std::string json_error;
    const auto envelope = parse_strict_json(text, 16, json_error);
    if (!envelope) return 0;

    std::string error;
    const auto offer = parse_file_offer(*envelope, &error);
    if (!offer) {
        FUZZ_CHECK(error.starts_with("file offer: "));
        FUZZ_CHECK(is_valid_utf8(error));
        return 0;
    }
    FUZZ_CHECK(is_transfer_id(offer->id));
    FUZZ_CHECK(is_lower_hex(offer->id, transfer_id_length));
    FUZZ_CHECK(!offer->name.empty() && offer->name.size() <= max_offer_name_bytes);
    FUZZ_CHECK(is_valid_utf8(offer->name));
    FUZZ_CHECK(offer->size <= (std::uint64_t{1} << 53));
    FUZZ_CHECK(is_lower_hex(offer->sha256, 64));
    FUZZ_CHECK(offer->port != 0);
    FUZZ_CHECK(offer->hosts.size() <= max_offer_hosts);
    for (const auto& host : offer->hosts) FUZZ_CHECK(!host.empty() && host.size() <= 253);
    FUZZ_CHECK(offer->to.empty() || check_peer_id(offer->to).empty());

    const nlohmann::json rebuilt{{"file", file_offer_to_json(*offer)}};
    std::string again_error;
    const auto again = parse_file_offer(rebuilt, &again_error);
    FUZZ_CHECK(again && *again == *offer);
    // Through text too, as it travels.
    const auto reparsed = parse_strict_json(rebuilt.dump(), 16, json_error);
    FUZZ_CHECK(reparsed && parse_file_offer(*reparsed, &again_error) == offer);
    return 0;
}

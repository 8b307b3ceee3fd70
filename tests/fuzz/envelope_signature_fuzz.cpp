// Fuzzes core::verify_envelope with a chat envelope's JSON text (parsed as parse_message would).
// Verifying never throws and gives the same answer twice; its refusal is a sentence safe to log
// and send back (valid UTF-8); and an envelope it accepts is refused once its body changes (the
// signature covers the body). Seeds with a valid signature are what reach the last check.

#include <string>

#include "core/envelope_signature.hpp"
#include "protocol/strict_json.hpp"
#include "protocol/validate.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = confab::fuzz::as_text(data, size);
    if (!confab::protocol::is_valid_utf8(text)) return 0;  // refused before any envelope is read
    std::string json_error;
    const auto envelope = confab::protocol::parse_strict_json(text, 16, json_error);
    if (!envelope) return 0;

    const std::string error = confab::core::verify_envelope(*envelope);
    FUZZ_CHECK(confab::core::verify_envelope(*envelope) == error);
    FUZZ_CHECK(confab::protocol::is_valid_utf8(error));
    if (!error.empty()) return 0;

    FUZZ_CHECK(envelope->is_object());
    if (const auto body = envelope->find("body"); body != envelope->end() && body->is_string()) {
        auto tampered = *envelope;
        tampered["body"] = body->get<std::string>() + "!";
        FUZZ_CHECK(!confab::core::verify_envelope(tampered).empty());
    }
    return 0;
}

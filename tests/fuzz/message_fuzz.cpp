// Fuzzes protocol::parse_message with one frame's JSON text. An error is a sentence that can be
// sent back to the peer (valid UTF-8); a message that parses serialises to JSON that parses to
// an equal message, a chat no longer than the text it came from but for a "hops" it may have
// left out (a chat is forwarded as serialised, and must still fit in a frame), and a chat's
// envelope keeps its canonical bytes, hence its id.

#include <algorithm>
#include <string>
#include <variant>
#include <vector>

#include "protocol/messages.hpp"
#include "protocol/validate.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace confab::protocol;

namespace {

using nlohmann::json;

void write_string(const std::string& s, std::string& out) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (const char c : s) {
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (byte < 0x20) {
                    out += "\\u00";
                    out += hex[byte >> 4];
                    out += hex[byte & 0xf];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

// Canonical bytes by the letter of docs/protocol.md ("Message id").
void write_canonical(const json& v, std::string& out) {
    switch (v.type()) {
        case json::value_t::object: {
            std::vector<std::string> keys;
            for (const auto& item : v.items()) keys.push_back(item.key());
            std::sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
                return std::lexicographical_compare(
                    a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
                        return static_cast<unsigned char>(x) < static_cast<unsigned char>(y);
                    });
            });
            out += '{';
            for (std::size_t i = 0; i < keys.size(); ++i) {
                if (i > 0) out += ',';
                write_string(keys[i], out);
                out += ':';
                write_canonical(v.at(keys[i]), out);
            }
            out += '}';
            return;
        }
        case json::value_t::array:
            out += '[';
            for (std::size_t i = 0; i < v.size(); ++i) {
                if (i > 0) out += ',';
                write_canonical(v[i], out);
            }
            out += ']';
            return;
        case json::value_t::string:
            write_string(v.get_ref<const std::string&>(), out);
            return;
        case json::value_t::boolean:
            out += v.get<bool>() ? "true" : "false";
            return;
        case json::value_t::null:
            out += "null";
            return;
        case json::value_t::number_unsigned:
            out += std::to_string(v.get<std::uint64_t>());
            return;
        case json::value_t::number_integer:
            out += std::to_string(v.get<std::int64_t>());
            return;
        default:
            FUZZ_CHECK(!"an envelope holds no float, binary or discarded value");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = confab::fuzz::as_text(data, size);
    const auto result = parse_message(text);
    if (result.status != parse_status::ok) {
        FUZZ_CHECK(!result.msg);
        FUZZ_CHECK(!result.error.empty());
        FUZZ_CHECK(is_valid_utf8(result.error));
        FUZZ_CHECK(is_valid_utf8(result.type));
        return 0;
    }
    FUZZ_CHECK(result.msg);
    FUZZ_CHECK(result.error.empty());
    // Nothing accepted (and so nothing forwarded) starts with what a strict parser may refuse.
    FUZZ_CHECK(!text.starts_with("\xef\xbb\xbf"));

    const auto json_text = serialize(*result.msg);
    FUZZ_CHECK(is_valid_utf8(json_text));
    const auto again = parse_message(json_text);
    FUZZ_CHECK(again.status == parse_status::ok);
    FUZZ_CHECK(again.type == result.type);
    FUZZ_CHECK(again.msg == result.msg);
    FUZZ_CHECK(serialize(*again.msg) == json_text);

    if (const auto* c = std::get_if<chat>(&*result.msg)) {
        // serialize always writes "hops", which the sender may have left out.
        FUZZ_CHECK(json_text.size() <= text.size() + std::string_view(R"("hops":0,)").size());
        FUZZ_CHECK(canonical_bytes_unsigned(c->raw).size() <= max_envelope_bytes);
        FUZZ_CHECK(canonical_bytes(std::get<chat>(*again.msg).raw) == canonical_bytes(c->raw));
        // The fields read out of the envelope are the ones an author would have written.
        FUZZ_CHECK(c->raw.is_object());
        std::string canonical;
        write_canonical(c->raw, canonical);
        FUZZ_CHECK(canonical_bytes(c->raw) == canonical);
        FUZZ_CHECK(c->raw.at("body") == c->env.body && c->raw.at("seq") == c->env.seq);
    }
    return 0;
}

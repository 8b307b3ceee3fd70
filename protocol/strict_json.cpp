#include "protocol/strict_json.hpp"

#include <set>
#include <string_view>
#include <vector>

#include "protocol/validate.hpp"

namespace confab::protocol {

namespace {

using json = nlohmann::json;

// What nlohmann's parse errors say was expected (lexer::token_type_name).
constexpr std::string_view token_names[] = {"true literal",
                                            "false literal",
                                            "null literal",
                                            "string literal",
                                            "number literal",
                                            "'['",
                                            "'{'",
                                            "']'",
                                            "'}'",
                                            "':'",
                                            "','",
                                            "end of input",
                                            "'[', '{', or a literal"};

// nlohmann's message without its "[json.exception.parse_error.101] " tag, and without the
// "; last read: '...'" echo, which may end inside a multi-byte character and so would make
// an error reply itself invalid UTF-8. The echo is input, so it may contain "'; expected "
// itself: its end is not searched for. Everything from its start is dropped, and the
// "; expected X" that follows it is put back only when X is one of nlohmann's token names.
std::string describe(const json::parse_error& e) {
    std::string what = e.what();
    if (const auto tag_end = what.find("] "); tag_end != std::string::npos) {
        what.erase(0, tag_end + 2);
    }
    if (const auto echo = what.find("; last read: '"); echo != std::string::npos) {
        std::string expected;
        for (const auto name : token_names) {
            const std::string suffix = "'; expected " + std::string(name);
            if (what.ends_with(suffix)) expected = suffix.substr(1);
        }
        what.erase(echo);
        what += expected;
    }
    return "frame is not valid JSON: " + what;
}

// Thrown from the parser callback to stop parsing at the first structural problem.
struct rejected_json {
    std::string error;
};

}  // namespace

std::string excerpt(std::string_view s) {
    constexpr std::size_t max_bytes = 64;
    if (s.size() <= max_bytes) return std::string(s);
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
    return std::string(s.substr(0, cut)) + "...";
}

std::optional<json> parse_strict_json(std::string_view text, int max_depth, std::string& error) {
    // nlohmann skips a UTF-8 byte order mark before the value; RFC 8259 parsers may refuse
    // it (section 8.1). Refused here so that a relay never forwards a frame, BOM and all,
    // for which a strict peer would cut the relay off.
    if (text.starts_with("\xef\xbb\xbf")) {
        error = "frame starts with a byte order mark (U+FEFF)";
        return std::nullopt;
    }
    std::vector<std::set<std::string>> open_objects;
    const json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
        using event_t = json::parse_event_t;
        if ((event == event_t::object_start || event == event_t::array_start) &&
            depth >= max_depth) {
            throw rejected_json{"frame nests JSON deeper than " + std::to_string(max_depth) +
                                " levels"};
        }
        if (event == event_t::object_start) open_objects.emplace_back();
        if (event == event_t::object_end) open_objects.pop_back();
        if (event == event_t::key &&
            !open_objects.back().insert(parsed.get<std::string>()).second) {
            throw rejected_json{"frame repeats the key \"" + excerpt(parsed.get<std::string>()) +
                                "\" in one object"};
        }
        return true;
    };
    try {
        return json::parse(text, check);
    } catch (const json::parse_error& e) {
        error = describe(e);
    } catch (const rejected_json& e) {
        error = e.error;
    } catch (const json::exception& e) {
        // Not only syntax: a number too large for a double (1e400) is out_of_range. Anything
        // nlohmann refuses is malformed input, never an exception that escapes.
        error = "frame is not valid JSON: " + std::string(e.what()).substr(0, 120);
    }
    // The promise above holds whatever nlohmann's messages quote: an error is sent back in an
    // error frame, and serialising invalid UTF-8 throws.
    if (!is_valid_utf8(error)) error = "frame is not valid JSON";
    return std::nullopt;
}

}  // namespace confab::protocol

#include "protocol/strict_json.hpp"

#include <algorithm>
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

// nlohmann's own DOM builder (from nlohmann::detail, as 3.11 has it) with the depth limit
// and the repeated-key check added. A parse callback could do both, but nlohmann's callback
// parser copies every key and value on the way; this costs one short string per key. Errors
// are thrown as rejected_json.
class strict_dom_builder : public nlohmann::detail::json_sax_dom_parser<json> {
public:
    strict_dom_builder(json& root, int max_depth)
        : json_sax_dom_parser(root), max_depth_(static_cast<std::size_t>(max_depth)) {}

    bool start_object(std::size_t size) {
        enter();
        key_starts_.push_back(keys_.size());
        return json_sax_dom_parser::start_object(size);
    }
    bool key(std::string& key) {
        keys_.push_back(key);
        return json_sax_dom_parser::key(key);
    }
    // Repeats are looked for once the object is complete, sorted: a check per key against
    // the keys before it would be quadratic in a frame of a million bytes.
    bool end_object() {
        const auto first = keys_.begin() + static_cast<std::ptrdiff_t>(key_starts_.back());
        std::sort(first, keys_.end());
        if (const auto repeat = std::adjacent_find(first, keys_.end()); repeat != keys_.end()) {
            throw rejected_json{"frame repeats the key \"" + excerpt(*repeat) +
                                "\" in one object"};
        }
        keys_.erase(first, keys_.end());
        key_starts_.pop_back();
        --depth_;
        return json_sax_dom_parser::end_object();
    }
    bool start_array(std::size_t size) {
        enter();
        return json_sax_dom_parser::start_array(size);
    }
    bool end_array() {
        --depth_;
        return json_sax_dom_parser::end_array();
    }

private:
    void enter() {
        if (depth_ >= max_depth_) {
            throw rejected_json{"frame nests JSON deeper than " + std::to_string(max_depth_) +
                                " levels"};
        }
        ++depth_;
    }

    std::size_t max_depth_;
    std::size_t depth_ = 0;
    std::vector<std::string> keys_;         // of every object still open, outermost first
    std::vector<std::size_t> key_starts_;  // where each open object's keys begin in keys_
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
    try {
        json result;
        strict_dom_builder builder(result, max_depth);
        json::sax_parse(text, &builder);
        return result;
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

#pragma once
// JSON from the network, parsed strictly: an object that repeats a key is refused
// (implementations disagree on which copy wins, and so would disagree on a message's content
// and id), and so is nesting deeper than a limit (walking and copying a value recurses), and
// so is a byte order mark before the value (nlohmann would skip it; a strict parser may not).
// Errors are sentences safe to log and send back: quoted input is cut short and never ends
// inside a UTF-8 sequence. Pure.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace confab::protocol {

std::optional<nlohmann::json> parse_strict_json(std::string_view text, int max_depth,
                                                std::string& error);

// At most 64 bytes of `s`, cut at a character boundary, with "..." when cut.
std::string excerpt(std::string_view s);

}  // namespace confab::protocol

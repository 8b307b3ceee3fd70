#pragma once
// Presence: a member says it is in a room with a chat envelope of kind "presence" whose body is
// "join", "here" or "leave" (docs/protocol.md, "Presence"). Broadcast, signed and deduplicated
// like any message, never shown as one. Pure.

#include <optional>
#include <string_view>

namespace confab::protocol {

inline constexpr const char* presence_kind = "presence";

enum class presence {
    join,   // the room got its first neighbour here (at start, or after being cut off)
    here,   // still here: every announce interval
    leave,  // parting the room or shutting down
};

// The body's meaning; nullopt for any other body (the envelope is then ignored, not shown).
std::optional<presence> parse_presence(std::string_view body);
// The body for it: "join", "here" or "leave".
std::string_view to_string(presence p);

}  // namespace confab::protocol

#pragma once
// Message ids and hashing. Any thread.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/sha256.hpp"  // sha256_hex

namespace confab::core {

// The id of a chat message: lowercase hex SHA-256 of its envelope's canonical bytes without
// "sig" (protocol::canonical_bytes_unsigned). Every receiver computes it itself; an id is
// never taken from the wire.
std::string message_id(const nlohmann::json& envelope);

}  // namespace confab::core

#include "core/message_id.hpp"

namespace confab::core {

std::string message_id(const nlohmann::json& envelope) {
    // envelope.dump() is exactly protocol::canonical_bytes(envelope): nlohmann::json keeps
    // object keys sorted and dump() writes no whitespace.
    return sha256_hex(envelope.dump());
}

}  // namespace confab::core

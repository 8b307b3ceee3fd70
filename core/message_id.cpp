#include "core/message_id.hpp"

#include "protocol/canonical.hpp"

namespace confab::core {

std::string message_id(const nlohmann::json& envelope) {
    // The id names the content, not the signature over it: "sig" is left out, so that an
    // envelope signed again (another signature of the same key over the same bytes; Ed25519
    // as OpenSSL does it is deterministic, but nothing on the wire forces that) is still the
    // same message and is delivered once. It also lets a receiver drop a copy it has already
    // delivered before paying for a signature check.
    return sha256_hex(protocol::canonical_bytes_unsigned(envelope));
}

}  // namespace confab::core

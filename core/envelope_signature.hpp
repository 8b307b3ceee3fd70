#pragma once
// Signed chat envelopes: the author signs what it writes, and every receiver checks the
// signature against the key that the "author" peer id spells before it delivers or forwards.
// docs/protocol.md, "Signature", is the contract. Any thread.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/identity.hpp"

namespace confab::core {

// Domain separation: a signature over an envelope can never be passed off as a signature over
// anything else the same key signs (now or in a later version), and the reverse.
inline constexpr std::string_view envelope_signature_label = "confab envelope v1";

// What the signature covers: the label, one NUL byte, then the canonical bytes of the envelope
// without its "sig" field (protocol::canonical_bytes_unsigned). Throws as canonical_bytes does
// on a string that is not valid UTF-8.
std::string envelope_signed_bytes(const nlohmann::json& envelope);

// Adds (or replaces) "sig": the Ed25519 signature of envelope_signed_bytes, as 128 lowercase
// hex digits. Throws std::invalid_argument when the envelope is not an object or breaks the
// canonical rules (our own code built it wrongly), std::runtime_error when OpenSSL fails.
void sign_envelope(const identity& author, nlohmann::json& envelope);

// Empty when "sig" is present, well-formed and made by the key that "author" names; otherwise
// one sentence saying what is wrong ("no signature", "author is not a valid peer id",
// "signature does not match the author's key", ...). Never throws. It does not look at
// anything but the signature: the fields' own rules are protocol::parse_message's.
std::string verify_envelope(const nlohmann::json& envelope);
// The same, for a caller that already has protocol::canonical_bytes_unsigned(envelope) (it
// computed the message id from them): the envelope is not canonicalised a second time.
std::string verify_envelope(const nlohmann::json& envelope, const std::string* canonical_unsigned);

}  // namespace confab::core

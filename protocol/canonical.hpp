#pragma once
// Canonical JSON: the one byte string a JSON value is signed and hashed as, so that every
// implementation computes the same message id and checks the same signature. The exact rules
// are in docs/protocol.md ("Canonical bytes"). Pure; any thread.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace confab::protocol {

// Integers from -2^53 to 2^53, both included, are exact in every JSON implementation, also
// those that hold numbers as IEEE doubles; beyond, two implementations could read the same
// text as different numbers and so write different canonical bytes.
inline constexpr std::uint64_t max_canonical_integer = std::uint64_t{1} << 53;

// Where a value breaks the canonical rules and how.
struct canonical_problem {
    std::string path;     // "" for the value itself, else e.g. "extra.list[1]"
    std::string problem;  // e.g. "must not be a floating-point number"
};

// nullopt when `value` may be signed and hashed: no floating-point number (1.0 and 1e3
// included: their spelling would not survive), no integer outside -2^53..2^53, and valid
// UTF-8 in every string and key, at any depth. Otherwise the first problem found, walking
// objects in key order and arrays in index order. Repeated keys are refused earlier, by the
// parser (strict_json.hpp); a json value cannot hold them.
std::optional<canonical_problem> find_canonical_problem(const nlohmann::json& value);

inline bool is_canonical(const nlohmann::json& value) {
    return !find_canonical_problem(value).has_value();
}

// The canonical bytes of a value: nlohmann's dump() (keys sorted bytewise, no whitespace,
// strings as raw UTF-8 with only the escapes JSON requires). Throws nlohmann::json::exception
// on a string that is not valid UTF-8, which find_canonical_problem reports first.
std::string canonical_bytes(const nlohmann::json& value);

// The field of a chat envelope that holds the author's signature.
inline constexpr const char* envelope_sig_field = "sig";

// The canonical bytes of an envelope without its signature: what the author signs and what the
// message id hashes. Throws as canonical_bytes does.
std::string canonical_bytes_unsigned(const nlohmann::json& envelope);

}  // namespace confab::protocol

#pragma once
// RFC 4648 base32, lowercase, without padding: how peer ids spell public keys. Any thread.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace confab::core {

std::string base32_encode(std::span<const std::uint8_t> bytes);
// nullopt for characters outside a-z2-7 (upper case is accepted) or a non-canonical tail.
std::optional<std::vector<std::uint8_t>> base32_decode(std::string_view text);

}  // namespace confab::core

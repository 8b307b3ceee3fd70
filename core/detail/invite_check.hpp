#pragma once
// The invite's check character and framing, open for tests that build invites the formatter
// would refuse to write. Pure; any thread.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace confab::core::detail {

// The check character for `base32` (lowercase base32 characters only): the value c such that
// the whole string s_1..s_n c sums to zero as the polynomial sum of s_i * x^(n+1-i) over
// GF(32) = GF(2)[x]/(x^5 + x^2 + 1). One check symbol of such a code catches every single
// substitution and, because x + 1 != 0, every swap of two adjacent different characters.
// (Luhn mod 32 would miss swapping "a" and "7", as Luhn mod 10 misses 09 and 90.)
char invite_check_character(std::string_view base32);

// True when `base32_with_check` (lowercase) sums to zero: its last character checks the rest.
bool invite_check_matches(std::string_view base32_with_check);

// "confab1" + base32 of `payload` + check character: an invite whose payload is not checked.
std::string wrap_invite_payload(std::span<const std::uint8_t> payload);

}  // namespace confab::core::detail

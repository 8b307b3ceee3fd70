#include "core/seq_ledger.hpp"

#include <algorithm>

#include "core/sha256.hpp"

namespace confab::core {

namespace {

// The first 64 bits of a lowercase hex SHA-256; any other string is hashed first (tests).
std::uint64_t prefix64(const std::string& text) {
    const bool digest = text.size() == 64 && std::all_of(text.begin(), text.end(),
                                                         [](char c) { return hex_value(c) >= 0; });
    if (!digest) return prefix64(sha256_hex(text));
    std::uint64_t out = 0;
    for (std::size_t i = 0; i < 16; ++i) {
        out = out << 4 | static_cast<std::uint64_t>(hex_value(text[i]));
    }
    return out;
}

}  // namespace

seq_ledger::seq_ledger(std::size_t capacity) : capacity_(capacity) {}

bool seq_ledger::record(const std::string& author, std::uint64_t seq, const std::string& id) {
    if (capacity_ == 0) return false;
    // NUL cannot occur in a peer id, so no two pairs spell the same bytes.
    const std::uint64_t pair = prefix64(sha256_hex(author + '\0' + std::to_string(seq)));
    const std::uint64_t message = prefix64(id);
    auto [it, inserted] = ids_.try_emplace(pair, message);
    if (!inserted) return it->second != message;
    order_.push_back(pair);
    if (order_.size() > capacity_) {
        ids_.erase(order_.front());
        order_.pop_front();
    }
    return false;
}

}  // namespace confab::core

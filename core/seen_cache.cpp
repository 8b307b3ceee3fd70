#include "core/seen_cache.hpp"

#include <cstring>
#include <random>

#include "core/message_id.hpp"
#include "core/sha256.hpp"  // hex_value

namespace confab::core {

namespace {

// Per process, so that nobody can craft ids that all land in one bucket of our table.
const std::uint64_t hash_seed = std::random_device{}() * 0x9e3779b97f4a7c15ULL;

}  // namespace

std::size_t seen_cache::key_hash::operator()(const key& k) const noexcept {
    std::uint64_t x;
    std::memcpy(&x, k.data(), sizeof x);
    x = (x ^ hash_seed) * 0xbf58476d1ce4e5b9ULL;
    return static_cast<std::size_t>(x ^ (x >> 31));
}

seen_cache::key seen_cache::to_key(const std::string& id) {
    key k{};
    bool hex = id.size() == 2 * k.size();
    for (std::size_t i = 0; hex && i < k.size(); ++i) {
        int hi = hex_value(id[2 * i]), lo = hex_value(id[2 * i + 1]);
        hex = hi >= 0 && lo >= 0;
        k[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    if (hex) return k;
    // Not a digest in hex (tests, or a future id form): its own digest stands in for it.
    return to_key(sha256_hex(id));
}

seen_cache::seen_cache(std::size_t capacity) : capacity_(capacity) {}

bool seen_cache::insert(const std::string& id) {
    return insert(to_key(id));
}

bool seen_cache::contains(const sha256_digest& id) const {
    return ids_.contains(id);
}

bool seen_cache::insert(const sha256_digest& id) {
    auto [it, inserted] = ids_.insert(id);
    if (!inserted) return false;
    order_.push_back(&*it);  // set nodes never move
    while (order_.size() > capacity_) {
        const key oldest = *order_.front();  // a copy: erasing frees what front() points at
        order_.pop_front();
        ids_.erase(oldest);
    }
    return true;
}

bool seen_cache::contains(const std::string& id) const {
    return ids_.contains(to_key(id));
}

}  // namespace confab::core

#pragma once
// Bounded set of recently seen message ids: a message is delivered and forwarded only the
// first time. Oldest ids are forgotten first. Main thread.

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_set>

#include "core/sha256.hpp"

namespace confab::core {

class seen_cache {
public:
    explicit seen_cache(std::size_t capacity = 100'000);
    // True when the id was not in the cache (and now is).
    bool insert(const std::string& id);
    bool contains(const std::string& id) const;
    // The same for an id held as its 32 bytes (the digest an id is the hex of): no hex to
    // parse, which on a busy peer's path for every copy of every message is worth skipping.
    bool insert(const sha256_digest& id);
    bool contains(const sha256_digest& id) const;
    std::size_t size() const { return ids_.size(); }

private:
    // Ids are SHA-256 digests: kept as their 32 bytes, not 64 hex characters, and once (the
    // FIFO points into the set), so that a full cache of 100,000 costs about 7 MiB, not 25.
    using key = sha256_digest;
    struct key_hash {
        std::size_t operator()(const key& k) const noexcept;
    };
    static key to_key(const std::string& id);

    std::size_t capacity_;
    std::unordered_set<key, key_hash> ids_;
    std::deque<const key*> order_;
};

}  // namespace confab::core

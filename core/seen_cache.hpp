#pragma once
// Bounded set of recently seen message ids: a message is delivered and forwarded only the
// first time. Oldest ids are forgotten first. Main thread.

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_set>

namespace confab::core {

class seen_cache {
public:
    explicit seen_cache(std::size_t capacity = 100'000);
    // True when the id was not in the cache (and now is).
    bool insert(const std::string& id);
    bool contains(const std::string& id) const;
    std::size_t size() const { return ids_.size(); }

private:
    std::size_t capacity_;
    std::unordered_set<std::string> ids_;
    std::deque<std::string> order_;
};

}  // namespace confab::core

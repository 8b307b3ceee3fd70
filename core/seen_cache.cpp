#include "core/seen_cache.hpp"

namespace confab::core {

seen_cache::seen_cache(std::size_t capacity) : capacity_(capacity) {}

bool seen_cache::insert(const std::string& id) {
    if (!ids_.insert(id).second) return false;
    order_.push_back(id);
    while (order_.size() > capacity_) {
        ids_.erase(order_.front());
        order_.pop_front();
    }
    return true;
}

bool seen_cache::contains(const std::string& id) const {
    return ids_.contains(id);
}

}  // namespace confab::core

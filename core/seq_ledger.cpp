#include "core/seq_ledger.hpp"

namespace confab::core {

seq_ledger::seq_ledger(std::size_t capacity) : capacity_(capacity) {}

std::optional<std::string> seq_ledger::record(const std::string& author, std::uint64_t seq,
                                              const std::string& id) {
    if (capacity_ == 0) return std::nullopt;
    auto [it, inserted] = ids_.try_emplace(key{author, seq}, id);
    if (!inserted) {
        if (it->second == id) return std::nullopt;
        return it->second;
    }
    order_.push_back(it);  // map iterators stay valid until their own element is erased
    if (order_.size() > capacity_) {
        ids_.erase(order_.front());
        order_.pop_front();
    }
    return std::nullopt;
}

}  // namespace confab::core

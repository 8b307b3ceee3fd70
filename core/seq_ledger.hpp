#pragma once
// Which message each author gave each sequence number, for the last `capacity` pairs: an
// author that signs two different messages with the same seq is equivocating (a buggy or
// hostile peer, or one that lost its state and reuses numbers). Oldest pairs are forgotten
// first. Main thread.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace confab::core {

class seq_ledger {
public:
    // Enough for a busy room's last few minutes: equivocation is noticed when both messages
    // arrive within that window, which is when it could confuse anyone reading along.
    static constexpr std::size_t default_capacity = 4096;

    explicit seq_ledger(std::size_t capacity = default_capacity);

    // Records that `author`'s message `seq` has id `id`. When the pair was already recorded
    // with another id, returns that id (and keeps the first one); otherwise nullopt.
    std::optional<std::string> record(const std::string& author, std::uint64_t seq,
                                      const std::string& id);
    std::size_t size() const { return ids_.size(); }

private:
    using key = std::pair<std::string, std::uint64_t>;
    std::size_t capacity_;
    std::map<key, std::string> ids_;
    std::deque<std::map<key, std::string>::const_iterator> order_;  // oldest first
};

}  // namespace confab::core

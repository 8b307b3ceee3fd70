#pragma once
// Which message each author gave each sequence number, for the last `capacity` pairs: an
// author that signs two different messages with the same seq is equivocating (a buggy or
// hostile peer, or one that lost its state and reuses numbers). Oldest pairs are forgotten
// first. Main thread.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

namespace confab::core {

class seq_ledger {
public:
    // Enough for a busy room's last few minutes: equivocation is noticed when both messages
    // arrive within that window, which is when it could confuse anyone reading along.
    static constexpr std::size_t default_capacity = 4096;

    explicit seq_ledger(std::size_t capacity = default_capacity);

    // Records that `author`'s message `seq` has id `id`. True when the pair was already
    // recorded with another id (the first one is kept).
    bool record(const std::string& author, std::uint64_t seq, const std::string& id);
    std::size_t size() const { return ids_.size(); }

private:
    // Each side is the first 64 bits of a SHA-256 (of the pair; of the message, which its id
    // already is), not the strings: a full ledger costs about 200 KiB instead of over 1 MiB.
    // Telling two pairs or two ids apart by 64 bits of SHA-256 fails with odds of about
    // 2^-40 at this size; the price of a failure is one wrong or one missing log line.
    std::size_t capacity_;
    std::unordered_map<std::uint64_t, std::uint64_t> ids_;  // pair -> id
    std::deque<std::uint64_t> order_;                       // pairs, oldest first
};

}  // namespace confab::core

#pragma once
// Known peer addresses and when each may be dialled again: exponential back-off with jitter
// after failures, pinned entries (--join, /connect) that are never forgotten, and addresses
// that turned out to be ourselves. Pure bookkeeping, no sockets. Main thread.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace confab::core {

struct backoff_policy {
    std::chrono::milliseconds initial{500};
    std::chrono::milliseconds max{30'000};
    // Forgotten after this many failures in a row, unless pinned.
    int max_failures = 10;
};

class address_book {
public:
    using clock = std::chrono::steady_clock;

    struct entry {
        std::string addr;     // "HOST:PORT"
        std::string peer_id;  // empty until a hello told us
        bool pinned = false;
        bool self = false;  // dialling it reached ourselves: never dial again
        bool dialling = false;
        bool connected = false;
        int failures = 0;
        clock::time_point next_attempt{};
    };

    explicit address_book(backoff_policy policy = {}, std::size_t capacity = 1000,
                          std::uint64_t seed = std::random_device{}());

    // Adds an address (or updates its peer id / pinning). Returns false when it was refused:
    // the book is full of pinned entries, or the address is known to be ourselves.
    bool add(const std::string& addr, const std::string& peer_id = {}, bool pinned = false);
    void mark_self(const std::string& addr);

    void dial_started(const std::string& addr);
    void dial_succeeded(const std::string& addr, const std::string& peer_id);
    // Returns the delay until the next attempt (with jitter), or nullopt when the entry was
    // forgotten.
    std::optional<clock::duration> dial_failed(const std::string& addr, clock::time_point now);
    // A live connection to addr ended: it may be redialled after the initial back-off.
    void disconnected(const std::string& addr, clock::time_point now);

    // Addresses to dial now: not connected, not dialling, not self, back-off elapsed, and not
    // rejected by `skip` (e.g. peer ids already connected through another address). Pinned
    // entries first, then those with fewest failures; at most `max`.
    template <typename Skip>
    std::vector<std::string> due(clock::time_point now, std::size_t max, Skip skip) const;
    // Earliest time any entry becomes due, or nullopt when none will.
    std::optional<clock::time_point> next_due() const;

    const entry* find(const std::string& addr) const;
    std::vector<entry> entries() const;
    std::size_t size() const { return entries_.size(); }

    // Persistence of addresses and peer ids (not of transient state).
    nlohmann::json to_json() const;
    void load_json(const nlohmann::json& j);  // ignores malformed entries

private:
    clock::duration jittered(clock::duration d);
    void evict_one();

    backoff_policy policy_;
    std::size_t capacity_;
    std::mt19937_64 rng_;
    std::unordered_map<std::string, entry> entries_;
    std::deque<std::string> self_order_;  // self entries, oldest first
};

template <typename Skip>
std::vector<std::string> address_book::due(clock::time_point now, std::size_t max,
                                           Skip skip) const {
    std::vector<const entry*> ready;
    for (const auto& [addr, e] : entries_) {
        if (e.self || e.connected || e.dialling || e.next_attempt > now) continue;
        if (skip(e)) continue;
        ready.push_back(&e);
    }
    std::sort(ready.begin(), ready.end(), [](const entry* a, const entry* b) {
        if (a->pinned != b->pinned) return a->pinned;
        if (a->failures != b->failures) return a->failures < b->failures;
        return a->addr < b->addr;
    });
    std::vector<std::string> out;
    for (const entry* e : ready) {
        if (out.size() >= max) break;
        out.push_back(e->addr);
    }
    return out;
}

}  // namespace confab::core

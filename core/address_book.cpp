#include "core/address_book.hpp"

namespace confab::core {

address_book::address_book(backoff_policy policy, std::size_t capacity, std::uint64_t seed)
    : policy_(policy), capacity_(capacity), rng_(seed) {}

bool address_book::add(const std::string& addr, const std::string& peer_id, bool pinned) {
    if (auto it = entries_.find(addr); it != entries_.end()) {
        entry& e = it->second;
        if (e.self) return false;
        if (!peer_id.empty()) e.peer_id = peer_id;
        e.pinned = e.pinned || pinned;
        return true;
    }
    if (entries_.size() >= capacity_) {
        evict_one();
        if (entries_.size() >= capacity_) return false;
    }
    // A new entry's next_attempt is the epoch: due at once.
    entries_.emplace(addr, entry{.addr = addr, .peer_id = peer_id, .pinned = pinned});
    return true;
}

void address_book::mark_self(const std::string& addr) {
    // Recorded even when the book is full: forgetting it would make us dial ourselves again.
    // But a neighbour can name many addresses that reach us; beyond a few, the oldest
    // self entry goes, so that they can never crowd real peers out of the book.
    constexpr std::size_t max_self = 16;
    if (auto it = entries_.find(addr); it == entries_.end() || !it->second.self) {
        self_order_.push_back(addr);
        if (self_order_.size() > max_self) {
            entries_.erase(self_order_.front());
            self_order_.pop_front();
        }
    }
    entry& e = entries_[addr];
    e.addr = addr;
    e.self = true;
    e.dialling = false;
    e.connected = false;
    e.next_attempt = clock::time_point::max();
}

void address_book::dial_started(const std::string& addr) {
    if (auto it = entries_.find(addr); it != entries_.end()) it->second.dialling = true;
}

void address_book::dial_succeeded(const std::string& addr, const std::string& peer_id) {
    auto it = entries_.find(addr);
    if (it == entries_.end()) return;
    entry& e = it->second;
    e.dialling = false;
    e.connected = true;
    e.failures = 0;
    if (!peer_id.empty()) e.peer_id = peer_id;
}

std::optional<address_book::clock::duration> address_book::dial_failed(const std::string& addr,
                                                                       clock::time_point now) {
    auto it = entries_.find(addr);
    if (it == entries_.end()) return std::nullopt;
    entry& e = it->second;
    e.dialling = false;
    ++e.failures;
    if (e.failures >= policy_.max_failures && !e.pinned) {
        entries_.erase(it);
        return std::nullopt;
    }
    // initial * 2^(failures-1), capped; doubled step by step so that many failures of a
    // pinned entry cannot overflow.
    clock::duration delay = policy_.initial;
    for (int i = 1; i < e.failures && delay < policy_.max; ++i) delay *= 2;
    delay = std::min<clock::duration>(delay, policy_.max);
    delay = jittered(delay);
    e.next_attempt = now + delay;
    return delay;
}

void address_book::disconnected(const std::string& addr, clock::time_point now) {
    auto it = entries_.find(addr);
    if (it == entries_.end()) return;
    entry& e = it->second;
    e.connected = false;
    e.dialling = false;
    e.next_attempt = now + jittered(policy_.initial);
}

std::optional<address_book::clock::time_point> address_book::next_due() const {
    std::optional<clock::time_point> earliest;
    for (const auto& [addr, e] : entries_) {
        if (e.self || e.connected || e.dialling) continue;
        if (!earliest || e.next_attempt < *earliest) earliest = e.next_attempt;
    }
    return earliest;
}

const address_book::entry* address_book::find(const std::string& addr) const {
    auto it = entries_.find(addr);
    return it == entries_.end() ? nullptr : &it->second;
}

std::vector<address_book::entry> address_book::entries() const {
    std::vector<entry> out;
    out.reserve(entries_.size());
    for (const auto& [addr, e] : entries_) out.push_back(e);
    std::sort(out.begin(), out.end(),
              [](const entry& a, const entry& b) { return a.addr < b.addr; });
    return out;
}

nlohmann::json address_book::to_json() const {
    nlohmann::json out = nlohmann::json::array();
    // Sorted, so that an unchanged book is written out identically.
    for (const entry& e : entries()) {
        if (e.self) continue;
        out.push_back({{"addr", e.addr}, {"peer_id", e.peer_id}});
    }
    return out;
}

void address_book::load_json(const nlohmann::json& j) {
    // The file may be old, hand-edited or damaged: keep what makes sense, skip the rest.
    if (!j.is_array()) return;
    for (const auto& item : j) {
        if (!item.is_object()) continue;
        auto addr = item.find("addr");
        if (addr == item.end() || !addr->is_string() || addr->get_ref<const std::string&>().empty())
            continue;
        std::string peer_id;
        if (auto id = item.find("peer_id"); id != item.end()) {
            if (!id->is_string()) continue;
            peer_id = id->get<std::string>();
        }
        add(addr->get<std::string>(), peer_id);
    }
}

address_book::clock::duration address_book::jittered(clock::duration d) {
    // Peers that lost the same neighbour at the same moment should not all redial in step.
    std::uniform_real_distribution<double> factor(0.5, 1.0);
    return std::chrono::duration_cast<clock::duration>(d * factor(rng_));
}

void address_book::evict_one() {
    // Only entries we could lose without harm: not pinned, not ourselves, not in use. The one
    // that failed most is the least likely to be useful.
    auto victim = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        const entry& e = it->second;
        if (e.pinned || e.self || e.connected || e.dialling) continue;
        if (victim == entries_.end() || e.failures > victim->second.failures ||
            (e.failures == victim->second.failures && e.addr < victim->second.addr)) {
            victim = it;
        }
    }
    if (victim != entries_.end()) entries_.erase(victim);
}

}  // namespace confab::core

#include "core/member_list.hpp"

#include <algorithm>
#include <tuple>

namespace confab::core {

std::string_view to_string(member_gone reason) {
    switch (reason) {
        case member_gone::left:
            return "left";
        case member_gone::timeout:
            return "timeout";
    }
    return "";
}

member_list::member_list(std::string self, member_list_config config, std::uint64_t seed)
    : self_(std::move(self)), config_(config), rng_(seed) {}

bool member_list::on_presence(const presence_note& p, clock::time_point now, std::int64_t wall_ms,
                              std::vector<member_change>& out) {
    // Our own, from before a restart (a neighbour handing it back): we speak for ourselves.
    if (p.author == self_) return false;
    if (auto g = gone_.find(p.author); g != gone_.end()) {
        if (p.seq <= g->second.seq) return false;
        gone_.erase(g);
    }
    auto it = members_.find(p.author);
    if (it != members_.end() && p.seq <= it->second.seq) return false;
    if (p.what == protocol::presence::leave) {
        if (it != members_.end()) {
            out.push_back({member_change::kind::leave,
                           {p.author, it->second.nick, wall_ms},
                           member_gone::left,
                           {}});
            members_.erase(it);
        }
        bury(p.author, p.seq, now);
        return false;
    }
    if (it == members_.end()) {
        if (members_.size() >= config_.max_members) return false;
        members_.emplace(p.author, entry{p.nick, p.seq, now, wall_ms});
        out.push_back({member_change::kind::join, {p.author, p.nick, wall_ms}, {}, {}});
        return true;
    }
    auto& e = it->second;
    if (e.nick != p.nick) {
        out.push_back({member_change::kind::nick, {p.author, p.nick, wall_ms}, {}, e.nick});
        e.nick = p.nick;
    }
    e.seq = p.seq;
    e.heard = now;
    e.last_seen = wall_ms;
    return true;
}

void member_list::expire(clock::time_point now, std::vector<member_change>& out) {
    for (auto it = members_.begin(); it != members_.end();) {
        if (now - it->second.heard < timeout()) {
            ++it;
            continue;
        }
        out.push_back({member_change::kind::leave,
                       {it->first, it->second.nick, it->second.last_seen},
                       member_gone::timeout,
                       {}});
        const auto seq = it->second.seq;
        const auto peer = it->first;
        it = members_.erase(it);
        bury(peer, seq, now);
    }
    std::erase_if(gone_, [&](const auto& g) { return g.second.until <= now; });
}

void member_list::bury(const std::string& peer, std::uint64_t seq, clock::time_point now) {
    // Stale copies of its presence live no longer than a member would (a peer that never heard
    // it leave drops it by then), so neither does the tombstone. Bounded like the list.
    if (!gone_.count(peer) && gone_.size() >= config_.max_members) {
        gone_.erase(std::min_element(gone_.begin(), gone_.end(), [](const auto& a, const auto& b) {
            return a.second.until < b.second.until;
        }));
    }
    gone_[peer] = {seq, now + timeout()};
}

void member_list::linked(clock::time_point now) {
    if (next_announce_) return;
    next_announce_ = now;
    join_due_ = true;
}

void member_list::unlinked() {
    next_announce_.reset();
}

void member_list::announce_now(clock::time_point now) {
    if (next_announce_) next_announce_ = now;
}

std::optional<protocol::presence> member_list::announcement(clock::time_point now) {
    if (!next_announce_ || now < *next_announce_) return std::nullopt;
    next_announce_ = now + jittered_interval();
    const auto what = join_due_ ? protocol::presence::join : protocol::presence::here;
    join_due_ = false;
    return what;
}

member_list::clock::duration member_list::jittered_interval() {
    std::uniform_real_distribution<double> factor(0.9, 1.1);
    return std::chrono::duration_cast<clock::duration>(config_.announce_every * factor(rng_));
}

std::optional<member_list::clock::time_point> member_list::next_wake() const {
    std::optional<clock::time_point> wake = next_announce_;
    for (const auto& [peer, e] : members_) {
        const auto t = e.heard + timeout();
        if (!wake || t < *wake) wake = t;
    }
    return wake;
}

std::vector<member> member_list::members() const {
    std::vector<member> list;
    list.reserve(members_.size());
    for (const auto& [peer, e] : members_) list.push_back({peer, e.nick, e.last_seen});
    std::sort(list.begin(), list.end(), [](const member& a, const member& b) {
        return std::tie(a.nick, a.peer_id) < std::tie(b.nick, b.peer_id);
    });
    return list;
}

}  // namespace confab::core

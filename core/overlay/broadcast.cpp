#include "core/overlay/broadcast.hpp"

#include <algorithm>

namespace confab::core::overlay {

namespace {

// Ids in frames of at most max_ids_per_frame.
template <class F>
void in_chunks(std::size_t count, F f) {
    for (std::size_t i = 0; i < count; i += protocol::max_ids_per_frame) {
        f(i, std::min(count, i + protocol::max_ids_per_frame));
    }
}

}  // namespace

broadcast::broadcast(std::string room, broadcast_config config)
    : room_(std::move(room)), config_(config) {}

broadcast::tree& broadcast::tree_of(const peer_id& author) {
    auto it = by_author_.find(author);
    if (it == by_author_.end()) {
        if (by_author_.size() >= config_.max_author_trees) {
            by_author_.erase(std::min_element(
                by_author_.begin(), by_author_.end(),
                [](const auto& a, const auto& b) { return a.second.used < b.second.used; }));
        }
        // A new author starts from the tree of the author who wrote last: a spanning tree,
        // so its first messages reach everyone without grafts. (The shared tree takes every
        // author's prunes, so it is the intersection of their trees and may have holes.)
        auto last = by_author_.find(last_author_);
        const tree& start = last == by_author_.end() ? shared_ : last->second;
        it = by_author_.emplace(author, start).first;
        it->second.parent.clear();  // nothing of this author's came yet
    }
    return it->second;
}

broadcast::role broadcast::role_of(const peer_id& peer, const peer_id& author) const {
    auto it = by_author_.find(author);
    const tree& t = it == by_author_.end() ? shared_ : it->second;
    if (t.eager.count(peer)) return role::eager;
    if (t.lazy.count(peer)) return role::lazy;
    return role::none;
}

void broadcast::make_eager(const peer_id& peer, const peer_id& author) {
    auto apply = [&](tree& t) {
        if (t.lazy.erase(peer) || !t.eager.count(peer)) t.eager.insert(peer);
    };
    if (!is_neighbour(peer)) return;
    apply(shared_);
    if (author.empty()) {
        for (auto& [a, t] : by_author_) apply(t);
    } else {
        apply(tree_of(author));
    }
}

void broadcast::make_lazy(const peer_id& peer, const peer_id& author) {
    auto apply = [&](tree& t) {
        if (t.eager.erase(peer)) t.lazy.insert(peer);
    };
    apply(shared_);
    if (author.empty()) {
        for (auto& [a, t] : by_author_) apply(t);
    } else {
        apply(tree_of(author));
    }
}

void broadcast::neighbor_up(const peer_id& peer, time_point now) {
    // Every new neighbour starts eager: the first copies find the tree, duplicates prune it.
    shared_.lazy.erase(peer);
    shared_.eager.insert(peer);
    for (auto& [a, t] : by_author_) {
        t.lazy.erase(peer);
        t.eager.insert(peer);
    }
    // What was received just before the link came up never crossed it: announce it, and the
    // neighbour grafts what it lacks.
    auto& queue = ihave_queue_[peer];
    for (auto it = cache_order_.rbegin(); it != cache_order_.rend(); ++it) {
        const auto& c = cache_.at(*it);
        if (now - c.at > config_.catch_up || queue.size() >= config_.catch_up_ids) break;
        queue.push_back({*it, c.hops});
    }
    std::reverse(queue.begin(), queue.end());
    // And the kept messages (each member's latest presence), however old, that are not among
    // those already.
    std::unordered_set<std::string> queued;
    for (const auto& a : queue) queued.insert(a.id);
    for (const auto& [id, c] : kept_) {
        if (!queued.count(id)) queue.push_back({id, c.hops});
    }
    if (!queue.empty() && next_ihave_ == time_point{}) next_ihave_ = now + config_.ihave_every;
}

void broadcast::neighbor_down(const peer_id& peer) {
    shared_.eager.erase(peer);
    shared_.lazy.erase(peer);
    for (auto& [a, t] : by_author_) {
        t.eager.erase(peer);
        t.lazy.erase(peer);
        if (t.parent == peer) t.parent.clear();
    }
    ihave_queue_.erase(peer);
    for (auto& [id, m] : missing_) {
        m.announcers.erase(std::remove(m.announcers.begin(), m.announcers.end(), peer),
                           m.announcers.end());
    }
}

void broadcast::publish(const std::string& id, const peer_id& author, frame_ptr frame,
                        time_point now, actions& out) {
    push(id, {std::move(frame), now, 0, {}, author}, now, out);
}

void broadcast::on_new(const peer_id& from, const std::string& id, const peer_id& author,
                       frame_ptr frame, std::uint32_t hops, time_point now, actions& out) {
    // The link it came by is on the message's path: keep pushing on it. Pushed on a link
    // that is lazy here (and not in answer to a graft), the copy crossed a prune this peer
    // sent: the sender is about to make the link lazy too, after this peer has pruned the
    // later copies of its other links, and the author's next messages would reach it only by
    // ihave and graft. The graft, behind the prune on the link, keeps the sender pushing.
    if (!tree_of(author).eager.count(from) && !missing_.count(id)) {
        out.push_back(send_frame{from, protocol::graft{room_, {}, author}});
    }
    make_eager(from, author);
    push(id, {std::move(frame), now, hops, from, author}, now, out);
}

void broadcast::push(const std::string& id, cached entry, time_point now, actions& out) {
    missing_.erase(id);
    auto& t = tree_of(entry.author);
    t.used = ++pushed_;
    t.parent = entry.from;
    last_author_ = entry.author;
    for (const auto& peer : t.eager) {
        if (peer != entry.from) out.push_back(forward_chat{peer, entry.frame});
    }
    for (const auto& peer : t.lazy) {
        if (peer != entry.from) ihave_queue_[peer].push_back({id, entry.hops});
    }
    if (next_ihave_ == time_point{} && !t.lazy.empty()) next_ihave_ = now + config_.ihave_every;
    remember(id, std::move(entry));
    expire(now);
}

void broadcast::on_duplicate(const peer_id& from, const peer_id& author, actions& out) {
    // A second copy: this link is not on the author's tree. Both ends make it lazy. (Pruned
    // even when it is lazy here already: that it pushed says it is eager there.)
    make_lazy(from, author);
    out.push_back(send_frame{from, protocol::prune{room_, author}});
}

void broadcast::keep(const peer_id& author, const std::string& id) {
    auto c = cache_.find(id);
    if (c == cache_.end()) return;
    auto previous = kept_by_author_.find(author);
    if (previous == kept_by_author_.end() && kept_.size() >= config_.max_kept) return;
    if (previous != kept_by_author_.end()) kept_.erase(previous->second);
    kept_by_author_[author] = id;
    kept_[id] = c->second;
}

void broadcast::unkeep(const peer_id& author) {
    auto it = kept_by_author_.find(author);
    if (it == kept_by_author_.end()) return;
    kept_.erase(it->second);
    kept_by_author_.erase(it);
}

void broadcast::on_ihave(const peer_id& from, const protocol::ihave& have, time_point now,
                         actions& out) {
    for (std::size_t i = 0; i < have.ids.size(); ++i) {
        const auto& id = have.ids[i];
        const std::uint32_t hops = i < have.hops.size() ? have.hops[i] : 0;
        if (received_.count(id)) {
            // Received already, but this neighbour is much closer to the author than the one
            // that pushed it: swap them in the author's tree, so it follows shorter paths.
            auto c = cache_.find(id);
            if (c == cache_.end() || c->second.from.empty() || c->second.from == from) continue;
            auto& entry = c->second;
            if (!tree_of(entry.author).eager.count(entry.from)) continue;
            if (hops + 1 + config_.optimize_after_hops > entry.hops) continue;
            // Only the graft: pruning the old parent now would open a hole for a message the
            // new one has already passed on lazily. The next message comes both ways, and
            // the later copy (by the longer path) prunes its link as any duplicate does.
            make_eager(from, entry.author);
            out.push_back(send_frame{from, protocol::graft{room_, {}, entry.author}});
            entry.from = from;
            entry.hops = hops + 1;
            continue;
        }
        auto it = missing_.find(id);
        if (it == missing_.end()) {
            if (missing_.size() >= config_.max_missing) continue;
            it = missing_.emplace(id, missing_message{{}, now + config_.graft_first}).first;
        }
        auto& announcers = it->second.announcers;
        if (announcers.size() < config_.max_announcers &&
            std::find(announcers.begin(), announcers.end(), from) == announcers.end()) {
            announcers.push_back(from);
        }
    }
}

void broadcast::on_frame(const peer_id& from, const overlay_frame& frame, time_point now,
                         actions& out) {
    // Only a neighbour's word counts: a link that is not (or no longer) one carries nothing
    // of the room's tree.
    if (!is_neighbour(from)) return;
    if (const auto* have = std::get_if<protocol::ihave>(&frame)) {
        on_ihave(from, *have, now, out);
    } else if (const auto* g = std::get_if<protocol::graft>(&frame)) {
        if (g->ids.empty()) make_eager(from, g->author);
        for (const auto& id : g->ids) {
            // An id never served, or expired and not kept, gets nothing: history sync is the
            // remedy.
            const cached* c = nullptr;
            if (auto it = cache_.find(id); it != cache_.end()) {
                c = &it->second;
            } else if (auto k = kept_.find(id); k != kept_.end()) {
                c = &k->second;
            }
            if (!c) continue;
            make_eager(from, c->author);
            out.push_back(forward_chat{from, c->frame});
        }
    } else if (const auto* p = std::get_if<protocol::prune>(&frame)) {
        // A prune from the neighbour that pushed this peer the author's latest message first
        // is about an older copy this peer pushed to it (a parent is never pushed the
        // messages it sent), sent before its own copy won here; and the copies of this peer's
        // other links have been pruned meanwhile. Obeyed, it would leave this peer without a
        // link pushing it the author's messages: graft instead, so that it keeps pushing.
        auto t = by_author_.find(p->author);
        if (!p->author.empty() && t != by_author_.end() && t->second.parent == from) {
            make_eager(from, p->author);
            out.push_back(send_frame{from, protocol::graft{room_, {}, p->author}});
        } else {
            make_lazy(from, p->author);
        }
    }
}

void broadcast::remember(const std::string& id, cached entry) {
    const auto at = entry.at;
    if (received_.insert(id).second) received_order_.emplace_back(at, id);
    const auto size = entry.frame->size();
    if (cache_.emplace(id, std::move(entry)).second) {
        cache_order_.push_back(id);
        cache_bytes_ += size;
    }
}

void broadcast::expire(time_point now) {
    while (!cache_order_.empty()) {
        auto it = cache_.find(cache_order_.front());
        if (now - it->second.at < config_.cache_for && cache_bytes_ <= config_.cache_bytes) break;
        cache_bytes_ -= it->second.frame->size();
        cache_.erase(it);
        cache_order_.pop_front();
    }
    while (!received_order_.empty() && (received_order_.size() > config_.remember_ids ||
                                        now - received_order_.front().first >
                                            config_.remember_for)) {
        received_.erase(received_order_.front().second);
        received_order_.pop_front();
    }
}

void broadcast::flush_ihave(actions& out) {
    for (auto& [peer, queue] : ihave_queue_) {
        in_chunks(queue.size(), [&](std::size_t begin, std::size_t end) {
            protocol::ihave have{room_, {}, {}};
            for (std::size_t i = begin; i < end; ++i) {
                have.ids.push_back(std::move(queue[i].id));
                have.hops.push_back(queue[i].hops);
            }
            out.push_back(send_frame{peer, std::move(have)});
        });
    }
    ihave_queue_.clear();
}

void broadcast::tick(time_point now, actions& out) {
    if (next_ihave_ != time_point{} && now >= next_ihave_) {
        flush_ihave(out);
        next_ihave_ = {};
    }
    std::unordered_map<peer_id, std::vector<std::string>> grafts;
    for (auto it = missing_.begin(); it != missing_.end();) {
        auto& m = it->second;
        if (now < m.deadline) {
            ++it;
            continue;
        }
        if (m.announcers.empty()) {
            it = missing_.erase(it);  // nobody left to ask
            continue;
        }
        const peer_id peer = m.announcers.front();
        m.announcers.erase(m.announcers.begin());
        grafts[peer].push_back(it->first);
        m.deadline = now + config_.graft_next;
        ++it;
    }
    for (auto& [peer, ids] : grafts) {
        // Eager in the shared tree now; in the author's when the message arrives (on_new).
        if (shared_.lazy.erase(peer)) shared_.eager.insert(peer);
        in_chunks(ids.size(), [&](std::size_t begin, std::size_t end) {
            out.push_back(send_frame{
                peer, protocol::graft{room_,
                                      std::vector<std::string>(ids.begin() + begin,
                                                               ids.begin() + end),
                                      {}}});
        });
    }
    expire(now);
}

std::optional<time_point> broadcast::next_wake() const {
    std::optional<time_point> wake;
    auto consider = [&](time_point t) {
        if (!wake || t < *wake) wake = t;
    };
    if (next_ihave_ != time_point{}) consider(next_ihave_);
    for (const auto& [id, m] : missing_) consider(m.deadline);
    if (!cache_order_.empty()) consider(cache_.at(cache_order_.front()).at + config_.cache_for);
    return wake;
}

}  // namespace confab::core::overlay

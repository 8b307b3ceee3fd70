#include "core/overlay/membership.hpp"

#include <algorithm>

namespace confab::core::overlay {

namespace {

template <class T>
bool contains(const std::vector<T>& v, const T& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

bool in_list(const std::vector<protocol::peer_address>& v, const peer_id& id) {
    return std::any_of(v.begin(), v.end(), [&](const auto& p) { return p.peer_id == id; });
}

}  // namespace

membership::membership(peer_id self, std::string room, membership_config config,
                       std::uint64_t seed)
    : self_(std::move(self)),
      room_(std::move(room)),
      config_(config),
      rng_(seed),
      refill_delay_(config.refill_first) {}

bool membership::is_active(const peer_id& peer) const {
    return contains(active_, peer);
}

clock::duration membership::jitter(clock::duration d) {
    // 0.5 .. 1.5 x: peers that started together do not shuffle in lockstep.
    std::uniform_real_distribution<double> f(0.5, 1.5);
    return std::chrono::duration_cast<clock::duration>(d * f(rng_));
}

std::string membership::address_of(const peer_id& peer) const {
    if (auto it = linked_.find(peer); it != linked_.end() && !it->second.empty()) return it->second;
    for (const auto& p : passive_) {
        if (p.peer_id == peer) return p.addr;
    }
    if (auto it = pending_.find(peer); it != pending_.end()) return it->second.addr;
    return {};
}

void membership::add_known(const std::vector<protocol::peer_address>& peers, time_point now,
                           actions& out) {
    integrate(peers);
    refill(now, out);
}

void membership::link_up(const peer_id& peer, const std::string& addr, bool contact,
                         time_point now, actions& out) {
    if (peer == self_) return;
    linked_[peer] = addr;
    add_known_peer({peer, addr});
    if (is_active(peer)) return;  // a replaced link: nothing changes for the room
    if (auto it = pending_.find(peer); it != pending_.end()) {
        const bool high = it->second.high || active_.empty();
        pending_.erase(it);
        // Optimistically a neighbour: a refusal comes back as a disconnect.
        out.push_back(send_frame{peer, protocol::neighbor{room_, high}});
        if (!high) asked_[peer] = now;
        add_active(peer, now, out);
    } else if (contact) {
        // A peer that has not joined yet (or is alone again) joins through its contact, which
        // walks it into the overlay. Not "has no neighbour": another newcomer may have picked
        // it as a contact first, and the two would stay an island of their own.
        if (!joined_ || active_.empty()) {
            joined_ = true;
            out.push_back(send_frame{peer, protocol::join{room_}});
        } else {
            out.push_back(send_frame{peer, protocol::neighbor{room_, false}});
            asked_[peer] = now;
        }
        add_active(peer, now, out);
    } else {
        unclaimed_[peer] = now + config_.claim_timeout;
    }
}

void membership::link_down(const peer_id& peer, time_point now, actions& out) {
    unclaimed_.erase(peer);
    if (is_active(peer)) {
        // Not a goodbye (that comes as a disconnect first): the peer crashed or the network
        // failed. It is retried later; a neighbour from the passive view stands in now.
        remove_active(peer, out);
        mark_unreachable(peer, now);  // while its address is still known
        linked_.erase(peer);
        refill_delay_ = config_.refill_first;
        next_refill_ = now;
        asked_.erase(peer);
    }
    linked_.erase(peer);
    refill(now, out);
}

void membership::connect_failed(const peer_id& peer, time_point now, actions& out) {
    if (pending_.erase(peer) == 0) return;
    mark_unreachable(peer, now);
    // Unreachable is not a refusal: the next passive peer is tried at once.
    next_refill_ = now;
    refill(now, out);
}

void membership::mark_unreachable(const peer_id& peer, time_point now) {
    auto addr = address_of(peer);
    remove_passive(peer);
    if (addr.empty()) return;  // nowhere to retry it
    for (auto& u : unreachable_) {
        if (u.peer.peer_id != peer) continue;
        u.delay = std::min(u.delay * 2, config_.retry_max);
        u.next_try = now + jitter(u.delay);
        return;
    }
    if (unreachable_.size() >= config_.max_unreachable) {
        // The oldest failure is the least likely to come back.
        unreachable_.erase(std::min_element(unreachable_.begin(), unreachable_.end(),
                                            [](const auto& a, const auto& b) {
                                                return a.since < b.since;
                                            }));
    }
    unreachable_.push_back({{peer, addr}, now + jitter(config_.retry_first),
                            config_.retry_first, now});
}

void membership::on_frame(const peer_id& from, const overlay_frame& frame, time_point now,
                          actions& out) {
    if (from == self_) return;
    unclaimed_.erase(from);
    if (const auto* j = std::get_if<protocol::join>(&frame)) {
        (void)j;
        if (is_active(from)) return;
        add_active(from, now, out);
        // Its passive view starts with a sample of ours, so that it can repair on its own.
        if (auto known = sample(config_.shuffle_active, config_.shuffle_passive, from);
            !known.empty()) {
            out.push_back(send_frame{from, protocol::shuffle_reply{room_, 0, std::move(known)}});
        }
        // Walk the newcomer into the overlay from each of our other neighbours. Only a peer
        // others can dial can be walked; one that accepts no connections keeps its contact.
        const auto addr = address_of(from);
        if (addr.empty()) return;
        for (const auto& n : active_) {
            if (n == from) continue;
            out.push_back(send_frame{
                n, protocol::forward_join{room_, {from, addr}, config_.active_walk}});
        }
    } else if (const auto* f = std::get_if<protocol::forward_join>(&frame)) {
        const auto& newcomer = f->peer;
        if (newcomer.peer_id == self_ || newcomer.addr.empty()) return;
        const auto ttl = std::min<std::uint8_t>(f->ttl, protocol::max_walk_length);
        if (ttl == 0 || active_.size() <= 1) {
            request(newcomer, true, now, out);
            return;
        }
        if (ttl == config_.passive_walk && !is_active(newcomer.peer_id)) add_passive(newcomer);
        std::vector<peer_id> next;
        for (const auto& n : active_) {
            if (n != from && n != newcomer.peer_id) next.push_back(n);
        }
        if (auto* n = pick(next)) {
            out.push_back(send_frame{
                *n, protocol::forward_join{room_, newcomer, static_cast<std::uint8_t>(ttl - 1)}});
        } else {
            request(newcomer, true, now, out);
        }
    } else if (const auto* n = std::get_if<protocol::neighbor>(&frame)) {
        if (is_active(from)) return;
        pending_.erase(from);  // both asked at once: one link, one neighbour
        if (n->high || active_.size() < config_.active_max) {
            add_active(from, now, out);
        } else {
            out.push_back(send_frame{from, protocol::disconnect{room_, true}});
            out.push_back(release_peer{from});
            if (auto addr = address_of(from); !addr.empty()) add_passive({from, addr});
        }
    } else if (const auto* d = std::get_if<protocol::disconnect>(&frame)) {
        const auto addr = address_of(from);
        if (auto asked = asked_.find(from); asked != asked_.end()) {
            if (now - asked->second < config_.claim_timeout) {
                // Refused: it is full. Ask the next one later, and later still after another.
                next_refill_ = now + refill_delay_;
                refill_delay_ = std::min(refill_delay_ * 2, config_.refill_max);
            }
            asked_.erase(asked);
        }
        if (is_active(from)) {
            remove_active(from, out);
            out.push_back(release_peer{from});
        }
        if (d->alive && !addr.empty()) add_passive({from, addr});
        refill(now, out);
    } else if (const auto* s = std::get_if<protocol::shuffle>(&frame)) {
        on_shuffle(from, *s, now, out);
    } else if (const auto* r = std::get_if<protocol::shuffle_reply>(&frame)) {
        if (r->id == 0) {
            // Id 0: a contact's sample for the newcomer it just took in.
            if (is_active(from)) integrate(r->peers);
            return;
        }
        auto route = shuffle_routes_.find(r->id);
        if (route == shuffle_routes_.end()) return;  // expired, or never ours to carry
        const peer_id back = route->second.back;
        shuffle_routes_.erase(route);
        if (back.empty()) {
            integrate(r->peers);
        } else if (linked_.count(back)) {
            out.push_back(send_frame{back, *r});
        }
    }
}

void membership::add_active(const peer_id& peer, time_point now, actions& out) {
    (void)now;
    if (peer == self_ || is_active(peer)) return;
    if (active_.size() >= config_.active_max) drop_random_active(out);
    remove_passive(peer);
    pending_.erase(peer);
    unclaimed_.erase(peer);
    unreachable_.erase(std::remove_if(unreachable_.begin(), unreachable_.end(),
                                      [&](const auto& u) { return u.peer.peer_id == peer; }),
                       unreachable_.end());
    active_.push_back(peer);
    out.push_back(neighbor_up{peer});
}

void membership::remove_active(const peer_id& peer, actions& out) {
    auto it = std::find(active_.begin(), active_.end(), peer);
    if (it == active_.end()) return;
    active_.erase(it);
    out.push_back(neighbor_down{peer});
}

void membership::drop_random_active(actions& out) {
    auto* victim = pick(active_);
    if (!victim) return;
    const peer_id peer = *victim;
    const auto addr = address_of(peer);
    out.push_back(send_frame{peer, protocol::disconnect{room_, true}});
    remove_active(peer, out);
    out.push_back(release_peer{peer});
    if (!addr.empty()) add_passive({peer, addr});
}

void membership::add_known_peer(const protocol::peer_address& peer) {
    if (peer.peer_id == self_ || peer.addr.empty()) return;
    auto it = std::find_if(known_.begin(), known_.end(),
                           [&](const auto& p) { return p.peer_id == peer.peer_id; });
    if (it != known_.end()) known_.erase(it);
    if (known_.size() >= config_.max_known) known_.erase(known_.begin());
    known_.push_back(peer);
}

void membership::add_passive(const protocol::peer_address& peer) {
    add_known_peer(peer);
    if (peer.peer_id == self_ || peer.addr.empty() || is_active(peer.peer_id)) return;
    for (auto& p : passive_) {
        if (p.peer_id == peer.peer_id) {
            p.addr = peer.addr;  // the newest word on where it listens
            return;
        }
    }
    if (passive_.size() >= config_.passive_size) {
        auto* victim = pick(passive_);
        *victim = peer;
        return;
    }
    passive_.push_back(peer);
}

void membership::remove_passive(const peer_id& peer) {
    passive_.erase(std::remove_if(passive_.begin(), passive_.end(),
                                  [&](const auto& p) { return p.peer_id == peer; }),
                   passive_.end());
}

void membership::request(const protocol::peer_address& peer, bool high, time_point now,
                         actions& out) {
    if (peer.peer_id == self_ || is_active(peer.peer_id) || pending_.count(peer.peer_id)) return;
    if (linked_.count(peer.peer_id)) {
        out.push_back(send_frame{peer.peer_id, protocol::neighbor{room_, high}});
        if (!high) asked_[peer.peer_id] = now;
        add_active(peer.peer_id, now, out);
        return;
    }
    pending_[peer.peer_id] = {peer.addr, high, now};
    out.push_back(connect_peer{peer});
}

void membership::refill(time_point now, actions& out) {
    if (active_.size() >= config_.active_size || pending_.size() >= config_.max_pending) return;
    // Alone, any neighbour is urgent; otherwise a refusal pauses the refill (see disconnect).
    if (!active_.empty() && now < next_refill_) return;
    std::vector<protocol::peer_address> candidates;
    for (const auto& p : passive_) {
        if (!pending_.count(p.peer_id)) candidates.push_back(p);
    }
    if (candidates.empty()) {
        // The passive view ran dry: anyone ever heard of, but not one that just failed.
        auto failed = [&](const peer_id& id) {
            return std::any_of(unreachable_.begin(), unreachable_.end(),
                               [&](const auto& u) { return u.peer.peer_id == id; });
        };
        for (const auto& p : known_) {
            if (!pending_.count(p.peer_id) && !is_active(p.peer_id) && !failed(p.peer_id)) {
                candidates.push_back(p);
            }
        }
    }
    auto* chosen = pick(candidates);
    if (!chosen) {
        next_refill_ = now + config_.refill_first;  // look again when more is known
        return;
    }
    request(*chosen, active_.empty(), now, out);
}

std::vector<protocol::peer_address> membership::sample(std::size_t from_active,
                                                       std::size_t from_passive,
                                                       const peer_id& except) {
    std::vector<protocol::peer_address> out;
    std::vector<peer_id> actives;
    for (const auto& a : active_) {
        if (a != except && !address_of(a).empty()) actives.push_back(a);
    }
    std::shuffle(actives.begin(), actives.end(), rng_);
    for (std::size_t i = 0; i < actives.size() && i < from_active; ++i) {
        out.push_back({actives[i], address_of(actives[i])});
    }
    auto passives = passive_;
    std::shuffle(passives.begin(), passives.end(), rng_);
    for (std::size_t i = 0; i < passives.size() && i < from_passive; ++i) {
        if (passives[i].peer_id != except) out.push_back(passives[i]);
    }
    if (out.size() > protocol::max_shuffle_peers) out.resize(protocol::max_shuffle_peers);
    return out;
}

void membership::integrate(const std::vector<protocol::peer_address>& peers) {
    std::size_t taken = 0;
    for (const auto& p : peers) {
        if (taken >= protocol::max_shuffle_peers) break;  // no list grows the view by more
        if (p.peer_id == self_ || is_active(p.peer_id) || in_list(passive_, p.peer_id)) continue;
        add_passive(p);
        ++taken;
    }
}

void membership::on_shuffle(const peer_id& from, const protocol::shuffle& s, time_point now,
                            actions& out) {
    const auto ttl = std::min<std::uint8_t>(s.ttl, protocol::max_walk_length);
    std::vector<peer_id> next;
    for (const auto& n : active_) {
        if (n != from) next.push_back(n);
    }
    const bool known_id = shuffle_routes_.count(s.id) > 0;  // a walk that loops ends here
    if (ttl > 0 && !next.empty() && !known_id &&
        shuffle_routes_.size() < config_.max_shuffle_routes) {
        shuffle_routes_[s.id] = {from, now + config_.shuffle_route_for};
        auto onward = s;
        onward.ttl = static_cast<std::uint8_t>(ttl - 1);
        out.push_back(send_frame{*pick(next), std::move(onward)});
        return;
    }
    auto reply = sample(0, s.peers.size(), from);
    out.push_back(send_frame{from, protocol::shuffle_reply{room_, s.id, std::move(reply)}});
    integrate(s.peers);
}

void membership::shuffle_now(time_point now, actions& out) {
    next_shuffle_ = now + jitter(config_.shuffle_every);
    // With a slot to spare, also ask a random passive peer to be a neighbour: links keep
    // being drawn at random from a passive view the walks keep mixed, so a part of the room
    // that lost its links to the rest (evicted by newcomers, say) is found again.
    if (active_.size() < config_.active_max && pending_.size() < config_.max_pending) {
        std::vector<protocol::peer_address> candidates;
        for (const auto& p : passive_) {
            if (!pending_.count(p.peer_id)) candidates.push_back(p);
        }
        if (auto* p = pick(candidates)) request(*p, false, now, out);
    }
    auto* to = pick(active_);
    if (!to) return;
    const peer_id target = *to;
    auto peers = sample(config_.shuffle_active, config_.shuffle_passive, target);
    if (peers.empty() || shuffle_routes_.size() >= config_.max_shuffle_routes) return;
    // 1..2^53: exact in every JSON implementation, and never 0, which a contact's sample uses.
    const std::uint64_t id = (rng_() & ((std::uint64_t{1} << 53) - 1)) | 1;
    shuffle_routes_[id] = {{}, now + config_.shuffle_route_for};
    out.push_back(send_frame{target,
                             protocol::shuffle{room_, id, config_.shuffle_walk, std::move(peers)}});
}

void membership::leave(actions& out) {
    for (const auto& peer : std::vector<peer_id>(active_)) {
        out.push_back(send_frame{peer, protocol::disconnect{room_, false}});
        remove_active(peer, out);
        out.push_back(release_peer{peer});
    }
    for (const auto& [peer, deadline] : unclaimed_) out.push_back(release_peer{peer});
    unclaimed_.clear();
    pending_.clear();
    unreachable_.clear();
}

void membership::tick(time_point now, actions& out) {
    if (next_shuffle_ == time_point{}) next_shuffle_ = now + jitter(config_.shuffle_every);
    if (now >= next_shuffle_) shuffle_now(now, out);

    for (auto it = unclaimed_.begin(); it != unclaimed_.end();) {
        if (now < it->second) {
            ++it;
            continue;
        }
        // The other end opened the link and said nothing: keep the peer as a passive one.
        const peer_id peer = it->first;
        it = unclaimed_.erase(it);
        if (auto addr = address_of(peer); !addr.empty()) add_passive({peer, addr});
        out.push_back(release_peer{peer});
    }
    for (auto it = shuffle_routes_.begin(); it != shuffle_routes_.end();) {
        it = now >= it->second.until ? shuffle_routes_.erase(it) : std::next(it);
    }
    for (auto it = asked_.begin(); it != asked_.end();) {
        it = now - it->second >= config_.claim_timeout ? asked_.erase(it) : std::next(it);
    }
    std::vector<peer_id> overdue;
    for (const auto& [peer, p] : pending_) {
        if (now - p.since >= config_.connect_timeout) overdue.push_back(peer);
    }
    for (const auto& peer : overdue) connect_failed(peer, now, out);

    // Peers lost to a failure are tried again: after a network split heals, this is what
    // joins the halves.
    std::vector<protocol::peer_address> retry;
    for (auto it = unreachable_.begin(); it != unreachable_.end();) {
        if (now - it->since >= config_.forget_after) {
            it = unreachable_.erase(it);
            continue;
        }
        if (now >= it->next_try) {
            it->delay = std::min(it->delay * 2, config_.retry_max);
            it->next_try = now + jitter(it->delay);
            if (!pending_.count(it->peer.peer_id) && !is_active(it->peer.peer_id)) {
                retry.push_back(it->peer);
            }
        }
        ++it;
    }
    for (const auto& peer : retry) {
        if (pending_.size() >= config_.max_pending) break;
        request(peer, true, now, out);
    }
    refill(now, out);
}

std::optional<time_point> membership::next_wake() const {
    std::optional<time_point> wake;
    auto consider = [&](time_point t) {
        if (!wake || t < *wake) wake = t;
    };
    if (next_shuffle_ != time_point{}) {
        consider(next_shuffle_);
    } else {
        consider(time_point{});  // never ticked: now
    }
    for (const auto& [peer, deadline] : unclaimed_) consider(deadline);
    for (const auto& [peer, p] : pending_) consider(p.since + config_.connect_timeout);
    for (const auto& u : unreachable_) consider(u.next_try);
    for (const auto& [id, route] : shuffle_routes_) consider(route.until);
    if (active_.size() < config_.active_size && (!passive_.empty() || !known_.empty()) &&
        pending_.size() < config_.max_pending) {
        consider(next_refill_);
    }
    return wake;
}

}  // namespace confab::core::overlay

#include "tests/sim/simulator.hpp"

#include <algorithm>
#include <deque>
#include <stdexcept>

namespace confab::sim {

using namespace core::overlay;

namespace {

std::string peer_name(int i) {
    // Fixed width, so that string order is index order (as peer ids are compared).
    std::string s = std::to_string(i);
    return "peer" + std::string(6 - std::min<std::size_t>(6, s.size()), '0') + s;
}

}  // namespace

simulator::simulator(std::size_t nodes, sim_config config)
    : config_(config), rng_(config.seed), nodes_(nodes) {
    for (std::size_t i = 0; i < nodes; ++i) {
        nodes_[i].id = peer_name(static_cast<int>(i));
        by_id_[nodes_[i].id] = static_cast<int>(i);
        nodes_[i].room = fresh_overlay(static_cast<int>(i));
        latency_seed_.push_back(static_cast<std::uint32_t>(rng_()));
    }
}

std::unique_ptr<room_overlay> simulator::fresh_overlay(int node) {
    return std::make_unique<room_overlay>(nodes_[node].id, "room", config_.overlay, rng_());
}

duration simulator::latency(int a, int b) const {
    // Fixed per pair, so a link's frames keep a steady pace.
    const auto k = key(a, b);
    const std::uint64_t h = (static_cast<std::uint64_t>(latency_seed_[k.first]) << 32) ^
                            latency_seed_[k.second] ^ 0x9e3779b97f4a7c15ULL;
    const auto span = (config_.max_latency - config_.min_latency).count();
    return config_.min_latency + duration(span > 0 ? static_cast<long>(h % span) : 0);
}

bool simulator::across_cut(int a, int b) const {
    if (side_.empty()) return false;
    return side_.count(a) != side_.count(b);
}

int simulator::index_of(const std::string& id) const {
    return by_id_.at(id);
}

void simulator::at(time_point t, std::function<void()> f) {
    queue_.push({std::max(t, now_), ++seq_, std::move(f)});
}

void simulator::run_for(duration d) {
    const auto end = now_ + d;
    std::uint64_t events = 0;
    while (!queue_.empty() && queue_.top().t <= end) {
        auto e = queue_.top();
        queue_.pop();
        now_ = e.t;
        e.f();
        // A state machine that asks to be woken at the same instant forever would hang here.
        if (++events > 200'000'000) throw std::runtime_error("simulator: runaway event loop");
    }
    now_ = end;
}

void simulator::schedule_tick(int node) {
    auto& n = nodes_[node];
    if (!n.alive) return;
    auto wake = n.room->next_wake();
    if (!wake) return;
    const auto t = std::max(*wake, now_);
    if (n.tick_at && *n.tick_at <= t) return;
    n.tick_at = t;
    const auto generation = ++n.tick_generation;
    at(t, [this, node, generation] {
        auto& n = nodes_[node];
        if (!n.alive || n.tick_generation != generation) return;
        n.tick_at.reset();
        actions out;
        n.room->tick(now_, out);
        execute(node, out);
    });
}

simulator::connection_ptr simulator::open_connection(int a, int b) const {
    auto it = links_.find(key(a, b));
    if (it == links_.end() || !it->second->open || it->second->cut) return nullptr;
    return it->second;
}

void simulator::report_down(int node, int other, const connection_ptr& c) {
    if (!nodes_[node].alive) return;
    if (auto it = links_.find(key(node, other)); it != links_.end() && it->second != c &&
                                                  it->second->open && !it->second->cut) {
        return;  // still linked, by the newer connection
    }
    actions out;
    nodes_[node].room->link_down(nodes_[other].id, now_, out);
    execute(node, out);
}

void simulator::deliver_frame(int from, int to, std::function<void()> f) {
    auto c = open_connection(from, to);
    if (!c) return;
    const int dir = from < to ? 0 : 1;
    auto arrival = now_ + latency(from, to);
    if (config_.jitter > duration::zero()) {
        std::uniform_int_distribution<duration::rep> extra(0, config_.jitter.count());
        arrival += duration(extra(rng_));
    }
    if (config_.loss > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < config_.loss) {
        arrival += config_.retransmit_after;
    }
    arrival = std::max(arrival, c->last_arrival[dir]);
    c->last_arrival[dir] = arrival;
    const auto incarnation = nodes_[to].incarnation;
    at(arrival, [this, from, to, c, incarnation, f = std::move(f)] {
        if (c->cut) return;
        // Sent before the sender closed the connection: still arrives. After the receiver
        // closed it: lost.
        if (!c->open && c->closed_by != from) return;
        if (!nodes_[to].alive || nodes_[to].incarnation != incarnation) return;
        f();
    });
}

void simulator::execute(int node, actions& out) {
    // Actions can lead to more actions on the same node (a link already up): worked off here.
    std::deque<action> work(out.begin(), out.end());
    out.clear();
    while (!work.empty()) {
        auto a = std::move(work.front());
        work.pop_front();
        if (auto* s = std::get_if<send_frame>(&a)) {
            ++frames_sent[s->frame.index()];
            const int to = index_of(s->to);
            deliver_frame(node, to, [this, node, to, frame = s->frame] {
                actions more;
                nodes_[to].room->on_frame(nodes_[node].id, frame, now_, more);
                execute(to, more);
            });
        } else if (auto* f = std::get_if<forward_chat>(&a)) {
            ++frames_sent[9];
            const int to = index_of(f->to);
            deliver_frame(node, to, [this, node, to, frame = f->frame] {
                // A chat frame here is "INDEX:HOPS".
                const auto colon = frame->find(':');
                const int index = std::stoi(frame->substr(0, colon));
                const auto hops = static_cast<std::uint32_t>(std::stoul(frame->substr(colon + 1)));
                auto& record = messages_[index];
                auto& receiver = nodes_[to];
                ++record.copies[to];
                const std::string id = "m" + std::to_string(index);
                actions more;
                if (receiver.delivered.insert(id).second) {
                    record.hops[to] = static_cast<int>(hops) + 1;
                    record.delivered_at[to] = now_;
                    auto onward = std::make_shared<const std::string>(std::to_string(index) + ":" +
                                                                      std::to_string(hops + 1));
                    receiver.room->on_new_chat(nodes_[node].id, id, nodes_[record.author].id,
                                               onward, hops + 1, now_, more);
                } else {
                    receiver.room->on_duplicate_chat(nodes_[node].id, nodes_[record.author].id,
                                                     more);
                }
                execute(to, more);
            });
        } else if (auto* c = std::get_if<connect_peer>(&a)) {
            connect(node, index_of(c->peer.peer_id), c->peer.addr);
        } else if (auto* r = std::get_if<release_peer>(&a)) {
            close_link(node, index_of(r->peer));
        }
    }
    schedule_tick(node);
}

void simulator::connect(int from, int to, const std::string& /*addr*/) {
    connect_with(from, to, false);
}

void simulator::connect_with(int from, int to, bool contact) {
    const auto incarnation = nodes_[from].incarnation;
    auto report = [this, from, incarnation](auto f) {
        return [this, from, incarnation, f] {
            if (!nodes_[from].alive || nodes_[from].incarnation != incarnation) return;
            f();
        };
    };
    auto up = [this, from, to, contact] {
        actions out;
        nodes_[from].room->link_up(nodes_[to].id, addr_of(to), contact, now_, out);
        execute(from, out);
    };
    auto fail = [this, from, to] {
        actions out;
        nodes_[from].room->connect_failed(nodes_[to].id, now_, out);
        execute(from, out);
    };
    if (open_connection(from, to)) {
        at(now_, report(up));
        return;
    }
    if (across_cut(from, to)) {
        at(now_ + config_.dial_timeout, report(fail));
        return;
    }
    const auto lat = latency(from, to);
    if (!nodes_[to].alive) {
        at(now_ + 2 * lat, report(fail));  // refused at once
        return;
    }
    const auto to_incarnation = nodes_[to].incarnation;
    at(now_ + lat, [this, from, to, lat, incarnation, to_incarnation, report, up, fail] {
        if (!nodes_[from].alive || nodes_[from].incarnation != incarnation) return;
        if (!nodes_[to].alive || nodes_[to].incarnation != to_incarnation ||
            across_cut(from, to)) {
            at(now_ + lat, report(fail));
            return;
        }
        // The acceptor's side is up when the dialler's hello arrives; the dialler's when the
        // answer does. A connection the other way may have won meanwhile: it is used instead.
        auto c = open_connection(from, to);
        if (!c) {
            c = std::make_shared<connection>();
            c->last_arrival[0] = c->last_arrival[1] = now_;
            links_[key(from, to)] = c;
            actions out;
            nodes_[to].room->link_up(nodes_[from].id, addr_of(from), false, now_, out);
            execute(to, out);
        }
        at(now_ + lat, report([c, up, fail] {
               if (c->open && !c->cut) {
                   up();
               } else {
                   fail();
               }
           }));
    });
}

void simulator::close_link(int by, int other) {
    auto c = open_connection(by, other);
    if (!c) return;
    c->open = false;
    c->closed_by = by;
    // Our own end at once; theirs after the frames still on their way to it.
    at(now_, [this, by, other, c] { report_down(by, other, c); });
    const int dir = by < other ? 0 : 1;
    const auto arrival = std::max(now_ + latency(by, other), c->last_arrival[dir]);
    const auto incarnation = nodes_[other].incarnation;
    at(arrival, [this, by, other, c, incarnation] {
        if (nodes_[other].incarnation != incarnation) return;
        report_down(other, by, c);
    });
}

void simulator::join(int node, int contact) {
    connect_with(node, contact, true);
}

void simulator::join_all(duration stagger) {
    for (std::size_t i = 1; i < nodes_.size(); ++i) {
        const int contact =
            std::uniform_int_distribution<int>(0, static_cast<int>(i) - 1)(rng_);
        at(now_ + stagger * static_cast<long>(i), [this, i, contact] {
            join(static_cast<int>(i), contact);
        });
    }
}

int simulator::publish(int author) {
    const int index = static_cast<int>(messages_.size());
    auto& record = messages_.emplace_back();
    record.author = author;
    record.written = now_;
    record.hops.assign(nodes_.size(), -1);
    record.delivered_at.assign(nodes_.size(), time_point{});
    record.copies.assign(nodes_.size(), 0);
    record.hops[author] = 0;
    record.delivered_at[author] = now_;
    auto frame = std::make_shared<const std::string>(std::to_string(index) + ":0");
    const std::string id = "m" + std::to_string(index);
    nodes_[author].delivered.insert(id);
    actions out;
    nodes_[author].room->publish(id, frame, now_, out);
    execute(author, out);
    return index;
}

bool simulator::delivered_to_all_alive(int index) const {
    const auto& record = messages_[index];
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].alive && record.hops[i] < 0) return false;
    }
    return true;
}

void simulator::crash(int node) {
    auto& n = nodes_[node];
    if (!n.alive) return;
    n.alive = false;
    ++n.incarnation;
    // The kernel closes its sockets: every neighbour hears a reset.
    for (auto& [k, c] : links_) {
        if (!c->open || (k.first != node && k.second != node)) continue;
        const int other = k.first == node ? k.second : k.first;
        c->open = false;
        c->closed_by = node;
        if (c->cut) continue;  // nobody hears anything through a cut
        const auto incarnation = nodes_[other].incarnation;
        at(now_ + latency(node, other), [this, node, other, c, incarnation] {
            if (nodes_[other].incarnation != incarnation) return;
            report_down(other, node, c);
        });
    }
}

void simulator::restart(int node, int contact) {
    auto& n = nodes_[node];
    if (n.alive) return;
    n.alive = true;
    ++n.incarnation;
    n.tick_at.reset();
    n.delivered.clear();
    n.room = fresh_overlay(node);
    join(node, contact);
}

void simulator::partition(const std::set<int>& side) {
    side_ = side;
    for (auto& [k, c] : links_) {
        if (!c->open || c->cut || !across_cut(k.first, k.second)) continue;
        c->cut = true;
        // Nothing crosses; keepalive notices on both ends.
        for (int end : {k.first, k.second}) {
            const int other = end == k.first ? k.second : k.first;
            const auto incarnation = nodes_[end].incarnation;
            at(now_ + config_.keepalive_detects, [this, end, other, c, incarnation] {
                c->open = false;
                if (nodes_[end].incarnation != incarnation) return;
                report_down(end, other, c);
            });
        }
    }
}

void simulator::heal() {
    side_.clear();
}

bool simulator::connected() const {
    int start = -1, alive = 0;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (!nodes_[i].alive) continue;
        ++alive;
        if (start < 0) start = static_cast<int>(i);
    }
    if (alive <= 1) return true;
    std::vector<std::vector<int>> edges(nodes_.size());
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (!nodes_[i].alive) continue;
        for (const auto& peer : nodes_[i].room->members().active()) {
            const int j = index_of(peer);
            if (!nodes_[j].alive) continue;
            edges[i].push_back(j);
            edges[j].push_back(static_cast<int>(i));
        }
    }
    std::vector<bool> seen(nodes_.size());
    std::vector<int> stack{start};
    seen[start] = true;
    int reached = 1;
    while (!stack.empty()) {
        const int n = stack.back();
        stack.pop_back();
        for (int m : edges[n]) {
            if (seen[m]) continue;
            seen[m] = true;
            ++reached;
            stack.push_back(m);
        }
    }
    return reached == alive;
}

double simulator::mean_active() const {
    double sum = 0;
    int alive = 0;
    for (const auto& n : nodes_) {
        if (!n.alive) continue;
        ++alive;
        sum += static_cast<double>(n.room->members().active().size());
    }
    return alive ? sum / alive : 0;
}

}  // namespace confab::sim

#include "tests/integration/faults/fault_mesh.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace confab::test {

std::uint64_t fault_seed(std::string_view test) {
    std::uint64_t seed = 0;
    if (const char* env = std::getenv("CONFAB_FAULTS_SEED"); env && *env)
        seed = std::strtoull(env, nullptr, 10);
    else
        seed = (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}();
    std::cout << "faults: " << test << ": seed " << seed << " (replay: CONFAB_FAULTS_SEED=" << seed
              << ")" << std::endl;
    return seed;
}

double ms(test_clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

std::vector<std::unique_ptr<peer_process>> start_connected_mesh(
    int n, std::mt19937_64& rng, const std::function<peer_options(int)>& options_for) {
    std::vector<std::unique_ptr<peer_process>> owned;
    for (int i = 0; i < n; ++i) {
        peer_options o = options_for(i);
        if (i > 0) {
            auto first = rng() % owned.size();
            o.joins.push_back(owned[first]->listen());
            if (owned.size() > 1 && rng() % 2 == 0) {
                auto second = rng() % (owned.size() - 1);
                if (second >= first) ++second;
                o.joins.push_back(owned[second]->listen());
            }
        }
        owned.push_back(std::make_unique<peer_process>(std::move(o)));
        // 10 s, not 5: a shared 2-core machine starting the 50th peer next to 49 busy ones.
        owned.back()->wait_ready(10s);
    }
    return owned;
}

message_counts::message_counts(std::span<peer_process* const> procs)
    : procs_(procs.begin(), procs.end()), next_(procs.size(), 0), counts_(procs.size()) {}

void message_counts::update() {
    for (std::size_t i = 0; i < procs_.size(); ++i) {
        const auto& events = procs_[i]->events();
        for (; next_[i] < events.size(); ++next_[i]) {
            const auto& e = events[next_[i]];
            if (e.name() == "message") ++counts_[i][e.str("text")];
        }
    }
}

int message_counts::count(std::size_t peer, const std::string& text) const {
    auto it = counts_[peer].find(text);
    return it == counts_[peer].end() ? 0 : it->second;
}

bool message_counts::all_have(const std::vector<std::string>& texts) const {
    for (std::size_t i = 0; i < procs_.size(); ++i)
        for (const auto& t : texts)
            if (count(i, t) == 0) return false;
    return true;
}

probe_series::probe_series(std::vector<peer_process*> senders, std::vector<peer_process*> receivers,
                           std::string what, test_clock::duration every,
                           test_clock::time_point start)
    : senders_(std::move(senders)),
      receivers_(std::move(receivers)),
      what_(std::move(what)),
      every_(every),
      start_(start),
      next_(start),
      counts_(receivers_) {}

test_clock::time_point probe_series::step(test_clock::time_point now) {
    // Bounded by the catch-up of one late call: at most a few probes per step.
    for (int i = 0; i < 4 && !reached_ && next_ <= now; ++i) {
        peer_process& sender = *senders_[texts_.size() % senders_.size()];
        texts_.push_back(what_ + " #" + std::to_string(texts_.size()) + " from " + sender.nick());
        sender.send_line(texts_.back());
        next_ += every_;
    }
    return next_;
}

bool probe_series::reached() {
    if (reached_) return true;
    counts_.update();
    for (const auto& text : texts_) {
        if (!counts_.all_have({text})) continue;
        reached_ = true;
        for (auto* p : receivers_)
            if (const event* e = p->find(is_message_with_text(text)))
                reached_at_ = std::max(reached_at_, e->at);
        break;
    }
    return reached_;
}

int probe_series::incomplete() {
    counts_.update();
    int n = 0;
    for (const auto& text : texts_) n += !counts_.all_have({text});
    return n;
}

std::string probe_series::lacking() const {
    std::ostringstream out;
    for (const auto& text : texts_) {
        if (counts_.all_have({text})) continue;
        out << "\n  '" << text << "' not at";
        for (std::size_t i = 0; i < receivers_.size(); ++i)
            if (counts_.count(i, text) == 0) out << " " << receivers_[i]->nick();
    }
    return out.str();
}

std::string probe_series::coverage() const {
    std::ostringstream out;
    for (const auto& text : texts_) {
        std::size_t have = 0;
        for (std::size_t i = 0; i < receivers_.size(); ++i) have += counts_.count(i, text) > 0;
        out << "\n  '" << text << "' at " << have << " of " << receivers_.size();
    }
    return out.str();
}

bool run_probes(std::span<peer_process* const> poll_set, std::span<probe_series* const> series,
                test_clock::duration timeout) {
    const auto deadline = test_clock::now() + timeout;
    for (;;) {
        bool all = true;
        for (auto* s : series) all = s->reached() && all;
        if (all) return true;
        auto now = test_clock::now();
        if (now >= deadline) return false;
        auto wake = deadline;
        for (auto* s : series)
            if (!s->reached()) wake = std::min(wake, s->step(now));
        if (wake > now) poll_many(poll_set, wake - now);
    }
}

void kill_all(std::span<peer_process* const> procs) {
    for (auto* p : procs) p->kill(SIGKILL);
    for (auto* p : procs) p->wait_exit(5s);
}

delivery deliver(std::span<peer_process* const> poll_set, std::span<peer_process* const> receivers,
                 peer_process& sender, const std::string& text, test_clock::duration timeout) {
    std::vector<std::size_t> from;
    for (auto* p : receivers) from.push_back(p->events().size());
    std::vector<bool> got(receivers.size(), false);
    test_clock::time_point last{};
    std::string last_nick;
    auto written = test_clock::now();
    sender.send_line(text);
    auto done = [&] {
        bool all = true;
        for (std::size_t i = 0; i < receivers.size(); ++i) {
            const auto& events = receivers[i]->events();
            for (; !got[i] && from[i] < events.size(); ++from[i]) {
                if (events[from[i]].name() == "message" && events[from[i]].str("text") == text) {
                    got[i] = true;
                    if (events[from[i]].at >= last) {
                        last = events[from[i]].at;
                        last_nick = receivers[i]->nick();
                    }
                }
            }
            all = all && got[i];
        }
        return all;
    };
    if (poll_until(poll_set, done, timeout)) return {last - written, last_nick};
    std::ostringstream msg;
    msg << "'" << text << "' from " << sender.nick() << " did not reach every receiver within "
        << ms(timeout) << " ms; missing at:";
    for (std::size_t i = 0; i < receivers.size(); ++i)
        if (!got[i]) msg << " " << receivers[i]->nick();
    msg << "\n";
    std::size_t shown = 0;
    for (std::size_t i = 0; i < receivers.size() && shown < 3; ++i)
        if (!got[i]) {
            msg << receivers[i]->describe(15) << "\n";
            ++shown;
        }
    throw std::runtime_error(msg.str());
}

}  // namespace confab::test

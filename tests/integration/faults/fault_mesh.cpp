#include "tests/integration/faults/fault_mesh.hpp"

#include <algorithm>
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

std::string lacking(std::span<peer_process* const> procs, const std::string& text) {
    std::string out;
    for (auto* p : procs)
        if (!p->find(is_message_with_text(text))) out += (out.empty() ? "" : " ") + p->nick();
    return out;
}

test_clock::duration deliver(std::span<peer_process* const> poll_set,
                             std::span<peer_process* const> receivers, peer_process& sender,
                             const std::string& text, test_clock::duration timeout) {
    std::vector<std::size_t> from;
    for (auto* p : receivers) from.push_back(p->events().size());
    std::vector<bool> got(receivers.size(), false);
    test_clock::time_point last{};
    auto written = test_clock::now();
    sender.send_line(text);
    auto done = [&] {
        bool all = true;
        for (std::size_t i = 0; i < receivers.size(); ++i) {
            const auto& events = receivers[i]->events();
            for (; !got[i] && from[i] < events.size(); ++from[i]) {
                if (events[from[i]].name() == "message" && events[from[i]].str("text") == text) {
                    got[i] = true;
                    last = std::max(last, events[from[i]].at);
                }
            }
            all = all && got[i];
        }
        return all;
    };
    if (poll_until(poll_set, done, timeout)) return last - written;
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

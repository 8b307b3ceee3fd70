#pragma once
// What the fault tests share: a seed to replay a run, a mesh of real peers joined the way
// mesh_bench joins them, and delivery waits that keep reading every peer's stdout (a peer whose
// stdout pipe fills up stalls, and would look like a fault of its own). Test thread only.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/peer_process.hpp"

namespace confab::test {

// CONFAB_FAULTS_SEED when set, else a fresh random one; printed with the test's name, so that a
// failure in CI can be replayed with the same kills, senders and joins.
std::uint64_t fault_seed(std::string_view test);

// Milliseconds, for reports.
double ms(test_clock::duration d);

// Starts n peers one after another; peer i > 0 joins one or two distinct random earlier peers,
// so the join graph is connected from the start. Waits for each ready event.
std::vector<std::unique_ptr<peer_process>> start_connected_mesh(
    int n, std::mt19937_64& rng, const std::function<peer_options(int)>& options_for);

// Counts `message` events by text, per peer, reading each peer's events once.
class message_counts {
public:
    explicit message_counts(std::span<peer_process* const> procs);
    // Reads events that arrived since the last call.
    void update();
    int count(std::size_t peer, const std::string& text) const;
    // True when every peer has every text at least once.
    bool all_have(const std::vector<std::string>& texts) const;

private:
    std::vector<peer_process*> procs_;
    std::vector<std::size_t> next_;
    std::vector<std::map<std::string, int>> counts_;
};

// Writes `text` at `sender` and polls every process in `poll_set` until each of `receivers`
// printed it. Returns the time from the write to the last receiver's event; throws
// std::runtime_error naming the peers still without it (and their recent events) when
// `timeout` passes first.
test_clock::duration deliver(std::span<peer_process* const> poll_set,
                             std::span<peer_process* const> receivers, peer_process& sender,
                             const std::string& text, test_clock::duration timeout);

// Nicks of the peers that lack `text`, for failure messages.
std::string lacking(std::span<peer_process* const> procs, const std::string& text);

}  // namespace confab::test

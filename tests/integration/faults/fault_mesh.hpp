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

// How a message spread: from the write to the last receiver's event, and who that was.
struct delivery {
    test_clock::duration took{};
    std::string last;  // nick
};

// Writes `text` at `sender` and polls every process in `poll_set` until each of `receivers`
// printed it. Returns the time from the write to the last receiver's event; throws
// std::runtime_error naming the peers still without it (and their recent events) when
// `timeout` passes first.
delivery deliver(std::span<peer_process* const> poll_set, std::span<peer_process* const> receivers,
                 peer_process& sender, const std::string& text, test_clock::duration timeout);

// A new message every `every`, from each sender in turn, until one of them has reached every
// receiver: how long a mesh that is reassembling itself takes to deliver again, measured without
// betting on one message (sent while a peer was still alone, it may be lost for good).
class probe_series {
public:
    probe_series(std::vector<peer_process*> senders, std::vector<peer_process*> receivers,
                 std::string what, test_clock::duration every, test_clock::time_point start);
    // Writes the probes that are due; returns when the next one is.
    test_clock::time_point step(test_clock::time_point now);
    // Reads new events; true once some probe reached every receiver.
    bool reached();
    // From `start` to the event that completed the first probe to reach everyone.
    test_clock::duration reached_after() const { return reached_at_ - start_; }
    int sent() const { return static_cast<int>(texts_.size()); }
    // Reads new events; how many probes are still missing at some receiver (written while the
    // mesh was broken, they may never arrive: worth reporting, not a failure by itself).
    int incomplete();
    // For each such probe, the receivers without it ("'text' not at nick nick").
    std::string lacking() const;
    // Each probe and how many receivers have it, for a failure message.
    std::string coverage() const;

private:
    std::vector<peer_process*> senders_;
    std::vector<peer_process*> receivers_;
    std::string what_;
    test_clock::duration every_;
    test_clock::time_point start_;
    test_clock::time_point next_;
    std::vector<std::string> texts_;
    message_counts counts_;
    bool reached_ = false;
    test_clock::time_point reached_at_{};
};

// Steps every series and polls every process in `poll_set` until each series reached its
// receivers; false when `timeout` passed first.
bool run_probes(std::span<peer_process* const> poll_set, std::span<probe_series* const> series,
                test_clock::duration timeout);

// SIGKILL to every one first, then reap each: killed one by one, each death would set the
// survivors reconnecting while the harness waits for the next (a 50-peer teardown took 16 s).
void kill_all(std::span<peer_process* const> procs);

// Calls kill_all on a mesh when the test ends, passed or failed (declared after the mesh, so it
// runs before the peers' own destructors).
class kill_all_at_exit {
public:
    explicit kill_all_at_exit(const std::vector<std::unique_ptr<peer_process>>& owned)
        : owned_(owned) {}
    ~kill_all_at_exit() { kill_all(pointers(owned_)); }
    kill_all_at_exit(const kill_all_at_exit&) = delete;
    kill_all_at_exit& operator=(const kill_all_at_exit&) = delete;

private:
    const std::vector<std::unique_ptr<peer_process>>& owned_;
};

}  // namespace confab::test

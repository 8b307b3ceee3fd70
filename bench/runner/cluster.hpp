#pragma once
// What bench/run measures a chat system through: N participants on 127.0.0.1 that can each
// send a line to the room and report, stamped when the harness read it, every line they
// received from others. confab_cluster (N confab processes) and irc_cluster (one ngircd and
// N IRC connections) implement it, so both are measured by the same code.
// Single-threaded: the bench's one thread owns a cluster.

#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/types.h>

namespace confab::bench {

using bench_clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A line a participant received from another, when the harness read it.
struct delivery {
    std::size_t receiver;
    std::string text;
    bench_clock::time_point at;
};

// Counters summed over the whole system, sampled between phases.
struct totals {
    std::uint64_t copies_received = 0;  // chat lines/frames read by participants, copies included
    std::uint64_t wire_bytes = 0;       // bytes that crossed any link once (each counted once)
    long cpu_ticks = 0;                 // utime + stime of the system's processes
};

// Resident memory, per participant for confab, of the one server for IRC.
struct memory {
    double rss_mib_mean = 0, rss_mib_max = 0;
    double anon_mib_mean = 0, anon_mib_max = 0;  // RssAnon: the private part
};

class cluster {
public:
    virtual ~cluster() = default;
    virtual std::size_t size() const = 0;
    // When the last participant was started: the mesh-forming clock starts there.
    virtual bench_clock::time_point last_start() const = 0;
    // Queues a line from participant `from` to the room; it goes out at the next poll, or now.
    virtual void send(std::size_t from, const std::string& text) = 0;
    // Reads whatever is ready, waiting at most `timeout` for something; appends every line
    // received from others to `out` (own echoes are not deliveries).
    virtual void poll(bench_clock::duration timeout, std::vector<delivery>& out) = 0;
    // Deliveries may arrive while the counters are gathered: they go to `out`.
    virtual totals sample_totals(std::vector<delivery>& out) = 0;
    virtual memory sample_memory() = 0;
};

// Set by SIGINT/SIGTERM; every wait checks it, so an interrupted run unwinds and its
// destructors stop the processes and remove the temp files.
extern volatile std::sig_atomic_t stop_requested;

struct interrupted : std::runtime_error {
    using std::runtime_error::runtime_error;
};
inline void check_stop(const char* where) {
    if (stop_requested) throw interrupted(std::string("interrupted while ") + where);
}

// /proc/PID/status and /proc/PID/stat of one process.
struct proc_sample {
    double rss_mib = 0;
    double anon_mib = 0;
    long cpu_ticks = 0;  // utime + stime
};
proc_sample sample_process(pid_t pid);
memory summarise(const std::vector<proc_sample>& samples);

}  // namespace confab::bench

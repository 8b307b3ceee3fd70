#pragma once
// Starts real `confab --headless` processes and reads their JSON-lines events, for the
// integration tests and the mesh benchmark. Single-threaded: one test thread owns every
// peer_process it creates.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include <nlohmann/json.hpp>

namespace confab::test {

using test_clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// One line of a peer's stdout, stamped when the harness read it (the latency the bench
// measures ends there).
struct event {
    nlohmann::json json;  // a line that is not a JSON object becomes {"event":"bad_line",...}
    test_clock::time_point at;

    std::string name() const;
    // json[key] as a string, or "" when absent or not a string.
    std::string str(std::string_view key) const;
};

using event_predicate = std::function<bool(const event&)>;

// Predicates for the common waits.
event_predicate is_event(std::string name);
event_predicate is_message_with_text(std::string text);
event_predicate is_peer_up(std::string peer_id);
event_predicate is_peer_down(std::string peer_id);

struct peer_options {
    std::string nick = "peer";
    std::string room = "lobby";
    // Rooms after the first, one more --room apiece (seeded like `room`).
    std::vector<std::string> more_rooms;
    std::string listen = "127.0.0.1:0";
    std::vector<std::string> joins;  // HOST:PORT each, one --join apiece
    std::string log_level = "debug";
    // Appended after the flags above, e.g. an unknown flag for the start-up tests.
    std::vector<std::string> extra_args;
    // Seed the data dir with shared_test_secret for `room` (seed_shared_secret), so that test
    // peers joined by address alone are in one room, as if each had used the others' invite.
    // False: the peer makes its own random secret, as a user's first start does.
    bool shared_secret = true;
    // Put before confab's own argv, e.g. {"/usr/sbin/ip", "netns", "exec", NS} to run the peer
    // inside a network namespace (netns.hpp). wrapper[0] must be a path; the wrapper must exec
    // confab in place (no fork), so that pid() and kill() reach confab itself.
    std::vector<std::string> wrapper;
};

// The room secret every test peer shares unless told otherwise: base32 of "confab test room".
inline constexpr std::string_view shared_test_secret = "mnxw4ztbmiqhizltoqqhe33pnu";

// Writes DATA/secrets.json (mode 0600) holding shared_test_secret for `room` and `more_rooms`,
// unless the file exists (a restarted peer keeps what it has). For peers started with their own
// --data-dir.
void seed_shared_secret(const std::filesystem::path& data_dir, const std::string& room,
                        const std::vector<std::string>& more_rooms = {});

// One confab process with its own temp dir (data dir, downloads, stderr.log), which the
// destructor kills (when still running), reaps and removes. Set CONFAB_KEEP_TMP=1 to keep the
// temp dirs (and every stderr.log) for debugging.
class peer_process {
public:
    explicit peer_process(peer_options options);
    ~peer_process();
    peer_process(const peer_process&) = delete;
    peer_process& operator=(const peer_process&) = delete;

    // Waits for the "ready" event; returns the bound listen address ("127.0.0.1:40123").
    const std::string& wait_ready(test_clock::duration timeout = 5s);
    const std::string& listen() const { return listen_; }
    const std::string& peer_id() const { return peer_id_; }
    const std::string& nick() const { return options_.nick; }
    pid_t pid() const { return pid_; }
    test_clock::time_point spawned_at() const { return spawned_at_; }
    const std::filesystem::path& dir() const { return dir_; }

    // Every event received so far, in order (tests count them for exactly-once checks).
    const std::vector<event>& events() const { return events_; }
    std::size_t count(const event_predicate& pred) const;
    // The first event received so far that matches, or nullptr.
    const event* find(const event_predicate& pred) const;

    // Polls until an event at index >= from matches, and returns it. Throws std::runtime_error
    // naming `what`, the recent events and the stderr tail when the timeout passes or stdout
    // closes first.
    event wait_for(const event_predicate& pred, test_clock::duration timeout, std::string_view what,
                   std::size_t from = 0);
    // Same, but returns nullopt instead of throwing.
    std::optional<event> try_wait_for(const event_predicate& pred, test_clock::duration timeout,
                                      std::size_t from = 0);

    // Queues one line for stdin (a newline is added) and writes what the pipe takes now; the
    // rest goes out as the child reads, while the harness polls.
    void send_line(std::string_view text);
    void close_stdin();
    void kill(int signo);
    // Exit code, 128 + signal number when killed by a signal, nullopt on timeout. Reads the
    // rest of stdout, too.
    std::optional<int> wait_exit(test_clock::duration timeout);
    // Starts confab again in the same temp dir (so with the same identity, secrets and address
    // book) after the last one exited, e.g. after kill(SIGKILL) + wait_exit. The event list
    // starts afresh; stderr.log is appended to. Call wait_ready() next.
    void restart();
    // Reaps the child if it has exited (never blocks).
    bool running();

    std::string stderr_text() const;
    std::string stderr_tail(std::size_t lines = 40) const;
    // Recent events, one a line, and the stderr tail: what a failure message should show.
    std::string describe(std::size_t last_events = 30) const;

    // poll(2) support for poll_many: fds to watch and what to do when they are ready.
    int stdout_fd() const { return stdout_fd_; }
    int stdin_fd() const { return stdin_fd_; }
    bool wants_write() const { return stdin_fd_ >= 0 && !pending_stdin_.empty(); }
    // Reads whatever stdout holds now (never blocks); false once stdout reached EOF.
    bool read_available();
    void flush_stdin();

private:
    void spawn(bool append_stderr);
    void parse_lines(test_clock::time_point at);
    void close_stdout();

    peer_options options_;
    std::filesystem::path dir_;
    pid_t pid_ = -1;
    int pidfd_ = -1;
    int stdin_fd_ = -1;
    int stdout_fd_ = -1;
    test_clock::time_point spawned_at_;
    std::optional<int> exit_status_;
    std::string partial_line_;
    std::string pending_stdin_;
    std::vector<event> events_;
    std::string listen_;
    std::string peer_id_;
};

// Polls the stdout (and pending stdin) of every process once, for at most `timeout`, and reads
// whatever is ready. Returns false when nothing became ready in time.
bool poll_many(std::span<peer_process* const> procs, test_clock::duration timeout);

// Polls all of them until done() is true; returns false when the timeout passes first.
bool poll_until(std::span<peer_process* const> procs, const std::function<bool()>& done,
                test_clock::duration timeout);

// Polls until every process has an event matching pred (each from its own index `from`, when
// given); throws std::runtime_error describing the processes that still lack one.
void wait_all(std::span<peer_process* const> procs, const event_predicate& pred,
              test_clock::duration timeout, std::string_view what,
              std::span<const std::size_t> from = {});

// Peer ids this process currently counts as neighbours, from its peer_up/peer_down events.
std::set<std::string> neighbours(const peer_process& p);

// Waits until every peer has all the others as neighbours (judged by current neighbours, so
// a link replaced on the way does not count against it); false when the time ran out.
bool wait_full_mesh(std::span<peer_process* const> procs, test_clock::duration limit);

// Starts a peer and waits for its "ready" event.
std::unique_ptr<peer_process> start_peer(peer_options options,
                                         test_clock::duration ready_timeout = 5s);

// Raw pointers for poll_many from a vector of owners.
std::vector<peer_process*> pointers(const std::vector<std::unique_ptr<peer_process>>& procs);

// The port of "HOST:PORT" (0 when there is none).
std::uint16_t port_of(std::string_view host_port);

// A loopback port that nothing listens on (bound, then closed, so the kernel gave it out once).
std::uint16_t dead_port();

// alice, and bob joined to her, each having seen the other come up.
struct pair_of_peers {
    std::unique_ptr<peer_process> a;
    std::unique_ptr<peer_process> b;
    pair_of_peers();
};

}  // namespace confab::test

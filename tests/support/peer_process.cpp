#include "tests/support/peer_process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace confab::test {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

int remaining_ms(test_clock::time_point deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - test_clock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 60'000));
}

std::filesystem::path make_temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "confab-peer-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw_errno("mkdtemp");
    return tmpl;
}

// Same split as the shell: a normal exit gives its code, a signal 128 + its number.
int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

std::string event::name() const {
    return str("event");
}

std::string event::str(std::string_view key) const {
    auto it = json.find(key);
    if (it == json.end() || !it->is_string()) return {};
    return it->get<std::string>();
}

event_predicate is_event(std::string name) {
    return [name = std::move(name)](const event& e) { return e.name() == name; };
}

event_predicate is_message_with_text(std::string text) {
    return [text = std::move(text)](const event& e) {
        return e.name() == "message" && e.str("text") == text;
    };
}

event_predicate is_peer_up(std::string peer_id) {
    return [id = std::move(peer_id)](const event& e) {
        return e.name() == "peer_up" && e.str("peer_id") == id;
    };
}

event_predicate is_peer_down(std::string peer_id) {
    return [id = std::move(peer_id)](const event& e) {
        return e.name() == "peer_down" && e.str("peer_id") == id;
    };
}

peer_process::peer_process(peer_options options) : options_(std::move(options)) {
    dir_ = make_temp_dir();
    std::filesystem::create_directories(dir_ / "data");
    std::filesystem::create_directories(dir_ / "downloads");
    try {
        spawn(false);
    } catch (...) {
        // The destructor does not run for a half-built object: undo what spawn() left.
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        for (int fd : {stdin_fd_, stdout_fd_, pidfd_})
            if (fd >= 0) ::close(fd);
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        throw;
    }
}

peer_process::~peer_process() {
    if (pid_ > 0 && running()) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        // Blocking is fine here: SIGKILL cannot be caught, so the wait is short.
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    for (int fd : {stdin_fd_, stdout_fd_, pidfd_})
        if (fd >= 0) ::close(fd);
    std::error_code ec;
    // CONFAB_KEEP_TMP=1 keeps data dirs and stderr logs around to debug a failure.
    if (!std::getenv("CONFAB_KEEP_TMP")) std::filesystem::remove_all(dir_, ec);
}

// CONFAB_BIN runs another build (say, the previous commit's) for a before/after bench.
static std::string confab_binary() {
    const char* other = std::getenv("CONFAB_BIN");
    return other && *other ? other : CONFAB_BINARY;
}

void seed_shared_secret(const std::filesystem::path& data_dir, const std::string& room,
                        const std::vector<std::string>& more_rooms) {
    std::filesystem::create_directories(data_dir);
    const auto file = data_dir / "secrets.json";
    nlohmann::json secrets{{room, std::string(shared_test_secret)}};
    for (const auto& r : more_rooms) secrets[r] = std::string(shared_test_secret);
    const std::string contents = secrets.dump() + "\n";
    // O_EXCL: an existing file (a restarted peer's) is left as it is.
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return;
        throw_errno("create " + file.string());
    }
    const ssize_t n = ::write(fd, contents.data(), contents.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(contents.size())) throw_errno("write " + file.string());
}

void peer_process::spawn(bool append_stderr) {
    if (options_.shared_secret) {
        seed_shared_secret(dir_ / "data", options_.room, options_.more_rooms);
    }
    const std::string binary = confab_binary();
    std::vector<std::string> args = options_.wrapper;
    const std::string program = args.empty() ? binary : args.front();
    const std::vector<std::string> confab_args = {binary,        "--headless",
                                                  "--nick",      options_.nick,
                                                  "--listen",    options_.listen,
                                                  "--room",      options_.room,
                                                  "--data-dir",  (dir_ / "data").string(),
                                                  "--downloads", (dir_ / "downloads").string(),
                                                  "--log-level", options_.log_level};
    args.insert(args.end(), confab_args.begin(), confab_args.end());
    for (const auto& r : options_.more_rooms) {
        args.push_back("--room");
        args.push_back(r);
    }
    for (const auto& j : options_.joins) {
        args.push_back("--join");
        args.push_back(j);
    }
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    // O_CLOEXEC everywhere: a sibling peer that inherited our end of this pipe would keep
    // stdin open after close_stdin() and hide the EOF.
    int in_pipe[2], out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) < 0) throw_errno("pipe2");
    if (::pipe2(out_pipe, O_CLOEXEC) < 0) throw_errno("pipe2");

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    std::string err_path = (dir_ / "stderr.log").string();
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                     O_WRONLY | O_CREAT | (append_stderr ? O_APPEND : O_TRUNC),
                                     0644);
    // The harness ignores SIGPIPE (a dead child must not kill the test); confab must start
    // with the default disposition, as it would from a shell.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

    std::signal(SIGPIPE, SIG_IGN);
    spawned_at_ = test_clock::now();
    int rc = ::posix_spawn(&pid_, program.c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    stdin_fd_ = in_pipe[1];
    stdout_fd_ = out_pipe[0];
    if (rc != 0) {
        pid_ = -1;
        exit_status_ = 127;
        throw std::system_error(rc, std::generic_category(), "posix_spawn " + program);
    }
    ::fcntl(stdout_fd_, F_SETFL, O_NONBLOCK);
    ::fcntl(stdin_fd_, F_SETFL, O_NONBLOCK);
    // A pidfd makes the child's exit pollable, so wait_exit never has to sleep.
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd_ < 0) throw_errno("pidfd_open");
}

bool peer_process::read_available() {
    if (stdout_fd_ < 0) return false;
    char buf[65536];
    // Bounded: a peer that writes faster than we read must not starve the others.
    for (int i = 0; i < 64; ++i) {
        ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
        if (n > 0) {
            partial_line_.append(buf, static_cast<std::size_t>(n));
            parse_lines(test_clock::now());
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return true;
        close_stdout();
        return false;
    }
    return true;
}

void peer_process::parse_lines(test_clock::time_point at) {
    std::size_t start = 0;
    for (std::size_t nl; (nl = partial_line_.find('\n', start)) != std::string::npos;
         start = nl + 1) {
        std::string_view line(partial_line_.data() + start, nl - start);
        if (line.empty()) continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        // Kept rather than dropped: a malformed line is a contract violation a test can see.
        if (j.is_discarded() || !j.is_object())
            j = {{"event", "bad_line"}, {"line", std::string(line)}};
        events_.push_back(event{std::move(j), at});
    }
    partial_line_.erase(0, start);
}

void peer_process::close_stdout() {
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    stdout_fd_ = -1;
}

void peer_process::flush_stdin() {
    while (stdin_fd_ >= 0 && !pending_stdin_.empty()) {
        ssize_t n = ::write(stdin_fd_, pending_stdin_.data(), pending_stdin_.size());
        if (n > 0) {
            pending_stdin_.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return;
        } else {
            // The child closed stdin (it exited): nothing more will be read.
            pending_stdin_.clear();
            return;
        }
    }
}

void peer_process::send_line(std::string_view text) {
    pending_stdin_.append(text);
    pending_stdin_.push_back('\n');
    flush_stdin();
}

void peer_process::close_stdin() {
    // What is already queued goes first, as it would from a shell pipe; bounded by 5 s.
    auto deadline = test_clock::now() + 5s;
    peer_process* self = this;
    poll_until(
        {&self, 1}, [&] { return pending_stdin_.empty(); }, deadline - test_clock::now());
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
    stdin_fd_ = -1;
    pending_stdin_.clear();
}

void peer_process::kill(int signo) {
    if (pid_ > 0 && running()) ::kill(pid_, signo);
}

void peer_process::restart() {
    if (running()) throw std::logic_error("restart of " + options_.nick + ": still running");
    for (int* fd : {&stdin_fd_, &stdout_fd_, &pidfd_}) {
        if (*fd >= 0) ::close(*fd);
        *fd = -1;
    }
    pid_ = -1;
    exit_status_.reset();
    partial_line_.clear();
    pending_stdin_.clear();
    events_.clear();
    listen_.clear();
    spawn(true);
}

bool peer_process::running() {
    if (exit_status_) return false;
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) exit_status_ = decode_status(status);
    return !exit_status_.has_value();
}

std::optional<int> peer_process::wait_exit(test_clock::duration timeout) {
    auto deadline = test_clock::now() + timeout;
    while (running()) {
        if (test_clock::now() >= deadline) return std::nullopt;
        // Keep reading stdout meanwhile: a child blocked on a full pipe would never exit.
        pollfd fds[2] = {{pidfd_, POLLIN, 0}, {stdout_fd_, POLLIN, 0}};
        int n = ::poll(fds, stdout_fd_ >= 0 ? 2 : 1, remaining_ms(deadline));
        if (n < 0 && errno != EINTR) throw_errno("poll");
        if (n > 0 && stdout_fd_ >= 0 && fds[1].revents) read_available();
    }
    // The child is gone, so what is left in the pipe is all there is (bounded all the same).
    for (int i = 0; i < 1000 && read_available(); ++i) {
    }
    return exit_status_;
}

std::size_t peer_process::count(const event_predicate& pred) const {
    return static_cast<std::size_t>(std::count_if(events_.begin(), events_.end(), pred));
}

const event* peer_process::find(const event_predicate& pred) const {
    auto it = std::find_if(events_.begin(), events_.end(), pred);
    return it == events_.end() ? nullptr : &*it;
}

std::optional<event> peer_process::try_wait_for(const event_predicate& pred,
                                                test_clock::duration timeout, std::size_t from) {
    auto deadline = test_clock::now() + timeout;
    peer_process* self = this;
    std::size_t scanned = from;
    std::optional<event> found;
    auto match = [&] {
        for (; scanned < events_.size() && !found; ++scanned)
            if (pred(events_[scanned])) found = events_[scanned];
        // Stop early when stdout closed: nothing more can arrive.
        return found.has_value() || stdout_fd_ < 0;
    };
    poll_until({&self, 1}, match, deadline - test_clock::now());
    return found;
}

event peer_process::wait_for(const event_predicate& pred, test_clock::duration timeout,
                             std::string_view what, std::size_t from) {
    if (auto e = try_wait_for(pred, timeout, from)) return *e;
    std::ostringstream msg;
    msg << "peer " << options_.nick << " (pid " << pid_ << "): ";
    if (stdout_fd_ < 0)
        msg << "stdout closed";
    else
        msg << "timed out after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count() << " ms";
    msg << " waiting for: " << what << "\n" << describe();
    throw std::runtime_error(msg.str());
}

const std::string& peer_process::wait_ready(test_clock::duration timeout) {
    auto e = wait_for(is_event("ready"), timeout, "ready event");
    listen_ = e.str("listen");
    peer_id_ = e.str("peer_id");
    return listen_;
}

std::string peer_process::stderr_text() const {
    std::ifstream in(dir_ / "stderr.log", std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string peer_process::stderr_tail(std::size_t lines) const {
    std::string text = stderr_text();
    std::size_t pos = text.size();
    // Skip a trailing newline so it does not count as an empty last line.
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (std::size_t i = 0; i < lines && pos > 0; ++i) {
        std::size_t nl = text.rfind('\n', pos - 1);
        if (nl == std::string::npos) return text;
        pos = nl;
    }
    return text.substr(pos == 0 ? 0 : pos + 1);
}

std::string peer_process::describe(std::size_t last_events) const {
    std::ostringstream out;
    out << "--- " << events_.size() << " events from " << options_.nick << " (" << peer_id_
        << " at " << listen_ << "), last " << std::min(last_events, events_.size()) << ":\n";
    std::size_t first = events_.size() > last_events ? events_.size() - last_events : 0;
    for (std::size_t i = first; i < events_.size(); ++i)
        out << "  [" << i << "] " << events_[i].json.dump() << "\n";
    if (!partial_line_.empty()) out << "  (unterminated: " << partial_line_ << ")\n";
    if (exit_status_) out << "--- exited with " << *exit_status_ << "\n";
    out << "--- stderr tail of " << options_.nick << ":\n" << stderr_tail();
    return out.str();
}

bool poll_many(std::span<peer_process* const> procs, test_clock::duration timeout) {
    std::vector<pollfd> fds;
    std::vector<peer_process*> owners;
    for (auto* p : procs) {
        if (p->stdout_fd() >= 0) {
            fds.push_back({p->stdout_fd(), POLLIN, 0});
            owners.push_back(p);
        }
        if (p->wants_write()) {
            fds.push_back({p->stdin_fd(), POLLOUT, 0});
            owners.push_back(p);
        }
    }
    if (fds.empty()) return false;
    int ms = static_cast<int>(std::clamp<long long>(
        std::chrono::ceil<std::chrono::milliseconds>(timeout).count(), 0, 60'000));
    int n = ::poll(fds.data(), fds.size(), ms);
    if (n < 0 && errno != EINTR) throw_errno("poll");
    if (n <= 0) return false;
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        if (fds[i].events == POLLIN)
            owners[i]->read_available();
        else
            owners[i]->flush_stdin();
    }
    return true;
}

bool poll_until(std::span<peer_process* const> procs, const std::function<bool()>& done,
                test_clock::duration timeout) {
    auto deadline = test_clock::now() + timeout;
    // Each turn either makes progress or waits out the remaining time, so this ends.
    while (!done()) {
        auto left = deadline - test_clock::now();
        if (left <= 0s) return false;
        if (!poll_many(procs, left) && test_clock::now() >= deadline) return done();
        // Every stdout closed: poll_many returns at once; nothing more can change.
        if (std::none_of(procs.begin(), procs.end(),
                         [](auto* p) { return p->stdout_fd() >= 0 || p->wants_write(); }))
            return done();
    }
    return true;
}

void wait_all(std::span<peer_process* const> procs, const event_predicate& pred,
              test_clock::duration timeout, std::string_view what,
              std::span<const std::size_t> from) {
    std::vector<std::size_t> scanned(procs.size(), 0);
    if (!from.empty())
        std::copy_n(from.begin(), std::min(from.size(), procs.size()), scanned.begin());
    std::vector<bool> found(procs.size(), false);
    auto all_found = [&] {
        for (std::size_t i = 0; i < procs.size(); ++i) {
            const auto& events = procs[i]->events();
            for (; !found[i] && scanned[i] < events.size(); ++scanned[i])
                found[i] = pred(events[scanned[i]]);
        }
        return std::all_of(found.begin(), found.end(), [](bool f) { return f; });
    };
    if (poll_until(procs, all_found, timeout)) return;
    std::ostringstream msg;
    msg << "timed out after "
        << std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()
        << " ms waiting for: " << what << ", on these peers:\n";
    for (std::size_t i = 0; i < procs.size(); ++i)
        if (!found[i]) msg << procs[i]->describe(20) << "\n";
    throw std::runtime_error(msg.str());
}

std::set<std::string> neighbours(const peer_process& p) {
    std::set<std::string> out;
    for (const auto& e : p.events()) {
        if (e.name() == "peer_up") out.insert(e.str("peer_id"));
        if (e.name() == "peer_down") out.erase(e.str("peer_id"));
    }
    return out;
}

std::unique_ptr<peer_process> start_peer(peer_options options, test_clock::duration ready_timeout) {
    auto p = std::make_unique<peer_process>(std::move(options));
    p->wait_ready(ready_timeout);
    return p;
}

std::vector<peer_process*> pointers(const std::vector<std::unique_ptr<peer_process>>& procs) {
    std::vector<peer_process*> out;
    for (const auto& p : procs) out.push_back(p.get());
    return out;
}

std::uint16_t port_of(std::string_view host_port) {
    auto colon = host_port.rfind(':');
    if (colon == std::string_view::npos) return 0;
    return static_cast<std::uint16_t>(std::atoi(std::string(host_port.substr(colon + 1)).c_str()));
}

std::uint16_t dead_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_errno("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
        ::close(fd);
        throw_errno("bind");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool wait_full_mesh(std::span<peer_process* const> procs, test_clock::duration limit) {
    return poll_until(
        procs,
        [&] {
            return std::all_of(procs.begin(), procs.end(), [&](const peer_process* p) {
                return neighbours(*p).size() == procs.size() - 1;
            });
        },
        limit);
}

pair_of_peers::pair_of_peers() {
    peer_options oa;
    oa.nick = "alice";
    a = start_peer(oa);
    peer_options ob;
    ob.nick = "bob";
    ob.joins = {a->listen()};
    b = start_peer(ob);
    a->wait_for(is_peer_up(b->peer_id()), 5s, "peer_up for bob");
    b->wait_for(is_peer_up(a->peer_id()), 5s, "peer_up for alice");
}

}  // namespace confab::test

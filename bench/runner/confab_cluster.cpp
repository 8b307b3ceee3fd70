#include "bench/runner/confab_cluster.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/peer_process.hpp"  // seed_shared_secret, CONFAB_BINARY

extern char** environ;

namespace confab::bench {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

constexpr std::string_view room = "bench";

// CONFAB_BIN measures another build (say, the commit before a change) with the same bench.
std::string confab_binary() {
    const char* other = std::getenv("CONFAB_BIN");
    return other && *other ? other : CONFAB_BINARY;
}

// The value of a string field in one JSON line, when it holds no escapes (ours never do).
std::string_view string_field(std::string_view line, std::string_view key) {
    std::string pattern = "\"" + std::string(key) + "\":\"";
    auto at = line.find(pattern);
    if (at == std::string_view::npos) return {};
    at += pattern.size();
    auto end = line.find('"', at);
    return end == std::string_view::npos ? std::string_view{} : line.substr(at, end - at);
}

}  // namespace

// One confab process, its stdin and stdout as non-blocking pipes and its stderr in a file.
// Lighter than the tests' peer_process: it keeps no events, because at a few thousand
// messages a second to 200 peers parsing and keeping every line would make the harness,
// which shares the cores with the peers, the bottleneck.
class headless_process {
public:
    headless_process(const std::filesystem::path& dir, std::vector<std::string> args) : dir_(dir) {
        std::filesystem::create_directories(dir / "data");
        std::filesystem::create_directories(dir / "downloads");
        confab::test::seed_shared_secret(dir / "data", std::string(room));
        const std::string binary = confab_binary();
        args.insert(args.begin(), {binary, "--headless", "--data-dir", (dir / "data").string(),
                                   "--downloads", (dir / "downloads").string()});
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        int in_pipe[2], out_pipe[2];
        if (::pipe2(in_pipe, O_CLOEXEC) < 0) throw_errno("pipe2");
        if (::pipe2(out_pipe, O_CLOEXEC) < 0) throw_errno("pipe2");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
        const std::string err_path = (dir / "stderr.log").string();
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
        // The harness ignores SIGPIPE; confab starts with the default, as from a shell.
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t defaults;
        sigemptyset(&defaults);
        // bench/run starts us in the background, where a shell ignores SIGINT: undo that too.
    for (int signo : {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP}) sigaddset(&defaults, signo);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
        const int rc = ::posix_spawn(&pid_, binary.c_str(), &actions, &attr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        ::close(in_pipe[0]);
        ::close(out_pipe[1]);
        stdin_fd_ = in_pipe[1];
        stdout_fd_ = out_pipe[0];
        if (rc != 0) {
            pid_ = -1;
            ::close(stdin_fd_);
            ::close(stdout_fd_);
            throw std::system_error(rc, std::generic_category(), "posix_spawn " + binary);
        }
        ::fcntl(stdout_fd_, F_SETFL, O_NONBLOCK);
        ::fcntl(stdin_fd_, F_SETFL, O_NONBLOCK);
    }

    ~headless_process() {
        // No goodbyes: the whole mesh goes at once, and a clean shutdown of 200 peers would
        // only add seconds to every run.
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
            }
        }
        if (stdin_fd_ >= 0) ::close(stdin_fd_);
        if (stdout_fd_ >= 0) ::close(stdout_fd_);
    }

    headless_process(const headless_process&) = delete;
    headless_process& operator=(const headless_process&) = delete;

    void send_line(const std::string& text) {
        pending_in_ += text;
        pending_in_ += '\n';
        flush();
    }

    void flush() {
        while (stdin_fd_ >= 0 && !pending_in_.empty()) {
            const ssize_t n = ::write(stdin_fd_, pending_in_.data(), pending_in_.size());
            if (n > 0) {
                pending_in_.erase(0, static_cast<std::size_t>(n));
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && errno == EAGAIN) {
                return;
            } else {
                pending_in_.clear();  // the peer is gone; its stdout EOF says so
                return;
            }
        }
    }

    // Reads what is there (bounded, so one busy peer cannot starve the rest) and hands each
    // complete line to `on_line`. False once stdout is closed.
    template <typename F>
    bool read_available(F&& on_line) {
        if (stdout_fd_ < 0) return false;
        char buf[65536];
        for (int i = 0; i < 16; ++i) {
            const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
            if (n > 0) {
                partial_out_.append(buf, static_cast<std::size_t>(n));
                const auto at = bench_clock::now();
                std::size_t start = 0;
                for (std::size_t nl; (nl = partial_out_.find('\n', start)) != std::string::npos;
                     start = nl + 1) {
                    on_line(std::string_view(partial_out_).substr(start, nl - start), at);
                }
                partial_out_.erase(0, start);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return true;
            ::close(stdout_fd_);
            stdout_fd_ = -1;
            return false;
        }
        return true;
    }

    std::string stderr_tail() const {
        std::ifstream in(dir_ / "stderr.log");
        std::string all((std::istreambuf_iterator<char>(in)), {});
        return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
    }

    pid_t pid() const { return pid_; }
    int stdin_fd() const { return stdin_fd_; }
    int stdout_fd() const { return stdout_fd_; }
    bool wants_write() const { return stdin_fd_ >= 0 && !pending_in_.empty(); }

    std::string listen;  // from its ready event
    std::uint64_t stats_answers = 0;
    nlohmann::json last_stats;

private:
    std::filesystem::path dir_;
    pid_t pid_ = -1;
    int stdin_fd_ = -1;
    int stdout_fd_ = -1;
    std::string pending_in_;
    std::string partial_out_;
};

confab_cluster::confab_cluster(options o) : options_(std::move(o)) {
    std::signal(SIGPIPE, SIG_IGN);
    std::mt19937 rng(options_.seed);
    std::vector<delivery> ignored;
    for (std::size_t i = 0; i < options_.peers; ++i) {
        check_stop("starting confab peers");
        std::vector<std::string> args = {"--nick",      "b" + std::to_string(i),
                                         "--listen",    "127.0.0.1:0",
                                         "--room",      std::string(room),
                                         "--log-level", options_.log_level};
        if (i > 0) {
            args.push_back("--join");
            args.push_back(peers_[rng() % peers_.size()]->listen);
        }
        args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
        last_start_ = bench_clock::now();
        peers_.push_back(std::make_unique<headless_process>(
            options_.tmp / ("peer-" + std::to_string(i)), std::move(args)));
        // Its ready event names its port; the others are read meanwhile so that none blocks
        // on a full pipe.
        const auto deadline = bench_clock::now() + 10s;
        while (peers_.back()->listen.empty()) {
            check_stop("waiting for a confab peer's ready event");
            if (bench_clock::now() > deadline || peers_.back()->stdout_fd() < 0) {
                throw std::runtime_error("confab peer " + std::to_string(i) +
                                         " sent no ready event within 10 s; its stderr:\n" +
                                         peers_.back()->stderr_tail());
            }
            poll(10ms, ignored);
        }
    }
}

confab_cluster::~confab_cluster() = default;

void confab_cluster::send(std::size_t from, const std::string& text) {
    peers_.at(from)->send_line(text);
}

void confab_cluster::handle_line(std::size_t peer, std::string_view line,
                                 bench_clock::time_point at, std::vector<delivery>& out) {
    // Messages are most of the traffic: read without a JSON parser (bench texts hold no
    // quotes or escapes). Everything else is rare and parsed properly.
    if (line.find("\"event\":\"message\"") != std::string_view::npos) {
        if (line.find("\"own\":true") != std::string_view::npos) return;
        out.push_back({peer, std::string(string_field(line, "text")), at});
        return;
    }
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return;
    const auto name = j.value("event", "");
    auto& p = *peers_[peer];
    if (name == "ready") {
        p.listen = j.value("listen", "");
    } else if (name == "stats") {
        p.last_stats = std::move(j);
        ++p.stats_answers;
    }
}

void confab_cluster::poll(bench_clock::duration timeout, std::vector<delivery>& out) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> owner;
    for (std::size_t i = 0; i < peers_.size(); ++i) {
        auto& p = *peers_[i];
        if (p.stdout_fd() >= 0) {
            fds.push_back({p.stdout_fd(), POLLIN, 0});
            owner.push_back(i);
        }
        if (p.wants_write()) {
            fds.push_back({p.stdin_fd(), POLLOUT, 0});
            owner.push_back(i);
        }
    }
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(ms, 0, 1000)));
    if (n < 0 && errno != EINTR) throw_errno("poll");
    if (n <= 0) return;
    for (std::size_t k = 0; k < fds.size(); ++k) {
        if (!fds[k].revents) continue;
        const std::size_t i = owner[k];
        auto& p = *peers_[i];
        if (fds[k].events & POLLOUT) {
            p.flush();
        } else {
            p.read_available([&](std::string_view line, bench_clock::time_point at) {
                handle_line(i, line, at, out);
            });
        }
    }
}

totals confab_cluster::sample_totals(std::vector<delivery>& out) {
    std::vector<std::uint64_t> before;
    for (auto& p : peers_) {
        before.push_back(p->stats_answers);
        p->send_line("/stats");
    }
    const auto deadline = bench_clock::now() + 20s;
    for (;;) {
        check_stop("waiting for /stats answers");
        std::size_t missing = 0;
        for (std::size_t i = 0; i < peers_.size(); ++i) {
            if (peers_[i]->stats_answers == before[i]) ++missing;
        }
        if (missing == 0) break;
        if (bench_clock::now() > deadline) {
            throw std::runtime_error(std::to_string(missing) +
                                     " confab peers did not answer /stats within 20 s");
        }
        poll(50ms, out);
    }
    totals t;
    for (auto& p : peers_) {
        t.copies_received += p->last_stats.value("chat_frames_received", std::uint64_t{0});
        // Every byte on a link is written by one end: the sum of what was sent counts each
        // once.
        t.wire_bytes += p->last_stats.value("bytes_sent", std::uint64_t{0});
        t.cpu_ticks += sample_process(p->pid()).cpu_ticks;
    }
    return t;
}

memory confab_cluster::sample_memory() {
    std::vector<proc_sample> samples;
    for (auto& p : peers_) samples.push_back(sample_process(p->pid()));
    return summarise(samples);
}

}  // namespace confab::bench

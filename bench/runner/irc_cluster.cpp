#include "bench/runner/irc_cluster.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/peer_process.hpp"  // dead_port

extern char** environ;

namespace confab::bench {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

constexpr std::string_view channel = "#bench";

// Everything that would slow a client down or turn it away is off: the penalty that
// throttles a chatty client (MaxPenaltyTime = 0, "disable penalties altogether" in
// ngircd.conf(5) of 26.x), the per-IP and total connection limits, the channel limit, and
// the DNS and ident lookups each new connection would wait for. Pings are rare so that an
// idle client is never asked.
std::string server_config(std::uint16_t port, const std::filesystem::path& pid_file) {
    return "[Global]\n"
           "\tName = bench.confab.invalid\n"
           "\tInfo = confab bench/run baseline\n"
           "\tAdminInfo1 = bench/run\n"
           "\tAdminInfo2 = 127.0.0.1\n"
           "\tAdminEMail = bench@confab.invalid\n"
           "\tListen = 127.0.0.1\n"
           "\tPorts = " + std::to_string(port) + "\n"
           "\tPidFile = " + pid_file.string() + "\n"
           "\tMotdPhrase = bench\n"
           "[Limits]\n"
           "\tMaxConnections = 0\n"
           "\tMaxConnectionsIP = 0\n"
           "\tMaxJoins = 0\n"
           "\tMaxPenaltyTime = 0\n"
           "\tPingTimeout = 600\n"
           "\tPongTimeout = 600\n"
           "[Options]\n"
           "\tDNS = no\n"
           "\tIdent = no\n"
           "\tPAM = no\n";
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::string all((std::istreambuf_iterator<char>(in)), {});
    return all.size() > 3000 ? all.substr(all.size() - 3000) : all;
}

int connect_loopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_errno("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

}  // namespace

irc_cluster::irc_cluster(std::size_t clients, const std::string& ircd,
                         const std::filesystem::path& tmp) {
    std::signal(SIGPIPE, SIG_IGN);
    start_server(ircd, tmp);
    try {
        clients_.resize(clients);
        for (std::size_t i = 0; i < clients; ++i) {
            connect_client(i);
            // One at a time, each registered before the next, so the listen backlog never
            // overflows (a dropped SYN would cost a second).
            std::vector<delivery> ignored;
            const auto deadline = bench_clock::now() + 10s;
            while (!clients_[i].registered) {
                check_stop("registering IRC clients");
                if (clients_[i].fd < 0 || bench_clock::now() > deadline) {
                    throw std::runtime_error("IRC client " + std::to_string(i) +
                                             " not registered within 10 s (" + clients_[i].error +
                                             "); server log:\n" + read_file(log_));
                }
                poll(10ms, ignored);
            }
        }
    } catch (...) {
        for (auto& c : clients_)
            if (c.fd >= 0) ::close(c.fd);
        stop_server();
        throw;
    }
}

irc_cluster::~irc_cluster() {
    for (auto& c : clients_)
        if (c.fd >= 0) ::close(c.fd);
    stop_server();
}

void irc_cluster::start_server(const std::string& ircd, const std::filesystem::path& tmp) {
    std::filesystem::create_directories(tmp);
    port_ = confab::test::dead_port();
    const auto config = tmp / "ngircd.conf";
    log_ = tmp / "ngircd.log";
    {
        std::ofstream out(config);
        out << server_config(port_, tmp / "ngircd.pid");
        if (!out) throw std::runtime_error("cannot write " + config.string());
    }
    std::vector<std::string> args = {ircd, "--nodaemon", "--config", config.string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    // bench/run starts us in the background, where a shell ignores SIGINT: undo that too.
    for (int signo : {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP}) sigaddset(&defaults, signo);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    const int rc = ::posix_spawn(&server_pid_, ircd.c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        server_pid_ = -1;
        throw std::system_error(rc, std::generic_category(), "starting " + ircd);
    }
    // Up when it takes a connection: at most 5 s, trying every 20 ms.
    for (int attempt = 0; attempt < 250; ++attempt) {
        check_stop("starting ngircd");
        const int fd = connect_loopback(port_);
        if (fd >= 0) {
            ::close(fd);
            return;
        }
        int status = 0;
        if (::waitpid(server_pid_, &status, WNOHANG) == server_pid_) {
            server_pid_ = -1;
            throw std::runtime_error("ngircd exited at start; its log:\n" + read_file(log_));
        }
        ::poll(nullptr, 0, 20);
    }
    stop_server();
    throw std::runtime_error("ngircd took no connection within 5 s; its log:\n" +
                             read_file(log_));
}

void irc_cluster::stop_server() {
    if (server_pid_ <= 0) return;
    ::kill(server_pid_, SIGTERM);
    // It says goodbye to every client first: give it 2 s, then no choice.
    for (int i = 0; i < 200; ++i) {
        if (::waitpid(server_pid_, nullptr, WNOHANG) == server_pid_) {
            server_pid_ = -1;
            return;
        }
        ::poll(nullptr, 0, 10);
    }
    ::kill(server_pid_, SIGKILL);
    while (::waitpid(server_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    server_pid_ = -1;
}

void irc_cluster::connect_client(std::size_t i) {
    auto& c = clients_[i];
    last_start_ = bench_clock::now();
    c.fd = connect_loopback(port_);
    if (c.fd < 0) throw_errno("connecting IRC client " + std::to_string(i));
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(c.fd, F_SETFL, O_NONBLOCK);
    const std::string nick = "b" + std::to_string(i);
    // The JOIN waits in the server's buffer until registration is done.
    c.out = "NICK " + nick + "\r\nUSER " + nick + " 0 * :bench\r\nJOIN " +
            std::string(channel) + "\r\n";
    flush(c);
}

void irc_cluster::flush(client& c) {
    while (c.fd >= 0 && !c.out.empty()) {
        const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes_ += static_cast<std::uint64_t>(n);
            c.out.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            c.error = "send failed";
            ::close(c.fd);
            c.fd = -1;
            return;
        }
    }
}

void irc_cluster::send(std::size_t from, const std::string& text) {
    auto& c = clients_.at(from);
    c.out += "PRIVMSG " + std::string(channel) + " :" + text + "\r\n";
    flush(c);
}

void irc_cluster::read(std::size_t i, std::vector<delivery>& out) {
    auto& c = clients_[i];
    char buf[65536];
    for (int round = 0; round < 16 && c.fd >= 0; ++round) {
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n > 0) {
            bytes_ += static_cast<std::uint64_t>(n);
            c.in.append(buf, static_cast<std::size_t>(n));
            const auto at = bench_clock::now();
            std::size_t start = 0;
            for (std::size_t nl; (nl = c.in.find('\n', start)) != std::string::npos;
                 start = nl + 1) {
                std::string_view line = std::string_view(c.in).substr(start, nl - start);
                if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
                handle_line(i, line, at, out);
            }
            c.in.erase(0, start);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (c.error.empty()) c.error = "closed by the server";
        ::close(c.fd);
        c.fd = -1;
    }
}

void irc_cluster::handle_line(std::size_t i, std::string_view line, bench_clock::time_point at,
                              std::vector<delivery>& out) {
    auto& c = clients_[i];
    if (line.starts_with("PING ")) {
        c.out += "PONG " + std::string(line.substr(5)) + "\r\n";
        flush(c);
        return;
    }
    if (line.starts_with("ERROR")) {
        c.error = std::string(line);
        return;
    }
    // ":prefix COMMAND params"
    if (!line.starts_with(':')) return;
    const auto space = line.find(' ');
    if (space == std::string_view::npos) return;
    std::string_view rest = line.substr(space + 1);
    if (rest.starts_with("PRIVMSG ")) {
        const std::string marker = "PRIVMSG " + std::string(channel) + " :";
        if (!rest.starts_with(marker)) return;
        ++privmsgs_;
        out.push_back({i, std::string(rest.substr(marker.size())), at});
    } else if (rest.starts_with("001 ")) {
        c.registered = true;
    } else if (rest.starts_with("366 ")) {
        c.joined = true;
    } else if (rest.size() > 3 && (rest[0] == '4' || rest[0] == '5')) {
        c.error = std::string(rest);  // a numeric error: kept to explain a failure
    }
}

void irc_cluster::poll(bench_clock::duration timeout, std::vector<delivery>& out) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> owner;
    for (std::size_t i = 0; i < clients_.size(); ++i) {
        const auto& c = clients_[i];
        if (c.fd < 0) continue;
        fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
        owner.push_back(i);
    }
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
    const int n =
        ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(ms, 0, 1000)));
    if (n < 0 && errno != EINTR) throw_errno("poll");
    if (n <= 0) return;
    for (std::size_t k = 0; k < fds.size(); ++k) {
        if (!fds[k].revents) continue;
        auto& c = clients_[owner[k]];
        if (fds[k].revents & POLLOUT) flush(c);
        if (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) read(owner[k], out);
    }
}

totals irc_cluster::sample_totals(std::vector<delivery>&) {
    totals t;
    t.copies_received = privmsgs_;
    t.wire_bytes = bytes_;
    t.cpu_ticks = sample_process(server_pid_).cpu_ticks;
    return t;
}

memory irc_cluster::sample_memory() {
    return summarise({sample_process(server_pid_)});
}

std::size_t irc_cluster::dropped() const {
    return static_cast<std::size_t>(
        std::count_if(clients_.begin(), clients_.end(), [](const client& c) { return c.fd < 0; }));
}

}  // namespace confab::bench

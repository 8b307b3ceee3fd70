#include "tests/support/netns.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace confab::test {

namespace {

// Looked up by hand so that a test run by a user whose PATH lacks the sbin folders still finds
// `ip`, and so that a missing tool is a clear skip reason rather than a spawn error.
std::string find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    std::vector<std::string> dirs;
    if (const char* path = std::getenv("PATH")) {
        std::istringstream in(path);
        for (std::string d; std::getline(in, d, ':');)
            if (!d.empty()) dirs.push_back(d);
    }
    for (const char* d : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) dirs.emplace_back(d);
    for (const auto& d : dirs) {
        auto candidate = std::filesystem::path(d) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return {};
}

std::string joined(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
    return out;
}

// The pid in "cfz<pid>-name", or 0 when the name is not one of ours.
pid_t owner_of(const std::string& ns) {
    if (ns.rfind("cfz", 0) != 0) return 0;
    auto dash = ns.find('-');
    if (dash == std::string::npos || dash == 3) return 0;
    pid_t pid = 0;
    for (std::size_t i = 3; i < dash; ++i) {
        if (ns[i] < '0' || ns[i] > '9') return 0;
        pid = pid * 10 + (ns[i] - '0');
    }
    return pid;
}

std::string cut_table(const std::string& ifname) {
    return "cfz_cut_" + ifname;
}

}  // namespace

command_result run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout) {
    if (argv.empty()) throw std::invalid_argument("run_command: empty argv");
    const std::string program = find_program(argv[0]);
    command_result result;
    if (program.empty()) {
        result.status = 127;
        result.output = argv[0] + ": not found";
        return result;
    }
    int out[2];
    if (::pipe2(out, O_CLOEXEC) < 0)
        throw std::system_error(errno, std::generic_category(), "pipe2");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
        ::close(out[0]);
        throw std::system_error(rc, std::generic_category(), "posix_spawn " + program);
    }
    // Read until EOF (the command and anything it started closed the pipe) or the deadline.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd fd{out[0], POLLIN, 0};
        int n = ::poll(&fd, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        ssize_t got = ::read(out[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        result.output.append(buf, static_cast<std::size_t>(got));
    }
    ::close(out[0]);
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == 0) {
        // Still running at the deadline (or it closed its output early): give it a moment via
        // a bounded pidfd wait, then kill it.
        int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (pidfd >= 0) {
            pollfd fd{pidfd, POLLIN, 0};
            ::poll(&fd, 1, static_cast<int>(std::max<long long>(0, left.count())));
            ::close(pidfd);
        }
        if (::waitpid(pid, &status, WNOHANG) == 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            result.status = -1;
            result.output += "\n(killed after " + std::to_string(timeout.count()) + " ms)";
            return result;
        }
    }
    if (WIFEXITED(status)) result.status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.status = 128 + WTERMSIG(status);
    return result;
}

std::string netns_unavailable_reason() {
    if (find_program("ip").empty()) return "no `ip` command (Debian package iproute2)";
    const std::string ns = "cfz" + std::to_string(::getpid()) + "-probe";
    auto made = run_command({"ip", "netns", "add", ns});
    if (made.status != 0) return "cannot make a network namespace: " + made.output;
    auto veth = run_command(
        {"ip", "-n", ns, "link", "add", "name", "cfz0", "type", "veth", "peer", "name", "cfz1"});
    run_command({"ip", "netns", "del", ns});
    if (veth.status != 0) return "cannot make a veth pair: " + veth.output;
    return {};
}

netns_lab::netns_lab()
    : prefix_("cfz" + std::to_string(::getpid()) + "-"),
      ip_(find_program("ip")),
      nft_(find_program("nft")) {
    if (ip_.empty()) throw std::runtime_error("netns_lab: no `ip` command");
    remove_leftovers();
}

netns_lab::~netns_lab() {
    // Deleting a namespace takes its veth ends, addresses and nft tables with it.
    for (auto it = made_.rbegin(); it != made_.rend(); ++it)
        run_command({ip_, "netns", "del", *it});
}

void netns_lab::remove_leftovers() {
    auto list = run_command({"ip", "netns", "list"});
    if (list.status != 0) return;
    std::istringstream in(list.output);
    for (std::string line; std::getline(in, line);) {
        // "NAME" or "NAME (id: 3)".
        std::string name = line.substr(0, line.find(' '));
        pid_t pid = owner_of(name);
        if (pid <= 0) continue;
        if (::kill(pid, 0) == 0 || errno != ESRCH) continue;
        run_command({"ip", "netns", "del", name});
    }
}

void netns_lab::run_or_throw(const std::vector<std::string>& argv) {
    auto r = run_command(argv);
    if (r.status != 0)
        throw std::runtime_error("`" + joined(argv) + "` failed (" + std::to_string(r.status) +
                                 "): " + r.output);
}

void netns_lab::ip(const std::vector<std::string>& args) {
    std::vector<std::string> argv{ip_};
    argv.insert(argv.end(), args.begin(), args.end());
    run_or_throw(argv);
}

std::string netns_lab::add_namespace(std::string_view name) {
    std::string full = prefix_ + std::string(name);
    ip({"netns", "add", full});
    made_.push_back(full);
    ip({"-n", full, "link", "set", "lo", "up"});
    return full;
}

void netns_lab::add_link(const std::string& ns_a, const std::string& addr_a,
                         const std::string& ns_b, const std::string& addr_b,
                         const std::string& ifname) {
    ip({"link", "add", "name", ifname, "netns", ns_a, "type", "veth", "peer", "name", ifname,
        "netns", ns_b});
    ip({"-n", ns_a, "addr", "add", addr_a, "dev", ifname});
    ip({"-n", ns_b, "addr", "add", addr_b, "dev", ifname});
    ip({"-n", ns_a, "link", "set", ifname, "up"});
    ip({"-n", ns_b, "link", "set", ifname, "up"});
}

std::string netns_lab::cut_method() const {
    return nft_.empty() ? "link down" : "nftables";
}

void netns_lab::cut(const std::string& ns, const std::string& ifname) {
    if (nft_.empty()) {
        ip({"-n", ns, "link", "set", ifname, "down"});
        return;
    }
    // Dropped at ingress only, everything (ARP too), before any other hook sees it: a drop on
    // the way out would fail the sender's syscall with EPERM, which no cable does. Cutting both
    // ends drops both directions.
    const std::string table = cut_table(ifname);
    run_or_throw({ip_, "netns", "exec", ns, nft_,
                  "add table netdev " + table + "; add chain netdev " + table +
                      " in { type filter hook ingress device \"" + ifname +
                      "\" priority -500; policy drop; }"});
}

void netns_lab::heal(const std::string& ns, const std::string& ifname) {
    if (nft_.empty()) {
        ip({"-n", ns, "link", "set", ifname, "up"});
        return;
    }
    run_or_throw({ip_, "netns", "exec", ns, nft_, "delete table netdev " + cut_table(ifname)});
}

std::vector<std::string> netns_lab::exec_prefix(const std::string& ns) const {
    return {ip_, "netns", "exec", ns};
}

}  // namespace confab::test

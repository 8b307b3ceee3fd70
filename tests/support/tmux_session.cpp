#include "tests/support/tmux_session.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace confab::test {

namespace {

using namespace std::chrono_literals;

// Between two looks at the screen. Each look is one tmux client (a few ms of CPU), so this
// bounds the harness's own load as much as the reaction time.
constexpr auto poll_interval = 10ms;
// No tmux command takes long; one that does is a wedged server, not a slow machine.
constexpr auto command_timeout = 10s;
constexpr const char* session_name = "confab-e2e";
constexpr const char* window_target = "confab-e2e:0";

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

long long ms(tmux_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

int remaining_ms(tmux_clock::time_point deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - tmux_clock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 60'000));
}

int pidfd_open(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

bool executable_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string dirs = path && *path ? path : "/usr/bin:/bin";
    std::istringstream in(dirs);
    for (std::string dir; std::getline(in, dir, ':');) {
        if (dir.empty()) dir = ".";
        if (::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    }
    return false;
}

// Debian keeps some entries in /lib/terminfo and the rest in /usr/share/terminfo.
bool have_terminfo(const std::string& name) {
    for (const char* dir : {"/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo"}) {
        const std::string first(1, name[0]);
        if (std::filesystem::exists(std::filesystem::path(dir) / first / name)) return true;
    }
    return false;
}

bool has_prefix(const char* entry, std::string_view name) {
    return std::strncmp(entry, name.data(), name.size()) == 0 && entry[name.size()] == '=';
}

// Reads a pipe until EOF or until it would block.
void drain(int fd, std::string& into) {
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            into.append(buf, static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return;
        }
    }
}

struct run_result {
    int status = -1;  // exit code, or 128 + signal
    std::string out;
    std::string err;
};

// Runs argv with the given environment and collects stdout and stderr, bounded by a timeout.
run_result run(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    // O_CLOEXEC: a program started meanwhile must not hold our ends open.
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) < 0) throw_errno("pipe2");
    if (::pipe2(err_pipe, O_CLOEXEC) < 0) {
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        throw_errno("pipe2");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    // The harness may ignore SIGPIPE (peer_process does); tmux and what it starts get the
    // default, as from a shell.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, &attr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (rc != 0) {
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        throw std::system_error(rc, std::generic_category(), "posix_spawnp " + argv[0]);
    }
    ::fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
    ::fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
    // A pidfd makes the client's exit pollable next to its output (Linux 5.3 and later).
    const int pidfd = pidfd_open(pid);
    if (pidfd < 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        throw_errno("pidfd_open");
    }

    // Until the client exits, not until EOF: the server tmux forks on the first command may
    // keep a copy of the pipes.
    run_result result;
    const auto deadline = tmux_clock::now() + command_timeout;
    bool exited = false;
    while (!exited) {
        pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {pidfd, POLLIN, 0}};
        const int n = ::poll(fds, 3, remaining_ms(deadline));
        if (n < 0 && errno != EINTR) throw_errno("poll");
        if (fds[0].revents) drain(out_pipe[0], result.out);
        if (fds[1].revents) drain(err_pipe[0], result.err);
        int status = 0;
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            exited = true;
            result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        } else if (tmux_clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            result.status = -1;
            result.err += "(killed after " + std::to_string(ms(command_timeout)) + " ms)";
            exited = true;
        }
    }
    // What the client wrote before exiting is all in the pipes now.
    drain(out_pipe[0], result.out);
    drain(err_pipe[0], result.err);
    for (int fd : {out_pipe[0], err_pipe[0], pidfd}) ::close(fd);
    return result;
}

// Fields of /proc/PID/stat after the command name (which may hold spaces and parentheses):
// [0] is field 3 (state).
std::vector<std::string> stat_fields(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    const auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 > stat.size()) return {};
    std::istringstream rest(stat.substr(close + 2));
    std::vector<std::string> fields;
    for (std::string f; rest >> f;) fields.push_back(f);
    return fields;
}

// Every process whose stat field `index` (as in stat_fields) equals `value`.
std::vector<pid_t> processes_where(std::size_t index, pid_t value) {
    std::vector<pid_t> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        const pid_t pid = static_cast<pid_t>(std::atoi(name.c_str()));
        const auto f = stat_fields(pid);
        if (f.size() > index && std::atoi(f[index].c_str()) == value) out.push_back(pid);
    }
    return out;
}

// One line per process of a session: what a "why did it not exit" message needs.
std::string describe_session(pid_t leader) {
    std::string out;
    for (pid_t pid : processes_where(3, leader)) {  // field 6: session
        const auto f = stat_fields(pid);
        std::ifstream wchan_file("/proc/" + std::to_string(pid) + "/wchan");
        std::string wchan;
        std::getline(wchan_file, wchan);
        std::ifstream cmd_file("/proc/" + std::to_string(pid) + "/cmdline");
        std::string cmdline((std::istreambuf_iterator<char>(cmd_file)), {});
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.size() > 100) cmdline = cmdline.substr(0, 100) + "...";
        out += "  pid " + std::to_string(pid) + " state " + (f.empty() ? "?" : f[0]) + " ppid " +
               (f.size() > 1 ? f[1] : "?") + " pgrp " + (f.size() > 2 ? f[2] : "?") + " wchan " +
               wchan + ": " + cmdline + "\n";
    }
    return out.empty() ? "  (none)\n" : out;
}

std::string join_lines_for_message(const std::string& screen) {
    std::string out;
    std::istringstream in(screen);
    int row = 0;
    for (std::string line; std::getline(in, line); ++row) {
        char label[16];
        std::snprintf(label, sizeof label, "%2d|", row);
        out += label;
        out += line;
        out += "|\n";
    }
    return out;
}

}  // namespace

std::string shell_quote(std::string_view word) {
    std::string out = "'";
    for (char c : word) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    out += '\'';
    return out;
}

tmux_session::tmux_session(tmux_options options) {
    if (options.argv.empty()) throw std::invalid_argument("tmux_session: empty argv");
    if (!executable_on_path("tmux")) {
        throw std::runtime_error(
            "tmux is not installed (not found on PATH): the terminal UI's end-to-end tests run "
            "confab in tmux; scripts/setup.sh installs it (apt-get install tmux)");
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "confab-tmux-XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp");
    dir_ = pattern;
    socket_ = dir_ / "tmux.sock";
    term_ = have_terminfo("tmux-256color") ? "tmux-256color" : "screen-256color";

    // The server (and so the pane) gets this environment: a private HOME, a UTF-8 locale
    // whatever the caller's is, and nothing that ties it to a tmux the tests run inside.
    for (char** e = environ; *e; ++e) {
        bool dropped = false;
        for (std::string_view name : {"HOME", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TMUX",
                                      "TMUX_PANE", "XDG_DATA_HOME", "XDG_CONFIG_HOME"})
            dropped = dropped || has_prefix(*e, name);
        if (!dropped) environment_.emplace_back(*e);
    }
    environment_.push_back("HOME=" + dir_.string());
    environment_.push_back("LANG=C.UTF-8");
    environment_.push_back("TERM=" + term_);
    for (const auto& [name, value] : options.env) {
        // Replaced, not added: getenv finds the first of two entries with one name.
        std::erase_if(environment_,
                      [&](const std::string& e) { return has_prefix(e.c_str(), name); });
        environment_.push_back(name + "=" + value);
    }

    // remain-on-exit keeps a dead pane (its status and last screen) until the destructor.
    // No status line: the pane is the whole window. (`window-size manual` here crashes the
    // tmux 3.3a server at new-session; resize-window sets it on the window instead.)
    {
        std::ofstream conf(dir_ / "tmux.conf");
        conf << "set -g default-terminal " << term_ << "\n"
             << "set -g remain-on-exit on\n"
             << "set -g status off\n"
             << "set -g default-shell /bin/sh\n";
    }
    // The shell only execs the program: the pane's pid is the program's.
    std::string command = "exec";
    for (const auto& a : options.argv) command += " " + shell_quote(a);
    try {
        tmux({"-f", (dir_ / "tmux.conf").string(), "new-session", "-d", "-s", session_name, "-x",
              std::to_string(options.cols), "-y", std::to_string(options.rows), command});
        started_ = true;
        leader_ = pane_pid();
        if (leader_ <= 1) throw std::runtime_error("tmux reports no pid for the pane");
    } catch (...) {
        // No destructor for a half-built object: undo what was done.
        if (started_) {
            try {
                run({"tmux", "-S", socket_.string(), "kill-server"}, environment_);
            } catch (...) {
            }
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        throw;
    }
}

tmux_session::~tmux_session() {
    if (started_) {
        // Whatever still runs in the pane's session (the program, a wrapper shell and its
        // child) is killed by pid and waited for, so that nothing outlives the temp dir. By the
        // session id recorded at start, not by asking tmux: a program that outlived its pane
        // (the server is gone after kill-pane) must not be left running either. A session id
        // cannot be reused while a member of the session lives.
        std::vector<pid_t> members;
        if (leader_ > 1) members = processes_where(3, leader_);  // field 6: session
        for (pid_t p : members) ::kill(p, SIGKILL);
        for (pid_t p : members) wait_process_gone(p, 5s);
        try {
            run({"tmux", "-S", socket_.string(), "kill-server"}, environment_);
        } catch (...) {
        }
    }
    std::error_code ec;
    if (!std::getenv("CONFAB_KEEP_TMP")) std::filesystem::remove_all(dir_, ec);
}

std::string tmux_session::tmux(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {"tmux", "-S", socket_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run(argv, environment_);
    if (r.status != 0) {
        std::string cmd;
        for (const auto& a : args) cmd += " " + a;
        throw std::runtime_error("tmux" + cmd + ": exit " + std::to_string(r.status) + ": " +
                                 r.err);
    }
    return r.out;
}

// tmux treats an argument that ends in ';' as a command separator and drops the ';'; "\;"
// at the end is a literal ';'.
static std::string protect_semicolon(std::string_view text) {
    std::string arg(text);
    if (!arg.empty() && arg.back() == ';') arg.insert(arg.size() - 1, "\\");
    return arg;
}

void tmux_session::send_text(std::string_view text) {
    if (text.empty()) return;
    tmux({"send-keys", "-t", target, "-l", "--", protect_semicolon(text)});
}

void tmux_session::send_keys(std::initializer_list<std::string_view> keys) {
    std::vector<std::string> args = {"send-keys", "-t", target};
    for (auto k : keys) args.emplace_back(k);
    tmux(args);
}

void tmux_session::paste(std::string_view text) {
    tmux({"set-buffer", "-b", "confab-e2e", "--", protect_semicolon(text)});
    tmux({"paste-buffer", "-p", "-d", "-b", "confab-e2e", "-t", target});
}

std::string tmux_session::capture(capture_options options) const {
    std::vector<std::string> args = {"capture-pane", "-p", "-t", target};
    if (options.attributes) args.push_back("-e");
    if (options.history) {
        args.push_back("-S");
        args.push_back("-");
    }
    return tmux(args);
}

void tmux_session::resize(int cols, int rows) {
    tmux({"resize-window", "-t", window_target, "-x", std::to_string(cols), "-y",
          std::to_string(rows)});
}

std::string tmux_session::format(const std::string& fmt) const {
    std::string out = tmux({"display-message", "-p", "-t", target, fmt});
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

pid_t tmux_session::pane_pid() const {
    return static_cast<pid_t>(std::atoi(format("#{pane_pid}").c_str()));
}

bool tmux_session::pane_dead() const {
    return format("#{pane_dead}") == "1";
}

std::optional<int> tmux_session::exit_status() const {
    // The pane is marked dead when its pty closes, the status when tmux reaps the process:
    // in between, dead without a status.
    std::istringstream in(format("#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}"));
    std::string dead, status, signal;
    std::getline(in, dead, ':');
    std::getline(in, status, ':');
    std::getline(in, signal, ':');
    if (dead != "1") return std::nullopt;
    if (!status.empty()) return std::atoi(status.c_str());
    if (!signal.empty()) return 128 + std::atoi(signal.c_str());
    return std::nullopt;
}

int tmux_session::wait_exit(tmux_clock::duration timeout, std::string_view what) const {
    const auto deadline = tmux_clock::now() + timeout;
    for (;;) {
        if (auto status = exit_status()) return *status;
        // tmux 3.3a now and then misses the SIGCHLD of a pane's process (about one exit in
        // five here): the pane is dead, the process a zombie nobody reaps, and the status
        // never comes. Another SIGCHLD makes the server reap its children; it is our server.
        if (pane_dead()) {
            const auto server = static_cast<pid_t>(std::atoi(format("#{pid}").c_str()));
            if (server > 0) ::kill(server, SIGCHLD);
        }
        if (tmux_clock::now() >= deadline) break;
        std::this_thread::sleep_for(poll_interval);
    }
    throw std::runtime_error("timed out after " + std::to_string(ms(timeout)) +
                             " ms waiting for the pane to exit: " + std::string(what) +
                             "\n--- processes in the pane's session:\n" +
                             describe_session(pane_pid()) + "--- screen:\n" +
                             join_lines_for_message(capture()));
}

std::string tmux_session::wait_for_screen(const screen_predicate& pred,
                                          tmux_clock::duration timeout,
                                          std::string_view what) const {
    const auto deadline = tmux_clock::now() + timeout;
    std::string screen;
    for (;;) {
        // One client for both: the screen, then (on a last line) whether the pane died.
        std::string out = tmux({"capture-pane", "-p", "-t", target, ";", "display-message", "-p",
                                "-t", target, "#{pane_dead}"});
        while (!out.empty() && out.back() == '\n') out.pop_back();
        const auto nl = out.rfind('\n');
        const bool dead = out.substr(nl == std::string::npos ? 0 : nl + 1) == "1";
        screen = nl == std::string::npos ? std::string() : out.substr(0, nl + 1);
        if (pred(screen)) return screen;
        if (dead) {
            // tmux scrolls a dead pane's last screen up to print its notice: show it all.
            throw std::runtime_error("the pane died while waiting for: " + std::string(what) +
                                     "\n--- screen, with history:\n" +
                                     join_lines_for_message(capture({false, true})));
        }
        if (tmux_clock::now() >= deadline) break;
        std::this_thread::sleep_for(poll_interval);
    }
    std::string processes;
    try {
        processes = describe_session(pane_pid());
    } catch (const std::exception& e) {
        processes = std::string("  (") + e.what() + ")\n";
    }
    throw std::runtime_error("timed out after " + std::to_string(ms(timeout)) +
                             " ms waiting for: " + std::string(what) +
                             "\n--- processes in the pane's session:\n" + processes +
                             "--- last screen:\n" + join_lines_for_message(screen));
}

std::string tmux_session::wait_for_screen(std::string_view substring, tmux_clock::duration timeout,
                                          std::string_view what) const {
    const std::string needle(substring);
    return wait_for_screen(
        [&](const std::string& screen) { return screen.find(needle) != std::string::npos; },
        timeout, what);
}

std::vector<pid_t> children_of(pid_t pid) {
    return processes_where(1, pid);  // field 4: ppid
}

pid_t wait_for_child(pid_t pid, tmux_clock::duration timeout) {
    const auto deadline = tmux_clock::now() + timeout;
    for (;;) {
        auto kids = children_of(pid);
        if (kids.size() == 1) return kids.front();
        if (tmux_clock::now() >= deadline) {
            throw std::runtime_error("process " + std::to_string(pid) + " has " +
                                     std::to_string(kids.size()) + " children after " +
                                     std::to_string(ms(timeout)) + " ms, expected one");
        }
        std::this_thread::sleep_for(poll_interval);
    }
}

bool wait_process_gone(pid_t pid, tmux_clock::duration timeout) {
    const int fd = pidfd_open(pid);
    if (fd < 0) return errno == ESRCH;
    const auto deadline = tmux_clock::now() + timeout;
    bool gone = false;
    while (!gone) {
        pollfd p{fd, POLLIN, 0};
        const int n = ::poll(&p, 1, remaining_ms(deadline));
        if (n > 0) gone = true;
        if (n < 0 && errno != EINTR) break;
        if (n == 0) break;
    }
    ::close(fd);
    return gone;
}

long cpu_ticks(pid_t pid) {
    const auto f = stat_fields(pid);
    // utime and stime are fields 14 and 15.
    if (f.size() < 13) return -1;
    return std::atol(f[11].c_str()) + std::atol(f[12].c_str());
}

}  // namespace confab::test

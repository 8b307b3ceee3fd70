// File-transfer benchmark: a large random file over loopback from one confab peer to one and
// to five receivers, next to `nc` moving the same file in the same run, and chat latency
// between two other peers of the mesh during each transfer and with none. See
// bench/README.md ("file_bench") for what each figure means.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/peer_process.hpp"
#include "tests/support/temp_dir.hpp"

extern char** environ;

using namespace confab::test;
namespace fs = std::filesystem;

namespace {

struct options {
    std::uint64_t size_mib = 1024;
    int receivers = 5;        // the second transfer's receivers (the first has one)
    int idle_messages = 500;  // latency samples with no transfer
    int nc_runs = 2;          // nc is timed this many times; the best counts
    // Chat probes are this far apart (start to start): a probe load that does not itself
    // compete with the transfer for the CPU.
    int probe_interval_ms = 20;
    int timeout_seconds = 600;
    std::string log_level = "warn";
};

[[noreturn]] void usage(const char* argv0, int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: %s [--size-mib N] [--receivers R] [--idle-messages M] [--nc-runs K]\n"
                 "          [--probe-interval-ms P] [--timeout-seconds T] [--log-level LEVEL]\n",
                 argv0);
    std::exit(code);
}

options parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") usage(argv[0], 0);
        if (i + 1 >= argc) usage(argv[0], 2);
        std::string v = argv[++i];
        auto number = [&] {
            long n = std::atol(v.c_str());
            if (n < 1) usage(argv[0], 2);
            return n;
        };
        if (a == "--size-mib")
            o.size_mib = static_cast<std::uint64_t>(number());
        else if (a == "--receivers")
            o.receivers = static_cast<int>(number());
        else if (a == "--idle-messages")
            o.idle_messages = static_cast<int>(number());
        else if (a == "--nc-runs")
            o.nc_runs = static_cast<int>(number());
        else if (a == "--probe-interval-ms")
            o.probe_interval_ms = static_cast<int>(number());
        else if (a == "--timeout-seconds")
            o.timeout_seconds = static_cast<int>(number());
        else if (a == "--log-level")
            o.log_level = v;
        else
            usage(argv[0], 2);
    }
    return o;
}

double ms(test_clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}
double secs(test_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(q * static_cast<double>(v.size()) + 0.999999);
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

volatile std::sig_atomic_t stop_requested = 0;
void on_stop_signal(int) {
    stop_requested = 1;
}

class budget {
public:
    explicit budget(std::chrono::seconds total) : end_(test_clock::now() + total) {}
    test_clock::duration left(const char* phase) const {
        if (stop_requested) throw std::runtime_error(std::string("interrupted in ") + phase);
        auto d = end_ - test_clock::now();
        if (d <= 0s) throw std::runtime_error(std::string("global deadline passed in ") + phase);
        return d;
    }

private:
    test_clock::time_point end_;
};

void write_random_file(const fs::path& path, std::uint64_t size) {
    std::mt19937_64 rng(42);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    std::vector<std::uint64_t> block((1 << 20) / 8);
    for (std::uint64_t done = 0; done < size;) {
        for (auto& w : block) w = rng();
        auto n = std::min<std::uint64_t>(1 << 20, size - done);
        out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
        done += n;
    }
    if (!out.good()) throw std::runtime_error("cannot write " + path.string());
}

// ---- the nc baseline ----

// A child with stdin and stdout redirected to files; returns its pid.
pid_t spawn(const std::vector<std::string>& args, const std::string& in, const std::string& out) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, in.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv;
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
    return pid;
}

// Waits for a child; adds the CPU seconds (user + system) it used to *cpu_s when given.
int wait_child(pid_t pid, double* cpu_s = nullptr) {
    int status = 0;
    struct rusage usage {};
    while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    if (cpu_s) {
        auto seconds = [](const timeval& t) {
            return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
        };
        *cpu_s += seconds(usage.ru_utime) + seconds(usage.ru_stime);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// CPU seconds (user + system, all threads) a running process has used so far, from
// /proc/PID/stat, at the clock tick's resolution (10 ms).
double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto after_name = stat.rfind(')');  // the name may hold spaces
    if (after_name == std::string::npos) return 0;
    std::istringstream fields(stat.substr(after_name + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // Fields 3..13 come first; utime and stime are fields 14 and 15.
    for (int i = 3; i <= 13; ++i) fields >> field;
    fields >> utime >> stime;
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// True once something listens on 127.0.0.1:port (from /proc/net/tcp, so that checking does
// not use up nc's single accept).
bool listening(std::uint16_t port) {
    char want[32];
    std::snprintf(want, sizeof want, "0100007F:%04X", port);
    std::ifstream tcp("/proc/net/tcp");
    for (std::string line; std::getline(tcp, line);) {
        std::istringstream fields(line);
        std::string sl, local, remote, state;
        fields >> sl >> local >> remote >> state;
        if (local == want && state == "0A") return true;
    }
    return false;
}

std::string command_output(const std::string& cmd) {
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
        ::pclose(p);
    }
    return out;
}

struct nc_tool {
    std::string name;  // "nc (openbsd)", "nc (traditional)", "socat"
    std::vector<std::string> listen(std::uint16_t port) const {
        auto p = std::to_string(port);
        if (name == "socat") return {"socat", "-u", "TCP-LISTEN:" + p + ",bind=127.0.0.1", "-"};
        if (name == "nc (openbsd)") return {"nc", "-l", "127.0.0.1", p};
        return {"nc", "-l", "-p", p};
    }
    std::vector<std::string> send(std::uint16_t port) const {
        auto p = std::to_string(port);
        if (name == "socat") return {"socat", "-u", "-", "TCP:127.0.0.1:" + p};
        if (name == "nc (openbsd)") return {"nc", "-N", "127.0.0.1", p};
        return {"nc", "-q0", "127.0.0.1", p};
    }
};

nc_tool find_nc() {
    if (!command_output("command -v nc").empty()) {
        std::string help = command_output("nc -h 2>&1");
        return {help.find("-N") != std::string::npos ? "nc (openbsd)" : "nc (traditional)"};
    }
    if (!command_output("command -v socat").empty()) return {"socat"};
    throw std::runtime_error(
        "neither nc nor socat is installed (apt-get install netcat-openbsd)");
}

// One copy of `file` to `out` over loopback; seconds from starting the sender to the
// listener's exit (every byte written to `out`); the fsync of `out` after that goes to
// *sync_s, and the CPU seconds each end used to *sender_cpu_s and *listener_cpu_s.
double nc_copy(const nc_tool& nc, const fs::path& file, const fs::path& out, double* sync_s,
               double* sender_cpu_s, double* listener_cpu_s) {
    std::uint16_t port = dead_port();
    pid_t listener = spawn(nc.listen(port), "/dev/null", out.string());
    auto ready_by = test_clock::now() + 5s;
    while (!listening(port)) {
        if (test_clock::now() > ready_by) {
            ::kill(listener, SIGKILL);
            wait_child(listener);
            throw std::runtime_error(nc.name + " did not listen on port " + std::to_string(port));
        }
        ::usleep(2000);  // start-up of a helper, outside the timed part
    }
    auto t0 = test_clock::now();
    pid_t sender = spawn(nc.send(port), file.string(), "/dev/null");
    int rs = wait_child(sender, sender_cpu_s);
    int rl = wait_child(listener, listener_cpu_s);
    auto t1 = test_clock::now();
    if (sync_s) {
        // What confab does before it renames a download: the bytes reach the disk.
        int fd = ::open(out.c_str(), O_RDONLY | O_CLOEXEC);
        ::fsync(fd);
        ::close(fd);
        *sync_s = secs(test_clock::now() - t1);
    }
    if (rs != 0 || rl != 0 || fs::file_size(out) != fs::file_size(file)) {
        throw std::runtime_error(nc.name + " copy failed (sender " + std::to_string(rs) +
                                 ", listener " + std::to_string(rl) + ", " +
                                 std::to_string(fs::file_size(out)) + " bytes)");
    }
    return secs(t1 - t0);
}

// ---- confab ----

// Scans each process's events from where it left off.
struct cursors {
    std::vector<std::size_t> at;
    explicit cursors(const std::vector<peer_process*>& procs) {
        for (auto* p : procs) at.push_back(p->events().size());
    }
};

struct latency_result {
    std::vector<double> samples;
};

// One message at a time, alternately a -> b and b -> a, each waited for (5 s deadline); goes
// on while keep_going() says so (checked between messages) or until `count` when count > 0.
std::chrono::milliseconds probe_interval{20};

std::vector<double> chat_latency(const std::vector<peer_process*>& all, peer_process& a,
                                 peer_process& b, int count,
                                 const std::function<bool()>& keep_going, const budget& time_left,
                                 const char* phase) {
    std::vector<double> samples;
    std::size_t a_at = a.events().size(), b_at = b.events().size();
    for (int i = 0; count > 0 ? i < count : keep_going(); ++i) {
        bool from_a = i % 2 == 0;
        auto& writer = from_a ? a : b;
        auto& reader = from_a ? b : a;
        std::size_t& cur = from_a ? b_at : a_at;
        std::string text = std::string(phase) + " " + std::to_string(i);
        std::optional<test_clock::time_point> got;
        auto written = test_clock::now();
        writer.send_line(text);
        bool ok = poll_until(
            all,
            [&] {
                const auto& ev = reader.events();
                for (; !got && cur < ev.size(); ++cur)
                    if (ev[cur].name() == "message" && ev[cur].str("text") == text)
                        got = ev[cur].at;
                return got.has_value() || stop_requested;
            },
            std::min<test_clock::duration>(5s, time_left.left(phase)));
        time_left.left(phase);
        if (!ok) throw std::runtime_error(std::string("chat message not delivered in 5 s: ") + text);
        samples.push_back(ms(*got - written));
        // Paced, reading every stdout meanwhile (the time is not part of any figure).
        poll_until(all, [] { return stop_requested != 0; },
                   written + probe_interval - test_clock::now());
    }
    return samples;
}

struct transfer_result {
    double hash_s = 0;      // /send -> own file_offer (the sender hashes the file first)
    double transfer_s = 0;  // own file_offer -> the last receiver's file_received
    // own file_offer -> the last receiver's progress at the full size (every byte written,
    // before the fsync, hash check and rename that file_received waits for)
    double bytes_in_s = 0;
    // CPU seconds (all threads) from the offer to the last file_received: the sender's, and
    // the receivers' summed. Both include their chat loops' share of the probes.
    double sender_cpu_s = 0;
    double receivers_cpu_s = 0;
    std::vector<double> chat_ms;
};

// Offers `file` from `sender` (to `to_nick` only, when given) and waits until every one of
// `receivers` reported file_received, measuring chat latency between a and b meanwhile.
transfer_result run_transfer(const std::vector<peer_process*>& all, peer_process& sender,
                             const std::vector<peer_process*>& receivers, const fs::path& file,
                             const std::string& to_nick, std::uint64_t size, peer_process& a,
                             peer_process& b, const budget& time_left, const char* phase) {
    transfer_result r;
    std::size_t from = sender.events().size();
    auto t_send = test_clock::now();
    sender.send_line("/send " + file.string() + (to_nick.empty() ? "" : " " + to_nick));
    auto own = sender.wait_for(
        [](const event& e) {
            return (e.name() == "file_offer" && e.json.value("own", false)) ||
                   e.name() == "error";
        },
        std::min<test_clock::duration>(120s, time_left.left(phase)), "own file_offer", from);
    if (own.name() == "error") throw std::runtime_error("/send failed: " + own.str("message"));
    const std::string id = own.str("transfer");
    r.hash_s = secs(own.at - t_send);
    auto receivers_cpu = [&] {
        double sum = 0;
        for (auto* p : receivers) sum += cpu_seconds(p->pid());
        return sum;
    };
    const double sender_cpu_before = cpu_seconds(sender.pid());
    const double receivers_cpu_before = receivers_cpu();

    cursors cur(receivers);
    for (std::size_t i = 0; i < receivers.size(); ++i) cur.at[i] = 0;
    std::vector<std::optional<event>> done(receivers.size());
    auto all_done = [&] {
        bool all_in = true;
        for (std::size_t i = 0; i < receivers.size(); ++i) {
            const auto& ev = receivers[i]->events();
            for (; !done[i] && cur.at[i] < ev.size(); ++cur.at[i]) {
                const auto& e = ev[cur.at[i]];
                if (e.str("transfer") != id) continue;
                if (e.name() == "file_received") done[i] = e;
                if (e.name() == "file_failed")
                    throw std::runtime_error(receivers[i]->nick() + ": " + e.json.dump());
            }
            all_in = all_in && done[i].has_value();
        }
        return all_in;
    };
    r.chat_ms = chat_latency(all, a, b, 0, [&] { return !all_done(); }, time_left, phase);
    if (!poll_until(all, all_done, time_left.left(phase)))
        throw std::runtime_error(std::string(phase) + ": not every receiver got the file");
    r.sender_cpu_s = cpu_seconds(sender.pid()) - sender_cpu_before;
    r.receivers_cpu_s = receivers_cpu() - receivers_cpu_before;
    test_clock::time_point last = own.at, last_bytes = own.at;
    for (std::size_t i = 0; i < receivers.size(); ++i) {
        const auto& e = *done[i];
        for (const auto& p : receivers[i]->events())
            if (p.name() == "file_progress" && p.str("transfer") == id &&
                p.json.value("bytes", std::uint64_t{0}) == size)
                last_bytes = std::max(last_bytes, p.at);
        last = std::max(last, e.at);
        if (e.str("sha256") != own.str("sha256") || fs::file_size(e.str("path")) != size)
            throw std::runtime_error(receivers[i]->nick() + " saved a different file: " +
                                     e.json.dump());
        fs::remove(e.str("path"));  // make room for the next phase
    }
    r.transfer_s = secs(last - own.at);
    r.bytes_in_s = secs(last_bytes - own.at);
    return r;
}

nlohmann::json latency_json(const std::vector<double>& v) {
    return {{"samples", v.size()},
            {"p50", percentile(v, 0.5)},
            {"p99", percentile(v, 0.99)},
            {"max", v.empty() ? 0 : *std::max_element(v.begin(), v.end())}};
}

}  // namespace

int main(int argc, char** argv) {
    options opt = parse_args(argc, argv);
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    budget time_left(std::chrono::seconds(opt.timeout_seconds));
    probe_interval = std::chrono::milliseconds(opt.probe_interval_ms);
    const std::uint64_t size = opt.size_mib << 20;
    const double mib = static_cast<double>(opt.size_mib);
    nlohmann::json report = {{"size_mib", opt.size_mib}, {"receivers", opt.receivers}};
    std::vector<std::unique_ptr<peer_process>> owned;
    try {
        temp_dir work;
        const fs::path file = work.path() / "random.bin";
        auto t0 = test_clock::now();
        write_random_file(file, size);
        double write_s = secs(test_clock::now() - t0);

        // nc first, before any peer runs.
        nc_tool nc = find_nc();
        std::vector<double> nc_s, nc_sync_s, nc_sender_cpu_s, nc_listener_cpu_s;
        for (int i = 0; i < opt.nc_runs; ++i) {
            double sync_s = 0, sender_cpu_s = 0, listener_cpu_s = 0;
            nc_s.push_back(nc_copy(nc, file, work.path() / "nc.out", &sync_s, &sender_cpu_s,
                                   &listener_cpu_s));
            nc_sync_s.push_back(sync_s);
            nc_sender_cpu_s.push_back(sender_cpu_s);
            nc_listener_cpu_s.push_back(listener_cpu_s);
            fs::remove(work.path() / "nc.out");
            time_left.left("nc");
        }
        double nc_best = *std::min_element(nc_s.begin(), nc_s.end());

        // The mesh: the sender, the receivers, and two chatters that accept nothing.
        auto start = [&](std::string nick, std::vector<std::string> extra,
                         std::vector<std::string> joins) {
            peer_options o;
            o.nick = std::move(nick);
            o.log_level = opt.log_level;
            o.extra_args = std::move(extra);
            o.joins = std::move(joins);
            owned.push_back(start_peer(o, 10s));
            return owned.back().get();
        };
        peer_process* sender = start("sender", {}, {});
        std::vector<peer_process*> receivers;
        for (int i = 0; i < opt.receivers; ++i)
            receivers.push_back(start("r" + std::to_string(i + 1), {"--accept-files"},
                                      {sender->listen()}));
        peer_process* chat_a = start("chat_a", {}, {sender->listen()});
        peer_process* chat_b = start("chat_b", {}, {chat_a->listen()});
        auto all = pointers(owned);
        for (auto* r : receivers)
            sender->wait_for(is_peer_up(r->peer_id()), 10s, "receiver connected");
        chat_b->wait_for(is_peer_up(chat_a->peer_id()), 10s, "chatters connected");
        chat_a->send_line("probe");
        wait_all(all, is_message_with_text("probe"), 10s, "probe message");

        auto idle = chat_latency(all, *chat_a, *chat_b, opt.idle_messages, nullptr, time_left,
                                 "idle");
        auto one = run_transfer(all, *sender, {receivers[0]}, file, "r1", size, *chat_a, *chat_b,
                                time_left, "one");
        auto many = run_transfer(all, *sender, receivers, file, "", size, *chat_a, *chat_b,
                                 time_left, "many");
        auto idle_after = chat_latency(all, *chat_a, *chat_b, opt.idle_messages, nullptr,
                                       time_left, "idle-after");

        double nc_rate = mib / nc_best;
        double one_rate = mib / one.transfer_s;
        double many_rate = mib / many.transfer_s;
        double ratio = one_rate / nc_rate;
        double idle_p99 = percentile(idle, 0.99);
        report["nc"] = {{"tool", nc.name},
                        {"seconds", nc_s},
                        {"fsync_seconds", nc_sync_s},
                        {"sender_cpu_seconds", nc_sender_cpu_s},
                        {"listener_cpu_seconds", nc_listener_cpu_s},
                        {"mib_per_s", nc_rate}};
        report["one"] = {{"seconds", one.transfer_s},
                         {"hash_seconds", one.hash_s},
                         {"bytes_in_seconds", one.bytes_in_s},
                         {"mib_per_s", one_rate},
                         {"ratio_to_nc", ratio},
                         {"sender_cpu_seconds", one.sender_cpu_s},
                         {"receivers_cpu_seconds", one.receivers_cpu_s},
                         {"chat_ms", latency_json(one.chat_ms)}};
        report["many"] = {{"seconds", many.transfer_s},
                          {"hash_seconds", many.hash_s},
                          {"bytes_in_seconds", many.bytes_in_s},
                          {"mib_per_s_each", many_rate},
                          {"mib_per_s_total", many_rate * opt.receivers},
                          {"sender_cpu_seconds", many.sender_cpu_s},
                          {"receivers_cpu_seconds", many.receivers_cpu_s},
                          {"chat_ms", latency_json(many.chat_ms)}};
        report["idle_chat_ms"] = latency_json(idle);
        report["idle_after_chat_ms"] = latency_json(idle_after);
        report["write_seconds"] = write_s;

        auto lat = [&](const char* label, const std::vector<double>& v, bool vs_idle) {
            std::printf("  %-34s p50 %7.3f ms  p99 %7.3f ms  max %8.3f ms  (%zu)", label,
                        percentile(v, 0.5), percentile(v, 0.99),
                        v.empty() ? 0 : *std::max_element(v.begin(), v.end()), v.size());
            if (vs_idle) std::printf("  p99 - idle %+.3f ms", percentile(v, 0.99) - idle_p99);
            std::printf("\n");
        };
        std::printf("confab file bench: %llu MiB random file over loopback, %ld cores\n",
                    static_cast<unsigned long long>(opt.size_mib), ::sysconf(_SC_NPROCESSORS_ONLN));
        std::printf("  %-34s %7.2f s  %8.0f MiB/s  (best of %d: ", (nc.name + " 1 -> 1").c_str(),
                    nc_best, nc_rate, opt.nc_runs);
        for (std::size_t i = 0; i < nc_s.size(); ++i) std::printf("%s%.2f", i ? ", " : "", nc_s[i]);
        std::printf(" s)\n");
        std::printf("  %-34s %7.2f s  %8.0f MiB/s  %.2fx nc  (target >= 0.80x)\n",
                    "confab 1 -> 1", one.transfer_s, one_rate, ratio);
        std::printf("  %-34s %7.2f s  %8.0f MiB/s each, %.0f MiB/s total, %.2fx nc each\n",
                    ("confab 1 -> " + std::to_string(opt.receivers)).c_str(), many.transfer_s,
                    many_rate, many_rate * opt.receivers, many_rate / nc_rate);
        {
            auto best = static_cast<std::size_t>(std::min_element(nc_s.begin(), nc_s.end()) -
                                                 nc_s.begin());
            double with_sync = nc_s[best] + nc_sync_s[best];
            std::printf("  %-34s %7.2f s  %8.0f MiB/s  (the same nc run, then fsync of its "
                        "output, as confab does)\n",
                        (nc.name + " + fsync").c_str(), with_sync, mib / with_sync);
        }
        std::printf("  %-34s %7.2f s (1 -> 1), %.2f s (1 -> %d)  (last byte written, before "
                    "fsync + rename)\n",
                    "  confab last byte in after", one.bytes_in_s, many.bytes_in_s,
                    opt.receivers);
        std::printf("  %-34s %7.2f s  (before the offer, not in the times above)\n",
                    "sender hashes the file", one.hash_s);
        {
            auto best = static_cast<std::size_t>(std::min_element(nc_s.begin(), nc_s.end()) -
                                                 nc_s.begin());
            std::printf("  %-34s nc: sender %.2f s, listener %.2f s; confab 1 -> 1: sender "
                        "%.2f s, receiver %.2f s; 1 -> %d: sender %.2f s, receivers %.2f s\n",
                        "CPU used (user + system)", nc_sender_cpu_s[best],
                        nc_listener_cpu_s[best], one.sender_cpu_s, one.receivers_cpu_s,
                        opt.receivers, many.sender_cpu_s, many.receivers_cpu_s);
        }
        lat("chat a<->b, idle", idle, false);
        lat("chat a<->b, during 1 -> 1", one.chat_ms, true);
        lat(("chat a<->b, during 1 -> " + std::to_string(opt.receivers)).c_str(), many.chat_ms,
            true);
        lat("chat a<->b, idle again after", idle_after, false);
        std::printf("%s\n", report.dump().c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "file_bench: %s\n", e.what());
        report["error"] = e.what();
        std::printf("%s\n", report.dump().c_str());
        return 1;
    }
}

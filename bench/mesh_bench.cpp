// Mesh benchmark: starts N real `confab --headless` peers on loopback and measures start-up,
// delivery latency, delivery rate and idle cost. See bench/README.md for what each figure means.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <csignal>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/peer_process.hpp"

using namespace confab::test;

namespace {

struct options {
    int peers = 10;
    int messages = 200;
    int rate_messages = 2000;
    int idle_seconds = 5;
    // Pause between the last delivery and the idle window: the last peer to deliver the last
    // message is not the last to stop forwarding duplicates, and that tail is not idle cost.
    int idle_grace_seconds = 1;
    int timeout_seconds = 120;
    std::string log_level = "warn";
};

[[noreturn]] void usage(const char* argv0, int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: %s [--peers N] [--messages M] [--rate-messages K] [--idle-seconds S]\n"
                 "          [--idle-grace-seconds G] [--timeout-seconds T] [--log-level LEVEL]\n",
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
            int n = std::atoi(v.c_str());
            if (n < 1) usage(argv[0], 2);
            return n;
        };
        if (a == "--peers")
            o.peers = number();
        else if (a == "--messages")
            o.messages = number();
        else if (a == "--rate-messages")
            o.rate_messages = number();
        else if (a == "--idle-seconds")
            o.idle_seconds = number();
        else if (a == "--idle-grace-seconds")
            o.idle_grace_seconds = std::atoi(v.c_str());
        else if (a == "--timeout-seconds")
            o.timeout_seconds = number();
        else if (a == "--log-level")
            o.log_level = v;
        else
            usage(argv[0], 2);
    }
    if (o.peers < 2) {
        std::fprintf(stderr, "--peers must be at least 2\n");
        std::exit(2);
    }
    return o;
}

double ms(test_clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

// Nearest-rank percentile of an unsorted sample (q in [0, 1]).
double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(q * static_cast<double>(v.size()) + 0.999999);
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

struct proc_sample {
    double rss_mib = 0;
    double rss_anon_mib = 0;  // the private part of the RSS (shared libraries excluded)
    long cpu_ticks = 0;       // utime + stime
};

proc_sample sample(pid_t pid) {
    proc_sample s;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0)
            s.rss_mib = std::atof(line.c_str() + 6) / 1024.0;
        else if (line.rfind("RssAnon:", 0) == 0)
            s.rss_anon_mib = std::atof(line.c_str() + 8) / 1024.0;
    std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
    // Fields after the command name, which sits in parentheses and may contain spaces.
    auto close = stat.rfind(')');
    if (close != std::string::npos) {
        std::istringstream rest(stat.substr(close + 2));
        std::string field;
        // rest starts at field 3 (state); utime and stime are fields 14 and 15.
        for (int i = 3; i <= 15 && rest >> field; ++i) {
            if (i == 14 || i == 15) s.cpu_ticks += std::atol(field.c_str());
        }
    }
    return s;
}

long mesh_cpu_ticks(const std::vector<peer_process*>& procs) {
    long total = 0;
    for (auto* p : procs) total += sample(p->pid()).cpu_ticks;
    return total;
}

// Set by SIGINT/SIGTERM: the run stops at the next check and the destructors kill the peers and
// remove their temp dirs, which dying on the default disposition would not.
volatile std::sig_atomic_t stop_requested = 0;

void on_stop_signal(int) {
    stop_requested = 1;
}

// The whole run lives under one deadline, so a wedged mesh ends the bench instead of hanging it.
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

// Per-peer scan position, so each wait looks only at events it has not looked at yet.
struct cursor_set {
    std::vector<std::size_t> next;
    explicit cursor_set(std::size_t n) : next(n, 0) {}
};

}  // namespace

int main(int argc, char** argv) {
    options opt = parse_args(argc, argv);
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    budget time_left(std::chrono::seconds(opt.timeout_seconds));
    std::mt19937 rng(12345);
    std::vector<std::unique_ptr<peer_process>> owned;
    nlohmann::json report = {
        {"peers", opt.peers}, {"messages", opt.messages}, {"rate_messages", opt.rate_messages}};
    try {
        // Start-up: each peer joins a random peer that is already up.
        std::vector<double> ready_ms;
        for (int i = 0; i < opt.peers; ++i) {
            peer_options o;
            // Appended, not "b" + ...: GCC 12 warns falsely (-Wrestrict) on a 1-char prefix.
            o.nick = "b";
            o.nick += std::to_string(i);
            o.log_level = opt.log_level;
            if (i > 0) o.joins = {owned[rng() % owned.size()]->listen()};
            owned.push_back(std::make_unique<peer_process>(o));
            auto& p = *owned.back();
            p.wait_ready(std::min<test_clock::duration>(10s, time_left.left("start-up")));
            ready_ms.push_back(ms(p.events().front().at - p.spawned_at()));
        }
        auto all = pointers(owned);
        auto n = all.size();

        // Settle: enough neighbours everywhere, then a probe that reaches everyone.
        std::size_t min_degree = std::min<std::size_t>(n - 1, 3);
        auto settle_start = test_clock::now();
        bool settled = poll_until(
            all,
            [&] {
                if (stop_requested) return true;
                return std::all_of(all.begin(), all.end(),
                                   [&](auto* p) { return neighbours(*p).size() >= min_degree; });
            },
            std::min<test_clock::duration>(30s, time_left.left("settling")));
        time_left.left("settling");
        if (!settled) {
            std::ostringstream m;
            m << "mesh did not reach " << min_degree << " neighbours per peer in 30 s:";
            for (auto* p : all) m << " " << p->nick() << "=" << neighbours(*p).size();
            throw std::runtime_error(m.str());
        }
        all[0]->send_line("probe");
        wait_all(all, is_message_with_text("probe"),
                 std::min<test_clock::duration>(10s, time_left.left("probe")), "probe message");
        double settle_ms = ms(test_clock::now() - settle_start);
        std::vector<double> degrees;
        for (auto* p : all) degrees.push_back(static_cast<double>(neighbours(*p).size()));

        // Latency: one message at a time from a rotating sender.
        std::vector<double> latencies;
        cursor_set cur(n);
        for (std::size_t i = 0; i < n; ++i) cur.next[i] = all[i]->events().size();
        // CPU the whole mesh spends per message: context for latency on a machine with fewer
        // cores than peers, where every hop queues for a CPU.
        long latency_ticks = -mesh_cpu_ticks(all);
        for (int m = 0; m < opt.messages; ++m) {
            std::size_t sender = static_cast<std::size_t>(m) % n;
            std::string text = "lat " + std::to_string(m);
            std::vector<bool> got(n, false);
            auto written = test_clock::now();
            all[sender]->send_line(text);
            bool ok = poll_until(
                all,
                [&] {
                    if (stop_requested) return true;
                    bool done = true;
                    for (std::size_t i = 0; i < n; ++i) {
                        const auto& ev = all[i]->events();
                        for (; !got[i] && cur.next[i] < ev.size(); ++cur.next[i]) {
                            const auto& e = ev[cur.next[i]];
                            if (e.name() == "message" && e.str("text") == text) {
                                got[i] = true;
                                if (i != sender) latencies.push_back(ms(e.at - written));
                            }
                        }
                        done = done && got[i];
                    }
                    return done;
                },
                std::min<test_clock::duration>(5s, time_left.left("latency")));
            time_left.left("latency");
            if (!ok)
                throw std::runtime_error("latency message '" + text +
                                         "' not delivered "
                                         "everywhere within 5 s");
        }

        latency_ticks += mesh_cpu_ticks(all);
        double cpu_ms_per_message = 1000.0 * static_cast<double>(latency_ticks) /
                                    static_cast<double>(::sysconf(_SC_CLK_TCK)) / opt.messages;

        // Rate: K messages back to back from one sender, until every peer has all of them.
        std::vector<int> received(n, 0);
        for (std::size_t i = 0; i < n; ++i) cur.next[i] = all[i]->events().size();
        test_clock::time_point last_arrival;
        auto rate_start = test_clock::now();
        for (int k = 0; k < opt.rate_messages; ++k) all[0]->send_line("rate " + std::to_string(k));
        bool rate_ok = poll_until(
            all,
            [&] {
                if (stop_requested) return true;
                bool done = true;
                for (std::size_t i = 0; i < n; ++i) {
                    const auto& ev = all[i]->events();
                    for (; cur.next[i] < ev.size(); ++cur.next[i]) {
                        const auto& e = ev[cur.next[i]];
                        if (e.name() == "message" && e.str("text").rfind("rate ", 0) == 0) {
                            ++received[i];
                            last_arrival = std::max(last_arrival, e.at);
                        }
                    }
                    done = done && received[i] >= opt.rate_messages;
                }
                return done;
            },
            std::min<test_clock::duration>(60s, time_left.left("rate")));
        time_left.left("rate");
        int min_received = *std::min_element(received.begin(), received.end());
        double rate_s = std::chrono::duration<double>(last_arrival - rate_start).count();
        double rate = rate_ok && rate_s > 0 ? opt.rate_messages / rate_s : 0;

        // Idle: a measurement window after the traffic, reading stdout all the while.
        long ticks_per_s = ::sysconf(_SC_CLK_TCK);
        poll_until(
            all, [] { return stop_requested != 0; }, std::chrono::seconds(opt.idle_grace_seconds));
        std::vector<proc_sample> before;
        for (auto* p : all) before.push_back(sample(p->pid()));
        auto window_start = test_clock::now();
        poll_until(
            all, [] { return stop_requested != 0; }, std::chrono::seconds(opt.idle_seconds));
        time_left.left("idle window");
        double window_s = std::chrono::duration<double>(test_clock::now() - window_start).count();
        std::vector<double> rss, rss_anon, cpu;
        for (std::size_t i = 0; i < n; ++i) {
            auto after = sample(all[i]->pid());
            rss.push_back(after.rss_mib);
            rss_anon.push_back(after.rss_anon_mib);
            double cpu_s = static_cast<double>(after.cpu_ticks - before[i].cpu_ticks) /
                           static_cast<double>(ticks_per_s);
            cpu.push_back(100.0 * cpu_s / window_s);
        }
        auto mean = [](const std::vector<double>& v) {
            double s = 0;
            for (double x : v) s += x;
            return v.empty() ? 0 : s / static_cast<double>(v.size());
        };
        auto max = [](const std::vector<double>& v) {
            return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
        };

        report["ready_ms"] = {{"p50", percentile(ready_ms, 0.5)}, {"max", max(ready_ms)}};
        report["settle_ms"] = settle_ms;
        report["neighbours"] = {{"mean", mean(degrees)}, {"max", max(degrees)}};
        report["latency_ms"] = {{"samples", latencies.size()},
                                {"p50", percentile(latencies, 0.5)},
                                {"p99", percentile(latencies, 0.99)},
                                {"max", max(latencies)},
                                {"mesh_cpu_ms_per_message", cpu_ms_per_message}};
        report["rate"] = {{"msgs_per_s", rate},
                          {"complete", rate_ok},
                          {"min_received", min_received},
                          {"seconds", rate_s}};
        report["idle"] = {{"window_s", window_s},
                          {"grace_s", opt.idle_grace_seconds},
                          {"rss_mib_mean", mean(rss)},
                          {"rss_mib_max", max(rss)},
                          {"rss_anon_mib_mean", mean(rss_anon)},
                          {"cpu_pct_mean", mean(cpu)},
                          {"cpu_pct_max", max(cpu)}};

        std::printf("confab mesh bench: %d peers, %d latency samples, %d rate messages\n",
                    opt.peers, opt.messages, opt.rate_messages);
        std::printf("  %-28s p50 %8.2f ms   max %8.2f ms\n", "start -> ready",
                    percentile(ready_ms, 0.5), max(ready_ms));
        std::printf("  %-28s %8.1f ms   (neighbours per peer: mean %.1f, max %.0f)\n",
                    "mesh settled after", settle_ms, mean(degrees), max(degrees));
        std::printf("  %-28s p50 %8.3f ms   p99 %8.3f ms   max %8.3f ms   (%zu samples)\n",
                    "delivery latency", percentile(latencies, 0.5), percentile(latencies, 0.99),
                    max(latencies), latencies.size());
        std::printf("  %-28s %8.2f ms   (all peers together, during the latency phase)\n",
                    "mesh CPU per message", cpu_ms_per_message);
        if (rate_ok)
            std::printf("  %-28s %8.0f msgs/s   (%d messages to all %zu peers in %.3f s)\n",
                        "delivery rate", rate, opt.rate_messages, n, rate_s);
        else
            std::printf("  %-28s INCOMPLETE: the slowest peer had %d of %d messages after 60 s\n",
                        "delivery rate", min_received, opt.rate_messages);
        std::printf("  %-28s mean %6.2f MiB   max %6.2f MiB   (private part: mean %.2f MiB)\n",
                    "idle RSS per peer", mean(rss), max(rss), mean(rss_anon));
        std::printf("  %-28s mean %6.2f %%     max %6.2f %%   (%.1f s window)\n",
                    "idle CPU per peer", mean(cpu), max(cpu), window_s);
        std::printf("%s\n", report.dump().c_str());
        return rate_ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mesh_bench: %s\n", e.what());
        report["error"] = e.what();
        std::printf("%s\n", report.dump().c_str());
        return 1;
    }
}

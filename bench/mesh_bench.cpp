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
    int timeout_seconds = 120;
    std::string log_level = "warn";
};

[[noreturn]] void usage(const char* argv0, int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: %s [--peers N] [--messages M] [--rate-messages K] [--idle-seconds S]\n"
                 "          [--timeout-seconds T] [--log-level LEVEL]\n",
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
        if (a == "--peers") o.peers = number();
        else if (a == "--messages") o.messages = number();
        else if (a == "--rate-messages") o.rate_messages = number();
        else if (a == "--idle-seconds") o.idle_seconds = number();
        else if (a == "--timeout-seconds") o.timeout_seconds = number();
        else if (a == "--log-level") o.log_level = v;
        else usage(argv[0], 2);
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
    long cpu_ticks = 0;  // utime + stime
};

proc_sample sample(pid_t pid) {
    proc_sample s;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) s.rss_mib = std::atof(line.c_str() + 6) / 1024.0;
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

// The whole run lives under one deadline, so a wedged mesh ends the bench instead of hanging it.
class budget {
public:
    explicit budget(std::chrono::seconds total) : end_(test_clock::now() + total) {}
    test_clock::duration left(const char* phase) const {
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
    budget time_left(std::chrono::seconds(opt.timeout_seconds));
    std::mt19937 rng(12345);
    std::vector<std::unique_ptr<peer_process>> owned;
    nlohmann::json report = {{"peers", opt.peers},
                             {"messages", opt.messages},
                             {"rate_messages", opt.rate_messages}};
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
                return std::all_of(all.begin(), all.end(), [&](auto* p) {
                    return neighbours(*p).size() >= min_degree;
                });
            },
            std::min<test_clock::duration>(30s, time_left.left("settling")));
        if (!settled) {
            std::ostringstream m;
            m << "mesh did not reach " << min_degree << " neighbours per peer in 30 s:";
            for (auto* p : all) m << " " << p->nick() << "=" << neighbours(*p).size();
            throw std::runtime_error(m.str());
        }
        all[0]->send_line("probe");
        wait_all(all, is_message_with_text("probe"), std::min<test_clock::duration>(10s,
                 time_left.left("probe")), "probe message");
        double settle_ms = ms(test_clock::now() - settle_start);

        // Latency: one message at a time from a rotating sender.
        std::vector<double> latencies;
        cursor_set cur(n);
        for (auto& c : cur.next) c = 0;
        for (std::size_t i = 0; i < n; ++i) cur.next[i] = all[i]->events().size();
        for (int m = 0; m < opt.messages; ++m) {
            std::size_t sender = static_cast<std::size_t>(m) % n;
            std::string text = "lat " + std::to_string(m);
            std::vector<bool> got(n, false);
            auto written = test_clock::now();
            all[sender]->send_line(text);
            bool ok = poll_until(
                all,
                [&] {
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
            if (!ok) throw std::runtime_error("latency message '" + text + "' not delivered "
                                              "everywhere within 5 s");
        }

        // Rate: K messages back to back from one sender, until every peer has all of them.
        std::vector<int> received(n, 0);
        for (std::size_t i = 0; i < n; ++i) cur.next[i] = all[i]->events().size();
        test_clock::time_point last_arrival;
        auto rate_start = test_clock::now();
        for (int k = 0; k < opt.rate_messages; ++k) all[0]->send_line("rate " + std::to_string(k));
        bool rate_ok = poll_until(
            all,
            [&] {
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
        int min_received = *std::min_element(received.begin(), received.end());
        double rate_s = std::chrono::duration<double>(last_arrival - rate_start).count();
        double rate = rate_ok && rate_s > 0 ? opt.rate_messages / rate_s : 0;

        // Idle: a measurement window after the traffic, reading stdout all the while.
        long ticks_per_s = ::sysconf(_SC_CLK_TCK);
        std::vector<proc_sample> before;
        for (auto* p : all) before.push_back(sample(p->pid()));
        auto window_start = test_clock::now();
        poll_until(all, [] { return false; }, std::chrono::seconds(opt.idle_seconds));
        double window_s = std::chrono::duration<double>(test_clock::now() - window_start).count();
        std::vector<double> rss, cpu;
        for (std::size_t i = 0; i < n; ++i) {
            auto after = sample(all[i]->pid());
            rss.push_back(after.rss_mib);
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
        report["latency_ms"] = {{"samples", latencies.size()},
                                {"p50", percentile(latencies, 0.5)},
                                {"p99", percentile(latencies, 0.99)},
                                {"max", max(latencies)}};
        report["rate"] = {{"msgs_per_s", rate},
                          {"complete", rate_ok},
                          {"min_received", min_received},
                          {"seconds", rate_s}};
        report["idle"] = {{"window_s", window_s},
                          {"rss_mib_mean", mean(rss)},
                          {"rss_mib_max", max(rss)},
                          {"cpu_pct_mean", mean(cpu)},
                          {"cpu_pct_max", max(cpu)}};

        std::printf("confab mesh bench: %d peers, %d latency samples, %d rate messages\n",
                    opt.peers, opt.messages, opt.rate_messages);
        std::printf("  %-28s p50 %8.2f ms   max %8.2f ms\n", "start -> ready",
                    percentile(ready_ms, 0.5), max(ready_ms));
        std::printf("  %-28s %8.1f ms\n", "mesh settled after", settle_ms);
        std::printf("  %-28s p50 %8.3f ms   p99 %8.3f ms   max %8.3f ms   (%zu samples)\n",
                    "delivery latency", percentile(latencies, 0.5), percentile(latencies, 0.99),
                    max(latencies), latencies.size());
        if (rate_ok)
            std::printf("  %-28s %8.0f msgs/s   (%d messages to all %zu peers in %.3f s)\n",
                        "delivery rate", rate, opt.rate_messages, n, rate_s);
        else
            std::printf("  %-28s INCOMPLETE: the slowest peer had %d of %d messages after 60 s\n",
                        "delivery rate", min_received, opt.rate_messages);
        std::printf("  %-28s mean %6.2f MiB   max %6.2f MiB\n", "idle RSS per peer", mean(rss),
                    max(rss));
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

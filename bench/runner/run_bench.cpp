// One system (confab or the IRC baseline) at one size, measured the way bench/run reports it:
// mesh forming, delivered-to-all latency with one sender and with rotating senders, copies
// and bytes per delivered message, CPU per message, memory, and the highest rate one sender
// sustains with nothing lost. Writes one JSON object (to --out, and to stdout). bench/run
// calls it once per system and size; bench/README.md says what each figure means.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench/runner/cluster.hpp"
#include "bench/runner/confab_cluster.hpp"
#include "bench/runner/irc_cluster.hpp"
#include "tests/support/temp_dir.hpp"

using namespace confab::bench;

namespace {

struct options {
    std::string system = "confab";
    std::size_t peers = 10;
    int messages = 200;
    int gap_ms = 37;
    double rate_seconds = 2;
    double rate_start = 100;
    double rate_max = 6400;
    int rate_trials = 10;
    // A rate is sustained when the last message reaches the last peer this soon after it
    // was sent: a backlog that drains within it is jitter, one that does not is overload.
    int rate_drain_ms = 1000;
    std::string ircd = "/usr/sbin/ngircd";
    std::string out;
    int timeout_seconds = 900;
    std::uint32_t seed = 1;
    std::string log_level = "warn";
    // Which phases run after the mesh formed: one sender, rotating senders, the rate search.
    bool one = true, rotating = true, rate = true;
};

[[noreturn]] void usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: run_bench --system confab|irc --peers N [--messages M] [--gap-ms G]\n"
                 "         [--rate-seconds S] [--rate-start R] [--rate-max R] [--rate-trials T]\n"
                 "         [--rate-drain-ms D] [--ircd PATH] [--out FILE] [--timeout-seconds T]\n"
                 "         [--seed S] [--log-level LEVEL] [--phases one,rot,rate]\n");
    std::exit(code);
}

options parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") usage(0);
        if (i + 1 >= argc) usage(2);
        const std::string v = argv[++i];
        auto positive = [&] {
            const double d = std::atof(v.c_str());
            if (!(d > 0)) usage(2);
            return d;
        };
        if (a == "--system") o.system = v;
        else if (a == "--peers") o.peers = static_cast<std::size_t>(positive());
        else if (a == "--messages") o.messages = static_cast<int>(positive());
        else if (a == "--gap-ms") o.gap_ms = static_cast<int>(positive());
        else if (a == "--rate-seconds") o.rate_seconds = positive();
        else if (a == "--rate-start") o.rate_start = positive();
        else if (a == "--rate-max") o.rate_max = positive();
        else if (a == "--rate-trials") o.rate_trials = static_cast<int>(positive());
        else if (a == "--rate-drain-ms") o.rate_drain_ms = static_cast<int>(positive());
        else if (a == "--ircd") o.ircd = v;
        else if (a == "--out") o.out = v;
        else if (a == "--timeout-seconds") o.timeout_seconds = static_cast<int>(positive());
        else if (a == "--seed") o.seed = static_cast<std::uint32_t>(positive());
        else if (a == "--log-level") o.log_level = v;
        else if (a == "--phases") {
            o.one = o.rotating = o.rate = false;
            std::size_t at = 0;
            while (at <= v.size()) {
                const auto end = std::min(v.find(',', at), v.size());
                const auto name = v.substr(at, end - at);
                if (name == "one") o.one = true;
                else if (name == "rot") o.rotating = true;
                else if (name == "rate") o.rate = true;
                else usage(2);
                at = end + 1;
            }
        }
        else usage(2);
    }
    if (o.system != "confab" && o.system != "irc") usage(2);
    if (o.peers < 2) {
        std::fprintf(stderr, "run_bench: --peers must be at least 2\n");
        std::exit(2);
    }
    return o;
}

void on_stop_signal(int) {
    stop_requested = 1;
}

double ms(bench_clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

// Nearest-rank percentile (q in [0, 1]).
double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

long harness_cpu_ticks() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    const double s = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                     static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
    return static_cast<long>(s * static_cast<double>(::sysconf(_SC_CLK_TCK)));
}

// The whole run lives under one deadline, so a wedged system ends the run instead of
// hanging it.
class budget {
public:
    explicit budget(std::chrono::seconds total) : end_(bench_clock::now() + total) {}
    void check(const char* phase) const {
        check_stop(phase);
        if (bench_clock::now() > end_)
            throw std::runtime_error(std::string("time budget spent while ") + phase);
    }

private:
    bench_clock::time_point end_;
};

// Every message sent, who has it, and when the last receiver got it.
class tracker {
public:
    explicit tracker(std::size_t n) : n_(n) {}

    std::size_t add(const std::string& text, std::size_t sender, bench_clock::time_point at) {
        msgs_.push_back({at, sender, std::vector<std::uint8_t>(n_, 0), 0, {}});
        by_text_.emplace(text, msgs_.size() - 1);
        return msgs_.size() - 1;
    }

    void absorb(std::vector<delivery>& ds) {
        for (auto& d : ds) {
            auto it = by_text_.find(d.text);
            if (it == by_text_.end()) continue;
            auto& m = msgs_[it->second];
            if (d.receiver == m.sender) continue;
            if (m.got[d.receiver]++ == 0) {
                ++m.receivers;
                m.last = std::max(m.last, d.at);
                ++deliveries_;
            } else {
                ++shown_twice_;
            }
        }
        ds.clear();
    }

    bool complete(std::size_t i) const { return msgs_[i].receivers + 1 >= n_; }
    bool all_complete(std::size_t from, std::size_t to) const {
        for (std::size_t i = from; i < to; ++i)
            if (!complete(i)) return false;
        return true;
    }
    // Delivered-to-all latency: when the last receiver printed it.
    double latency_ms(std::size_t i) const { return ms(msgs_[i].last - msgs_[i].sent); }
    bench_clock::time_point last(std::size_t i) const { return msgs_[i].last; }
    std::size_t size() const { return msgs_.size(); }
    std::uint64_t deliveries() const { return deliveries_; }
    std::uint64_t shown_twice() const { return shown_twice_; }
    std::size_t missing_receivers(std::size_t i) const { return n_ - 1 - msgs_[i].receivers; }

private:
    struct message {
        bench_clock::time_point sent;
        std::size_t sender;
        std::vector<std::uint8_t> got;  // copies shown, per receiver (saturates: only 0/1 matter)
        std::size_t receivers;
        bench_clock::time_point last;
    };
    std::size_t n_;
    std::vector<message> msgs_;
    std::unordered_map<std::string, std::size_t> by_text_;
    std::uint64_t deliveries_ = 0;
    std::uint64_t shown_twice_ = 0;
};

// A chat line of a typical length, unique by its tag.
std::string line_for(const std::string& tag) {
    std::string s = tag + " the quick brown fox jumps over the lazy dog";
    s.resize(std::max<std::size_t>(s.size(), 64), '.');
    return s;
}

class bench_run {
public:
    bench_run(cluster& c, const options& o, const budget& b)
        : c_(c), o_(o), budget_(b), track_(c.size()), rng_(o.seed) {}

    void poll(bench_clock::duration timeout) {
        c_.poll(timeout, buffer_);
        track_.absorb(buffer_);
    }

    // Polls until messages [from, to) reached everyone or `limit` passed.
    bool wait_complete(std::size_t from, std::size_t to, bench_clock::time_point limit,
                       const char* what) {
        while (!track_.all_complete(from, to)) {
            budget_.check(what);
            if (bench_clock::now() >= limit) return false;
            poll(std::min<bench_clock::duration>(20ms, limit - bench_clock::now()));
        }
        return true;
    }

    // Polls for `d`, whatever arrives: copies still in flight after the last delivery are
    // part of a phase's cost.
    void linger(bench_clock::duration d, const char* what) {
        const auto until = bench_clock::now() + d;
        while (bench_clock::now() < until) {
            budget_.check(what);
            poll(until - bench_clock::now());
        }
    }

    totals sample() {
        auto t = c_.sample_totals(buffer_);
        track_.absorb(buffer_);
        return t;
    }

    // A probe from a random participant every 100 ms until one reaches everyone.
    nlohmann::json mesh_formed() {
        const auto start = c_.last_start();
        const auto limit = bench_clock::now() + 60s;
        const std::size_t first = track_.size();
        std::optional<bench_clock::time_point> formed;
        for (int k = 0; k < 600 && !formed; ++k) {
            budget_.check("waiting for the mesh to form");
            if (bench_clock::now() > limit) break;
            const std::size_t from = rng_() % c_.size();
            const std::string text = line_for("probe-" + std::to_string(k));
            track_.add(text, from, bench_clock::now());
            c_.send(from, text);
            const auto next = bench_clock::now() + 100ms;
            while (bench_clock::now() < next) poll(next - bench_clock::now());
            for (std::size_t i = first; i < track_.size(); ++i) {
                if (!track_.complete(i)) continue;
                if (!formed || track_.last(i) < *formed) formed = track_.last(i);
            }
        }
        // The probes still on their way would be noise in the phases after.
        const std::size_t probes = track_.size() - first;
        wait_complete(first, track_.size(), bench_clock::now() + 10s, "settling probes");
        std::size_t lost = 0;
        for (std::size_t i = first; i < track_.size(); ++i) lost += !track_.complete(i);
        return {{"ms", formed ? ms(*formed - start) : -1.0},
                {"formed", formed.has_value()},
                {"probes", probes},
                {"probes_not_everywhere", lost}};
    }

    // CPU with nothing sent (timers, keepalives, the overlay's own chatter): the share of
    // "CPU per message" that is not the messages. Summed over all processes, per second.
    nlohmann::json idle(bench_clock::duration d) {
        linger(300ms, "settling");
        const auto before = sample();
        const auto t0 = bench_clock::now();
        linger(d, "idle");
        const auto after = sample();
        const double s = std::chrono::duration<double>(bench_clock::now() - t0).count();
        const double tick_ms = 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
        return {{"seconds", s},
                {"cpu_ms_per_second",
                 static_cast<double>(after.cpu_ticks - before.cpu_ticks) * tick_ms / s}};
    }

    // `messages` lines `gap` apart, from the given senders in turn.
    nlohmann::json paced(const std::string& name, const std::vector<std::size_t>& senders) {
        linger(300ms, "settling");
        const auto before = sample();
        const auto deliveries_before = track_.deliveries();
        const long harness_before = harness_cpu_ticks();
        const std::size_t first = track_.size();
        const auto t0 = bench_clock::now();
        for (int i = 0; i < o_.messages; ++i) {
            const auto due = t0 + std::chrono::milliseconds(o_.gap_ms) * i;
            while (bench_clock::now() < due) {
                budget_.check(name.c_str());
                poll(due - bench_clock::now());
            }
            const std::size_t from = senders[static_cast<std::size_t>(i) % senders.size()];
            const std::string text = line_for(name + "-" + std::to_string(i));
            track_.add(text, from, bench_clock::now());
            c_.send(from, text);
        }
        const bool all = wait_complete(first, track_.size(), bench_clock::now() + 10s, name.c_str());
        linger(500ms, name.c_str());
        const auto after = sample();
        const long harness = harness_cpu_ticks() - harness_before;
        std::vector<double> latencies;
        std::size_t lost = 0, missing = 0;
        for (std::size_t i = first; i < track_.size(); ++i) {
            if (track_.complete(i)) {
                latencies.push_back(track_.latency_ms(i));
            } else {
                ++lost;
                missing += track_.missing_receivers(i);
            }
        }
        const double deliveries = static_cast<double>(track_.deliveries() - deliveries_before);
        const double tick_ms = 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
        const auto per_delivery = [&](std::uint64_t a, std::uint64_t b) {
            return deliveries > 0 ? static_cast<double>(b - a) / deliveries : 0.0;
        };
        return {{"messages", o_.messages},
                {"gap_ms", o_.gap_ms},
                {"senders", senders.size()},
                {"all_delivered", all},
                {"not_everywhere", lost},
                {"deliveries_missing", missing},
                {"p50_ms", percentile(latencies, 0.50)},
                {"p99_ms", percentile(latencies, 0.99)},
                {"max_ms", latencies.empty() ? 0.0 : *std::max_element(latencies.begin(), latencies.end())},
                {"copies_per_delivery", per_delivery(before.copies_received, after.copies_received)},
                {"wire_bytes_per_delivery", per_delivery(before.wire_bytes, after.wire_bytes)},
                {"cpu_ms_per_message",
                 static_cast<double>(after.cpu_ticks - before.cpu_ticks) * tick_ms / o_.messages},
                {"harness_cpu_ms_per_message", static_cast<double>(harness) * tick_ms / o_.messages}};
    }

    // One sender at `rate` for rate_seconds: sustained when everyone has every message
    // within rate_drain_ms of the last send.
    nlohmann::json rate_trial(double rate, int trial) {
        const auto count = static_cast<std::size_t>(std::max(20.0, rate * o_.rate_seconds));
        const std::size_t first = track_.size();
        const auto t0 = bench_clock::now();
        std::size_t sent = 0;
        while (sent < count) {
            budget_.check("rate trial");
            const double elapsed = std::chrono::duration<double>(bench_clock::now() - t0).count();
            const auto due = std::min(count, static_cast<std::size_t>(elapsed * rate) + 1);
            for (; sent < due; ++sent) {
                const std::string text =
                    line_for("rate" + std::to_string(trial) + "-" + std::to_string(sent));
                track_.add(text, 0, bench_clock::now());
                c_.send(0, text);
            }
            poll(std::chrono::milliseconds(2));
        }
        const auto last_sent = bench_clock::now();
        const bool sustained = wait_complete(
            first, track_.size(), last_sent + std::chrono::milliseconds(o_.rate_drain_ms), "rate trial");
        // Let a backlog drain before the next trial, and count what never arrives.
        wait_complete(first, track_.size(), bench_clock::now() + 10s, "rate trial drain");
        std::size_t lost = 0;
        bench_clock::time_point last_delivery = last_sent;
        for (std::size_t i = first; i < track_.size(); ++i) {
            if (!track_.complete(i)) ++lost;
            else last_delivery = std::max(last_delivery, track_.last(i));
        }
        const double send_s = std::chrono::duration<double>(last_sent - t0).count();
        return {{"rate", rate},
                {"messages", count},
                {"send_seconds", send_s},
                {"sustained", sustained && lost == 0},
                {"not_everywhere", lost},
                {"drain_ms", ms(last_delivery - last_sent)}};
    }

    // Doubles the rate until a trial fails, then bisects; bounded by rate_trials.
    nlohmann::json max_rate() {
        auto trials = nlohmann::json::array();
        double ok = 0, bad = 0;
        double rate = o_.rate_start;
        for (int t = 0; t < o_.rate_trials; ++t) {
            auto r = rate_trial(rate, t);
            const bool sustained = r["sustained"].get<bool>();
            trials.push_back(std::move(r));
            if (sustained) ok = std::max(ok, rate);
            else bad = bad == 0 ? rate : std::min(bad, rate);
            if (bad == 0) {
                if (rate >= o_.rate_max) break;
                rate = std::min(rate * 2, o_.rate_max);
            } else if (ok == 0) {
                rate = rate / 2;  // even the start was too much
                if (rate < 5) break;
            } else {
                if (bad / ok < 1.15) break;
                rate = std::round(std::sqrt(ok * bad));
            }
        }
        return {{"max_sustained", ok},
                {"lowest_failed", bad},
                {"capped", bad == 0 && ok >= o_.rate_max},
                {"drain_ms_limit", o_.rate_drain_ms},
                {"trial_seconds", o_.rate_seconds},
                {"trials", trials}};
    }

    std::uint64_t shown_twice() const { return track_.shown_twice(); }

private:
    cluster& c_;
    const options& o_;
    const budget& budget_;
    tracker track_;
    std::mt19937 rng_;
    std::vector<delivery> buffer_;
};

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

}  // namespace

int main(int argc, char** argv) {
    const options opt = parse_args(argc, argv);
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    std::signal(SIGHUP, on_stop_signal);
    const budget time_left(std::chrono::seconds(opt.timeout_seconds));
    nlohmann::json report = {{"system", opt.system},
                             {"peers", opt.peers},
                             {"load_before", load_average()},
                             {"cores", ::sysconf(_SC_NPROCESSORS_ONLN)}};
    const auto started = bench_clock::now();
    int code = 0;
    try {
        confab::test::temp_dir tmp;
        std::unique_ptr<cluster> c;
        irc_cluster* irc = nullptr;
        if (opt.system == "confab") {
            confab_cluster::options co;
            co.peers = opt.peers;
            co.tmp = tmp.path();
            co.log_level = opt.log_level;
            co.seed = opt.seed;
            // The author rate limit (200 a second by default) is policy, not capacity: the
            // rate search measures what the mesh can carry.
            co.extra_args = {"--max-rate", "100000"};
            c = std::make_unique<confab_cluster>(co);
        } else {
            auto owned = std::make_unique<irc_cluster>(opt.peers, opt.ircd, tmp.path() / "ngircd");
            irc = owned.get();
            c = std::move(owned);
        }
        report["start_seconds"] = std::chrono::duration<double>(bench_clock::now() - started).count();
        bench_run run(*c, opt, time_left);
        report["mesh_formed"] = run.mesh_formed();
        report["idle"] = run.idle(2s);
        std::mt19937 rng(opt.seed + 1);
        const auto one = static_cast<std::size_t>(rng() % opt.peers);
        if (opt.one) report["one_sender"] = run.paced("one", {one});
        std::vector<std::size_t> everyone(opt.peers);
        for (std::size_t i = 0; i < opt.peers; ++i) everyone[i] = i;
        std::shuffle(everyone.begin(), everyone.end(), rng);
        if (opt.rotating) report["rotating"] = run.paced("rot", everyone);
        const auto mem = c->sample_memory();
        report["memory"] = {{"per", opt.system == "confab" ? "peer" : "server"},
                            {"rss_mib_mean", mem.rss_mib_mean},
                            {"rss_mib_max", mem.rss_mib_max},
                            {"anon_mib_mean", mem.anon_mib_mean},
                            {"anon_mib_max", mem.anon_mib_max}};
        if (opt.rate) report["rate"] = run.max_rate();
        report["shown_twice"] = run.shown_twice();
        if (irc) report["clients_dropped"] = irc->dropped();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "run_bench (%s, %zu): %s\n", opt.system.c_str(), opt.peers, e.what());
        report["error"] = e.what();
        code = stop_requested ? 130 : 1;
    }
    report["seconds"] = std::chrono::duration<double>(bench_clock::now() - started).count();
    report["load_after"] = load_average();
    const std::string text = report.dump();
    std::printf("%s\n", text.c_str());
    if (!opt.out.empty()) {
        std::ofstream out(opt.out);
        out << text << "\n";
    }
    return code;
}

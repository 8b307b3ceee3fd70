// Terminal UI benchmark: a headless peer sends K messages as fast as it can to a TUI peer that
// runs in tmux, and the bench reports how long the TUI takes to show the last one and the CPU
// it used, once following the conversation live and once scrolled up (where a message should
// cost a status-line update, not a redraw). See bench/README.md for what each figure means.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/peer_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tmux_session.hpp"

using namespace confab::test;

namespace {

struct options {
    int messages = 10000;
    int warmup = 100;
    int cols = 80;
    int rows = 24;
    int timeout_seconds = 120;
    std::string log_level = "warn";
};

[[noreturn]] void usage(const char* argv0, int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: %s [--messages K] [--warmup W] [--cols C] [--rows R]\n"
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
        if (a == "--messages")
            o.messages = number();
        else if (a == "--warmup")
            o.warmup = number();
        else if (a == "--cols")
            o.cols = number();
        else if (a == "--rows")
            o.rows = number();
        else if (a == "--timeout-seconds")
            o.timeout_seconds = number();
        else if (a == "--log-level")
            o.log_level = v;
        else
            usage(argv[0], 2);
    }
    // The scrolled phase needs a pane to scroll and a status line to show the count on.
    if (o.rows < 6 || o.cols < 60) {
        std::fprintf(stderr, "--cols must be at least 60 and --rows at least 6\n");
        std::exit(2);
    }
    return o;
}

double ms(test_clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

std::string confab_binary() {
    const char* other = std::getenv("CONFAB_BIN");
    return other && *other ? other : CONFAB_BINARY;
}

// Set by SIGINT/SIGTERM: the run stops at the next check, and the destructors kill the
// processes and remove the temp dirs, which dying on the default disposition would not.
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

std::string row_of(const std::string& screen, int row) {
    std::istringstream in(screen);
    std::string line;
    for (int i = 0; i <= row && std::getline(in, line); ++i) {
    }
    return line;
}

struct phase_result {
    std::string name;
    int messages = 0;
    double drain_ms = 0;   // first send until the screen shows the last message (or count)
    double sender_ms = 0;  // first send until bob had sent the last one
    double tui_cpu_ms = 0;
    double tmux_cpu_ms = 0;
    int screen_polls = 0;
};

// One TUI (alice, in tmux) and one headless sender (bob), fresh for each phase so that both
// start from the same history.
class rig {
public:
    rig(const options& o, budget& time_left) : o_(o) {
        peer_options ob;
        ob.nick = "bob";
        ob.log_level = o.log_level;
        bob_ = start_peer(ob);
        seed_shared_secret(files_.path() / "data", "lobby");

        tmux_options t;
        t.cols = o.cols;
        t.rows = o.rows;
        t.argv = {confab_binary(),
                  "--nick",
                  "alice",
                  "--listen",
                  "127.0.0.1:0",
                  "--join",
                  bob_->listen(),
                  "--data-dir",
                  (files_.path() / "data").string(),
                  "--downloads",
                  (files_.path() / "downloads").string(),
                  "--log-level",
                  o.log_level,
                  // bob sends --messages as fast as it can: a flood by the default limit
                  "--max-rate",
                  "100000"};
        tui_ = std::make_unique<tmux_session>(t);
        bob_->wait_for(
            [](const event& e) { return e.name() == "peer_up" && e.str("nick") == "alice"; },
            std::min<test_clock::duration>(10s, time_left.left("start-up")), "alice's peer_up");
        tui_->wait_for_screen("\u25cf 1 peer",
                              std::min<test_clock::duration>(10s, time_left.left("start-up")),
                              "the TUI connected");
        // The CPU figure is the pane's process: make sure tmux runs confab itself, not a
        // shell that runs it.
        pid_ = tui_->pane_pid();
        const auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid_) + "/exe");
        if (exe != std::filesystem::canonical(confab_binary()))
            throw std::runtime_error("the pane runs " + exe.string() + ", not confab");
        server_pid_ = static_cast<pid_t>(std::atoi(
            tui_->tmux({"display-message", "-p", "-t", tmux_session::target, "#{pid}"}).c_str()));

        // History to scroll back into, the same for both phases.
        send_and_wait_sent("warm-up", o.warmup, time_left);
        const std::string last = "<bob> warm-up " + number(o.warmup);
        tui_->wait_for_screen(last, std::min<test_clock::duration>(20s, time_left.left("warm-up")),
                              "the last warm-up message");
    }

    phase_result run(bool scrolled, budget& time_left) {
        phase_result r;
        r.name = scrolled ? "scrolled up" : "live";
        r.messages = o_.messages;
        const std::string label = scrolled ? "scrolled" : "live";
        if (scrolled) {
            tui_->send_keys({"PPage"});
            tui_->wait_for_screen("-- scrolled up: End --",
                                  std::min<test_clock::duration>(5s, time_left.left("PgUp")),
                                  "the scrolled-up marker");
        }
        const std::string done_marker =
            scrolled ? "-- " + std::to_string(o_.messages) + " new below: End --"
                     : "<bob> " + label + " " + number(o_.messages);
        const long tui_before = cpu_ticks(pid_);
        const long tmux_before = cpu_ticks(server_pid_);
        const auto start = test_clock::now();
        const auto sent_at = send_and_wait_sent(label, o_.messages, time_left);
        r.sender_ms = ms(sent_at - start);

        // The screen is only looked at once bob has sent everything: each look costs a tmux
        // client and the server's time, which would otherwise compete with confab for the CPU.
        test_clock::time_point shown;
        for (;;) {
            ++r.screen_polls;
            const std::string screen = tui_->capture();
            const auto at = test_clock::now();
            const bool found =
                scrolled ? row_of(screen, o_.rows - 2).find(done_marker) != std::string::npos
                         : screen.find(done_marker) != std::string::npos;
            if (found) {
                shown = at;
                break;
            }
            if (tui_->pane_dead()) throw std::runtime_error("the TUI died:\n" + screen);
            if (at - start > std::min<test_clock::duration>(60s, time_left.left(label.c_str())))
                throw std::runtime_error("the TUI did not show '" + done_marker +
                                         "' within 60 s; last screen:\n" + screen);
            // Keep reading bob's events meanwhile, so that his stdout never fills.
            peer_process* p = bob_.get();
            poll_many({&p, 1}, 5ms);
        }
        const long tui_after = cpu_ticks(pid_);
        const long tmux_after = cpu_ticks(server_pid_);
        r.drain_ms = ms(shown - start);
        const double tick_ms = 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
        r.tui_cpu_ms = static_cast<double>(tui_after - tui_before) * tick_ms;
        r.tmux_cpu_ms = static_cast<double>(tmux_after - tmux_before) * tick_ms;

        if (scrolled) {
            // Not timed: the messages really are below.
            tui_->send_keys({"End"});
            tui_->wait_for_screen("<bob> " + label + " " + number(o_.messages),
                                  std::min<test_clock::duration>(10s, time_left.left("End")),
                                  "the last message after End");
        }
        return r;
    }

private:
    std::string number(int k) const {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%05d", k);
        return buf;
    }

    // Hands bob `count` lines back to back and pumps his stdin until he has sent them all
    // (his own "message" event for the last one); returns when that was.
    test_clock::time_point send_and_wait_sent(const std::string& label, int count,
                                              budget& time_left) {
        const std::size_t from = bob_->events().size();
        for (int k = 1; k <= count; ++k) bob_->send_line(label + " " + number(k));
        const std::string last = label + " " + number(count);
        auto e = bob_->wait_for(
            [&](const event& ev) { return ev.name() == "message" && ev.str("text") == last; },
            std::min<test_clock::duration>(60s, time_left.left(label.c_str())),
            "bob sending the last message", from);
        return e.at;
    }

    const options& o_;
    temp_dir files_;
    std::unique_ptr<peer_process> bob_;
    std::unique_ptr<tmux_session> tui_;
    pid_t pid_ = -1;
    pid_t server_pid_ = -1;
};

}  // namespace

int main(int argc, char** argv) {
    const options opt = parse_args(argc, argv);
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    budget time_left(std::chrono::seconds(opt.timeout_seconds));
    nlohmann::json report = {
        {"messages", opt.messages}, {"warmup", opt.warmup}, {"cols", opt.cols}, {"rows", opt.rows}};
    try {
        std::vector<phase_result> results;
        for (bool scrolled : {false, true}) {
            rig r(opt, time_left);
            results.push_back(r.run(scrolled, time_left));
        }

        std::printf(
            "confab TUI bench: %d messages from a headless peer to the TUI in tmux %dx%d "
            "(after %d warm-up messages)\n",
            opt.messages, opt.cols, opt.rows, opt.warmup);
        std::printf("  %-16s %9s %9s %8s %8s %11s %10s %9s %6s %9s\n", "", "messages", "drain ms",
                    "msgs/s", "CPU ms", "CPU us/msg", "sender ms", "behind ms", "looks",
                    "tmux CPU");
        for (const auto& r : results) {
            const double rate = r.drain_ms > 0 ? r.messages / (r.drain_ms / 1000.0) : 0;
            const double per = 1000.0 * r.tui_cpu_ms / r.messages;
            std::printf("  %-16s %9d %9.1f %8.0f %8.0f %11.1f %10.1f %9.1f %6d %9.0f\n",
                        r.name.c_str(), r.messages, r.drain_ms, rate, r.tui_cpu_ms, per,
                        r.sender_ms, r.drain_ms - r.sender_ms, r.screen_polls, r.tmux_cpu_ms);
            report[r.name == "live" ? "live" : "scrolled"] = {
                {"drain_ms", r.drain_ms},       {"msgs_per_s", rate},
                {"tui_cpu_ms", r.tui_cpu_ms},   {"tui_cpu_us_per_message", per},
                {"sender_ms", r.sender_ms},     {"behind_ms", r.drain_ms - r.sender_ms},
                {"tmux_cpu_ms", r.tmux_cpu_ms}, {"screen_polls", r.screen_polls}};
        }
        const auto& live = results[0];
        const auto& up = results[1];
        const double drain_ratio = live.drain_ms > 0 ? up.drain_ms / live.drain_ms : 0;
        const double cpu_ratio = live.tui_cpu_ms > 0 ? up.tui_cpu_ms / live.tui_cpu_ms : 0;
        std::printf("  %-16s %9s %9.2f %8s %8.2f %11.2f\n", "scrolled / live", "", drain_ratio, "",
                    cpu_ratio, cpu_ratio);
        report["ratio"] = {{"drain", drain_ratio}, {"tui_cpu", cpu_ratio}};
        std::printf("%s\n", report.dump().c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tui_bench: %s\n", e.what());
        report["error"] = e.what();
        std::printf("%s\n", report.dump().c_str());
        return 1;
    }
}

#pragma once
// N real `confab --headless` processes on 127.0.0.1, each joined to a random one started
// before it, read through the documented headless events only (ready, message, stats), so the
// bench keeps working whatever the mesh does inside. Single-threaded.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/runner/cluster.hpp"

namespace confab::bench {

class headless_process;

class confab_cluster : public cluster {
public:
    struct options {
        std::size_t peers = 10;
        std::filesystem::path tmp;  // a directory for the peers' data dirs and logs
        std::vector<std::string> extra_args;
        std::string log_level = "warn";
        std::uint32_t seed = 1;
    };
    // Starts every peer, one after the other (each needs the address of one already up).
    explicit confab_cluster(options o);
    ~confab_cluster() override;

    std::size_t size() const override { return peers_.size(); }
    bench_clock::time_point last_start() const override { return last_start_; }
    void send(std::size_t from, const std::string& text) override;
    void poll(bench_clock::duration timeout, std::vector<delivery>& out) override;
    totals sample_totals(std::vector<delivery>& out) override;
    memory sample_memory() override;

private:
    void handle_line(std::size_t peer, std::string_view line, bench_clock::time_point at,
                     std::vector<delivery>& out);

    options options_;
    std::vector<std::unique_ptr<headless_process>> peers_;
    bench_clock::time_point last_start_;
};

}  // namespace confab::bench

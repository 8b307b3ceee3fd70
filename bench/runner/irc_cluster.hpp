#pragma once
// The baseline: Debian's ngircd on 127.0.0.1, started with its own config in a temp dir (no
// penalties, no per-IP limit, no DNS or ident lookups), and N plain-socket IRC clients in one
// channel. The server is stopped when the cluster goes, whatever happened. Single-threaded.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/types.h>

#include "bench/runner/cluster.hpp"

namespace confab::bench {

class irc_cluster : public cluster {
public:
    // `ircd`: the ngircd binary; `tmp`: a directory for its config, pid file and log.
    irc_cluster(std::size_t clients, const std::string& ircd, const std::filesystem::path& tmp);
    ~irc_cluster() override;

    std::size_t size() const override { return clients_.size(); }
    bench_clock::time_point last_start() const override { return last_start_; }
    void send(std::size_t from, const std::string& text) override;
    void poll(bench_clock::duration timeout, std::vector<delivery>& out) override;
    totals sample_totals(std::vector<delivery>& out) override;
    memory sample_memory() override;
    // Clients the server disconnected (flooding, a full send queue): each loses messages.
    std::size_t dropped() const;

private:
    struct client {
        int fd = -1;
        std::string in;   // bytes read, not yet a whole line
        std::string out;  // bytes to write
        bool registered = false;
        bool joined = false;
        std::string error;  // what the server said when it closed us
    };
    void start_server(const std::string& ircd, const std::filesystem::path& tmp);
    void stop_server();
    void connect_client(std::size_t i);
    void flush(client& c);
    void read(std::size_t i, std::vector<delivery>& out);
    void handle_line(std::size_t i, std::string_view line, bench_clock::time_point at,
                     std::vector<delivery>& out);

    pid_t server_pid_ = -1;
    std::uint16_t port_ = 0;
    std::filesystem::path log_;
    std::vector<client> clients_;
    bench_clock::time_point last_start_;
    std::uint64_t bytes_ = 0;       // written and read by the clients
    std::uint64_t privmsgs_ = 0;    // channel messages read by the clients
};

}  // namespace confab::bench

#pragma once
// The headless front for scripts, bots and tests: commands from stdin, one a line; events to
// stdout as JSON, one object a line, each with an "event" field. Main thread only.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <nlohmann/json.hpp>

#include "client/front.hpp"

namespace confab::client {

class headless_front : public front {
public:
    explicit headless_front(asio::io_context& io);

    // At EOF or /quit the node is shut down and `on_done` runs.
    void start(peer::node& node, std::function<void()> on_done) override;
    void stop() override;

    void on_ready(const std::string& peer_id, const std::string& nick, const std::string& listen,
                  const std::string& room) override;
    void on_peer_up(const peer::peer_info& peer) override;
    void on_peer_down(const peer::peer_info& peer, const std::string& reason) override;
    void on_message(const peer::chat_message& message) override;
    void on_nick(const std::string& peer_id, const std::string& old_nick,
                 const std::string& new_nick, bool own) override;
    void on_peers(const std::vector<peer::peer_info>& peers, std::size_t connections) override;
    void on_error(const std::string& message) override;
    void on_notice(const std::string& message) override;
    void on_file_offer(const peer::file_info& offer) override;
    void on_file_progress(const peer::file_info& transfer) override;
    void on_file_received(const peer::file_info& transfer) override;
    void on_file_sent(const peer::file_info& transfer, const std::string& to_nick,
                      std::uint64_t bytes) override;
    void on_file_failed(const peer::file_info& transfer, const std::string& reason,
                        bool resumable) override;
    void on_files(const std::vector<peer::file_info>& transfers) override;

protected:
    void on_joined(const room_access& room) override;
    void on_parted(const std::string& room) override;
    void on_switched(const room_access& room) override;
    void on_room_list() override;
    void on_invite(const room_access& room) override;

private:
    asio::awaitable<void> read_loop();
    void execute(const std::string& line);
    void emit(const nlohmann::ordered_json& event);
    // The answer to /stats.
    void emit_stats();

    asio::io_context& io_;
    asio::posix::stream_descriptor input_;
    peer::node* node_ = nullptr;
    std::function<void()> on_done_;
    bool quitting_ = false;
    bool signalled_ = false;  // stopping on a signal: leave at once
    // Counted here, where messages reach the user, for /stats.
    std::uint64_t chat_delivered_ = 0;  // from others
    std::uint64_t chat_own_ = 0;        // our own, as the node echoed them
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace confab::client

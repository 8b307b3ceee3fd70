#pragma once
// One connection to a neighbour: the hello handshake, then a reader, a writer and a watchdog
// coroutine that live and die together. The link object lives in the frame of the coroutine
// that serves the connection. Main thread only.
//
// It is a template on its stream so that the same code runs over plain TCP and, in one
// place (peer_link in connector.hpp), over a TLS stream.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/buffer.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include "core/log.hpp"
#include "core/token_bucket.hpp"
#include "peer/detail/coro.hpp"
#include "peer/stats.hpp"
#include "protocol/frame.hpp"
#include "protocol/messages.hpp"

namespace confab::peer {

using namespace std::chrono_literals;

struct link_limits {
    // A connection that has not said hello by then is dropped (and cannot pin a slot).
    std::chrono::steady_clock::duration hello_timeout = 5s;
    // Silence this long makes us ask "are you there?" ...
    std::chrono::steady_clock::duration ping_after = 15s;
    // ... and this long means the neighbour is gone even if TCP has not noticed.
    std::chrono::steady_clock::duration dead_after = 45s;
    // A neighbour that reads slower than we write is dropped before it eats our memory.
    std::size_t max_queue_bytes = 8 * 1024 * 1024;
    // How long a closing link may take to flush its last frames (bye, error).
    std::chrono::steady_clock::duration flush_grace = 2s;
    // Frames a neighbour may send, on average per second and in one burst, whatever they are.
    // Every message of the mesh crosses each link about once, so this is a whole room's rate
    // and then some: it is the backstop against raw frame floods (pings, peer lists, copies,
    // messages under thousands of throwaway keys). Chat from one author has its own, tighter
    // limit (node_config::author_rate), which does not punish the relays in between. What is
    // over this one is dropped unread.
    double frame_rate = 5000;
    double frame_burst = 20000;
    // Each dropped frame also takes a token from this bucket (refilled at drop_rate a second):
    // a neighbour that keeps sending over the limit is cut within about a second of flooding.
    double drop_patience = 5000;
    double drop_rate = 500;
};

// A frame ready to write, shared by every link a broadcast goes to.
using frame_ptr = std::shared_ptr<const std::string>;
frame_ptr make_frame(const protocol::message& m);

template <typename Stream>
class link {
public:
    // Receives every message the link does not handle itself (peers, chat, nick).
    using message_handler =
        std::function<void(link&, protocol::message&, const std::string& payload)>;

    // `stats`, when given, is where this link counts its bytes and frames (the node's
    // totals); it must outlive the link.
    link(Stream stream, bool outbound, link_limits limits, node_stats* stats = nullptr)
        : stream_(std::move(stream)),
          outbound_(outbound),
          limits_(limits),
          stats_(stats ? stats : &own_stats_),
          bell_(stream_.get_executor(), std::chrono::steady_clock::time_point::max()),
          watchdog_timer_(stream_.get_executor()) {}

    link(const link&) = delete;
    link& operator=(const link&) = delete;

    // The dialler's side: sends our hello and reads theirs, within limits.hello_timeout. On
    // failure returns nullopt and close_reason() says why.
    asio::awaitable<std::optional<protocol::hello>> handshake(const protocol::hello& ours) {
        // Each co_await is its own statement: GCC 12 miscompiles `co_return co_await ...`
        // and co_await inside conditions here (SIGILL at run time).
        const bool sent = co_await send_hello(ours);
        if (!sent) co_return std::nullopt;
        auto theirs = co_await receive_hello();
        co_return theirs;
    }

    // The acceptor's side, first half: reads the dialler's hello, within
    // limits.hello_timeout, so that the answer can depend on who is asking.
    asio::awaitable<std::optional<protocol::hello>> receive_hello() {
        using namespace asio::experimental::awaitable_operators;
        auto result = co_await (read_hello() || detail::timeout(limits_.hello_timeout));
        if (result.index() == 1) {
            // The cancelled read recorded its own reason on the way out; the timeout is the
            // real one.
            close_reason_ = "no hello within " + seconds(limits_.hello_timeout);
            co_return std::nullopt;
        }
        co_return std::get<0>(std::move(result));
    }

    // Before run(): writes our hello. False (with close_reason()) when it could not.
    asio::awaitable<bool> send_hello(const protocol::hello& ours) {
        using namespace asio::experimental::awaitable_operators;
        std::string frame = protocol::encode_frame(protocol::serialize(ours));
        auto result = co_await (write_all(frame, 1) || detail::timeout(limits_.hello_timeout));
        if (result.index() == 1) {
            close_reason_ = "could not send hello within " + seconds(limits_.hello_timeout);
            co_return false;
        }
        if (auto ec = std::get<0>(result)) {
            record_reason("could not send hello: " + ec.message());
            co_return false;
        }
        co_return true;
    }

    // Instead of our hello: says bye with `reason` ("self", "wrong secret", ...) and closes.
    asio::awaitable<void> refuse_with_bye(const std::string& reason) {
        using namespace asio::experimental::awaitable_operators;
        std::string out = protocol::encode_frame(protocol::serialize(protocol::bye{reason}));
        record_reason("refused (" + reason + ")");
        co_await (write_all(out, 1) || detail::timeout(limits_.flush_grace));
        close_socket();
    }

    // Serves the connection until it ends, then closes the socket. Frames queued with send()
    // before run() are written first.
    asio::awaitable<void> run(message_handler handler) {
        using namespace asio::experimental::awaitable_operators;
        last_received_ = std::chrono::steady_clock::now();
        co_await (read_loop(handler) || write_loop() || watchdog_loop());
        close_socket();
    }

    // Queues a frame. Never blocks; a neighbour whose queue grows past the limit is dropped.
    void send(frame_ptr frame) {
        if (closing_) return;
        queued_bytes_ += frame->size();
        if (queued_bytes_ > limits_.max_queue_bytes) {
            abort("send queue over " + std::to_string(limits_.max_queue_bytes) +
                  " bytes: neighbour reads too slowly");
            return;
        }
        queue_.push_back(std::move(frame));
        bell_.cancel();
    }

    // Says bye (when bye_reason is not empty), flushes what is queued and closes, within
    // limits.flush_grace. The first reason given is the one reported.
    void close(std::string reason, std::string bye_reason = {}) {
        if (closing_) return;
        if (!bye_reason.empty()) send(make_frame(protocol::bye{std::move(bye_reason)}));
        record_reason(std::move(reason));
        closing_ = true;
        close_deadline_ = std::chrono::steady_clock::now() + limits_.flush_grace;
        bell_.cancel();
        watchdog_timer_.cancel();
    }

    // Closes now; whatever is queued is dropped (the loops end on the closed socket).
    void abort(std::string reason) {
        record_reason(std::move(reason));
        closing_ = true;
        close_socket();
    }

    bool outbound() const { return outbound_; }
    // Frames dropped for going over limits.frame_rate.
    std::uint64_t frames_dropped() const { return frames_dropped_; }
    bool closing() const { return closing_; }
    const std::string& close_reason() const { return close_reason_; }
    // The reason the neighbour gave in its bye, if it sent one.
    const std::optional<std::string>& remote_bye() const { return remote_bye_; }
    std::size_t queued_bytes() const { return queued_bytes_; }
    // What this link counted (into the node's totals when it was given them).
    const node_stats& stats() const { return *stats_; }
    Stream& stream() { return stream_; }

private:
    asio::awaitable<std::optional<protocol::hello>> read_hello() {
        std::array<char, 4096> buf;
        for (;;) {
            auto next = decoder_.next();
            if (next.status == protocol::decode_status::error) {
                co_await refuse("protocol error: " + next.error);
                co_return std::nullopt;
            }
            if (next.status == protocol::decode_status::frame) {
                ++stats_->frames_received;
                auto parsed = protocol::parse_message(next.payload);
                count_type(parsed);
                if (parsed.status != protocol::parse_status::ok) {
                    co_await refuse("protocol error before hello: " + parsed.error);
                    co_return std::nullopt;
                }
                auto* b = std::get_if<protocol::bye>(&*parsed.msg);
                if (b && outbound_) {
                    remote_bye_ = b->reason;
                    record_reason("neighbour refused the connection (" + b->reason + ")");
                    co_return std::nullopt;
                }
                auto* hello = std::get_if<protocol::hello>(&*parsed.msg);
                if (!hello) {
                    co_await refuse("expected hello first, got \"" + parsed.type + "\"");
                    co_return std::nullopt;
                }
                if (hello->version != protocol::protocol_version) {
                    co_await refuse("unsupported protocol version " +
                                    std::to_string(hello->version));
                    co_return std::nullopt;
                }
                co_return std::move(*hello);
            }
            auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buf), detail::use_nothrow);
            if (ec) {
                record_reason(describe_read_error(ec) + " during handshake");
                co_return std::nullopt;
            }
            stats_->bytes_received += n;
            decoder_.feed({buf.data(), n});
        }
    }

    // Before run(): tell the other side what was wrong (best effort, bounded) and give up.
    asio::awaitable<void> refuse(std::string reason) {
        record_reason(reason);
        using namespace asio::experimental::awaitable_operators;
        std::string frame = protocol::encode_frame(protocol::serialize(protocol::error{reason}));
        co_await (write_all(frame, 1) || detail::timeout(limits_.flush_grace));
    }

    asio::awaitable<std::error_code> write_all(const std::string& bytes, std::uint64_t frames) {
        auto [ec, n] =
            co_await asio::async_write(stream_, asio::buffer(bytes), detail::use_nothrow);
        stats_->bytes_sent += n;
        if (!ec) stats_->frames_sent += frames;
        co_return ec;
    }

    asio::awaitable<void> read_loop(const message_handler& handler) {
        std::array<char, 16 * 1024> buf;
        for (;;) {
            // The decoder is drained before each read: frames that arrived in the same read
            // as the hello are already in it.
            for (;;) {
                auto next = decoder_.next();
                if (next.status == protocol::decode_status::need_more) break;
                if (next.status == protocol::decode_status::error) {
                    co_await protocol_failure(next.error);
                    co_return;
                }
                ++stats_->frames_received;
                const auto now = std::chrono::steady_clock::now();
                if (!frames_allowed_.take(now)) {
                    ++frames_dropped_;
                    if (!drops_allowed_.take(now)) {
                        close("flooding: more than " + std::to_string(frames_dropped_) +
                                  " frames over the limit of " +
                                  std::to_string(static_cast<long>(limits_.frame_rate)) +
                                  " a second",
                              "flooding");
                        co_await detail::wait_forever();  // the writer ends the link
                        co_return;
                    }
                    if (frames_dropped_ == 1) {
                        core::log(core::log_level::warn, "link",
                                  "a neighbour sends more than ",
                                  static_cast<long>(limits_.frame_rate),
                                  " frames a second: dropping what is over");
                    }
                    continue;
                }
                auto parsed = protocol::parse_message(next.payload);
                count_type(parsed);
                if (parsed.status == protocol::parse_status::malformed) {
                    co_await protocol_failure(parsed.error);
                    co_return;
                }
                if (parsed.status == protocol::parse_status::unknown_type) {
                    // Newer peers may speak types we do not know: say so, stay connected.
                    core::log(core::log_level::debug, "link", parsed.error);
                    send(make_frame(protocol::error{parsed.error}));
                    continue;
                }
                if (!handle(*parsed.msg, next.payload, handler)) co_return;
            }
            auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buf), detail::use_nothrow);
            if (ec) {
                record_reason(describe_read_error(ec));
                co_return;
            }
            stats_->bytes_received += n;
            last_received_ = std::chrono::steady_clock::now();
            decoder_.feed({buf.data(), n});
        }
    }

    // Link-level messages are answered here; the rest go to the handler. False ends the link.
    bool handle(protocol::message& msg, const std::string& payload,
                const message_handler& handler) {
        if (auto* p = std::get_if<protocol::ping>(&msg)) {
            send(make_frame(protocol::pong{p->nonce}));
        } else if (std::holds_alternative<protocol::pong>(msg)) {
            // Receiving it already reset the silence clock.
        } else if (auto* b = std::get_if<protocol::bye>(&msg)) {
            remote_bye_ = b->reason;
            record_reason(b->reason.empty() ? "neighbour said bye"
                                            : "neighbour said bye (" + b->reason + ")");
            return false;
        } else if (auto* e = std::get_if<protocol::error>(&msg)) {
            core::log(core::log_level::warn, "link", "neighbour reports: ", e->message);
        } else if (std::holds_alternative<protocol::hello>(msg)) {
            send(make_frame(protocol::error{"hello sent twice"}));
            close("protocol error: hello sent twice");
        } else {
            // Even while closing: a duplicate link flushes messages that must not be lost.
            handler(*this, msg, payload);
        }
        return true;
    }

    // The stream can no longer be trusted: say why, flush that, and close.
    asio::awaitable<void> protocol_failure(const std::string& what) {
        send(make_frame(protocol::error{what}));
        close("protocol error: " + what);
        co_await detail::wait_forever();  // the writer ends the link once the error is out
    }

    asio::awaitable<void> write_loop() {
        std::string batch;
        for (;;) {
            if (queue_.empty()) {
                if (closing_) co_return;  // everything said; this ends the link
                co_await bell_.async_wait(detail::use_nothrow);
                if (co_await detail::cancelled()) co_return;
                continue;
            }
            // Several small frames in one write: a burst of chat costs one syscall (and, over
            // TLS, one record: a TLS stream writes one buffer at a time, so they are copied
            // into one; copying a few KiB is far cheaper than a record and a syscall each).
            constexpr std::size_t max_batch = 64;
            constexpr std::size_t max_batch_bytes = 64 * 1024;
            std::size_t count = 1;
            std::size_t bytes = queue_.front()->size();
            while (count < std::min(queue_.size(), max_batch) &&
                   bytes + queue_[count]->size() <= max_batch_bytes) {
                bytes += queue_[count++]->size();
            }
            asio::const_buffer out = asio::buffer(*queue_.front());
            if (count > 1) {
                batch.clear();
                for (std::size_t i = 0; i < count; ++i) batch += *queue_[i];
                out = asio::buffer(batch);
            }
            auto [ec, n] = co_await asio::async_write(stream_, out, detail::use_nothrow);
            stats_->bytes_sent += n;
            if (ec) {
                record_reason("write failed: " + ec.message());
                co_return;
            }
            stats_->frames_sent += count;
            for (std::size_t i = 0; i < count && !queue_.empty(); ++i) {
                queued_bytes_ -= queue_.front()->size();
                queue_.pop_front();
            }
        }
    }

    asio::awaitable<void> watchdog_loop() {
        using clock = std::chrono::steady_clock;
        clock::time_point pinged_for{};  // the silence we already asked about
        std::uint64_t nonce = 0;
        for (;;) {
            auto now = clock::now();
            if (closing_ && now >= close_deadline_) {
                record_reason("could not flush within " + seconds(limits_.flush_grace));
                co_return;
            }
            if (now - last_received_ >= limits_.dead_after) {
                record_reason("nothing received for " + seconds(limits_.dead_after));
                co_return;
            }
            auto next = last_received_ + limits_.dead_after;
            if (pinged_for != last_received_) {
                if (now - last_received_ >= limits_.ping_after) {
                    send(make_frame(protocol::ping{++nonce}));
                    pinged_for = last_received_;
                } else {
                    next = last_received_ + limits_.ping_after;
                }
            }
            if (closing_) next = std::min(next, close_deadline_);
            watchdog_timer_.expires_at(next);
            co_await watchdog_timer_.async_wait(detail::use_nothrow);
            if (co_await detail::cancelled()) co_return;
        }
    }

    void count_type(const protocol::parse_result& parsed) {
        // Only known types are keyed by name: a stranger must not grow the map at will.
        const std::string_view key =
            parsed.status == protocol::parse_status::ok ? std::string_view(parsed.type) : "unknown";
        auto it = stats_->received_by_type.find(key);
        if (it == stats_->received_by_type.end()) {
            it = stats_->received_by_type.emplace(std::string(key), 0).first;
        }
        ++it->second;
    }

    void record_reason(std::string reason) {
        if (close_reason_.empty()) close_reason_ = std::move(reason);
    }

    void close_socket() {
        std::error_code ignored;
        stream_.lowest_layer().close(ignored);
    }

    static std::string describe_read_error(const std::error_code& ec) {
        if (ec == asio::error::eof) return "connection closed by neighbour";
        if (ec == asio::error::operation_aborted) return "connection closed";
        return "read failed: " + ec.message();
    }

    static std::string seconds(std::chrono::steady_clock::duration d) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
        return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
    }

    Stream stream_;
    bool outbound_;
    link_limits limits_;
    node_stats own_stats_;  // counted here when the link was given nowhere else to count
    node_stats* stats_;
    core::token_bucket frames_allowed_{limits_.frame_rate, limits_.frame_burst};
    core::token_bucket drops_allowed_{limits_.drop_rate, limits_.drop_patience};
    std::uint64_t frames_dropped_ = 0;
    protocol::frame_decoder decoder_;
    std::deque<frame_ptr> queue_;
    std::size_t queued_bytes_ = 0;
    asio::steady_timer bell_;  // never expires; cancel() wakes the writer
    asio::steady_timer watchdog_timer_;
    std::chrono::steady_clock::time_point last_received_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point close_deadline_{};
    bool closing_ = false;
    std::string close_reason_;
    std::optional<std::string> remote_bye_;
};

extern template class link<asio::ip::tcp::socket>;

}  // namespace confab::peer

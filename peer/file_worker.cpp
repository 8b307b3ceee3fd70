#include "peer/file_worker.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <span>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <variant>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/buffered_read_stream.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include "core/file_name.hpp"
#include "core/log.hpp"
#include "core/partial_download.hpp"
#include "core/sha256.hpp"
#include "peer/detail/coro.hpp"
#include "protocol/address.hpp"
#include "protocol/file_service.hpp"
#include "protocol/frame.hpp"
#include "protocol/validate.hpp"

namespace confab::peer {

namespace {
// Added to the worker thread's nice value (Linux sets it per thread).
constexpr int worker_niceness = 10;

using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using detail::use_nothrow;
using namespace asio::experimental::awaitable_operators;

constexpr std::string_view component = "files";

// Big enough that a syscall moves a lot (1 MiB moved 512 MiB over loopback ~15% faster than
// 256 KiB), small enough that the worker's other transfers take turns often.
constexpr std::size_t chunk_size = 1024 * 1024;
// A download gathers TLS records (16 KiB each) into one write and one hash update of up to
// this much, or whatever arrived within gather_time, so that a slow sender still shows
// progress and never looks idle.
constexpr std::size_t gather_bytes = 256 * 1024;
constexpr auto gather_time = std::chrono::milliseconds(50);
// A throttled upload moves about a tenth of a second's worth at a time, so that its pace is
// smooth; never less than this.
constexpr std::size_t min_throttled_chunk = 1024;
// Bounds on what strangers can make the service hold: sockets (and their coroutines) and
// files open for upload.
constexpr std::size_t max_service_connections = 64;
constexpr std::size_t max_uploads = 32;

// A TCP socket that reads ahead, under the TLS of a fetch. asio's TLS stream reads its next
// layer one record (17 KiB) at a time: over a bare socket each record was a recv() and,
// while data trickled in, a wake-up of its own. Here one recv() takes up to read_ahead_bytes
// and the records are served from memory. (The service's connections only read small
// requests and keep plain tls_stream: no strangers' connections holding 256 KiB each.)
constexpr std::size_t read_ahead_bytes = 256 * 1024;

class read_ahead_socket : public asio::buffered_read_stream<tcp::socket> {
public:
    // buffered_read_stream makes its socket from an lvalue (an executor here); the accepted
    // socket is moved in after.
    read_ahead_socket(tcp::socket&& socket)
        : read_ahead_socket(socket.get_executor()) {
        next_layer() = std::move(socket);
    }
    explicit read_ahead_socket(asio::any_io_executor executor)
        : buffered_read_stream(executor, read_ahead_bytes) {}
    explicit read_ahead_socket(asio::io_context& io)
        : read_ahead_socket(asio::any_io_executor(io.get_executor())) {}
};

using fetch_tls_stream = asio::ssl::stream<read_ahead_socket>;

class unique_fd {
public:
    explicit unique_fd(int fd = -1) : fd_(fd) {}
    ~unique_fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& other) noexcept {
        if (this != &other) {
            if (fd_ >= 0) ::close(fd_);
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    int get() const { return fd_; }

private:
    int fd_;
};

std::string seconds_text(std::chrono::seconds s) {
    return std::to_string(s.count()) + " s";
}

std::string remote_text(const tcp::socket& socket) {
    std::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (ec) return "?";
    auto address = ep.address();
    return address.is_v6() ? "[" + address.to_string() + "]:" + std::to_string(ep.port())
                           : address.to_string() + ":" + std::to_string(ep.port());
}

std::string describe_read_error(const std::error_code& ec) {
    if (ec == asio::error::eof) return "connection closed by the other side";
    if (ec == asio::error::operation_aborted) return "connection closed";
    return ec.message();
}

bool same_mtime(const struct stat& a, const struct stat& b) {
    return a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

bool is_sha256_hex(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
           });
}

std::string lowercase(std::string s) {
    for (char& c : s) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return s;
}

// One frame read exactly (header, then body), so that nothing after it is consumed: the raw
// file bytes follow the answer on the same stream.
struct frame_read {
    std::string payload;
    std::string error;  // set when no frame could be read
};

template <typename Stream>
asio::awaitable<frame_read> read_frame(Stream& socket) {
    std::array<char, protocol::frame_header_size> header{};
    auto [ec, n] = co_await asio::async_read(socket, asio::buffer(header), use_nothrow);
    if (ec) co_return frame_read{{}, describe_read_error(ec)};
    std::string error;
    auto length = protocol::file_frame_length({header.data(), header.size()}, &error);
    if (!length) co_return frame_read{{}, error};
    std::string payload(*length, '\0');
    auto [ec2, n2] = co_await asio::async_read(socket, asio::buffer(payload), use_nothrow);
    if (ec2) co_return frame_read{{}, describe_read_error(ec2) + " in the middle of a frame"};
    co_return frame_read{std::move(payload), {}};
}

// Completes once `last` (moved forward by the transfer as bytes move) is `idle` old: the
// other half of `transfer() || idle_watch(...)`.
asio::awaitable<void> idle_watch(const clock_type::time_point& last, clock_type::duration idle) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        auto deadline = last + idle;
        if (clock_type::now() >= deadline) co_return;
        timer.expires_at(deadline);
        co_await timer.async_wait(use_nothrow);
        const bool stop = co_await detail::cancelled();
        if (stop) co_return;
    }
}

}  // namespace

// ---- the worker's state ------------------------------------------------------------------

struct file_worker::state {
    // An offered file, with what its inode looked like when serve() was called: a file
    // changed since then is refused rather than sent under the old hash.
    struct offer {
        served_file file;
        std::string unavailable;  // why it cannot be sent, when stat failed at serve()
        struct stat st {};
    };

    // One connection to the file service.
    struct service_conn {
        service_conn(tcp::socket s, asio::ssl::context& tls)
            : remote(remote_text(s)), socket(std::move(s), tls), throttle(socket.get_executor()) {}
        std::string remote;
        tls_stream socket;
        asio::steady_timer throttle;
        std::string transfer_id;  // once the request is read
        std::string peer_id;      // once TLS has proved it
        bool uploading = false;
        std::string cut_reason;  // why withdraw() or shutdown cut it
        clock_type::time_point last_activity = clock_type::now();
    };

    // One fetch. The partial download lives here, not in the coroutine's frame, so that
    // cancel_fetch() closes it at once (a new fetch of the same transfer may follow at once
    // and must find the part file unlocked).
    struct fetch_state {
        fetch_state(asio::io_context& io, asio::ssl::context& tls, fetch_job j)
            : job(std::move(j)), socket(io, tls), resolver(io) {}
        fetch_job job;
        std::optional<core::partial_download> download;
        fetch_tls_stream socket;
        tcp::resolver resolver;
        bool over = false;  // reported and closed: the coroutine only returns
        clock_type::time_point last_activity = clock_type::now();
        clock_type::time_point next_progress{};
        std::uint64_t reported = 0;  // bytes in the last progress report
    };

    state(file_worker& owner, const file_worker_config& config)
        : io(owner.io_),
          loop(owner.loop_),
          owner(&owner),
          alive(owner.alive_),
          config(config),
          request_timeout(config.request_timeout),
          connect_timeout(config.connect_timeout),
          idle_timeout(config.idle_timeout),
          tls(make_tls_context(*config.credentials)),
          acceptor(owner.io_),
          work(owner.io_.get_executor()) {
        listen();
    }

    // ---- thread and lifetime ----

    void run() {
        // An exception escaping a handler is a bug; it is logged and the worker goes on, since
        // the chat must not die of a file transfer.
        for (;;) {
            try {
                io.run();
                return;
            } catch (const std::exception& e) {
                core::log(core::log_level::error, component, "worker: ", e.what());
            }
        }
    }

    void start() {
        asio::co_spawn(io, accept_loop(), [](std::exception_ptr e) { log_escaped(e, "accept"); });
    }

    // Runs on the worker: ends every coroutine, so that run() returns because the work ran
    // out. Part files are kept.
    void shutdown() {
        stopped = true;
        std::error_code ignored;
        acceptor.close(ignored);
        for (auto& [id, c] : connections) cut(*c, "the file service is shutting down");
        for (auto& [id, f] : fetches) {
            f->over = true;
            close_fetch_socket(*f);
            if (f->download) f->download->abandon();
        }
        fetches.clear();
        work.reset();
    }

    static void log_escaped(std::exception_ptr e, std::string_view what) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            core::log(core::log_level::error, component, what, ": ", ex.what());
        } catch (...) {
            core::log(core::log_level::error, component, what, ": unknown exception");
        }
    }

    // Hands `f(events&)` to the loop. The lambda carries values only; the events table is
    // read there, on the loop thread, and only while the file_worker exists.
    template <typename F>
    void report(F f) {
        asio::post(loop, [alive = alive, owner = owner, f = std::move(f)]() mutable {
            if (*alive) f(owner->events_);
        });
    }

    // ---- listening ----

    void listen() {
        std::error_code ec;
        auto address = asio::ip::make_address(config.listen_host, ec);
        if (ec) {
            // A host name: resolved once, at start-up.
            tcp::resolver resolver(io);
            auto results = resolver.resolve(config.listen_host, "0", ec);
            if (ec || results.empty()) {
                throw std::runtime_error("cannot listen for file transfers on " +
                                         config.listen_host + ": " +
                                         (ec ? ec.message() : "no address"));
            }
            address = results.begin()->endpoint().address();
        }
        tcp::endpoint endpoint(address, config.port);
        auto open_and_bind = [&] {
            ec.clear();
            acceptor.open(endpoint.protocol(), ec);
            // A restart right after a crash finds the old port in TIME_WAIT: still ours.
            if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
            if (!ec) acceptor.bind(endpoint, ec);
        };
        open_and_bind();
        if (ec && config.port != 0) {
            core::log(core::log_level::info, component, "file service port ", config.port,
                      " is taken (", ec.message(), "); using another");
            std::error_code ignored;
            acceptor.close(ignored);
            endpoint.port(0);
            open_and_bind();
        }
        if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            throw std::runtime_error("cannot listen for file transfers on " + config.listen_host +
                                     ": " + ec.message());
        }
    }

    // ---- hashing ----

    void start_hash(std::uint64_t job, std::filesystem::path path) {
        if (stopped) return;
        asio::co_spawn(io, hash_file(job, std::move(path)), [this, job](std::exception_ptr e) {
            if (!e) return;
            log_escaped(e, "hash");
            report([job](events& ev) {
                if (ev.hashed) ev.hashed(job, std::nullopt, "", "internal error while hashing");
            });
        });
    }

    // Hashes in pieces and lets the worker's other work run between them, so that a large
    // /send neither stalls transfers in progress nor delays shutdown.
    asio::awaitable<void> hash_file(std::uint64_t job, std::filesystem::path path) {
        auto ex = co_await asio::this_coro::executor;
        auto fail = [&](std::string error) {
            core::log(core::log_level::info, component, "cannot hash ", path.string(), ": ", error);
            report([job, error = std::move(error)](events& ev) {
                if (ev.hashed) ev.hashed(job, std::nullopt, "", error);
            });
        };
        unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd.get() < 0) {
            fail("cannot open " + path.string() + ": " + std::strerror(errno));
            co_return;
        }
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) {
            fail("cannot stat " + path.string() + ": " + std::strerror(errno));
            co_return;
        }
        if (!S_ISREG(st.st_mode)) {
            fail(path.string() + " is not a regular file");
            co_return;
        }
        ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
        core::sha256_hasher hasher;
        std::vector<std::byte> buffer(core::sha256_file_chunk);
        for (;;) {
            if (stopping.load(std::memory_order_relaxed)) co_return;
            ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                fail("cannot read " + path.string() + ": " + std::strerror(errno));
                co_return;
            }
            if (n == 0) break;
            hasher.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
            co_await asio::post(ex, asio::use_awaitable);
        }
        // The size is what was hashed, so the two always agree.
        std::uint64_t size = hasher.size();
        std::string digest = hasher.hex_digest();
        core::log(core::log_level::debug, component, "hashed ", path.string(), ": ", size,
                  " bytes, ", digest);
        report([job, size, digest = std::move(digest)](events& ev) {
            if (ev.hashed) ev.hashed(job, size, digest, "");
        });
    }

    // ---- serving ----

    void serve(served_file file) {
        if (stopped) return;
        offer o;
        if (::stat(file.path.c_str(), &o.st) != 0) {
            o.unavailable =
                "the offered file cannot be read (" + std::string(std::strerror(errno)) + ")";
        } else if (!S_ISREG(o.st.st_mode)) {
            o.unavailable = "the offered file is not a regular file";
        } else if (static_cast<std::uint64_t>(o.st.st_size) != file.size) {
            // Changed between the hash and now: every fetch will be refused, as it should.
            core::log(core::log_level::warn, component, file.path.string(), " is ", o.st.st_size,
                      " bytes now, but ", file.size, " when hashed");
        }
        if (!o.unavailable.empty()) {
            core::log(core::log_level::warn, component, "serving ", file.transfer_id, ": ",
                      file.path.string(), ": ", o.unavailable);
        }
        core::log(core::log_level::debug, component, "serving ", file.transfer_id, " (",
                  file.path.string(), ", ", file.size, " bytes)");
        auto id = file.transfer_id;
        o.file = std::move(file);
        offers.insert_or_assign(std::move(id), std::move(o));
    }

    void withdraw(const std::string& transfer_id) {
        if (offers.erase(transfer_id) == 0) return;
        core::log(core::log_level::debug, component, "withdrew ", transfer_id);
        for (auto& [id, c] : connections) {
            if (c->transfer_id == transfer_id) cut(*c, "the offer was withdrawn");
        }
    }

    static void cut(service_conn& c, const std::string& reason) {
        if (c.cut_reason.empty()) c.cut_reason = reason;
        std::error_code ignored;
        c.socket.lowest_layer().close(ignored);
        c.throttle.cancel();
    }

    asio::awaitable<void> accept_loop() {
        asio::steady_timer pause(io);
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
            if (stopped || ec == asio::error::operation_aborted) co_return;
            if (ec) {
                // Out of file descriptors, most likely: retrying at once would spin.
                core::log(core::log_level::warn, component, "accept failed: ", ec.message());
                pause.expires_after(std::chrono::milliseconds(100));
                co_await pause.async_wait(use_nothrow);
                continue;
            }
            if (connections.size() >= max_service_connections) {
                core::log(core::log_level::info, component, "dropped a connection from ",
                          remote_text(socket), ": ", connections.size(),
                          " connections already open");
                std::error_code ignored;
                socket.close(ignored);
                continue;
            }
            auto c = std::make_shared<service_conn>(std::move(socket), tls);
            std::uint64_t id = next_connection++;
            connections.emplace(id, c);
            asio::co_spawn(io, serve_connection(id, c),
                           [](std::exception_ptr e) { log_escaped(e, "file service"); });
        }
    }

    // The connection's lifetime; the bookkeeping is undone here rather than by a guard in
    // handle_connection's frame, so that nothing touches the state from a destructor.
    asio::awaitable<void> serve_connection(std::uint64_t id, std::shared_ptr<service_conn> c) {
        co_await handle_connection(c);
        std::error_code ignored;
        c->socket.lowest_layer().close(ignored);
        if (c->uploading) --uploads;
        connections.erase(id);
    }

    asio::awaitable<void> handle_connection(std::shared_ptr<service_conn> c) {
        // TLS first, so that the request's sender is known by its key, not by what it says.
        auto shook = co_await (c->socket.async_handshake(asio::ssl::stream_base::server, use_nothrow) ||
                               detail::timeout(request_timeout));
        if (!c->cut_reason.empty()) co_return;
        if (shook.index() == 1) {
            drop(*c, "no TLS handshake within " + seconds_text(config.request_timeout));
            co_return;
        }
        if (auto [ec] = std::get<0>(shook); ec) {
            drop(*c, describe_tls_error(ec));
            co_return;
        }
        auto proven = tls_peer_id(c->socket.native_handle());
        if (!proven) {
            drop(*c, "its TLS certificate holds no Ed25519 key");
            co_return;
        }
        c->peer_id = *proven;

        auto got = co_await (read_frame(c->socket) || detail::timeout(request_timeout));
        if (!c->cut_reason.empty()) co_return;
        if (got.index() == 1) {
            drop(*c, "no request within " + seconds_text(config.request_timeout));
            co_return;
        }
        auto& frame = std::get<0>(got);
        if (!frame.error.empty()) {
            drop(*c, frame.error);
            co_return;
        }
        auto parsed = protocol::parse_file_message(frame.payload);
        if (!parsed.msg) {
            drop(*c, "malformed request: " + parsed.error);
            co_return;
        }
        auto* request = std::get_if<protocol::fetch_request>(&*parsed.msg);
        if (!request) {
            drop(*c, "expected a fetch request, got \"" + parsed.type + "\"");
            co_return;
        }
        c->transfer_id = request->transfer;
        const std::uint64_t offset = request->offset;
        if (request->peer_id != c->peer_id) {
            drop(*c, "its request names peer " + request->peer_id + " but its TLS key is " +
                         c->peer_id);
            co_return;
        }

        unique_fd fd;
        std::uint64_t size = 0;
        protocol::fetch_refused refusal = decide(*request, fd, size);
        if (!refusal.reason.empty()) {
            core::log(core::log_level::info, component, "refused ", c->transfer_id, " to ",
                      c->peer_id, " at ", c->remote, ": ", refusal.reason);
            std::string out = protocol::encode_file_frame(refusal);
            co_await (write_all(c->socket, out) || detail::timeout(request_timeout));
            report([id = c->transfer_id, peer = c->peer_id, reason = refusal.reason](events& ev) {
                if (ev.upload_failed) ev.upload_failed(id, peer, reason);
            });
            co_return;
        }

        c->uploading = true;
        ++uploads;
        core::log(core::log_level::info, component, "sending ", c->transfer_id, " to ", c->peer_id,
                  " at ", c->remote, " from byte ", offset, " of ", size);
        c->last_activity = clock_type::now();
        std::uint64_t sent = 0;
        auto result = co_await (upload(c, fd.get(), offset, size, sent) ||
                                idle_watch(c->last_activity, idle_timeout));
        std::string error;
        if (result.index() == 1) {
            error = "no byte moved for " + seconds_text(config.idle_timeout);
        } else {
            error = std::get<0>(std::move(result));
        }
        if (!c->cut_reason.empty()) error = c->cut_reason;
        if (!error.empty()) {
            error += " (after " + std::to_string(sent) + " of " + std::to_string(size - offset) +
                     " bytes)";
            core::log(core::log_level::info, component, "upload of ", c->transfer_id, " to ",
                      c->peer_id, " broke off: ", error);
            report([id = c->transfer_id, peer = c->peer_id, error](events& ev) {
                if (ev.upload_failed) ev.upload_failed(id, peer, error);
            });
            co_return;
        }
        // Only our direction is closed first: the receiver reads everything before it sees
        // the end.
        std::error_code ignored;
        c->socket.lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
        core::log(core::log_level::info, component, "sent ", c->transfer_id, " to ", c->peer_id,
                  ": ", sent, " bytes from byte ", offset);
        report([id = c->transfer_id, peer = c->peer_id, offset, sent](events& ev) {
            if (ev.sent) ev.sent(id, peer, offset, sent);
        });
    }

    void drop(service_conn& c, const std::string& why) {
        core::log(core::log_level::info, component, "dropped a connection from ", c.remote, ": ",
                  why);
    }

    // Either a refusal, or an open file of `size` bytes in `fd` that may be sent.
    protocol::fetch_refused decide(const protocol::fetch_request& request, unique_fd& fd,
                                   std::uint64_t& size) {
        auto it = offers.find(request.transfer);
        if (it == offers.end()) return {"no such offer (withdrawn or never made)", false};
        const offer& o = it->second;
        const auto& allowed = o.file.allowed;
        if (!allowed.empty() &&
            std::find(allowed.begin(), allowed.end(), request.peer_id) == allowed.end()) {
            return {"this file was not offered to you", false};
        }
        if (!o.unavailable.empty()) return {o.unavailable, false};
        if (request.offset > o.file.size) {
            return {"offset " + std::to_string(request.offset) + " is beyond the file's " +
                        std::to_string(o.file.size) + " bytes",
                    false};
        }
        if (uploads >= max_uploads) {
            return {
                "too many uploads in progress (" + std::to_string(uploads) + "); try again later",
                true};
        }
        unique_fd opened(::open(o.file.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (opened.get() < 0) {
            return {"the offered file cannot be read (" + std::string(std::strerror(errno)) + ")",
                    false};
        }
        struct stat st {};
        if (::fstat(opened.get(), &st) != 0 || st.st_dev != o.st.st_dev ||
            st.st_ino != o.st.st_ino || st.st_size != o.st.st_size || !same_mtime(st, o.st) ||
            static_cast<std::uint64_t>(st.st_size) != o.file.size) {
            return {"the file changed since it was offered", false};
        }
        ::posix_fadvise(opened.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
        fd = std::move(opened);
        size = o.file.size;
        return {};
    }

    template <typename Stream>
    static asio::awaitable<std::error_code> write_all(Stream& socket, const std::string& s) {
        auto [ec, n] = co_await asio::async_write(socket, asio::buffer(s), use_nothrow);
        co_return ec;
    }

    // Writes fetch_ok and the bytes from `offset` to `size`. "" when all went out, else why
    // not. `sent` counts file bytes written.
    asio::awaitable<std::string> upload(std::shared_ptr<service_conn> c, int fd,
                                        std::uint64_t offset, std::uint64_t size,
                                        std::uint64_t& sent) {
        std::string ok =
            protocol::encode_file_frame(protocol::fetch_ok{c->transfer_id, offset, size});
        auto [ec, n] = co_await asio::async_write(c->socket, asio::buffer(ok), use_nothrow);
        if (ec) co_return "connection lost: " + ec.message();
        c->last_activity = clock_type::now();

        const std::uint64_t limit = config.upload_limit;
        std::size_t chunk = chunk_size;
        if (limit > 0) {
            chunk = static_cast<std::size_t>(
                std::clamp<std::uint64_t>(limit / 10, min_throttled_chunk, chunk_size));
        }
        std::vector<char> buffer(chunk);
        const auto start = clock_type::now();
        std::uint64_t position = offset;
        while (position < size) {
            if (limit > 0) {
                // The bytes sent so far may not have gone faster than the limit.
                auto due = start + std::chrono::duration_cast<clock_type::duration>(
                                       std::chrono::duration<double>(static_cast<double>(sent) /
                                                                     static_cast<double>(limit)));
                if (due > clock_type::now()) {
                    c->throttle.expires_at(due);
                    co_await c->throttle.async_wait(use_nothrow);
                    if (!c->cut_reason.empty()) co_return c->cut_reason;
                    const bool stop = co_await detail::cancelled();
                    if (stop) co_return "cancelled";
                }
            }
            const auto want =
                static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - position));
            ssize_t got = ::pread(fd, buffer.data(), want, static_cast<off_t>(position));
            if (got < 0) {
                if (errno == EINTR) continue;
                co_return "cannot read the file: " + std::string(std::strerror(errno));
            }
            if (got == 0) co_return "the file shrank while being sent";
            auto [wec, wn] = co_await asio::async_write(
                c->socket, asio::buffer(buffer.data(), static_cast<std::size_t>(got)), use_nothrow);
            if (!c->cut_reason.empty()) co_return c->cut_reason;
            if (wec) co_return "connection lost: " + wec.message();
            position += wn;
            sent += wn;
            c->last_activity = clock_type::now();
        }
        co_return "";
    }

    // ---- fetching ----

    void start_fetch(fetch_job job) {
        if (stopped) return;
        const std::string id = job.transfer_id;
        if (fetches.count(id)) {
            core::log(core::log_level::debug, component, "already fetching ", id);
            return;
        }
        auto f = std::make_shared<fetch_state>(io, tls, std::move(job));
        fetches.emplace(id, f);
        kept_parts.erase(id);

        // Checked here because they go on the wire or decide whether a failure may be
        // retried; a bad one is a bug or a hostile offer, and retrying cannot help.
        std::string problem = protocol::check_transfer_id(id);
        if (problem.empty() && !is_sha256_hex(f->job.sha256)) {
            problem = "the offer's SHA-256 is not 64 hex digits";
        }
        if (problem.empty()) problem = protocol::check_peer_id(f->job.our_peer_id);
        if (!problem.empty()) {
            end_fetch(f, problem, false);
            return;
        }

        // Re-hashes what an earlier attempt left: blocks the worker for a moment (a second
        // per GB or so), but it must be read once either way.
        core::incoming_file incoming{id, f->job.name, f->job.size, f->job.sha256};
        auto opened = core::partial_download::open(f->job.downloads_dir, incoming, &stopping);
        if (stopping.load(std::memory_order_relaxed)) return;
        if (!opened.download) {
            end_fetch(f, opened.error, true);
            return;
        }
        f->download = std::move(opened.download);
        asio::co_spawn(io, run_fetch(f), [this, f](std::exception_ptr e) {
            if (!e) return;
            log_escaped(e, "fetch");
            end_fetch(f, "internal error while fetching", true);
        });
    }

    // Reports the end of a fetch once, and lets go of its part file: kept (abandoned) when
    // resumable, else deleted.
    void end_fetch(const std::shared_ptr<fetch_state>& f, std::string reason, bool resumable) {
        if (f->over) return;
        f->over = true;
        const auto& id = f->job.transfer_id;
        if (auto it = fetches.find(id); it != fetches.end() && it->second == f) fetches.erase(it);
        close_fetch_socket(*f);
        if (f->download) {
            if (resumable) {
                f->download->abandon();
            } else {
                f->download->discard();
            }
        }
        if (resumable) kept_parts.insert_or_assign(id, f->job);
        core::log(core::log_level::info, component, "fetch of ", id, " failed (",
                  resumable ? "resumable" : "not resumable", "): ", reason);
        report([id, reason = std::move(reason), resumable](events& ev) {
            if (ev.fetch_failed) ev.fetch_failed(id, reason, resumable);
        });
    }

    static void close_fetch_socket(fetch_state& f) {
        std::error_code ignored;
        f.socket.lowest_layer().close(ignored);
        f.resolver.cancel();
    }

    void cancel_fetch(const std::string& id, bool keep_part) {
        auto it = fetches.find(id);
        if (it != fetches.end()) {
            auto f = it->second;
            end_fetch(f, "cancelled", keep_part);
            if (!keep_part) kept_parts.erase(id);
            return;
        }
        if (keep_part) return;
        if (auto kept = kept_parts.find(id); kept != kept_parts.end()) {
            delete_part(kept->second);
            kept_parts.erase(kept);
        }
    }

    void discard_part(const fetch_job& job) {
        if (fetches.count(job.transfer_id)) {
            cancel_fetch(job.transfer_id, false);
            return;
        }
        kept_parts.erase(job.transfer_id);
        delete_part(job);
    }

    static void delete_part(const fetch_job& job) {
        auto path = job.downloads_dir /
                    core::part_file_name(core::sanitize_file_name(job.name), job.transfer_id);
        std::error_code ec;
        if (std::filesystem::remove(path, ec)) {
            core::log(core::log_level::info, component, "deleted ", path.string());
        } else if (ec) {
            core::log(core::log_level::warn, component, "cannot delete ", path.string(), ": ",
                      ec.message());
        }
    }

    void report_progress(fetch_state& f, bool final) {
        const std::uint64_t bytes = f.download->received();
        auto now = clock_type::now();
        if (final ? bytes == f.reported : now < f.next_progress) return;
        f.next_progress = now + config.progress_every;
        f.reported = bytes;
        report([id = f.job.transfer_id, bytes, size = f.job.size](events& ev) {
            if (ev.progress) ev.progress(id, bytes, size);
        });
    }

    asio::awaitable<void> run_fetch(std::shared_ptr<fetch_state> f) {
        const auto& job = f->job;
        const std::uint64_t offset = f->download->resumed_from();
        if (offset == job.size) {
            // All there from an earlier attempt: only the check and the rename are left.
            complete(f);
            co_return;
        }

        // Connect: each address in turn, each within connect_timeout.
        std::string errors;
        bool connected = false;
        for (const auto& address : job.addresses) {
            auto result = co_await (connect_to(f, address) || detail::timeout(connect_timeout));
            if (f->over) co_return;
            std::string error = result.index() == 0 ? std::get<0>(std::move(result))
                                                    : address + ": no answer within " +
                                                          seconds_text(config.connect_timeout);
            if (error.empty()) {
                connected = true;
                break;
            }
            errors += (errors.empty() ? "" : "; ") + error;
        }
        if (!connected) {
            end_fetch(f,
                      job.addresses.empty()
                          ? "the offer names no address for the sender's file service"
                          : "cannot reach the sender (" + errors + ")",
                      true);
            co_return;
        }
        core::log(core::log_level::debug, component, "fetching ", job.transfer_id, " from ",
                  remote_text(f->socket.next_layer().next_layer()), " at byte ", offset);

        // Ask, and hear the answer.
        auto reply = co_await (request(f, offset) || detail::timeout(request_timeout));
        if (f->over) co_return;
        if (reply.index() == 1) {
            end_fetch(f, "the sender did not answer within " + seconds_text(config.request_timeout),
                      true);
            co_return;
        }
        auto& [msg, error] = std::get<0>(reply);
        if (!msg) {
            end_fetch(f, error, true);
            co_return;
        }
        if (auto* refused = std::get_if<protocol::fetch_refused>(&*msg)) {
            end_fetch(f, "the sender refused: " + refused->reason, refused->retry);
            co_return;
        }
        auto* ok = std::get_if<protocol::fetch_ok>(&*msg);
        if (!ok) {
            end_fetch(f, "the sender answered with \"fetch\" instead of fetch_ok", true);
            co_return;
        }
        if (ok->transfer != job.transfer_id || ok->offset != offset) {
            end_fetch(f,
                      "the sender answered for another request (transfer " + ok->transfer +
                          ", offset " + std::to_string(ok->offset) + ")",
                      true);
            co_return;
        }
        if (ok->size != job.size) {
            end_fetch(f,
                      "the sender now has " + std::to_string(ok->size) + " bytes, the offer said " +
                          std::to_string(job.size),
                      false);
            co_return;
        }

        // The bytes.
        f->last_activity = clock_type::now();
        auto received = co_await (receive(f) || idle_watch(f->last_activity, idle_timeout));
        if (f->over) co_return;
        if (received.index() == 1) {
            end_fetch(f,
                      "no byte arrived for " + seconds_text(config.idle_timeout) + " at " +
                          std::to_string(f->download->received()) + " of " +
                          std::to_string(job.size) + " bytes",
                      true);
            co_return;
        }
        auto failure = std::get<0>(std::move(received));
        if (!failure.empty()) {
            end_fetch(f, failure, true);
            co_return;
        }
        complete(f);
    }

    // "" once connected, else "ADDRESS: why not".
    asio::awaitable<std::string> connect_to(std::shared_ptr<fetch_state> f, std::string address) {
        std::string error;
        auto hp = protocol::parse_host_port(address, &error);
        if (!hp) co_return error;
        std::vector<tcp::endpoint> endpoints;
        std::error_code ec;
        auto ip = asio::ip::make_address(hp->host, ec);
        if (!ec) {
            endpoints.emplace_back(ip, hp->port);
        } else {
            auto [rec, results] =
                co_await f->resolver.async_resolve(hp->host, std::to_string(hp->port), use_nothrow);
            if (f->over) co_return "cancelled";
            if (rec) co_return address + ": cannot resolve " + hp->host + ": " + rec.message();
            for (const auto& r : results) endpoints.push_back(r.endpoint());
        }
        std::string last = "no address";
        for (const auto& endpoint : endpoints) {
            std::error_code ignored;
            f->socket.lowest_layer().close(ignored);
            auto [cec] = co_await f->socket.lowest_layer().async_connect(endpoint, use_nothrow);
            if (f->over) co_return "cancelled";
            if (!cec) {
                // The sender proves it is the peer that made the offer: a file service that
                // answers at its address with another key gets no request from us.
                auto [hec] = co_await f->socket.async_handshake(asio::ssl::stream_base::client,
                                                                use_nothrow);
                if (f->over) co_return "cancelled";
                if (hec) co_return address + ": " + describe_tls_error(hec);
                auto proven = tls_peer_id(f->socket.native_handle());
                if (proven != f->job.sender_id) {
                    co_return address + ": the file service there is not " + f->job.sender_id +
                        "'s (its TLS key is " + proven.value_or("not Ed25519") + ")";
                }
                co_return "";
            }
            last = cec.message();
            const bool stop = co_await detail::cancelled();
            if (stop) break;
        }
        co_return address + ": " + last;
    }

    struct answer {
        std::optional<protocol::file_message> msg;
        std::string error;
    };

    asio::awaitable<answer> request(std::shared_ptr<fetch_state> f, std::uint64_t offset) {
        std::string out = protocol::encode_file_frame(
            protocol::fetch_request{f->job.transfer_id, f->job.our_peer_id, offset});
        auto ec = co_await write_all(f->socket, out);
        if (ec) co_return answer{std::nullopt, "could not send the request: " + ec.message()};
        auto frame = co_await read_frame(f->socket);
        if (!frame.error.empty()) {
            co_return answer{std::nullopt, "no answer from the sender: " + frame.error};
        }
        auto parsed = protocol::parse_file_message(frame.payload);
        if (!parsed.msg) {
            core::log(core::log_level::warn, component, "malformed answer to the fetch of ",
                      f->job.transfer_id, ": ", parsed.error);
            co_return answer{std::nullopt, "malformed answer from the sender: " + parsed.error};
        }
        co_return answer{std::move(parsed.msg), {}};
    }

    // Reads until the part file holds the whole file. "" then, else why not; the part file
    // and its hash agree on what arrived either way.
    asio::awaitable<std::string> receive(std::shared_ptr<fetch_state> f) {
        std::vector<char> buffer(chunk_size);
        const std::uint64_t size = f->job.size;
        while (f->download->received() < size) {
            // Never past the offered size: what follows is not ours to read.
            const auto want = static_cast<std::size_t>(
                std::min<std::uint64_t>(buffer.size(), size - f->download->received()));
            const auto started = clock_type::now();
            auto gathered = [&f, started, want](const std::error_code& error,
                                                std::size_t so_far) {
                const auto now = clock_type::now();
                // A byte in hand is a byte that arrived, for the idle watch.
                if (so_far > 0) f->last_activity = now;
                const bool enough = error || so_far >= gather_bytes ||
                                    (so_far > 0 && now - started >= gather_time);
                return enough ? std::size_t{0} : want - so_far;
            };
            auto [ec, n] = co_await asio::async_read(
                f->socket, asio::buffer(buffer.data(), want), gathered, use_nothrow);
            if (f->over) co_return "cancelled";
            if (n > 0) {
                std::string error = f->download->append(std::string_view(buffer.data(), n));
                if (!error.empty()) co_return error;
                f->last_activity = clock_type::now();
                report_progress(*f, false);
            }
            if (ec) {
                core::log(core::log_level::debug, component, "fetch of ", f->job.transfer_id, ": ",
                          describe_read_error(ec));
                co_return "connection lost at " + std::to_string(f->download->received()) + " of " +
                    std::to_string(size) + " bytes";
            }
        }
        co_return "";
    }

    void complete(const std::shared_ptr<fetch_state>& f) {
        report_progress(*f, true);
        auto finished = f->download->finish();
        if (!finished.ok) {
            // A mismatch deleted the part file; an I/O error kept it for another try.
            std::error_code ec;
            const bool kept = std::filesystem::exists(f->download->part_path(), ec);
            end_fetch(f, finished.error, kept);
            return;
        }
        f->over = true;
        const auto& job = f->job;
        if (auto it = fetches.find(job.transfer_id); it != fetches.end() && it->second == f) {
            fetches.erase(it);
        }
        close_fetch_socket(*f);
        core::log(core::log_level::info, component, "received ", job.transfer_id, " into ",
                  finished.path.string());
        report([id = job.transfer_id, path = finished.path, size = job.size,
                sha = lowercase(job.sha256), from = f->download->resumed_from()](events& ev) {
            if (ev.received) ev.received(id, path, size, sha, from);
        });
    }

    // ---- members ----

    asio::io_context& io;
    asio::any_io_executor loop;
    file_worker* owner;  // dereferenced on the loop thread only, while *alive
    std::shared_ptr<bool> alive;
    file_worker_config config;
    // As steady_clock durations: GCC 12 miscompiles a conversion inside a co_await
    // expression (peer/detail/coro.hpp), so none is left for those.
    clock_type::duration request_timeout;
    clock_type::duration connect_timeout;
    clock_type::duration idle_timeout;
    asio::ssl::context tls;  // built on the loop thread, then used by the worker only
    tcp::acceptor acceptor;
    asio::executor_work_guard<asio::io_context::executor_type> work;
    // Set by the destructor on the loop thread, so that a long hash or re-hash stops at once.
    std::atomic<bool> stopping{false};
    bool stopped = false;

    std::map<std::string, offer> offers;
    std::map<std::uint64_t, std::shared_ptr<service_conn>> connections;
    std::uint64_t next_connection = 1;
    std::size_t uploads = 0;
    std::map<std::string, std::shared_ptr<fetch_state>> fetches;
    // Fetches that ended with their part file kept, so that cancel_fetch(id, false) can still
    // delete it.
    std::map<std::string, fetch_job> kept_parts;
};

// ---- the loop's side ----------------------------------------------------------------------

file_worker::file_worker(asio::any_io_executor loop, file_worker_config config, events events)
    : loop_(std::move(loop)), events_(std::move(events)), alive_(std::make_shared<bool>(true)) {
    state_ = std::make_unique<state>(*this, config);
    port_ = state_->acceptor.local_endpoint().port();
    state_->start();
    core::log(core::log_level::debug, component, "file service listening on ", config.listen_host,
              ":", port_);
    thread_ = std::thread([s = state_.get()] {
        // File work yields the CPU to chat: on a busy machine the loop (and other peers'
        // loops) run first, and a transfer only gets slower, never the conversation. Not
        // SCHED_IDLE, although chat latency was better with it: with both cores busy (a
        // compiler, say) it starved transfers outright, and 30 s test deadlines ran out.
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), worker_niceness);
        s->run();
    });
}

file_worker::~file_worker() {
    *alive_ = false;
    state_->stopping.store(true, std::memory_order_relaxed);
    asio::post(io_, [s = state_.get()] { s->shutdown(); });
    thread_.join();
}

void file_worker::hash(std::uint64_t job, std::filesystem::path path) {
    asio::post(io_, [s = state_.get(), job, path = std::move(path)]() mutable {
        s->start_hash(job, std::move(path));
    });
}

void file_worker::serve(served_file file) {
    asio::post(io_,
               [s = state_.get(), file = std::move(file)]() mutable { s->serve(std::move(file)); });
}

void file_worker::withdraw(const std::string& transfer_id) {
    asio::post(io_, [s = state_.get(), transfer_id] { s->withdraw(transfer_id); });
}

void file_worker::fetch(fetch_job job) {
    asio::post(io_, [s = state_.get(), job = std::move(job)]() mutable {
        s->start_fetch(std::move(job));
    });
}

void file_worker::cancel_fetch(const std::string& transfer_id, bool keep_part) {
    asio::post(io_, [s = state_.get(), transfer_id, keep_part] {
        s->cancel_fetch(transfer_id, keep_part);
    });
}

void file_worker::discard_part(fetch_job job) {
    asio::post(io_, [s = state_.get(), job = std::move(job)] { s->discard_part(job); });
}

}  // namespace confab::peer

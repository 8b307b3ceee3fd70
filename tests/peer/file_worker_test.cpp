#include "peer/file_worker.hpp"

#include <array>
#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <catch2/catch.hpp>

#include "core/file_name.hpp"
#include "core/partial_download.hpp"
#include "core/sha256.hpp"
#include "peer/detail/coro.hpp"
#include "protocol/file_service.hpp"
#include "protocol/frame.hpp"
#include "tests/support/temp_dir.hpp"

using namespace confab;
using namespace std::chrono_literals;
using asio::ip::tcp;
using Catch::Matchers::Contains;
using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

// Generous, because the test machine is shared (and TSan is slow); a passing test never
// waits this long.
constexpr auto bound = 30s;

// Every file-service connection is TLS: each side proves its peer id with its key.
const core::identity& sender_key() {
    static const core::identity key = core::identity::generate();
    return key;
}
const core::identity& receiver_key() {
    static const core::identity key = core::identity::generate();
    return key;
}
std::shared_ptr<const peer::tls_credentials> credentials_of(const core::identity& key) {
    return std::make_shared<const peer::tls_credentials>(key);
}
// A TLS context for hand-made clients and servers, with `key`'s certificate.
asio::ssl::context tls_for(const core::identity& key) {
    return peer::make_tls_context(*credentials_of(key));
}

const std::string sender_id = sender_key().peer_id();
const std::string receiver_id = receiver_key().peer_id();
const std::string stranger_id = std::string(51, 's') + "a";

std::string transfer_id(int n) {
    std::string hex = "0123456789abcdef";
    std::string id(32, '0');
    for (int i = 31; i >= 0 && n > 0; --i, n /= 16) id[i] = hex[n % 16];
    return id;
}

std::string random_bytes(std::size_t size, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; i += 8) {
        auto v = rng();
        for (std::size_t k = 0; k < 8 && i + k < size; ++k)
            s[i + k] = static_cast<char>(v >> (8 * k));
    }
    return s;
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t files_in(const fs::path& dir) {
    if (!fs::exists(dir)) return 0;
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// What a file_worker told the loop, recorded on the loop thread.
struct recorder {
    struct progress_event {
        std::string id;
        std::uint64_t bytes, size;
    };
    struct received_event {
        std::string id;
        fs::path path;
        std::uint64_t size;
        std::string sha256;
        std::uint64_t resumed_from;
    };
    struct failed_event {
        std::string id, reason;
        bool resumable;
    };
    struct sent_event {
        std::string id, peer;
        std::uint64_t offset, bytes;
    };
    struct upload_failed_event {
        std::string id, peer, reason;
    };
    struct hashed_event {
        std::uint64_t job;
        std::optional<std::uint64_t> size;
        std::string sha256, error;
    };

    std::vector<progress_event> progress;
    std::vector<received_event> received;
    std::vector<failed_event> failed;
    std::vector<sent_event> sent;
    std::vector<upload_failed_event> upload_failed;
    std::vector<hashed_event> hashed;
    std::thread::id loop_thread = std::this_thread::get_id();
    bool off_loop = false;  // a callback ran on another thread

    peer::file_worker::events events() {
        peer::file_worker::events ev;
        ev.progress = [this](const std::string& id, std::uint64_t bytes, std::uint64_t size) {
            check_thread();
            progress.push_back({id, bytes, size});
        };
        ev.received = [this](const std::string& id, const fs::path& path, std::uint64_t size,
                             const std::string& sha256, std::uint64_t resumed_from) {
            check_thread();
            received.push_back({id, path, size, sha256, resumed_from});
        };
        ev.fetch_failed = [this](const std::string& id, const std::string& reason, bool resumable) {
            check_thread();
            failed.push_back({id, reason, resumable});
        };
        ev.sent = [this](const std::string& id, const std::string& peer, std::uint64_t offset,
                         std::uint64_t bytes) {
            check_thread();
            sent.push_back({id, peer, offset, bytes});
        };
        ev.upload_failed = [this](const std::string& id, const std::string& peer,
                                  const std::string& reason) {
            check_thread();
            upload_failed.push_back({id, peer, reason});
        };
        ev.hashed = [this](std::uint64_t job, std::optional<std::uint64_t> size, std::string sha256,
                           std::string error) {
            check_thread();
            hashed.push_back({job, size, std::move(sha256), std::move(error)});
        };
        return ev;
    }

    void check_thread() {
        if (std::this_thread::get_id() != loop_thread) off_loop = true;
    }
};

peer::file_worker_config test_config(std::uint64_t upload_limit = 0,
                                     std::chrono::seconds idle_timeout = 30s,
                                     std::chrono::seconds request_timeout = 10s) {
    peer::file_worker_config c;
    c.listen_host = "127.0.0.1";
    c.credentials = credentials_of(sender_key());
    c.upload_limit = upload_limit;
    c.idle_timeout = idle_timeout;
    c.request_timeout = request_timeout;
    return c;
}

// Two workers in one process, a test io_context as their loop, and folders for both.
struct transfer_env {
    test::temp_dir dir;
    fs::path shared = dir.path() / "shared";
    fs::path downloads = dir.path() / "downloads";
    // Declared before the workers: they post to it until they are destroyed.
    asio::io_context loop{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{loop.get_executor()};
    recorder sender_events;
    recorder receiver_events;
    std::unique_ptr<peer::file_worker> sender;
    std::unique_ptr<peer::file_worker> receiver;

    explicit transfer_env(std::uint64_t upload_limit = 0)
        : transfer_env(test_config(upload_limit), test_config()) {}

    transfer_env(const peer::file_worker_config& sender_config,
                 peer::file_worker_config receiver_config) {
        fs::create_directories(shared);
        receiver_config.credentials = credentials_of(receiver_key());
        sender = std::make_unique<peer::file_worker>(loop.get_executor(), sender_config,
                                                     sender_events.events());
        receiver = std::make_unique<peer::file_worker>(loop.get_executor(), receiver_config,
                                                       receiver_events.events());
    }

    ~transfer_env() {
        // Both report on the loop's thread only.
        CHECK_FALSE(sender_events.off_loop);
        CHECK_FALSE(receiver_events.off_loop);
    }

    // Runs the loop until `done`, or for `limit` at most; true when done.
    bool run_until(const std::function<bool()>& done, clock_type::duration limit = bound) {
        const auto deadline = clock_type::now() + limit;
        while (!done()) {
            const auto now = clock_type::now();
            if (now >= deadline) return false;
            loop.run_one_for(deadline - now);
        }
        return true;
    }

    struct offered {
        peer::served_file file;
        std::string bytes;
    };

    // A random file in the shared folder, served by `sender` (or `server`).
    offered offer(int n, std::size_t size, std::vector<std::string> allowed = {},
                  peer::file_worker* server = nullptr) {
        offered o;
        o.bytes = random_bytes(size, static_cast<unsigned>(n));
        o.file.transfer_id = transfer_id(n);
        o.file.path = shared / ("file" + std::to_string(n) + ".bin");
        write_file(o.file.path, o.bytes);
        o.file.size = size;
        o.file.sha256 = core::sha256_hex(o.bytes);
        o.file.allowed = std::move(allowed);
        (server ? server : sender.get())->serve(o.file);
        return o;
    }

    peer::fetch_job job_for(const peer::served_file& file, std::uint16_t port = 0) {
        peer::fetch_job job;
        job.transfer_id = file.transfer_id;
        job.name = file.path.filename().string();
        job.size = file.size;
        job.sha256 = file.sha256;
        job.sender_id = sender_id;
        job.addresses = {"127.0.0.1:" + std::to_string(port ? port : sender->port())};
        job.our_peer_id = receiver_id;
        job.downloads_dir = downloads;
        return job;
    }

    fs::path part_path(const peer::fetch_job& job) const {
        return downloads /
               core::part_file_name(core::sanitize_file_name(job.name), job.transfer_id);
    }

    // Every job posted to `worker` before this has run when it returns (the worker runs its
    // jobs in order, and a hash reports back).
    void barrier(peer::file_worker& worker, recorder& events) {
        static std::uint64_t job = 1000;
        const std::size_t before = events.hashed.size();
        worker.hash(++job, dir.path() / "no such file");
        REQUIRE(run_until([&] { return events.hashed.size() > before; }));
    }

    bool fetch_over() const {
        return !receiver_events.received.empty() || !receiver_events.failed.empty();
    }
};

// A client that says `bytes` (maybe nothing) and reads until the service closes.
struct raw_client_result {
    bool done = false;
    std::string connect_error;
    std::string received;
    clock_type::duration closed_after{};
};

// Over TLS as the receiver (`tls`), or plain TCP.
asio::awaitable<void> raw_client(tcp::endpoint endpoint, std::string bytes,
                                 std::shared_ptr<raw_client_result> out, bool tls = true) {
    auto ex = co_await asio::this_coro::executor;
    const auto start = clock_type::now();
    auto ctx = tls_for(receiver_key());
    peer::tls_stream secure(ex, ctx);
    auto [ec] = co_await secure.lowest_layer().async_connect(endpoint, peer::detail::use_nothrow);
    if (ec) {
        out->connect_error = ec.message();
        out->done = true;
        co_return;
    }
    if (tls) {
        auto [hec] = co_await secure.async_handshake(asio::ssl::stream_base::client,
                                                     peer::detail::use_nothrow);
        if (hec) {
            out->connect_error = hec.message();
            out->done = true;
            co_return;
        }
    }
    auto write = [&](const std::string& b) {
        return tls ? asio::async_write(secure, asio::buffer(b), peer::detail::use_nothrow)
                   : asio::async_write(secure.next_layer(), asio::buffer(b),
                                       peer::detail::use_nothrow);
    };
    auto read = [&](asio::mutable_buffer b) {
        return tls ? secure.async_read_some(b, peer::detail::use_nothrow)
                   : secure.next_layer().async_read_some(b, peer::detail::use_nothrow);
    };
    if (!bytes.empty()) {
        // A write error shows as the read below failing.
        [[maybe_unused]] auto [wec, wn] = co_await write(bytes);
    }
    std::array<char, 4096> buffer;
    for (;;) {
        auto [rec, n] = co_await read(asio::buffer(buffer));
        out->received.append(buffer.data(), n);
        if (rec) break;
    }
    out->closed_after = clock_type::now() - start;
    out->done = true;
}

std::string frame_header(std::uint32_t n) {
    std::string h(4, '\0');
    h[0] = static_cast<char>(n >> 24);
    h[1] = static_cast<char>(n >> 16);
    h[2] = static_cast<char>(n >> 8);
    h[3] = static_cast<char>(n);
    return h;
}

// A file service that answers fetch_ok, sends `bytes` of the file, and then falls silent
// until the receiver hangs up.
asio::awaitable<void> stalling_sender(tcp::acceptor& acceptor, std::uint64_t size,
                                      std::string bytes) {
    auto [ec, plain] = co_await acceptor.async_accept(peer::detail::use_nothrow);
    if (ec) co_return;
    auto ctx = tls_for(sender_key());
    peer::tls_stream socket(std::move(plain), ctx);
    auto [tec] = co_await socket.async_handshake(asio::ssl::stream_base::server,
                                                 peer::detail::use_nothrow);
    if (tec) co_return;
    std::array<char, 4> header;
    auto [hec, hn] =
        co_await asio::async_read(socket, asio::buffer(header), peer::detail::use_nothrow);
    std::string error;
    auto length = protocol::file_frame_length({header.data(), header.size()}, &error);
    if (hec || !length) co_return;
    std::string payload(*length, '\0');
    auto [pec, pn] =
        co_await asio::async_read(socket, asio::buffer(payload), peer::detail::use_nothrow);
    auto parsed = protocol::parse_file_message(payload);
    if (pec || !parsed.msg) co_return;
    const auto& request = std::get<protocol::fetch_request>(*parsed.msg);
    std::string out =
        protocol::encode_file_frame(protocol::fetch_ok{request.transfer, request.offset, size});
    out += bytes;
    auto [wec, wn] =
        co_await asio::async_write(socket, asio::buffer(out), peer::detail::use_nothrow);
    if (wec) co_return;
    std::array<char, 64> sink;
    for (;;) {
        auto [rec, rn] =
            co_await socket.async_read_some(asio::buffer(sink), peer::detail::use_nothrow);
        if (rec) co_return;
    }
}

// The answer frame a raw client got, parsed.
std::optional<protocol::file_message> answer_of(const std::string& received) {
    protocol::frame_decoder d;
    d.feed(received);
    auto r = d.next();
    if (r.status != protocol::decode_status::frame) return std::nullopt;
    return protocol::parse_file_message(r.payload).msg;
}

}  // namespace

TEST_CASE("file worker: the service listens and hash reports size and SHA-256", "[file_worker]") {
    transfer_env env;
    CHECK(env.sender->port() != 0);
    CHECK(env.receiver->port() != 0);
    CHECK(env.sender->port() != env.receiver->port());

    const auto bytes = random_bytes(3 * 1024 * 1024 + 17, 1);
    const auto path = env.shared / "a file.bin";
    write_file(path, bytes);
    env.sender->hash(7, path);
    env.sender->hash(8, env.shared / "missing");
    env.sender->hash(9, env.shared);
    write_file(env.shared / "empty", "");
    env.sender->hash(10, env.shared / "empty");
    REQUIRE(env.run_until([&] { return env.sender_events.hashed.size() == 4; }));

    // Jobs may finish in any order; each is told by its number.
    auto of_job = [&](std::uint64_t job) {
        for (const auto& h : env.sender_events.hashed) {
            if (h.job == job) return h;
        }
        FAIL("no report for job " << job);
        return recorder::hashed_event{};
    };
    auto h = of_job(7);
    CHECK(h.size == bytes.size());
    CHECK(h.sha256 == core::sha256_hex(bytes));
    CHECK(h.sha256 == *core::sha256_file(path));
    CHECK(h.error.empty());

    h = of_job(8);
    CHECK_FALSE(h.size.has_value());
    CHECK_THAT(h.error, Contains("cannot open") && Contains("missing"));
    h = of_job(9);
    CHECK_FALSE(h.size.has_value());
    CHECK_THAT(h.error, Contains("not a regular file"));
    h = of_job(10);
    CHECK(h.size == 0u);
    CHECK(h.sha256 == core::sha256_hex(""));
    CHECK(h.error.empty());
}

TEST_CASE("file worker: a file arrives byte-identical, with coalesced progress", "[file_worker]") {
    transfer_env env;
    auto o = env.offer(1, 5 * 1024 * 1024 + 123);
    auto job = env.job_for(o.file);
    const auto start = clock_type::now();
    env.receiver->fetch(job);
    env.receiver->fetch(job);  // already being fetched: ignored
    REQUIRE(env.run_until([&] { return env.fetch_over() && !env.sender_events.sent.empty(); }));
    const auto elapsed = clock_type::now() - start;

    const auto& r = env.receiver_events;
    REQUIRE(r.failed.empty());
    REQUIRE(r.received.size() == 1);
    CHECK(r.received[0].id == o.file.transfer_id);
    CHECK(r.received[0].path == env.downloads / "file1.bin");
    CHECK(r.received[0].size == o.bytes.size());
    CHECK(r.received[0].sha256 == o.file.sha256);
    CHECK(r.received[0].resumed_from == 0);
    CHECK(read_file(r.received[0].path) == o.bytes);
    CHECK(files_in(env.downloads) == 1);  // no part file left behind

    // At most one report per progress_every, plus the first and the final one.
    REQUIRE_FALSE(r.progress.empty());
    const auto periods = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed) / 100ms;
    CHECK(r.progress.size() <= static_cast<std::size_t>(periods) + 2);
    for (std::size_t i = 0; i < r.progress.size(); ++i) {
        CHECK(r.progress[i].id == o.file.transfer_id);
        CHECK(r.progress[i].size == o.bytes.size());
        if (i > 0) CHECK(r.progress[i].bytes > r.progress[i - 1].bytes);
    }
    CHECK(r.progress.back().bytes == o.bytes.size());

    const auto& s = env.sender_events;
    REQUIRE(s.sent.size() == 1);
    CHECK(s.sent[0].id == o.file.transfer_id);
    CHECK(s.sent[0].peer == receiver_id);
    CHECK(s.sent[0].offset == 0);
    CHECK(s.sent[0].bytes == o.bytes.size());
    CHECK(s.upload_failed.empty());

    SECTION("a second fetch of a received file lands under a new name") {
        env.receiver->fetch(job);
        REQUIRE(env.run_until([&] { return r.received.size() == 2; }));
        CHECK(r.received[1].path == env.downloads / "file1 (1).bin");
        CHECK(read_file(r.received[1].path) == o.bytes);
    }
}

TEST_CASE("file worker: a fetch resumes from the part file", "[file_worker]") {
    transfer_env env;
    const std::size_t size = 4 * 1024 * 1024 + 5;
    const std::size_t half = size / 2;
    auto o = env.offer(2, size);
    auto job = env.job_for(o.file);
    fs::create_directories(env.downloads);
    write_file(env.part_path(job), o.bytes.substr(0, half));

    env.receiver->fetch(job);
    REQUIRE(env.run_until([&] { return env.fetch_over() && !env.sender_events.sent.empty(); }));
    const auto& r = env.receiver_events;
    REQUIRE(r.failed.empty());
    REQUIRE(r.received.size() == 1);
    CHECK(r.received[0].resumed_from == half);
    CHECK(read_file(r.received[0].path) == o.bytes);
    CHECK_FALSE(fs::exists(env.part_path(job)));
    REQUIRE(env.sender_events.sent.size() == 1);
    CHECK(env.sender_events.sent[0].offset == half);
    CHECK(env.sender_events.sent[0].bytes == size - half);
    // Progress counts the whole file, the resumed part included.
    CHECK(r.progress.front().bytes > half);
    CHECK(r.progress.back().bytes == size);
}

TEST_CASE("file worker: a complete part file needs no connection", "[file_worker]") {
    transfer_env env;
    auto o = env.offer(3, 100000);
    env.sender->withdraw(o.file.transfer_id);
    auto job = env.job_for(o.file);
    job.addresses = {"127.0.0.1:1"};  // nobody there
    fs::create_directories(env.downloads);
    write_file(env.part_path(job), o.bytes);
    env.receiver->fetch(job);
    REQUIRE(env.run_until([&] { return env.fetch_over(); }));
    REQUIRE(env.receiver_events.received.size() == 1);
    CHECK(env.receiver_events.received[0].resumed_from == o.bytes.size());
    CHECK(read_file(env.receiver_events.received[0].path) == o.bytes);
}

TEST_CASE("file worker: a file changed after it was offered is refused and the part deleted",
          "[file_worker]") {
    transfer_env env;
    const std::size_t size = 1024 * 1024;
    auto o = env.offer(4, size);
    auto job = env.job_for(o.file);
    fs::create_directories(env.downloads);
    write_file(env.part_path(job), o.bytes.substr(0, size / 4));
    // The service takes the file as it was at serve(): wait until it has.
    env.barrier(*env.sender, env.sender_events);

    {
        std::fstream f(o.file.path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(size / 2);
        f.put(static_cast<char>(o.bytes[size / 2] ^ 1));
    }
    // Explicit, because a write within the same clock tick may leave the mtime as it was.
    fs::last_write_time(o.file.path, fs::last_write_time(o.file.path) + 2s);

    env.receiver->fetch(job);
    REQUIRE(env.run_until([&] { return env.fetch_over(); }));
    const auto& r = env.receiver_events;
    REQUIRE(r.failed.size() == 1);
    CHECK_FALSE(r.failed[0].resumable);
    CHECK_THAT(r.failed[0].reason, Contains("the file changed since it was offered"));
    CHECK(r.received.empty());
    CHECK_FALSE(fs::exists(env.part_path(job)));
    CHECK(files_in(env.downloads) == 0);
    REQUIRE(env.run_until([&] { return !env.sender_events.upload_failed.empty(); }));
    CHECK_THAT(env.sender_events.upload_failed[0].reason, Contains("changed"));
    CHECK(env.sender_events.upload_failed[0].peer == receiver_id);
}

TEST_CASE("file worker: bytes that do not match the offered SHA-256 are rejected",
          "[file_worker]") {
    transfer_env env;
    const std::size_t size = 2 * 1024 * 1024;
    auto o = env.offer(5, size);
    auto job = env.job_for(o.file);
    job.sha256 = core::sha256_hex("something else");  // as if the bytes were tampered with
    env.receiver->fetch(job);
    REQUIRE(env.run_until([&] { return env.fetch_over(); }));
    const auto& r = env.receiver_events;
    REQUIRE(r.failed.size() == 1);
    CHECK_FALSE(r.failed[0].resumable);
    CHECK_THAT(r.failed[0].reason, Contains("SHA-256 mismatch"));
    CHECK(r.received.empty());
    CHECK(files_in(env.downloads) == 0);
}

TEST_CASE("file worker: only the peers a file was offered to may fetch it", "[file_worker]") {
    transfer_env env;
    auto o = env.offer(6, 4096, {stranger_id});
    env.receiver->fetch(env.job_for(o.file));
    REQUIRE(env.run_until([&] { return env.fetch_over(); }));
    REQUIRE(env.receiver_events.failed.size() == 1);
    CHECK_FALSE(env.receiver_events.failed[0].resumable);
    CHECK_THAT(env.receiver_events.failed[0].reason,
               Contains("refused") && Contains("not offered to you"));
    CHECK(files_in(env.downloads) == 0);
    REQUIRE(env.run_until([&] { return !env.sender_events.upload_failed.empty(); }));
    CHECK(env.sender_events.upload_failed[0].peer == receiver_id);

    SECTION("and only while it is offered") {
        auto other = env.offer(7, 4096, {receiver_id});
        env.sender->withdraw(other.file.transfer_id);
        env.receiver->fetch(env.job_for(other.file));
        REQUIRE(env.run_until([&] { return env.receiver_events.failed.size() == 2; }));
        CHECK_THAT(env.receiver_events.failed[1].reason,
                   Contains("no such offer (withdrawn or never made)"));
        CHECK_FALSE(env.receiver_events.failed[1].resumable);
    }
    SECTION("an allowed peer gets it") {
        auto other = env.offer(8, 4096, {stranger_id, receiver_id});
        env.receiver->fetch(env.job_for(other.file));
        REQUIRE(env.run_until([&] { return !env.receiver_events.received.empty(); }));
        CHECK(read_file(env.receiver_events.received[0].path) == other.bytes);
    }
}

TEST_CASE("file worker: withdraw cuts an upload, and the fetch resumes from another sender",
          "[file_worker]") {
    transfer_env env(1024 * 1024);  // 1 MiB/s: the 4 MiB take 4 s unless cut
    const std::size_t size = 4 * 1024 * 1024;
    auto o = env.offer(9, size);
    auto job = env.job_for(o.file);
    env.receiver->fetch(job);
    const auto& r = env.receiver_events;
    REQUIRE(env.run_until([&] { return !r.progress.empty() || env.fetch_over(); }));
    REQUIRE(r.failed.empty());
    env.sender->withdraw(o.file.transfer_id);
    REQUIRE(env.run_until([&] { return env.fetch_over(); }));
    REQUIRE(r.failed.size() == 1);
    CHECK(r.failed[0].resumable);
    CHECK_THAT(r.failed[0].reason,
               Contains("connection lost at ") && Contains(" of 4194304 bytes"));
    REQUIRE(fs::exists(env.part_path(job)));
    const auto kept = fs::file_size(env.part_path(job));
    CHECK(kept > 0);
    CHECK(kept < size);
    CHECK_THAT(r.failed[0].reason, Contains("at " + std::to_string(kept) + " of"));
    REQUIRE(env.run_until([&] { return !env.sender_events.upload_failed.empty(); }));
    CHECK_THAT(env.sender_events.upload_failed[0].reason, Contains("withdrawn"));
    CHECK(env.sender_events.sent.empty());

    // The same file, offered again by an unthrottled sender.
    recorder other_events;
    peer::file_worker other(env.loop.get_executor(), test_config(), other_events.events());
    other.serve(o.file);
    env.receiver->fetch(env.job_for(o.file, other.port()));
    REQUIRE(env.run_until([&] { return !r.received.empty() && !other_events.sent.empty(); }));
    CHECK(r.received[0].resumed_from == kept);
    CHECK(read_file(r.received[0].path) == o.bytes);
    CHECK(other_events.sent[0].offset == kept);
    CHECK(other_events.sent[0].bytes == size - kept);
}

TEST_CASE("file worker: a sender shutting down mid-upload leaves a resumable part",
          "[file_worker]") {
    transfer_env env(1024 * 1024);
    auto o = env.offer(10, 4 * 1024 * 1024);
    auto job = env.job_for(o.file);
    env.receiver->fetch(job);
    REQUIRE(env.run_until([&] { return !env.receiver_events.progress.empty(); }));
    const auto start = clock_type::now();
    env.sender.reset();
    CHECK(clock_type::now() - start < 2s);  // the destructor cuts, it does not wait
    REQUIRE(env.run_until([&] { return env.fetch_over(); }));
    REQUIRE(env.receiver_events.failed.size() == 1);
    CHECK(env.receiver_events.failed[0].resumable);
    CHECK(fs::exists(env.part_path(job)));
}

TEST_CASE("file worker: cancel_fetch keeps or deletes the part file", "[file_worker]") {
    transfer_env env(1024 * 1024);
    auto o = env.offer(11, 4 * 1024 * 1024);
    auto job = env.job_for(o.file);
    const auto& r = env.receiver_events;
    env.receiver->fetch(job);
    REQUIRE(env.run_until([&] { return !r.progress.empty(); }));

    // Cancelled for now, and fetched again at once: the part file is free for the new fetch.
    env.receiver->cancel_fetch(job.transfer_id, true);
    env.receiver->fetch(job);
    REQUIRE(env.run_until([&] { return !r.failed.empty(); }));
    CHECK(r.failed[0].reason == "cancelled");
    CHECK(r.failed[0].resumable);
    CHECK(fs::exists(env.part_path(job)));
    const auto progress_before = r.progress.size();
    REQUIRE(
        env.run_until([&] { return r.progress.size() > progress_before || r.failed.size() > 1; }));
    REQUIRE(r.failed.size() == 1);  // the second fetch runs

    env.receiver->cancel_fetch(job.transfer_id, false);
    REQUIRE(env.run_until([&] { return r.failed.size() == 2; }));
    CHECK(r.failed[1].reason == "cancelled");
    CHECK_FALSE(r.failed[1].resumable);
    CHECK_FALSE(fs::exists(env.part_path(job)));
    CHECK(r.received.empty());

    SECTION("cancel_fetch(id, false) deletes what an interrupted fetch kept") {
        const auto progress_now = r.progress.size();
        env.receiver->fetch(job);
        REQUIRE(env.run_until([&] { return r.progress.size() > progress_now; }));
        env.sender->withdraw(job.transfer_id);
        REQUIRE(env.run_until([&] { return r.failed.size() == 3; }));
        CHECK(r.failed[2].resumable);
        CHECK(fs::exists(env.part_path(job)));
        env.receiver->cancel_fetch(job.transfer_id, false);
        env.barrier(*env.receiver, env.receiver_events);
        CHECK_FALSE(fs::exists(env.part_path(job)));
        CHECK(r.failed.size() == 3);  // nothing was in progress: nothing to report
    }
    SECTION("discard_part deletes a part file the worker has never heard of") {
        auto unknown = env.job_for(env.offer(12, 1000).file);
        write_file(env.part_path(unknown), "left by an earlier run");
        env.receiver->discard_part(unknown);
        env.barrier(*env.receiver, env.receiver_events);
        CHECK_FALSE(fs::exists(env.part_path(unknown)));
    }
}

TEST_CASE("file worker: garbage and silence are dropped without harming a transfer",
          "[file_worker]") {
    // The 3 MiB take most of a second; a silent connection is dropped after 1 s.
    transfer_env env(test_config(4 * 1024 * 1024, 30s, 1s), test_config());
    auto o = env.offer(13, 3 * 1024 * 1024);
    env.receiver->fetch(env.job_for(o.file));
    REQUIRE(env.run_until([&] { return !env.receiver_events.progress.empty(); }));

    const tcp::endpoint service(asio::ip::make_address("127.0.0.1"), env.sender->port());
    auto spawn = [&](std::string bytes, bool tls = true) {
        auto out = std::make_shared<raw_client_result>();
        asio::co_spawn(env.loop, raw_client(service, std::move(bytes), out, tls), asio::detached);
        return out;
    };
    auto plain_silent = spawn("", false);
    auto plain_request = spawn(
        protocol::encode_file_frame(protocol::fetch_request{o.file.transfer_id, receiver_id, 0}),
        false);
    // The TLS key is the receiver's; the request claims somebody else.
    auto liar = spawn(
        protocol::encode_file_frame(protocol::fetch_request{o.file.transfer_id, stranger_id, 0}));
    auto silent = spawn("");
    auto half_header = spawn(std::string("\0\0", 2));
    auto too_big = spawn(frame_header(protocol::max_file_frame_size + 1) + "{}");
    auto empty_frame = spawn(frame_header(0));
    auto not_json = spawn(protocol::encode_frame("this is not JSON"));
    auto wrong_type = spawn(protocol::encode_frame(R"({"type":"fetch_ok"})"));
    auto bad_id = spawn(
        protocol::encode_frame(R"({"type":"fetch","transfer":"../../etc/passwd","peer_id":")" +
                               receiver_id + R"(","offset":0})"));
    auto unknown = spawn(
        protocol::encode_file_frame(protocol::fetch_request{transfer_id(999), receiver_id, 0}));
    auto past_end = spawn(protocol::encode_file_frame(
        protocol::fetch_request{o.file.transfer_id, receiver_id, o.bytes.size() + 1}));
    std::vector<std::shared_ptr<raw_client_result>> all{
        plain_silent, plain_request, liar,     silent,  half_header, too_big,
        empty_frame,  not_json,      wrong_type, bad_id, unknown,     past_end};

    REQUIRE(env.run_until([&] {
        for (const auto& c : all) {
            if (!c->done) return false;
        }
        return env.fetch_over();
    }));
    for (const auto& c : all) CHECK(c->connect_error.empty());

    // Malformed requests are dropped without an answer; silence after request_timeout.
    for (const auto& c :
         {liar, silent, half_header, too_big, empty_frame, not_json, wrong_type, bad_id}) {
        CHECK(c->received.empty());
    }
    // Without TLS nothing readable comes back (at most an alert), never a file byte.
    CHECK(plain_silent->received.empty());
    CHECK(plain_request->received.find("fetch") == std::string::npos);
    CHECK(plain_request->received.size() < 64);
    CHECK(silent->closed_after >= 900ms);
    CHECK(silent->closed_after < 10s);
    CHECK(half_header->closed_after >= 900ms);
    CHECK(too_big->closed_after < silent->closed_after);
    CHECK(not_json->closed_after < silent->closed_after);

    // Well-formed requests for what cannot be had are answered with a refusal.
    auto answer = answer_of(unknown->received);
    REQUIRE(answer);
    REQUIRE(std::holds_alternative<protocol::fetch_refused>(*answer));
    CHECK(std::get<protocol::fetch_refused>(*answer).reason ==
          "no such offer (withdrawn or never made)");
    answer = answer_of(past_end->received);
    REQUIRE(answer);
    REQUIRE(std::holds_alternative<protocol::fetch_refused>(*answer));
    CHECK_THAT(std::get<protocol::fetch_refused>(*answer).reason, Contains("beyond"));

    // The transfer went on.
    REQUIRE(env.receiver_events.failed.empty());
    REQUIRE(env.receiver_events.received.size() == 1);
    CHECK(read_file(env.receiver_events.received[0].path) == o.bytes);
}

TEST_CASE("file worker: an unreachable sender is a resumable failure", "[file_worker]") {
    transfer_env env;
    auto o = env.offer(14, 1000);
    auto job = env.job_for(o.file);
    // A port nobody listens on: connection refused at once.
    asio::io_context scratch;
    tcp::acceptor a(scratch, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto dead_port = a.local_endpoint().port();
    a.close();
    job.addresses = {"not an address", "127.0.0.1:" + std::to_string(dead_port)};
    env.receiver->fetch(job);
    REQUIRE(env.run_until([&] { return env.fetch_over(); }));
    REQUIRE(env.receiver_events.failed.size() == 1);
    CHECK(env.receiver_events.failed[0].resumable);
    CHECK_THAT(env.receiver_events.failed[0].reason, Contains("cannot reach the sender"));

    SECTION("then reachable again") {
        env.receiver->fetch(env.job_for(o.file));
        REQUIRE(env.run_until([&] { return !env.receiver_events.received.empty(); }));
        CHECK(read_file(env.receiver_events.received[0].path) == o.bytes);
    }
}

TEST_CASE("file worker: a transfer that stalls fails after idle_timeout", "[file_worker]") {
    SECTION("on the receiver: resumable, the bytes that came are kept") {
        transfer_env env(test_config(), test_config(0, 1s));
        tcp::acceptor fake(env.loop, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        auto o = env.offer(20, 100000);
        auto job = env.job_for(o.file, fake.local_endpoint().port());
        asio::co_spawn(env.loop, stalling_sender(fake, o.bytes.size(), o.bytes.substr(0, 1000)),
                       asio::detached);
        const auto start = clock_type::now();
        env.receiver->fetch(job);
        REQUIRE(env.run_until([&] { return env.fetch_over(); }));
        CHECK(clock_type::now() - start >= 900ms);
        REQUIRE(env.receiver_events.failed.size() == 1);
        CHECK(env.receiver_events.failed[0].resumable);
        CHECK_THAT(env.receiver_events.failed[0].reason,
                   Contains("no byte arrived for 1 s at 1000 of 100000 bytes"));
        CHECK(fs::file_size(env.part_path(job)) == 1000);
    }
    SECTION("on the sender: a receiver that stops reading is cut") {
        transfer_env env(test_config(0, 1s), test_config());
        // More than loopback's socket buffers hold, so that the sender has to wait.
        auto o = env.offer(21, 48 * 1024 * 1024);
        auto ctx = tls_for(receiver_key());
        peer::tls_stream reader(env.loop, ctx);
        reader.lowest_layer().connect(
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), env.sender->port()));
        reader.handshake(asio::ssl::stream_base::client);
        asio::write(reader, asio::buffer(protocol::encode_file_frame(
                                protocol::fetch_request{o.file.transfer_id, receiver_id, 0})));
        REQUIRE(env.run_until([&] { return !env.sender_events.upload_failed.empty(); }));
        CHECK_THAT(env.sender_events.upload_failed[0].reason, Contains("no byte moved for 1 s"));
        CHECK(env.sender_events.sent.empty());
    }
}

TEST_CASE("file worker: a busy sender refuses for now, and the part is kept", "[file_worker]") {
    transfer_env env(16 * 1024);  // slow enough that the uploads are all open at once
    constexpr int uploads = 32;   // the service's limit
    std::vector<peer::fetch_job> jobs;
    for (int i = 0; i <= uploads; ++i) {
        jobs.push_back(env.job_for(env.offer(100 + i, 1024 * 1024).file));
    }
    for (int i = 0; i < uploads; ++i) env.receiver->fetch(jobs[i]);
    const auto& r = env.receiver_events;
    REQUIRE(env.run_until([&] {
        std::set<std::string> moving;
        for (const auto& p : r.progress) moving.insert(p.id);
        return moving.size() == uploads || !r.failed.empty();
    }));
    REQUIRE(r.failed.empty());

    fs::create_directories(env.downloads);
    write_file(env.part_path(jobs[uploads]), "kept");
    env.receiver->fetch(jobs[uploads]);
    REQUIRE(env.run_until([&] { return !r.failed.empty(); }));
    REQUIRE(r.failed.size() == 1);
    CHECK(r.failed[0].id == jobs[uploads].transfer_id);
    CHECK(r.failed[0].resumable);
    CHECK_THAT(r.failed[0].reason, Contains("too many uploads in progress"));
    CHECK(read_file(env.part_path(jobs[uploads])) == "kept");
}

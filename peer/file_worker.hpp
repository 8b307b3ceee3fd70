#pragma once
// The file worker: one thread with its own io_context that does every blocking or heavy part
// of file transfer, so that the chat loop never waits on a disk or a hash. It owns the file
// service (a listening socket of its own that sends offered files to the peers they were
// offered to), the fetches of files this peer accepted, and the hashing of files this peer
// offers. The loop talks to it only through the public functions below, which post to the
// worker; the worker reports back only by posting `events` to the loop's executor. Jobs carry
// values, never pointers into loop state.
//
// Thread: every public function is called on the loop thread. Every `events` callback runs on
// the loop thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/io_context.hpp>

#include "peer/tls.hpp"

namespace confab::peer {

// A file this peer offers.
struct served_file {
    std::string transfer_id;  // 32 lowercase hex digits, random
    std::filesystem::path path;
    std::uint64_t size = 0;
    std::string sha256;  // lowercase hex
    // Peer ids allowed to fetch it; empty: anyone who names the transfer id (the whole room).
    std::vector<std::string> allowed;
};

// A file this peer accepted and fetches.
struct fetch_job {
    std::string transfer_id;
    std::string name;  // as offered (unsanitised: partial_download sanitises)
    std::uint64_t size = 0;
    std::string sha256;
    std::string sender_id;
    // Where the sender's file service may be reached, tried in order: "HOST:PORT".
    std::vector<std::string> addresses;
    std::string our_peer_id;  // sent in the request, checked against `allowed`
    std::filesystem::path downloads_dir;
};

struct file_worker_config {
    std::string listen_host = "0.0.0.0";  // the file service binds this host
    // The port to bind: the last run's, so that offers made before a restart still point at
    // it. 0, or a port now taken by something else: any free port.
    std::uint16_t port = 0;
    std::uint64_t upload_limit = 0;       // bytes per second per upload; 0: unlimited
    std::chrono::milliseconds progress_every{100};  // at most ~10 progress reports a second
    std::chrono::seconds connect_timeout{5};
    std::chrono::seconds idle_timeout{30};  // a transfer moving no byte this long fails
    // The fetch request (sender) and its answer (receiver) must arrive within this; a
    // connection that says nothing is closed.
    std::chrono::seconds request_timeout{10};
    // Our certificate and key: every file-service connection is TLS 1.3, both ways.
    std::shared_ptr<const tls_credentials> credentials;
};

class file_worker {
public:
    struct events {
        // A file hashed for /send: its size and SHA-256, or an error sentence.
        std::function<void(std::uint64_t job, std::optional<std::uint64_t> size, std::string sha256,
                           std::string error)>
            hashed;
        // A fetch moved bytes (coalesced: at most one a progress_every per transfer).
        std::function<void(const std::string& transfer_id, std::uint64_t bytes, std::uint64_t size)>
            progress;
        // A fetch finished: the file is in the downloads folder under its final name.
        std::function<void(const std::string& transfer_id, const std::filesystem::path& path,
                           std::uint64_t size, const std::string& sha256,
                           std::uint64_t resumed_from)>
            received;
        // A fetch failed. `resumable`: the part file is kept (connection lost, sender gone,
        // cancelled for now) and a new fetch continues from it; otherwise it was deleted
        // (hash or size mismatch, refused by the sender).
        std::function<void(const std::string& transfer_id, const std::string& reason,
                           bool resumable)>
            fetch_failed;
        // The service sent a file to a peer: bytes sent in this connection and from where.
        std::function<void(const std::string& transfer_id, const std::string& peer_id,
                           std::uint64_t offset, std::uint64_t bytes)>
            sent;
        // The service refused a request or an upload broke off; for the log and the user.
        std::function<void(const std::string& transfer_id, const std::string& peer_id,
                           const std::string& reason)>
            upload_failed;
    };

    // Starts the thread and binds the file service. Throws std::runtime_error with a sentence
    // when it cannot listen.
    file_worker(asio::any_io_executor loop, file_worker_config config, events events);
    // Cancels everything and joins the thread. Part files are kept.
    ~file_worker();
    file_worker(const file_worker&) = delete;
    file_worker& operator=(const file_worker&) = delete;

    // The file service's port.
    std::uint16_t port() const { return port_; }

    // Hashes a file for an offer; reports through events.hashed with the same `job`.
    void hash(std::uint64_t job, std::filesystem::path path);
    // Makes a file fetchable / no longer fetchable (uploads of it in progress are cut).
    void serve(served_file file);
    void withdraw(const std::string& transfer_id);
    // Starts fetching (resuming from the part file when there is one). A second fetch of a
    // transfer already being fetched is ignored.
    void fetch(fetch_job job);
    // Stops a fetch; its part file is kept when `keep_part`, else deleted. A fetch in progress
    // reports fetch_failed("cancelled", keep_part); a second fetch may follow at once. When
    // the transfer is not being fetched, the part file an earlier fetch by this worker left
    // is deleted when !keep_part, and nothing is reported.
    void cancel_fetch(const std::string& transfer_id, bool keep_part);
    // Deletes the part file a fetch of `job` would resume from (stopping that fetch first,
    // as cancel_fetch(id, false) does): for a transfer interrupted before a restart, which
    // this worker has never heard of. Nothing is reported when no fetch was in progress.
    void discard_part(fetch_job job);

private:
    struct state;  // lives on the worker thread
    asio::any_io_executor loop_;
    events events_;
    // False once the destructor ran: events still queued on the loop are dropped. Read and
    // written on the loop thread only; the worker only copies the pointer.
    std::shared_ptr<bool> alive_;
    asio::io_context io_{1};
    std::unique_ptr<state> state_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

}  // namespace confab::peer

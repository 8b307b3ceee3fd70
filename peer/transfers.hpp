#pragma once
// File transfer as the chat loop sees it: the table of offers in and out, the commands
// (/send, /accept, /reject, /cancel, /files), offers arriving through the mesh, and the
// events for the front. Everything heavy (hashing, sockets, disk) is the file worker's; this
// only does bookkeeping, so it never blocks the loop. Open offers and unfinished downloads
// are saved in DATA/transfers.json, so that both survive a restart and resume.
// Main thread only.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "peer/event_sink.hpp"
#include "peer/file_worker.hpp"
#include "protocol/file_offer.hpp"

namespace confab::peer {

struct transfer_config {
    std::filesystem::path downloads_dir;
    std::filesystem::path state_file;  // DATA/transfers.json
    bool auto_accept = false;          // --accept-files
    // Offers above this are refused: nobody should fill a disk by accident.
    std::uint64_t max_file_size = std::uint64_t{4} << 30;
    file_worker_config worker;
};

// "2.1 MB", "512 B": sizes for people (powers of 1000, as file managers show them).
std::string human_size(std::uint64_t bytes);

class transfers {
public:
    // What transfers needs from the node.
    struct hooks {
        // Writes an envelope of kind file_offer to `room`, with `body` for peers that do not
        // know the kind and `file` as its "file" field.
        std::function<void(const std::string& room, const std::string& body,
                           const nlohmann::json& file)>
            publish_offer;
        // The peer id of the neighbour with this nick; "" with a sentence in *error.
        std::function<std::string(const std::string& nick, std::string* error)> find_nick;
        std::function<std::string(const std::string& peer_id)> nick_of;
        // The host this peer reaches a neighbour at, "" when it is not one.
        std::function<std::string(const std::string& peer_id)> host_of;
        // Hosts our neighbours reach us at, for offers (when we listen on a wildcard).
        std::function<std::vector<std::string>()> our_hosts;
    };

    transfers(asio::io_context& io, transfer_config config, event_sink& sink, hooks hooks);
    ~transfers();

    // Starts the file worker (throws std::runtime_error with a sentence when its service
    // cannot listen) and picks up what transfers.json holds.
    void start(const std::string& our_peer_id, const std::string& listen_host);
    // Stops the worker; part files stay for a resume.
    void stop();

    // "/send PATH [NICK]" in `room`: PATH may contain spaces; when the whole is not a file,
    // the last word is taken as the nick.
    void send(const std::string& args, const std::string& room);
    void accept(const std::string& id);
    void reject(const std::string& id);
    void cancel(const std::string& id);
    void list();

    // An offer that arrived through the mesh (or our own, echoed back: ignored).
    void on_offer(const std::string& room, const std::string& from_id, const std::string& from_nick,
                  const protocol::file_offer& offer);
    // A neighbour arrived: interrupted downloads from it resume.
    void on_peer_up(const std::string& peer_id);

private:
    struct incoming {
        file_info info;
        protocol::file_offer offer;
        int retries = 0;  // automatic retries since the last progress
        std::shared_ptr<asio::steady_timer> retry_timer;
    };
    struct outgoing {
        file_info info;
        std::vector<std::string> allowed;
    };
    struct pending_send {
        std::filesystem::path path;
        std::string to;  // peer id, "" for the room
        std::string room;
    };

    void make_worker(std::uint16_t port);
    nlohmann::json read_saved() const;
    fetch_job make_job(const incoming& in) const;
    void start_fetch(incoming& in);
    void schedule_retry(incoming& in);
    void offer_hashed(std::uint64_t job, std::optional<std::uint64_t> size,
                      const std::string& sha256, const std::string& error);
    // The transfer whose id starts with `prefix`; nullptr with an error to the user.
    incoming* find_incoming(const std::string& prefix, bool report);
    outgoing* find_outgoing(const std::string& prefix, bool report);
    void save() const;
    void load(const nlohmann::json& saved);

    asio::io_context& io_;
    transfer_config config_;
    event_sink& sink_;
    hooks hooks_;
    std::string our_id_;
    std::string listen_host_;
    std::unique_ptr<file_worker> worker_;
    std::map<std::string, incoming> incoming_;  // by transfer id
    std::map<std::string, outgoing> outgoing_;
    std::map<std::uint64_t, pending_send> hashing_;
    std::uint64_t next_job_ = 1;
    bool stopped_ = false;
};

}  // namespace confab::peer

#pragma once
// How the network tells a front what happened. The node calls these on the main thread;
// a front implements them by printing JSON lines or by marking its screen dirty.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace confab::peer {

struct peer_info {
    std::string peer_id;
    std::string nick;
    std::string addr;  // where it listens ("HOST:PORT"), or its socket address if it does not
};

struct chat_message {
    std::string id;  // SHA-256 of the envelope's canonical bytes
    std::string room;
    std::string from;     // author's nick when written
    std::string peer_id;  // author
    std::string text;
    std::int64_t ts = 0;  // ms since the Unix epoch, the author's clock
    bool own = false;     // written by this peer
    bool action = false;  // an emote (/me): shown as "* nick text"
};

// A file transfer as the user sees it, in either direction.
struct file_info {
    std::string transfer;  // the transfer id (32 hex digits); commands take a prefix
    std::string name;
    std::uint64_t size = 0;
    std::string sha256;
    std::string from;     // sender's nick when offered
    std::string peer_id;  // sender
    std::string to;       // the one recipient's peer id; empty: offered to the whole room
    bool outgoing = false;  // offered by this peer
    // offered, receiving, interrupted, received, failed, rejected, cancelled (incoming);
    // hashing, offered, cancelled (outgoing)
    std::string state;
    std::uint64_t bytes = 0;  // received so far (incoming)
    std::string path;         // the file: where it was saved, or what is offered
    std::string note;         // why it failed or was refused, when it was
    std::string room;         // the room it was offered in
};

class event_sink {
public:
    virtual ~event_sink() = default;
    // Listening; `listen` is the real bound address.
    virtual void on_ready(const std::string& peer_id, const std::string& nick,
                          const std::string& listen, const std::string& room) = 0;
    virtual void on_peer_up(const peer_info& peer) = 0;
    virtual void on_peer_down(const peer_info& peer, const std::string& reason) = 0;
    virtual void on_message(const chat_message& message) = 0;
    virtual void on_nick(const std::string& peer_id, const std::string& old_nick,
                         const std::string& new_nick, bool own) = 0;
    // Answer to list_peers(): the neighbours, and every open socket (handshakes included).
    virtual void on_peers(const std::vector<peer_info>& peers, std::size_t connections) = 0;
    // Something the user should act on or know failed, as one sentence.
    virtual void on_error(const std::string& message) = 0;
    // Something the user should know that is not a failure.
    virtual void on_notice(const std::string& message) = 0;

    // File transfer (both fronts implement these; a sink in a test may ignore them).
    // An offer made to this peer (or to the room), or by it (outgoing).
    virtual void on_file_offer(const file_info&) {}
    // Bytes received so far; at most about ten a second per transfer.
    virtual void on_file_progress(const file_info&) {}
    virtual void on_file_received(const file_info&) {}
    // This peer's file reached a receiver (`to_nick`), `bytes` sent in that connection.
    virtual void on_file_sent(const file_info&, const std::string& /*to_nick*/,
                              std::uint64_t /*bytes*/) {}
    // `resumable`: the bytes so far are kept and the transfer continues when the sender is
    // back or the offer is accepted again.
    virtual void on_file_failed(const file_info&, const std::string& /*reason*/,
                                bool /*resumable*/) {}
    // Answer to /files.
    virtual void on_files(const std::vector<file_info>&) {}
};

}  // namespace confab::peer

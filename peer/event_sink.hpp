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
};

}  // namespace confab::peer

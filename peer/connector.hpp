#pragma once
// The connector turns sockets into neighbours: it listens and accepts (within max_inbound and
// max_handshakes), dials (the address book's contacts with back-off, and the peers the rooms'
// overlays ask for), secures each connection with TLS, exchanges hellos that prove the rooms
// both ends share, later proves more rooms on a link (`rooms` frames), keeps one link per
// neighbour (the duplicate rule, with a grace for the replacement), and tells the user why a
// peer was refused or could not be reached. It hands the node finished links and what they
// read through hooks; the node sends frames on them and tells it whom to dial and which rooms
// to prove. Main thread only.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>

#include "core/address_book.hpp"
#include "core/room_secret.hpp"
#include "peer/event_sink.hpp"
#include "peer/link.hpp"
#include "peer/node_config.hpp"
#include "peer/stats.hpp"
#include "peer/tls.hpp"
#include "protocol/address.hpp"
#include "protocol/messages.hpp"

namespace confab::peer {

// Every neighbour link runs over TLS 1.3 (peer/tls.hpp).
using peer_stream = tls_stream;
using peer_link = link<peer_stream>;
extern template class link<tls_stream>;

// A peer we have a link with (or had one, while its replacement is awaited).
struct neighbour {
    peer_link* link;  // null while waiting for the replacement of a duplicate link
    peer_info info;
    std::string advertised;          // its listening address, "" when it accepts no connections
    std::string dialled;             // the address we dialled, "" when it dialled us
    std::uint16_t dialler_port = 0;  // the dialling side's port of this TCP connection
    std::string local_host;          // our address on this connection, as it reaches us
    std::shared_ptr<asio::steady_timer> replacement_timer;  // set while link is null
    std::set<std::string> rooms;     // ids of the rooms both ends proved on this link
    std::set<std::string> claimed;   // rooms we claimed after the hellos, not yet proven
};

class connector {
public:
    // What the connector tells the node. Each is called on the loop, and may call back into
    // the connector.
    struct hooks {
        // A link to `peer` finished its handshake and is now its neighbour's link.
        std::function<void(const std::string& peer)> link_up;
        // These rooms (ids) were proven on the link to `peer`, at its hello or later;
        // `contact`: the link is our way into them (dialled as a contact, or the answer to
        // our claim).
        std::function<void(const std::string& peer, const std::set<std::string>& rooms,
                            bool contact)>
            rooms_linked;
        // Every frame a neighbour's link reads, but `hello`, with its payload (a chat is
        // forwarded as those bytes).
        std::function<void(peer_link& from, const std::string& peer, protocol::message& msg,
                           const std::string& payload)>
            message;
        // The link to `peer` is gone, and with it these rooms.
        std::function<void(const std::string& peer, const std::set<std::string>& rooms)>
            rooms_unlinked;
        // A dial the overlays of these rooms asked for ended without a link.
        std::function<void(const std::string& peer, const std::set<std::string>& rooms)>
            connect_failed;
        // True while a room has no neighbour, nor one on its way: only then are the address
        // book's contacts dialled.
        std::function<bool()> alone;
    };

    connector(asio::io_context& io, std::string self_id, const tls_credentials& credentials,
              node_config config, event_sink& sink, node_stats& stats, hooks h);
    connector(const connector&) = delete;
    connector& operator=(const connector&) = delete;

    // Binds the listener and reports ready. Throws std::runtime_error with a sentence for the
    // user when it cannot listen.
    void listen();
    // Reads DATA/peers.json and adds the addresses to join (pinned).
    void load_address_book();
    // Starts accepting, and dialling the address book's contacts when a room is alone.
    void start();
    // Saves the address book, stops listening and dialling, and closes every link (bye to
    // neighbours, nothing to those still greeting).
    void stop();

    // The nick our hellos carry from now on.
    void set_nick(const std::string& nick) { nick_ = nick; }
    // A room we are in: proven on every link from now on, and claimed at once on the links
    // there are (neighbours in it answer with their claims, and the first to answer is our way
    // in).
    void add_room(const core::room_keys& keys);
    // A room we left: no longer proven or claimed; links no other room needs close.
    void remove_room(const std::string& room_id);
    // `peer` left `room_id`: the link to it no longer carries the room, until a new claim.
    void withdraw(const std::string& peer, const std::string& room_id);
    // Proves `room_id` on the link to `peer` we already have (for other rooms).
    void claim(const std::string& peer, const std::string& room_id);
    // Dials `peer` for the overlay of `room_id`, unless a dial to it is on its way already.
    void dial_for(const protocol::peer_address& peer, const std::string& room_id);
    // Dials an address the user named, now, and keeps redialling it while it is down.
    void connect(const protocol::host_port& address);

    // A `rooms` frame on `from`: the rooms it proves are added to the link, ours go back.
    void on_rooms(peer_link& from, const std::string& from_id, const protocol::rooms& claims);
    // A `nick` frame on `from`: the neighbour's old nick, or nullopt when `from` is not its
    // link.
    std::optional<std::string> rename(peer_link& from, const std::string& peer_id,
                                      const std::string& nick);

    // Our neighbours by peer id: the node reads them and sends on their links.
    const std::unordered_map<std::string, neighbour>& neighbours() const { return neighbours_; }
    // Every address we know, and how dialling each went.
    const core::address_book& book() const { return book_; }
    // Open links, those still greeting included.
    std::size_t link_count() const { return links_.size(); }

private:
    // Why a dial was started: to enter the rooms through an address the user or the book
    // named (a contact), or because these rooms' overlays asked for this peer.
    struct dial_purpose {
        std::string peer_id;          // "" for a contact
        std::set<std::string> rooms;  // room ids that asked
    };

    const std::string& peer_id() const { return self_id_; }
    void bind_listener();
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> maintenance_loop();
    asio::awaitable<void> dial(std::string addr, dial_purpose purpose);
    asio::awaitable<void> serve(peer_stream socket, std::string dialled, dial_purpose purpose);
    // Decides whether a link that finished its handshake becomes the neighbour for its peer
    // id, closing the loser of a duplicate pair. True when `l` was registered.
    bool admit(peer_link& l, const protocol::hello& theirs, neighbour candidate);
    // The TLS handshake, within limits.hello_timeout: "" and the peer id its key proves, or a
    // sentence saying why not.
    asio::awaitable<std::string> secure(peer_link& l, std::optional<std::string>& tls_id);
    // The acceptor's handshake: reads the dialler's hello, then answers with ours (claiming
    // the rooms we share) or with a refusal. `tls_id` is who the dialler proved to be.
    asio::awaitable<std::optional<protocol::hello>> answer(peer_link& l, const std::string& tls_id,
                                                           std::set<std::string>& shared);
    // Tells the node, and forgets the dials for these rooms that the link answers.
    void rooms_linked(const std::string& peer_id, const std::set<std::string>& rooms,
                      bool contact);
    void dial_failed(const std::string& addr, const std::string& why, bool tell_user = true);
    void await_replacement(const std::string& peer_id);
    void dial_due();
    // Our claims for `rooms` (room ids) on `l`: bound to this connection and our role.
    std::vector<protocol::room_claim> our_claims(peer_link& l,
                                                 const std::set<std::string>& rooms) const;
    protocol::hello our_hello(peer_link& l, const std::set<std::string>& rooms) const;
    // The rooms their claims prove on `l`; when none, `refusal` is the bye reason to give
    // ("wrong secret" when a room of ours was named with another id or a bad proof, else
    // "other room").
    std::set<std::string> check_claims(peer_link& l, const std::string& their_id,
                                       const std::vector<protocol::room_claim>& claims,
                                       std::string* refusal) const;
    std::set<std::string> all_rooms() const;
    static bool is_room_refusal(const std::string& bye_reason);
    // What the user reads about a refusal: `wrong secret for room "lobby" (peer ADDRESS)`.
    std::string room_sentence(const std::string& refusal, const std::string& address) const;
    void save_address_book() const;
    void poke_maintenance() { maintenance_timer_.cancel(); }

    asio::io_context& io_;
    std::string self_id_;
    asio::ssl::context tls_;
    node_config config_;
    event_sink& sink_;
    node_stats& stats_;  // every link counts into it (peer/stats.hpp)
    hooks hooks_;

    std::string nick_;
    asio::ip::tcp::acceptor acceptor_;
    std::uint16_t listen_port_ = 0;
    asio::steady_timer maintenance_timer_;
    std::map<std::string, core::room_keys> rooms_;  // the rooms we prove, by room id
    core::address_book book_;

    std::unordered_map<std::string, neighbour> neighbours_;   // by peer id
    std::unordered_set<peer_link*> links_;                    // every open link, handshakes too
    std::unordered_set<peer_stream*> connecting_;             // dials not yet connected
    std::unordered_set<asio::ip::tcp::resolver*> resolvers_;  // host names being looked up
    // Peer ids being dialled for the overlays, with the rooms that asked.
    std::unordered_map<std::string, std::set<std::string>> dialling_for_;
    std::size_t inbound_ = 0;
    std::size_t handshaking_ = 0;  // inbound connections not yet neighbours
    std::unordered_set<std::string> room_refusals_told_;  // peer ids the user heard about
    std::size_t dialling_ = 0;     // contacts being dialled
    bool stopping_ = false;
};

}  // namespace confab::peer

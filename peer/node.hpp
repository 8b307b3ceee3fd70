#pragma once
// A peer on the network: listens, dials, proves its rooms on every link, and drives each room's
// overlay (core/overlay: HyParView membership, Plumtree broadcast), carrying out what it asks
// for; tells its front what happened through an event_sink. Commands in (say, set_nick, ...),
// events out. Main thread only: every public function must be called on the thread that runs
// the io_context.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "core/address_book.hpp"
#include "core/chat_gate.hpp"
#include "core/identity.hpp"
#include "core/member_list.hpp"
#include "core/room_secret.hpp"
#include "core/overlay/room_overlay.hpp"
#include "peer/event_sink.hpp"
#include "peer/link.hpp"
#include "peer/stats.hpp"
#include "peer/tls.hpp"
#include "peer/transfers.hpp"
#include "protocol/address.hpp"
#include "protocol/presence.hpp"

namespace confab::peer {

// Every neighbour link runs over TLS 1.3 (peer/tls.hpp).
using peer_stream = tls_stream;
using peer_link = link<peer_stream>;
extern template class link<tls_stream>;

struct node_config {
    std::string nick;
    std::string room = "lobby";
    // The room's id and key (or open_room_keys(room)), settled by main from --open, --invite,
    // --secret-file or DATA/secrets.json; room_keys.room == room. For the handshake to prove
    // (the TLS work wires it in); left default (empty room_id) by tests that build a config.
    core::room_keys room_keys;
    protocol::host_port listen{"0.0.0.0", 7447};
    // The user named the address: fail if it is taken instead of picking another port.
    bool listen_explicit = false;
    std::vector<protocol::host_port> joins;
    std::filesystem::path data_dir;  // already locked by the caller
    // Each room's overlay: view sizes, timers (core/overlay).
    core::overlay::overlay_config overlay;
    // Each room's member list: how often this peer announces itself, when the silent are gone
    // (--announce-every), how many are listed.
    core::member_list_config members;
    // Accepted sockets, neighbours and handshakes together, are bounded ...
    std::size_t max_inbound = 64;
    // ... and so are handshakes in progress: each costs a TLS handshake (key exchange and
    // signatures), and a crowd of slow ones must not starve the neighbours' messages.
    std::size_t max_handshakes = 16;
    // New messages one author may put into the room, per second and in one burst: far above
    // typing, enough for a bot or a pasted log of a few thousand lines. Over it, that author's new messages are dropped
    // (not delivered, not forwarded) by every peer, so a flood dies at its first hop; the
    // relays in between are never blamed. A neighbour that floods its *own* messages is cut
    // off once author_patience of them have been dropped (forgiven at a tenth of the rate).
    double author_rate = 200;   // --max-rate
    double author_burst = 2000;
    double author_patience = 1000;
    // A neighbour that closed a duplicate link keeps its place this long while the link it
    // kept finishes its handshake here, so that the user sees no down-and-up.
    std::chrono::steady_clock::duration replacement_grace = std::chrono::seconds(5);
    std::chrono::steady_clock::duration dial_timeout = std::chrono::seconds(5);
    // The address book is saved this often (and at shutdown).
    std::chrono::steady_clock::duration save_every = std::chrono::seconds(60);
    link_limits limits;
    core::backoff_policy backoff;
    // downloads_dir, auto_accept, max_file_size, upload limit; state_file is set by the node.
    transfer_config files;
};

class node {
public:
    node(asio::io_context& io, core::identity identity, node_config config, event_sink& sink);
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    // Binds the listener, reports ready, and starts accepting and dialling. Throws
    // std::runtime_error with a sentence for the user when it cannot listen.
    void start();

    // Writes a message to the room (`action`: an emote, /me); a bad one is reported through
    // on_error.
    void say(const std::string& text, bool action = false);
    // Writes a message to one of the rooms this peer is in (say() writes to the first).
    void say_in(const std::string& room, const std::string& text, bool action = false);
    // Joins a room at run time: proves it on every link there is (neighbours in it answer),
    // and dials `contacts` to enter it. A room already joined is left as it is.
    void join_room(const core::room_keys& keys, const std::vector<protocol::host_port>& contacts);
    // Leaves a room: says so to its neighbours and closes links no other room needs.
    void part_room(const std::string& room);
    // The names of the rooms this peer is in, the first one first.
    std::vector<std::string> rooms() const;
    void set_nick(const std::string& nick);
    void list_peers();
    // Answers with on_names: the members of the room named (this peer's first room when
    // ""), this peer included; on_error when this peer is not in it.
    void list_members(const std::string& room);
    // Dials an address the user named, now, and keeps redialling it while it is down.
    void connect(const protocol::host_port& address);
    // File transfer: /send PATH [NICK] (offered in `room`, "" for the first), /accept,
    // /reject, /cancel ID, /files.
    void send_file(const std::string& args, const std::string& room = {});
    void accept_file(const std::string& id);
    void reject_file(const std::string& id);
    void cancel_file(const std::string& id);
    void list_files();
    // Waits, up to `limit`, until messages written while no neighbour was connected have
    // been handed to one (a script that says one line and closes its input); reports those
    // that could not be.
    asio::awaitable<void> drain(std::chrono::steady_clock::duration limit);
    // Says bye to every neighbour and stops everything; io.run() returns once they are gone.
    void shutdown();

    const std::string& peer_id() const { return identity_.peer_id(); }
    const std::string& nick() const { return nick_; }

    // What the chat gate decided since start: messages dropped by reason (each also logged
    // as a warning), copies, equivocations.
    const core::chat_gate& gate() const { return gate_; }
    // Bytes and frames on every neighbour link since start, closed links included (/stats).
    const node_stats& stats() const { return stats_; }

private:
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
    // A room this peer is in: its keys and its overlay.
    struct room_state {
        core::room_keys keys;
        core::overlay::room_overlay overlay;
    };
    // Why a dial was started: to enter the rooms through an address the user or the book
    // named (a contact), or because these rooms' overlays asked for this peer.
    struct dial_purpose {
        std::string peer_id;          // "" for a contact
        std::set<std::string> rooms;  // room ids that asked
    };

    void bind_listener();
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> maintenance_loop();
    asio::awaitable<void> overlay_loop();
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
    void on_link_message(peer_link& l, const std::string& peer_id, protocol::message& msg,
                         const std::string& payload);
    // Asks the chat gate, acts on its verdict (cuts the neighbour off, logs), then hands the
    // message to its room's broadcast and delivers it.
    void on_chat(peer_link& from, const std::string& from_id, protocol::chat& chat,
                 const std::string& payload);
    // An overlay frame: to its room's state machines, if the room is proven on this link.
    void on_overlay_frame(peer_link& from, const std::string& from_id,
                          const core::overlay::overlay_frame& frame);
    // Rooms the neighbour adds on this link after the hellos.
    void on_rooms(peer_link& from, const std::string& from_id, const protocol::rooms& claims);
    // True when the room was left within parted_grace: its frames still in flight from
    // neighbours that had not heard of it yet are dropped quietly.
    bool just_parted(const std::string& room_id);
    // The room is not one this link proved: drop the frame, count it, cut the neighbour off.
    void not_proven(peer_link& from, const std::string& from_id, const std::string& what);
    // Carries out what a room's overlay asked for (and what that leads to).
    void execute(const std::string& room_id, core::overlay::actions& actions);
    // A link for these rooms came up with `peer` (or a room was added on it).
    void rooms_linked(const std::string& peer_id, const std::set<std::string>& rooms,
                      bool contact);
    void rooms_unlinked(const std::string& peer_id, const std::set<std::string>& rooms);
    // True when some room still needs its link to `peer`.
    bool link_in_use(const std::string& peer_id) const;
    // Wakes the overlay loop when a room wants a tick sooner than it is set to.
    void rearm_overlays();
    // Signs an envelope of ours and writes it to the room (a message, or a file offer with
    // `file`), or keeps it for the first neighbour when there is none. False when it could not.
    bool publish(protocol::envelope& env, const nlohmann::json& file, std::string* id);
    void flush_outbox(const std::string& room_id);
    // Presence (docs/protocol.md, "Presence"): the member lists, what they hear, and this
    // peer's own announcements. The one place that makes and reads presence envelopes.
    asio::awaitable<void> presence_loop();
    core::member_list& members_of(const std::string& room_id);
    // An accepted presence envelope of the room, already handed to its broadcast.
    void on_presence(const std::string& room_id, const protocol::envelope& env,
                     const std::string& id);
    // Writes this peer's presence to the room; nothing when the room has no neighbour.
    void announce(const std::string& room_id, protocol::presence what);
    void report_members(const std::string& room_id, std::vector<core::member_change>& changes);
    void poke_presence() { presence_timer_.cancel(); }
    transfers::hooks transfer_hooks();
    void tell_if_waiting();
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
    std::uint64_t next_seq();
    void save_address_book() const;
    void poke_maintenance() { maintenance_timer_.cancel(); }
    void assert_loop_thread() const;

    asio::io_context& io_;
    core::identity identity_;
    std::shared_ptr<const tls_credentials> credentials_;  // shared with the file worker
    asio::ssl::context tls_;
    node_config config_;
    event_sink& sink_;
    std::thread::id loop_thread_;

    std::string nick_;
    asio::ip::tcp::acceptor acceptor_;
    std::uint16_t listen_port_ = 0;
    asio::steady_timer maintenance_timer_;
    asio::steady_timer overlay_timer_;
    asio::steady_timer drain_timer_;
    asio::steady_timer presence_timer_;
    std::map<std::string, room_state> rooms_;  // by room id
    // Rooms left lately, by room id: name and when.
    std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> parted_;
    static constexpr auto parted_grace = std::chrono::seconds(30);
    // Who is in each room, by room id: made when the room first needs it (members_of).
    std::map<std::string, core::member_list> members_;
    // Written while the room had no neighbour, by room id.
    std::map<std::string, std::vector<std::pair<std::string, frame_ptr>>> outbox_;
    core::address_book book_;
    // Dedup, author limits, signature, date, equivocation.
    core::chat_gate gate_;
    node_stats stats_;  // every link counts into it (peer/stats.hpp)
    std::uint64_t seq_ = 0;
    std::uint64_t seq_reserved_ = 0;

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
    bool waiting_notice_ = false;  // a message went to the outbox: say so after showing it
    transfers transfers_;  // last: its worker reports into the state above
};

}  // namespace confab::peer

#pragma once
// A peer on the network: drives each room's overlay (core/overlay: HyParView membership,
// Plumtree broadcast) and its chat gate with what the links read, and carries out what they
// ask for; its connector (peer/connector.hpp) makes and keeps the links. Tells its front what
// happened through an event_sink. Commands in (say, set_nick, ...),
// events out. Main thread only: every public function must be called on the thread that runs
// the io_context.

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "core/chat_gate.hpp"
#include "core/identity.hpp"
#include "core/member_list.hpp"
#include "core/room_secret.hpp"
#include "core/overlay/room_overlay.hpp"
#include "peer/connector.hpp"
#include "peer/event_sink.hpp"
#include "peer/node_config.hpp"
#include "peer/stats.hpp"
#include "peer/tls.hpp"
#include "peer/transfers.hpp"
#include "protocol/address.hpp"
#include "protocol/presence.hpp"

namespace confab::peer {

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
    // A room this peer is in: its keys and its overlay.
    struct room_state {
        core::room_keys keys;
        core::overlay::room_overlay overlay;
    };
    asio::awaitable<void> overlay_loop();
    void on_link_message(peer_link& l, const std::string& peer_id, protocol::message& msg,
                         const std::string& payload);
    // Asks the chat gate, acts on its verdict (cuts the neighbour off, logs), then hands the
    // message to its room's broadcast and delivers it.
    void on_chat(peer_link& from, const std::string& from_id, protocol::chat& chat,
                 const std::string& payload);
    // An overlay frame: to its room's state machines, if the room is proven on this link.
    void on_overlay_frame(peer_link& from, const std::string& from_id,
                          const core::overlay::overlay_frame& frame);
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
    // A dial these rooms' overlays asked for ended without a link.
    void connect_failed(const std::string& peer_id, const std::set<std::string>& rooms);
    connector::hooks connector_hooks();
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
    std::uint64_t next_seq();
    void assert_loop_thread() const;

    asio::io_context& io_;
    core::identity identity_;
    // Shared with the connector's TLS context and the file worker.
    std::shared_ptr<const tls_credentials> credentials_;
    node_config config_;
    event_sink& sink_;
    std::thread::id loop_thread_;

    std::string nick_;
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
    // Dedup, author limits, signature, date, equivocation.
    core::chat_gate gate_;
    node_stats stats_;  // every link counts into it (peer/stats.hpp)
    std::uint64_t seq_ = 0;
    std::uint64_t seq_reserved_ = 0;

    // Listens, dials, secures, greets and proves rooms; hands us the links (its hooks).
    connector connector_;
    // The connector's neighbours, read-only here: whom we are linked with, for which rooms.
    const std::unordered_map<std::string, neighbour>& neighbours_;
    bool stopping_ = false;
    bool waiting_notice_ = false;  // a message went to the outbox: say so after showing it
    transfers transfers_;  // last: its worker reports into the state above
};

}  // namespace confab::peer

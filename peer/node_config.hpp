#pragma once
// What a peer is told at start: its nick and first room, where to listen, whom to join, and
// the limits and timers of its connector, links, overlays and file transfers. Built by main
// (or a test) and handed to the node, which hands the connector its copy.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "core/address_book.hpp"
#include "core/member_list.hpp"
#include "core/overlay/room_overlay.hpp"
#include "core/room_secret.hpp"
#include "peer/link.hpp"
#include "peer/transfers.hpp"
#include "protocol/address.hpp"

namespace confab::peer {

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

}  // namespace confab::peer

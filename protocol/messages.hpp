#pragma once
// The message types of the wire protocol (docs/protocol.md) and their JSON mapping. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/canonical.hpp"  // canonical_bytes
#include "protocol/overlay_frames.hpp"

namespace confab::protocol {

inline constexpr int protocol_version = 2;

// A room the sender is in and proves on this connection: its name, its public id, and the
// sender's proof that it holds the room's secret, bound to this connection ("" in an open
// room): docs/protocol.md "Rooms".
struct room_claim {
    std::string name;
    std::string id;
    std::string proof;
    friend bool operator==(const room_claim&, const room_claim&) = default;
};

// First frame each way. The dialler claims every room it is in; the acceptor answers with its
// claims for the rooms they share, and only those.
struct hello {
    int version = protocol_version;
    std::string peer_id;
    std::string nick;
    std::uint16_t listen_port = 0;  // 0: this peer accepts no connections
    std::vector<room_claim> rooms;
    std::vector<std::string> features;
    friend bool operator==(const hello&, const hello&) = default;
};

// Rooms the sender adds on a connection after the hellos (it joined them since): the same
// claims as in hello; the receiver answers with its own claims for the ones it shares.
struct rooms {
    std::vector<room_claim> rooms;
    friend bool operator==(const struct rooms&, const struct rooms&) = default;
};

// The author-written part of a chat message. Its canonical bytes without "sig" are what the
// message id is the SHA-256 of and what the author signs. The signature itself is kept only in
// chat::raw: it belongs to those bytes, not to this view of them (core/envelope_signature.hpp).
struct envelope {
    std::string room;
    std::string author;     // peer id of the author
    std::string nick;       // author's nick when written
    std::uint64_t seq = 0;  // per-author sequence number, from 1
    std::int64_t ts = 0;    // wall-clock milliseconds since the Unix epoch
    std::string body;
    // What the body is: "" for plain text, "action" for an emote (/me). An unknown kind from a
    // newer peer is kept (and forwarded) and shown as plain text.
    std::string kind = {};
    friend bool operator==(const envelope&, const envelope&) = default;
};

struct chat {
    // How many hops from its author the sender got the message (0: the sender wrote it). Not
    // signed: each hop writes its own.
    std::uint32_t hops = 0;
    envelope env;
    // The envelope object exactly as received (unknown fields included): the message id is
    // computed from it and it is forwarded unchanged.
    nlohmann::json raw;
    // The canonical bytes of `raw` without "sig", as parse_message computed them to check the
    // envelope's size: the id hashes them and the signature covers them, so the chat gate
    // takes them from here instead of canonicalising the envelope again. Empty for a chat
    // built in-process (the gate then computes them).
    std::string canonical_unsigned = {};
    // canonical_unsigned is left out: it follows from raw.
    friend bool operator==(const chat& a, const chat& b) {
        return a.hops == b.hops && a.env == b.env && a.raw == b.raw;
    }
};

struct ping {
    std::uint64_t nonce = 0;
    friend bool operator==(const ping&, const ping&) = default;
};
struct pong {
    std::uint64_t nonce = 0;
    friend bool operator==(const pong&, const pong&) = default;
};
struct bye {
    std::string reason;
    friend bool operator==(const bye&, const bye&) = default;
};
struct error {
    std::string message;
    friend bool operator==(const error&, const error&) = default;
};
// The sender's nick changed; it applies to its link with the receiver.
struct nick {
    std::string nick;
    // "struct": inside, the member named nick hides the type.
    friend bool operator==(const struct nick&, const struct nick&) = default;
};

using message = std::variant<hello, chat, ping, pong, bye, error, nick, rooms, join, forward_join,
                             neighbor, disconnect, shuffle, shuffle_reply, ihave, graft, prune>;

enum class parse_status {
    ok,
    unknown_type,  // well-formed object with a "type" this version does not know: reply error
    malformed,     // anything else wrong: close the connection
};

struct parse_result {
    parse_status status;
    std::optional<message> msg;  // set when status == ok
    std::string type;            // the "type" field, when there was one
    std::string error;           // a sentence naming the field and what was wrong
};

// Parses and validates one frame's JSON text. Unknown fields are ignored.
parse_result parse_message(std::string_view json_text);

// JSON text of a message (for chat, the raw envelope is written as is when it is an
// object, otherwise it is built from env: unsigned, so no peer would accept it).
std::string serialize(const message& m);

// The same bytes as serialize(message(m)), written without copying the ids or building a JSON
// tree: an ihave goes to every lazy neighbour of a room at every gossip tick.
std::string serialize(const ihave& m);

// The payload that passes on a received chat with `hops`, without writing its envelope again:
// when `payload` (which parsed as a chat) is laid out as serialize writes a chat,
// {"envelope":{...},"hops":N,"type":"chat"}, the same bytes with N replaced by `hops`. For
// any other layout nullopt: the caller serialises the parsed chat instead.
std::optional<std::string> chat_with_hops(std::string_view payload, std::uint32_t hops);

// The envelope as JSON, for an author writing a new message (to be signed before it is sent).
nlohmann::json envelope_to_json(const envelope& e);

}  // namespace confab::protocol

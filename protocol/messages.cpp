#include "protocol/messages.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "protocol/address.hpp"
#include "protocol/strict_json.hpp"
#include "protocol/validate.hpp"

namespace confab::protocol {
namespace {

using json = nlohmann::json;

// Integers beyond 2^53 are not exact in JSON implementations that hold numbers as doubles, so
// two implementations could disagree on an envelope's canonical bytes and hence on its id.
constexpr std::uint64_t max_exact_integer = max_canonical_integer;

// A message needs 3 levels (hello: object, rooms array, claim object); the rest is room for
// unknown fields of later versions.
constexpr int max_json_depth = 16;

enum class presence { required, optional };

// Reads the fields of one message, recording the first problem as a sentence that names the
// message type and the field's path ("chat: field \"envelope.seq\" ...").
class field_reader {
public:
    explicit field_reader(std::string_view type) : type_(type) {}

    const std::string& error() const { return error_; }

    // Field paths in errors are relative to the message, e.g. "envelope." or "peers[3].".
    void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }

    bool fail(const std::string& path, std::string_view problem) {
        if (error_.empty()) error_ = type_ + ": field \"" + path + "\" " + std::string(problem);
        return false;
    }

    bool text(const json& obj, std::string_view key, std::string& out,
              presence p = presence::required) {
        const json* v = find(obj, key);
        if (!v) return absent(key, p);
        if (!v->is_string()) return fail(path(key), "must be a string");
        out = v->get<std::string>();
        return true;
    }

    // A string that must also pass one of the validate.hpp checks.
    bool checked(const json& obj, std::string_view key, std::string (*check)(std::string_view),
                 std::string& out) {
        if (!text(obj, key, out)) return false;
        const auto problem = check(out);
        return problem.empty() || fail(path(key), "is invalid: " + problem);
    }

    // An integer in [min, max]; `problem` describes the whole rule, e.g. "must be a positive
    // integer", since a float, a string and an out-of-range number break it alike.
    template <class T>
    bool integer(const json& obj, std::string_view key, std::uint64_t min, std::uint64_t max,
                 std::string_view problem, T& out, presence p = presence::required) {
        const json* v = find(obj, key);
        if (!v) return absent(key, p);
        if (!v->is_number_unsigned()) return fail(path(key), problem);
        const auto value = v->get<std::uint64_t>();
        if (value < min || value > max) return fail(path(key), problem);
        out = static_cast<T>(value);
        return true;
    }

    // An array of at most max strings, each passing check unless it is nullptr.
    bool strings(const json& obj, std::string_view key, std::size_t max,
                 std::string (*check)(std::string_view), std::vector<std::string>& out,
                 presence p = presence::required) {
        const json* v = find(obj, key);
        if (!v) return absent(key, p);
        if (!v->is_array()) return fail(path(key), "must be an array of strings");
        if (v->size() > max) return fail(path(key), too_many(v->size(), max));
        out.clear();
        for (std::size_t i = 0; i < v->size(); ++i) {
            const auto& item = (*v)[i];
            const auto item_path = path(key) + "[" + std::to_string(i) + "]";
            if (!item.is_string()) return fail(item_path, "must be a string");
            out.push_back(item.get<std::string>());
            const auto problem = check ? check(out.back()) : std::string{};
            if (!problem.empty()) return fail(item_path, "is invalid: " + problem);
        }
        return true;
    }

    // JSON true or false (not 0/1, not "true").
    bool boolean(const json& obj, std::string_view key, bool& out,
                 presence p = presence::required) {
        const json* v = find(obj, key);
        if (!v) return absent(key, p);
        if (!v->is_boolean()) return fail(path(key), "must be true or false");
        out = v->get<bool>();
        return true;
    }

    // An array of at most max integers, each in [min, max_value]; `problem` describes the rule
    // for one item, as in integer().
    template <class T>
    bool integers(const json& obj, std::string_view key, std::size_t max, std::uint64_t min,
                  std::uint64_t max_value, std::string_view problem, std::vector<T>& out) {
        const json* v = container(obj, key, json::value_t::array);
        if (!v) return false;
        if (v->size() > max) return fail(path(key), too_many(v->size(), max));
        out.clear();
        for (std::size_t i = 0; i < v->size(); ++i) {
            const auto& item = (*v)[i];
            if (!item.is_number_unsigned() || item.get<std::uint64_t>() < min ||
                item.get<std::uint64_t>() > max_value) {
                return fail(path(key) + "[" + std::to_string(i) + "]", problem);
            }
            out.push_back(static_cast<T>(item.get<std::uint64_t>()));
        }
        return true;
    }

    // The object or array at key, for the caller to walk.
    const json* container(const json& obj, std::string_view key, json::value_t kind) {
        const json* v = find(obj, key);
        if (!v) {
            absent(key, presence::required);
            return nullptr;
        }
        if (v->type() != kind) {
            fail(path(key),
                 kind == json::value_t::object ? "must be an object" : "must be an array");
            return nullptr;
        }
        return v;
    }

    static std::string too_many(std::size_t got, std::size_t max) {
        return "has " + std::to_string(got) + " entries; the limit is " + std::to_string(max);
    }

private:
    std::string path(std::string_view key) const { return prefix_ + std::string(key); }

    static const json* find(const json& obj, std::string_view key) {
        const auto it = obj.find(key);
        return it == obj.end() ? nullptr : &*it;
    }

    // What reading an absent field amounts to: fine when it is optional (the default stays).
    bool absent(std::string_view key, presence p) {
        return p == presence::optional || fail(path(key), "is missing");
    }

    std::string type_;
    std::string prefix_;
    std::string error_;
};

// Canonical bytes are only unambiguous without floats (1.0 vs 1 vs 1e0) and with exact
// integers, so an envelope is held to that everywhere, unknown fields included.
bool check_canonical(field_reader& r, const json& v, const std::string& path) {
    const auto problem = find_canonical_problem(v);
    if (!problem) return true;
    return r.fail(problem->path.empty() ? path : path + "." + problem->path, problem->problem);
}

// Longest sensible address: a 253-byte DNS name, ":", 5 digits. Checked first because
// parse_host_port quotes its input in errors.
constexpr std::size_t max_addr_bytes = 259;

std::string check_advertised_addr(std::string_view addr) {
    if (addr.size() > max_addr_bytes) {
        return "address is " + std::to_string(addr.size()) + " bytes; the limit is " +
               std::to_string(max_addr_bytes) + " bytes";
    }
    std::string problem;
    parse_host_port(addr, &problem);
    return problem;
}

// A chat message's id: the hex of a SHA-256 (docs/protocol.md "Message id").
std::string check_message_id(std::string_view id) {
    if (id.size() != 64 || !is_lower_hex(id)) return "must be 64 lowercase hex digits";
    return {};
}

// The room an overlay frame belongs to, by its public id.
bool read_room_id(field_reader& r, const json& o, std::string& out) {
    return r.checked(o, "room", check_room_id, out);
}

// One {peer_id, addr} object at `item_path`; the reader's prefix is left at "".
bool read_peer_address(field_reader& r, const json& item, const std::string& item_path,
                       peer_address& out) {
    if (!item.is_object()) return r.fail(item_path, "must be an object");
    r.set_prefix(item_path + ".");
    const bool ok = r.checked(item, "peer_id", check_peer_id, out.peer_id) &&
                    r.checked(item, "addr", check_advertised_addr, out.addr);
    r.set_prefix({});
    return ok;
}

// An array of at most max {peer_id, addr} objects.
bool read_peer_list(field_reader& r, const json& o, std::string_view key, std::size_t max,
                    std::vector<peer_address>& out) {
    const json* list = r.container(o, key, json::value_t::array);
    if (!list) return false;
    if (list->size() > max) return r.fail(std::string(key), field_reader::too_many(list->size(), max));
    out.clear();
    for (std::size_t i = 0; i < list->size(); ++i) {
        const auto item_path = std::string(key) + "[" + std::to_string(i) + "]";
        if (!read_peer_address(r, (*list)[i], item_path, out.emplace_back())) return false;
    }
    return true;
}

// The room claims of a hello or rooms frame: min..max_hello_rooms {name, id, proof} objects,
// no name or id twice.
bool read_claims(field_reader& r, const json& o, std::size_t min, std::vector<room_claim>& out) {
    const json* list = r.container(o, "rooms", json::value_t::array);
    if (!list) return false;
    if (list->size() > max_hello_rooms) {
        return r.fail("rooms", field_reader::too_many(list->size(), max_hello_rooms));
    }
    if (list->size() < min) return r.fail("rooms", "must not be empty");
    out.clear();
    for (std::size_t i = 0; i < list->size(); ++i) {
        const auto& item = (*list)[i];
        const auto item_path = "rooms[" + std::to_string(i) + "]";
        if (item.is_string()) {
            // Version 1 listed room names here, with one room_id and proof beside them.
            return r.fail(item_path,
                          "must be an object {name, id, proof}, not a room name (a version 1 "
                          "hello?)");
        }
        if (!item.is_object()) return r.fail(item_path, "must be an object {name, id, proof}");
        r.set_prefix(item_path + ".");
        room_claim& claim = out.emplace_back();
        const bool ok = r.checked(item, "name", check_room, claim.name) &&
                        r.checked(item, "id", check_room_id, claim.id) &&
                        r.checked(item, "proof", check_room_proof_text, claim.proof);
        r.set_prefix({});
        if (!ok) return false;
        for (std::size_t j = 0; j + 1 < out.size(); ++j) {
            if (out[j].name == claim.name) {
                return r.fail(item_path + ".name", "repeats the name of rooms[" +
                                                       std::to_string(j) + "]");
            }
            if (out[j].id == claim.id) {
                return r.fail(item_path + ".id", "repeats the id of rooms[" + std::to_string(j) +
                                                     "]");
            }
        }
    }
    return true;
}

std::optional<message> parse_hello(field_reader& r, const json& o) {
    hello m;
    if (!r.integer(o, "version", 1, std::numeric_limits<int>::max(), "must be a positive integer",
                   m.version) ||
        !r.checked(o, "peer_id", check_peer_id, m.peer_id) ||
        !r.checked(o, "nick", check_nick, m.nick) ||
        !r.integer(o, "listen_port", 0, 65535, "must be an integer from 0 to 65535",
                   m.listen_port) ||
        !read_claims(r, o, 0, m.rooms) ||
        !r.strings(o, "features", max_hello_features, nullptr, m.features, presence::optional)) {
        return std::nullopt;
    }
    return m;
}

std::optional<message> parse_rooms(field_reader& r, const json& o) {
    rooms m;
    if (!read_claims(r, o, 1, m.rooms)) return std::nullopt;
    return m;
}

constexpr std::string_view ttl_rule = "must be an integer from 0 to 8";
static_assert(max_walk_length == 8, "ttl_rule names the limit");

std::optional<message> parse_join(field_reader& r, const json& o) {
    join m;
    if (!read_room_id(r, o, m.room)) return std::nullopt;
    return m;
}

std::optional<message> parse_forward_join(field_reader& r, const json& o) {
    forward_join m;
    if (!read_room_id(r, o, m.room)) return std::nullopt;
    const json* peer = r.container(o, "peer", json::value_t::object);
    if (!peer || !read_peer_address(r, *peer, "peer", m.peer) ||
        !r.integer(o, "ttl", 0, max_walk_length, ttl_rule, m.ttl)) {
        return std::nullopt;
    }
    return m;
}

std::optional<message> parse_neighbor(field_reader& r, const json& o) {
    neighbor m;
    if (!read_room_id(r, o, m.room) || !r.boolean(o, "high", m.high)) return std::nullopt;
    return m;
}

std::optional<message> parse_disconnect(field_reader& r, const json& o) {
    disconnect m;
    if (!read_room_id(r, o, m.room) || !r.boolean(o, "alive", m.alive)) return std::nullopt;
    return m;
}

std::optional<message> parse_shuffle(field_reader& r, const json& o) {
    shuffle m;
    if (!read_room_id(r, o, m.room) ||
        !r.integer(o, "id", 1, max_exact_integer, "must be an integer from 1 to 2^53", m.id) ||
        !r.integer(o, "ttl", 0, max_walk_length, ttl_rule, m.ttl) ||
        !read_peer_list(r, o, "peers", max_shuffle_peers, m.peers)) {
        return std::nullopt;
    }
    return m;
}

std::optional<message> parse_shuffle_reply(field_reader& r, const json& o) {
    shuffle_reply m;
    if (!read_room_id(r, o, m.room) ||
        !r.integer(o, "id", 0, max_exact_integer, "must be an integer from 0 to 2^53", m.id) ||
        !read_peer_list(r, o, "peers", max_shuffle_peers, m.peers)) {
        return std::nullopt;
    }
    return m;
}

std::optional<message> parse_ihave(field_reader& r, const json& o) {
    ihave m;
    if (!read_room_id(r, o, m.room) ||
        !r.strings(o, "ids", max_ids_per_frame, check_message_id, m.ids) ||
        !r.integers(o, "hops", max_ids_per_frame, 0, 65535, "must be an integer from 0 to 65535",
                    m.hops)) {
        return std::nullopt;
    }
    if (m.hops.size() != m.ids.size()) {
        r.fail("hops", "has " + std::to_string(m.hops.size()) + " entries; \"ids\" has " +
                           std::to_string(m.ids.size()));
        return std::nullopt;
    }
    return m;
}

std::optional<message> parse_graft(field_reader& r, const json& o) {
    graft m;
    if (!read_room_id(r, o, m.room) ||
        !r.strings(o, "ids", max_ids_per_frame, check_message_id, m.ids)) {
        return std::nullopt;
    }
    // Absent means every author; when present it must be a peer id ("" is not one).
    if (o.contains("author") && !r.checked(o, "author", check_peer_id, m.author)) {
        return std::nullopt;
    }
    return m;
}

std::optional<message> parse_prune(field_reader& r, const json& o) {
    prune m;
    if (!read_room_id(r, o, m.room)) return std::nullopt;
    if (o.contains("author") && !r.checked(o, "author", check_peer_id, m.author)) {
        return std::nullopt;
    }
    return m;
}

bool is_kind_token(const std::string& kind) {
    return !kind.empty() && kind.size() <= 16 &&
           std::all_of(kind.begin(), kind.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

std::optional<message> parse_chat(field_reader& r, const json& o) {
    chat m;
    if (!r.integer(o, "hops", 0, 65535, "must be an integer from 0 to 65535", m.hops,
                   presence::optional)) {
        return std::nullopt;
    }
    const json* raw = r.container(o, "envelope", json::value_t::object);
    if (!raw) return std::nullopt;
    r.set_prefix("envelope.");
    envelope& e = m.env;
    // Checked for its form only: whether it is the author's is core's business
    // (core/envelope_signature.hpp), which the receiving node asks before it delivers.
    std::string sig;
    if (!r.checked(*raw, "room", check_room, e.room) ||
        !r.checked(*raw, "author", check_peer_id, e.author) ||
        !r.checked(*raw, "nick", check_nick, e.nick) ||
        !r.integer(*raw, "seq", 1, max_exact_integer, "must be a positive integer up to 2^53",
                   e.seq) ||
        !r.integer(*raw, "ts", 0, max_exact_integer, "must be an integer from 0 to 2^53", e.ts) ||
        !r.checked(*raw, "body", check_body, e.body) ||
        !r.text(*raw, "kind", e.kind, presence::optional) ||
        !r.checked(*raw, "sig", check_signature, sig) || !check_canonical(r, *raw, "envelope")) {
        return std::nullopt;
    }
    if (raw->contains("kind") && !is_kind_token(e.kind)) {
        r.fail("envelope.kind", "must be 1 to 16 of the characters a-z and _");
        return std::nullopt;
    }
    // Measured without "sig", as the id and the signature are: "canonical bytes" means that
    // everywhere in docs/protocol.md.
    m.canonical_unsigned = canonical_bytes_unsigned(*raw);
    if (const auto size = m.canonical_unsigned.size(); size > max_envelope_bytes) {
        r.fail("envelope", "is " + std::to_string(size) + " bytes without sig; the limit is " +
                               std::to_string(max_envelope_bytes));
        return std::nullopt;
    }
    // m.raw: parse_message moves the envelope in from the parsed document.
    return m;
}

template <class T>
std::optional<message> parse_nonce(field_reader& r, const json& o) {
    T m;
    if (!r.integer(o, "nonce", 0, std::numeric_limits<std::uint64_t>::max(),
                   "must be an unsigned integer", m.nonce, presence::optional)) {
        return std::nullopt;
    }
    return m;
}

std::optional<message> parse_bye(field_reader& r, const json& o) {
    bye m;
    if (!r.text(o, "reason", m.reason, presence::optional)) return std::nullopt;
    return m;
}

std::optional<message> parse_error(field_reader& r, const json& o) {
    error m;
    if (!r.text(o, "message", m.message)) return std::nullopt;
    return m;
}

std::optional<message> parse_nick(field_reader& r, const json& o) {
    nick m;
    if (!r.checked(o, "nick", check_nick, m.nick)) return std::nullopt;
    return m;
}

struct message_kind {
    std::string_view type;
    std::optional<message> (*parse)(field_reader&, const json&);
};

constexpr std::array<message_kind, 17> message_kinds{{
    {"hello", parse_hello},
    {"chat", parse_chat},
    {"ping", parse_nonce<ping>},
    {"pong", parse_nonce<pong>},
    {"bye", parse_bye},
    {"error", parse_error},
    {"nick", parse_nick},
    {"rooms", parse_rooms},
    {"join", parse_join},
    {"forward_join", parse_forward_join},
    {"neighbor", parse_neighbor},
    {"disconnect", parse_disconnect},
    {"shuffle", parse_shuffle},
    {"shuffle_reply", parse_shuffle_reply},
    {"ihave", parse_ihave},
    {"graft", parse_graft},
    {"prune", parse_prune},
}};
static_assert(message_kinds.size() == std::variant_size_v<message>, "one parser per message type");

parse_result malformed(std::string error, std::string type = {}) {
    return {parse_status::malformed, std::nullopt, std::move(type), std::move(error)};
}

json to_json(const room_claim& c) {
    return {{"name", c.name}, {"id", c.id}, {"proof", c.proof}};
}

json to_json(const std::vector<room_claim>& claims) {
    json list = json::array();
    for (const auto& c : claims) list.push_back(to_json(c));
    return list;
}

json to_json(const peer_address& p) {
    return {{"peer_id", p.peer_id}, {"addr", p.addr}};
}

json to_json(const std::vector<peer_address>& peers) {
    json list = json::array();
    for (const auto& p : peers) list.push_back(to_json(p));
    return list;
}

json to_object(const hello& m) {
    return {{"type", "hello"},
            {"version", m.version},
            {"peer_id", m.peer_id},
            {"nick", m.nick},
            {"listen_port", m.listen_port},
            {"rooms", to_json(m.rooms)},
            {"features", m.features}};
}

json to_object(const rooms& m) {
    return {{"type", "rooms"}, {"rooms", to_json(m.rooms)}};
}

json to_object(const chat& m) {
    return {{"type", "chat"},
            {"hops", m.hops},
            {"envelope", m.raw.is_object() ? m.raw : envelope_to_json(m.env)}};
}

json to_object(const join& m) {
    return {{"type", "join"}, {"room", m.room}};
}
json to_object(const forward_join& m) {
    return {{"type", "forward_join"}, {"room", m.room}, {"peer", to_json(m.peer)}, {"ttl", m.ttl}};
}
json to_object(const neighbor& m) {
    return {{"type", "neighbor"}, {"room", m.room}, {"high", m.high}};
}
json to_object(const disconnect& m) {
    return {{"type", "disconnect"}, {"room", m.room}, {"alive", m.alive}};
}
json to_object(const shuffle& m) {
    return {{"type", "shuffle"}, {"room", m.room}, {"id", m.id}, {"ttl", m.ttl},
            {"peers", to_json(m.peers)}};
}
json to_object(const shuffle_reply& m) {
    return {{"type", "shuffle_reply"}, {"room", m.room}, {"id", m.id}, {"peers", to_json(m.peers)}};
}
json to_object(const ihave& m) {
    return {{"type", "ihave"}, {"room", m.room}, {"ids", m.ids}, {"hops", m.hops}};
}
// "author" is left out for every author: "" is not a peer id, so it cannot be written.
json to_object(const graft& m) {
    json j{{"type", "graft"}, {"room", m.room}, {"ids", m.ids}};
    if (!m.author.empty()) j["author"] = m.author;
    return j;
}
json to_object(const prune& m) {
    json j{{"type", "prune"}, {"room", m.room}};
    if (!m.author.empty()) j["author"] = m.author;
    return j;
}

json to_object(const ping& m) {
    return {{"type", "ping"}, {"nonce", m.nonce}};
}
json to_object(const pong& m) {
    return {{"type", "pong"}, {"nonce", m.nonce}};
}
json to_object(const bye& m) {
    return {{"type", "bye"}, {"reason", m.reason}};
}
json to_object(const error& m) {
    return {{"type", "error"}, {"message", m.message}};
}
json to_object(const nick& m) {
    return {{"type", "nick"}, {"nick", m.nick}};
}

}  // namespace

parse_result parse_message(std::string_view json_text) {
    // Checked first so that the error says what is wrong rather than where the JSON parser
    // tripped over it.
    if (!is_valid_utf8(json_text)) return malformed("frame is not valid UTF-8");
    std::string error;
    auto j = parse_strict_json(json_text, max_json_depth, error);
    if (!j) return malformed(std::move(error));
    if (!j->is_object()) return malformed("frame is not a JSON object");
    const auto type_field = j->find("type");
    if (type_field == j->end()) return malformed("frame has no \"type\" field");
    if (!type_field->is_string()) return malformed("field \"type\" must be a string");
    auto type = type_field->get<std::string>();

    for (const auto& kind : message_kinds) {
        if (kind.type != type) continue;
        field_reader reader(type);
        auto msg = kind.parse(reader, *j);
        if (!msg) return malformed(reader.error(), std::move(type));
        // The envelope is most of a chat frame (and of its tree): moved, not copied.
        if (auto* c = std::get_if<chat>(&*msg)) c->raw = std::move((*j)["envelope"]);
        return {parse_status::ok, std::move(msg), std::move(type), {}};
    }
    auto unknown = "unknown message type \"" + excerpt(type) + "\"";
    return {parse_status::unknown_type, std::nullopt, std::move(type), std::move(unknown)};
}

std::string serialize(const message& m) {
    // A chat is forwarded at every hop: its envelope is dumped in place rather than copied
    // into a new object first. The same bytes as to_object's dump (keys in bytewise order).
    if (const auto* c = std::get_if<chat>(&m); c && c->raw.is_object()) {
        return "{\"envelope\":" + c->raw.dump() + ",\"hops\":" + std::to_string(c->hops) +
               ",\"type\":\"chat\"}";
    }
    if (const auto* h = std::get_if<ihave>(&m)) return serialize(*h);
    return std::visit([](const auto& alternative) { return to_object(alternative).dump(); }, m);
}

std::string serialize(const ihave& m) {
    // Ids and room ids are hex: written as they are. Anything that would need an escape (never
    // in a frame we build) goes through the JSON tree.
    const auto plain = [](const std::string& s) {
        return std::all_of(s.begin(), s.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        });
    };
    if (!plain(m.room) || !std::all_of(m.ids.begin(), m.ids.end(), plain)) {
        return to_object(m).dump();
    }
    // Keys in bytewise order, as to_object's dump writes them.
    std::string out = "{\"hops\":[";
    for (std::size_t i = 0; i < m.hops.size(); ++i) {
        if (i > 0) out += ',';
        out += std::to_string(m.hops[i]);
    }
    out += "],\"ids\":[";
    for (std::size_t i = 0; i < m.ids.size(); ++i) {
        if (i > 0) out += ',';
        out.append("\"").append(m.ids[i]).append("\"");
    }
    out.append("],\"room\":\"").append(m.room).append("\",\"type\":\"ihave\"}");
    return out;
}

namespace {

// One past the '}' that closes the object `json_text` starts with, which must be valid JSON;
// npos when it does not start with an object.
std::size_t object_end(std::string_view json_text) {
    if (!json_text.starts_with('{')) return std::string_view::npos;
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < json_text.size(); ++i) {
        const char c = json_text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;  // the escaped character cannot end the string
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            return i + 1;
        }
    }
    return std::string_view::npos;
}

}  // namespace

std::optional<std::string> chat_with_hops(std::string_view payload, std::uint32_t hops) {
    constexpr std::string_view head = "{\"envelope\":";
    constexpr std::string_view hops_key = ",\"hops\":";
    constexpr std::string_view tail = ",\"type\":\"chat\"}";
    if (!payload.starts_with(head) || !payload.ends_with(tail)) return std::nullopt;
    const auto before_tail = payload.substr(0, payload.size() - tail.size());
    const auto digits = before_tail.find_last_not_of("0123456789") + 1;
    if (digits == before_tail.size() || digits < head.size() + hops_key.size() ||
        before_tail.substr(digits - hops_key.size(), hops_key.size()) != hops_key) {
        return std::nullopt;
    }
    const auto envelope = payload.substr(head.size(), digits - hops_key.size() - head.size());
    // Unknown members may sit between the envelope and "hops": the layout is ours only when
    // the envelope's object ends right there.
    if (object_end(envelope) != envelope.size()) return std::nullopt;
    const auto count = std::to_string(hops);
    std::string out;
    out.reserve(head.size() + envelope.size() + hops_key.size() + count.size() + tail.size());
    out.append(head).append(envelope).append(hops_key).append(count).append(tail);
    return out;
}

json envelope_to_json(const envelope& e) {
    json j{{"room", e.room}, {"author", e.author}, {"nick", e.nick},
           {"seq", e.seq},   {"ts", e.ts},         {"body", e.body}};
    // Plain text leaves "kind" out, so that its envelope (and id) is what it always was.
    if (!e.kind.empty()) j["kind"] = e.kind;
    return j;
}

}  // namespace confab::protocol

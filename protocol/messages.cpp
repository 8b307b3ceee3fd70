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

// A message needs 3 levels (peers: object, array, object); the rest is room for unknown
// fields of later versions.
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

std::optional<message> parse_hello(field_reader& r, const json& o) {
    hello m;
    if (!r.integer(o, "version", 1, std::numeric_limits<int>::max(), "must be a positive integer",
                   m.version) ||
        !r.checked(o, "peer_id", check_peer_id, m.peer_id) ||
        !r.checked(o, "nick", check_nick, m.nick) ||
        !r.integer(o, "listen_port", 0, 65535, "must be an integer from 0 to 65535",
                   m.listen_port) ||
        !r.integer(o, "links", 0, 65535, "must be an integer from 0 to 65535", m.links,
                   presence::optional) ||
        !r.strings(o, "rooms", max_hello_rooms, check_room, m.rooms) ||
        !r.strings(o, "features", max_hello_features, nullptr, m.features, presence::optional) ||
        !r.checked(o, "room_id", check_room_id, m.room_id) ||
        !r.checked(o, "proof", check_room_proof_text, m.proof)) {
        return std::nullopt;
    }
    return m;
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

std::optional<message> parse_peers(field_reader& r, const json& o) {
    const json* list = r.container(o, "peers", json::value_t::array);
    if (!list) return std::nullopt;
    if (list->size() > max_peers_per_list) {
        r.fail("peers", field_reader::too_many(list->size(), max_peers_per_list));
        return std::nullopt;
    }
    peers m;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const auto& item = (*list)[i];
        const auto item_path = "peers[" + std::to_string(i) + "]";
        if (!item.is_object()) {
            r.fail(item_path, "must be an object");
            return std::nullopt;
        }
        r.set_prefix(item_path + ".");
        peer_address& entry = m.list.emplace_back();
        if (!r.checked(item, "peer_id", check_peer_id, entry.peer_id) ||
            !r.checked(item, "addr", check_advertised_addr, entry.addr)) {
            return std::nullopt;
        }
    }
    return m;
}

bool is_kind_token(const std::string& kind) {
    return !kind.empty() && kind.size() <= 16 &&
           std::all_of(kind.begin(), kind.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

std::optional<message> parse_chat(field_reader& r, const json& o) {
    const json* raw = r.container(o, "envelope", json::value_t::object);
    if (!raw) return std::nullopt;
    r.set_prefix("envelope.");
    chat m;
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
    if (const auto size = canonical_bytes_unsigned(*raw).size(); size > max_envelope_bytes) {
        r.fail("envelope", "is " + std::to_string(size) + " bytes without sig; the limit is " +
                               std::to_string(max_envelope_bytes));
        return std::nullopt;
    }
    m.raw = *raw;
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

constexpr std::array<message_kind, 8> message_kinds{{
    {"hello", parse_hello},
    {"peers", parse_peers},
    {"chat", parse_chat},
    {"ping", parse_nonce<ping>},
    {"pong", parse_nonce<pong>},
    {"bye", parse_bye},
    {"error", parse_error},
    {"nick", parse_nick},
}};

parse_result malformed(std::string error, std::string type = {}) {
    return {parse_status::malformed, std::nullopt, std::move(type), std::move(error)};
}

json to_object(const hello& m) {
    return {{"type", "hello"},      {"version", m.version},         {"peer_id", m.peer_id},
            {"nick", m.nick},       {"listen_port", m.listen_port}, {"links", m.links},
            {"rooms", m.rooms},     {"features", m.features},       {"room_id", m.room_id},
            {"proof", m.proof}};
}

json to_object(const peers& m) {
    json list = json::array();
    for (const auto& p : m.list) list.push_back({{"peer_id", p.peer_id}, {"addr", p.addr}});
    return {{"type", "peers"}, {"peers", std::move(list)}};
}

json to_object(const chat& m) {
    return {{"type", "chat"}, {"envelope", m.raw.is_object() ? m.raw : envelope_to_json(m.env)}};
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
    const auto j = parse_strict_json(json_text, max_json_depth, error);
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
        return {parse_status::ok, std::move(msg), std::move(type), {}};
    }
    auto unknown = "unknown message type \"" + excerpt(type) + "\"";
    return {parse_status::unknown_type, std::nullopt, std::move(type), std::move(unknown)};
}

std::string serialize(const message& m) {
    return std::visit([](const auto& alternative) { return to_object(alternative).dump(); }, m);
}

json envelope_to_json(const envelope& e) {
    json j{{"room", e.room}, {"author", e.author}, {"nick", e.nick},
           {"seq", e.seq},   {"ts", e.ts},         {"body", e.body}};
    // Plain text leaves "kind" out, so that its envelope (and id) is what it always was.
    if (!e.kind.empty()) j["kind"] = e.kind;
    return j;
}

}  // namespace confab::protocol

#include "protocol/file_service.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/frame.hpp"
#include "protocol/strict_json.hpp"
#include "protocol/validate.hpp"

namespace confab::protocol {
namespace {

using json = nlohmann::json;

// Offsets and sizes stay exact in JSON implementations that hold numbers as doubles.
constexpr std::uint64_t max_exact_integer = std::uint64_t{1} << 53;
// The frames are flat objects; the rest is room for unknown fields of later versions.
constexpr int max_json_depth = 8;
// Spelled out rather than taken from file_offer.hpp, so that the two codecs stay independent.
constexpr std::size_t transfer_id_digits = 32;

// Reads fields of one message, keeping the first problem as "TYPE: field "F" ...".
class field_reader {
public:
    field_reader(const json& obj, std::string type) : obj_(obj), type_(std::move(type)) {}

    const std::string& error() const { return error_; }

    bool fail(std::string_view key, std::string_view problem) {
        if (error_.empty()) {
            error_ = type_ + ": field \"" + std::string(key) + "\" " + std::string(problem);
        }
        return false;
    }

    bool text(std::string_view key, std::string& out) {
        const json* v = find(key);
        if (!v) return fail(key, "is missing");
        if (!v->is_string()) return fail(key, "must be a string");
        out = v->get<std::string>();
        return true;
    }

    bool checked(std::string_view key, std::string (*check)(std::string_view), std::string& out) {
        if (!text(key, out)) return false;
        const auto problem = check(out);
        return problem.empty() || fail(key, "is invalid: " + problem);
    }

    bool count(std::string_view key, std::uint64_t& out) {
        const json* v = find(key);
        if (!v) return fail(key, "is missing");
        if (!v->is_number_unsigned() || v->get<std::uint64_t>() > max_exact_integer) {
            return fail(key, "must be an integer from 0 to 2^53");
        }
        out = v->get<std::uint64_t>();
        return true;
    }

    bool flag(std::string_view key, bool& out) {
        const json* v = find(key);
        if (!v) return true;  // optional, false when absent
        if (!v->is_boolean()) return fail(key, "must be true or false");
        out = v->get<bool>();
        return true;
    }

private:
    const json* find(std::string_view key) const {
        const auto it = obj_.find(key);
        return it == obj_.end() ? nullptr : &*it;
    }

    const json& obj_;
    std::string type_;
    std::string error_;
};

std::optional<file_message> parse_fetch(field_reader& r) {
    fetch_request m;
    if (!r.checked("transfer", check_transfer_id, m.transfer) ||
        !r.checked("peer_id", check_peer_id, m.peer_id) || !r.count("offset", m.offset)) {
        return std::nullopt;
    }
    return m;
}

std::optional<file_message> parse_fetch_ok(field_reader& r) {
    fetch_ok m;
    if (!r.checked("transfer", check_transfer_id, m.transfer) || !r.count("offset", m.offset) ||
        !r.count("size", m.size)) {
        return std::nullopt;
    }
    if (m.offset > m.size) {
        r.fail("offset", "is beyond \"size\" (" + std::to_string(m.offset) + " > " +
                             std::to_string(m.size) + ")");
        return std::nullopt;
    }
    return m;
}

std::optional<file_message> parse_fetch_refused(field_reader& r) {
    fetch_refused m;
    if (!r.text("reason", m.reason) || !r.flag("retry", m.retry)) return std::nullopt;
    if (m.reason.size() > max_refusal_reason_bytes) {
        r.fail("reason", "is " + std::to_string(m.reason.size()) + " bytes; the limit is " +
                             std::to_string(max_refusal_reason_bytes) + " bytes");
        return std::nullopt;
    }
    return m;
}

json to_object(const fetch_request& m) {
    return {
        {"type", "fetch"}, {"transfer", m.transfer}, {"peer_id", m.peer_id}, {"offset", m.offset}};
}
json to_object(const fetch_ok& m) {
    return {{"type", "fetch_ok"}, {"transfer", m.transfer}, {"offset", m.offset}, {"size", m.size}};
}
json to_object(const fetch_refused& m) {
    json j{{"type", "fetch_refused"}, {"reason", m.reason}};
    // Left out when false, so that the common answer reads as the protocol page shows it.
    if (m.retry) j["retry"] = true;
    return j;
}

}  // namespace

std::string check_transfer_id(std::string_view id) {
    if (id.size() != transfer_id_digits) {
        return "transfer id must be " + std::to_string(transfer_id_digits) + " characters (got " +
               std::to_string(id.size()) + ")";
    }
    if (!is_lower_hex(id)) {
        return "transfer id must contain only the characters 0-9 and a-f";
    }
    return {};
}

std::optional<std::size_t> file_frame_length(std::string_view header, std::string* error) {
    if (header.size() < frame_header_size) {
        *error = "frame header is " + std::to_string(header.size()) + " bytes; it must be " +
                 std::to_string(frame_header_size);
        return std::nullopt;
    }
    const auto* h = reinterpret_cast<const unsigned char*>(header.data());
    const std::size_t n = (std::size_t{h[0]} << 24) | (std::size_t{h[1]} << 16) |
                          (std::size_t{h[2]} << 8) | std::size_t{h[3]};
    if (n == 0) {
        *error = "frame length 0 is below the minimum of 1 byte";
        return std::nullopt;
    }
    if (n > max_file_frame_size) {
        *error = "frame length " + std::to_string(n) + " exceeds the file service's limit of " +
                 std::to_string(max_file_frame_size) + " bytes";
        return std::nullopt;
    }
    return n;
}

file_parse_result parse_file_message(std::string_view json_text) {
    if (!is_valid_utf8(json_text)) return {std::nullopt, {}, "frame is not valid UTF-8"};
    std::string error;
    const auto j = parse_strict_json(json_text, max_json_depth, error);
    if (!j) return {std::nullopt, {}, std::move(error)};
    if (!j->is_object()) return {std::nullopt, {}, "frame is not a JSON object"};
    const auto type_field = j->find("type");
    if (type_field == j->end()) return {std::nullopt, {}, "frame has no \"type\" field"};
    if (!type_field->is_string()) return {std::nullopt, {}, "field \"type\" must be a string"};
    auto type = type_field->get<std::string>();

    field_reader reader(*j, type);
    std::optional<file_message> msg;
    if (type == "fetch") {
        msg = parse_fetch(reader);
    } else if (type == "fetch_ok") {
        msg = parse_fetch_ok(reader);
    } else if (type == "fetch_refused") {
        msg = parse_fetch_refused(reader);
    } else {
        auto unknown = "unknown file-service message type \"" + excerpt(type) + "\"";
        return {std::nullopt, std::move(type), std::move(unknown)};
    }
    if (!msg) return {std::nullopt, std::move(type), reader.error()};
    return {std::move(msg), std::move(type), {}};
}

std::string serialize_file_message(const file_message& m) {
    return std::visit([](const auto& alternative) { return to_object(alternative).dump(); }, m);
}

std::string encode_file_frame(const file_message& m) {
    return encode_frame(serialize_file_message(m));
}

}  // namespace confab::protocol

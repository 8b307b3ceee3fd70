#include "protocol/file_offer.hpp"

#include <algorithm>

#include "protocol/validate.hpp"

namespace confab::protocol {

namespace {

using json = nlohmann::json;

bool is_lower_hex(const std::string& s, std::size_t length) {
    return s.size() == length && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

constexpr std::uint64_t max_exact = std::uint64_t{1} << 53;

}  // namespace

bool is_transfer_id(const std::string& id) {
    return is_lower_hex(id, transfer_id_length);
}

json file_offer_to_json(const file_offer& o) {
    json j{{"id", o.id},     {"name", o.name}, {"size", o.size},
           {"sha256", o.sha256}, {"port", o.port}, {"hosts", o.hosts}};
    if (!o.to.empty()) j["to"] = o.to;
    return j;
}

std::optional<file_offer> parse_file_offer(const json& envelope, std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<file_offer> {
        if (error) *error = "file offer: " + why;
        return std::nullopt;
    };
    const auto it = envelope.find("file");
    if (it == envelope.end() || !it->is_object()) return fail("field \"file\" must be an object");
    const json& f = *it;
    file_offer o;
    auto text = [&](const char* key, std::string& out) {
        const auto v = f.find(key);
        if (v == f.end() || !v->is_string()) return false;
        out = v->get<std::string>();
        return true;
    };
    if (!text("id", o.id) || !is_transfer_id(o.id)) {
        return fail("\"id\" must be 32 lowercase hex digits");
    }
    if (!text("name", o.name) || o.name.empty() || o.name.size() > max_offer_name_bytes ||
        !is_valid_utf8(o.name)) {
        return fail("\"name\" must be 1 to 255 bytes of UTF-8");
    }
    const auto size = f.find("size");
    if (size == f.end() || !size->is_number_unsigned() || size->get<std::uint64_t>() > max_exact) {
        return fail("\"size\" must be an integer from 0 to 2^53");
    }
    o.size = size->get<std::uint64_t>();
    if (!text("sha256", o.sha256) || !is_lower_hex(o.sha256, 64)) {
        return fail("\"sha256\" must be 64 lowercase hex digits");
    }
    const auto port = f.find("port");
    if (port == f.end() || !port->is_number_unsigned() || port->get<std::uint64_t>() == 0 ||
        port->get<std::uint64_t>() > 65535) {
        return fail("\"port\" must be an integer from 1 to 65535");
    }
    o.port = static_cast<std::uint16_t>(port->get<std::uint64_t>());
    const auto hosts = f.find("hosts");
    if (hosts != f.end()) {
        if (!hosts->is_array() || hosts->size() > max_offer_hosts) {
            return fail("\"hosts\" must be a list of at most 8 host names");
        }
        for (const auto& h : *hosts) {
            if (!h.is_string() || h.get<std::string>().empty() ||
                h.get<std::string>().size() > 253) {
                return fail("\"hosts\" must be a list of at most 8 host names");
            }
            o.hosts.push_back(h.get<std::string>());
        }
    }
    if (f.contains("to")) {
        if (!text("to", o.to) || !check_peer_id(o.to).empty()) {
            return fail("\"to\" must be a peer id");
        }
    }
    return o;
}

}  // namespace confab::protocol

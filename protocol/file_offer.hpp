#pragma once
// A file offer as it travels through the mesh: a chat envelope of kind "file_offer" whose
// "file" object says what is offered and where to fetch it (docs/protocol.md, "File offers").
// The bytes never travel in the mesh: the receiver fetches them from the sender's file
// service. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace confab::protocol {

inline constexpr std::size_t transfer_id_length = 32;  // hex digits of 128 random bits
inline constexpr std::size_t max_offer_name_bytes = 255;
inline constexpr std::size_t max_offer_hosts = 8;

struct file_offer {
    std::string id;  // the transfer id: 32 lowercase hex digits
    std::string name;
    std::uint64_t size = 0;
    std::string sha256;  // 64 lowercase hex digits
    std::uint16_t port = 0;  // the sender's file service
    // Hosts the sender's file service may be reached at, best first (may be empty: then the
    // receiver uses the host it knows the sender by).
    std::vector<std::string> hosts;
    std::string to;  // the one peer id it is offered to; empty: the whole room
    friend bool operator==(const file_offer&, const file_offer&) = default;
};

inline constexpr const char* file_offer_kind = "file_offer";

nlohmann::json file_offer_to_json(const file_offer& offer);
// The offer in an envelope's "file" field; nullopt with a sentence in *error when it is
// missing or breaks a rule.
std::optional<file_offer> parse_file_offer(const nlohmann::json& envelope, std::string* error);

bool is_transfer_id(const std::string& id);

}  // namespace confab::protocol

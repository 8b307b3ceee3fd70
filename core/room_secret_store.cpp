#include "core/room_secret_store.hpp"

#include <algorithm>
#include <stdexcept>
#include <system_error>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "core/base32.hpp"
#include "core/log.hpp"
#include "core/room_secret.hpp"
#include "protocol/validate.hpp"

namespace confab::core {

namespace {

// More rooms than anyone joins; a file with more was not written by confab.
constexpr std::size_t max_rooms = 10'000;

bool valid_secret_size(std::size_t n) {
    return n == room_secret_bytes || n == stretched_secret_bytes;
}

}  // namespace

bool readable_by_others(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return false;
    return (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
}

room_secret_store::room_secret_store(const std::filesystem::path& data_dir)
    : file_(data_dir / "secrets.json") {}

room_secret_store::entries room_secret_store::load() const {
    std::error_code ec;
    if (!std::filesystem::exists(file_, ec)) {
        if (ec) {
            throw std::runtime_error("cannot look for the room secrets " + file_.string() + ": " +
                                     ec.message());
        }
        return {};
    }
    std::string text;
    try {
        text = read_file(file_);
    } catch (const std::system_error& e) {
        throw std::runtime_error(std::string("cannot read the room secrets: ") + e.what());
    }
    if (readable_by_others(file_)) {
        log(log_level::warn, "secrets", file_.string(),
            " is readable by other users; it holds room secrets: chmod 600 it");
    }
    const auto damaged = [&](const std::string& why) {
        return std::runtime_error(file_.string() + " is damaged (" + why +
                                  "); move it away to start afresh (rooms joined by invite "
                                  "will need their invites again)");
    };
    const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) throw damaged("it is not a JSON object");
    if (json.size() > max_rooms) throw damaged("too many rooms");
    entries all;
    for (const auto& [room, value] : json.items()) {
        if (!protocol::check_room(room).empty()) throw damaged("a bad room name");
        if (!value.is_string()) throw damaged("the secret of #" + room + " is not a string");
        auto secret = base32_decode(value.get<std::string>());
        if (!secret || !valid_secret_size(secret->size())) {
            throw damaged("the secret of #" + room + " is not 16 or 32 bytes of base32");
        }
        all.emplace_back(room, std::move(*secret));
    }
    return all;
}

void room_secret_store::save(const entries& all) const {
    nlohmann::ordered_json json = nlohmann::ordered_json::object();
    for (const auto& [room, secret] : all) json[room] = base32_encode(secret);
    try {
        // 0600 from creation: the temp file is made 0600 and only then filled and renamed, so
        // there is no moment at which another user could read a secret.
        write_file_atomically(file_, json.dump(2) + "\n", 0600);
    } catch (const std::system_error& e) {
        throw std::runtime_error(std::string("cannot store the room secret: ") + e.what());
    }
}

std::optional<std::vector<std::uint8_t>> room_secret_store::find(std::string_view room) const {
    for (auto& [name, secret] : load()) {
        if (name == room) return std::move(secret);
    }
    return std::nullopt;
}

std::vector<std::uint8_t> room_secret_store::load_or_create(std::string_view room, bool* created) {
    auto all = load();
    for (const auto& [name, secret] : all) {
        if (name != room) continue;
        if (created) *created = false;
        return secret;
    }
    if (auto why = protocol::check_room(room); !why.empty()) throw std::invalid_argument(why);
    auto secret = random_room_secret();
    all.emplace_back(std::string(room), secret);
    save(all);
    if (created) *created = true;
    return secret;
}

bool room_secret_store::remember(std::string_view room, std::span<const std::uint8_t> secret) {
    if (auto why = protocol::check_room(room); !why.empty()) throw std::invalid_argument(why);
    if (!valid_secret_size(secret.size())) {
        throw std::invalid_argument("a room secret is 16 or 32 bytes");
    }
    auto all = load();
    const std::vector<std::uint8_t> value(secret.begin(), secret.end());
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& e) { return e.first == room; });
    if (it != all.end() && it->second == value) return false;
    const bool replaced = it != all.end();
    if (replaced) {
        it->second = value;
    } else {
        all.emplace_back(std::string(room), value);
    }
    save(all);
    return replaced;
}

}  // namespace confab::core

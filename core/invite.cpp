#include "core/invite.hpp"

#include <arpa/inet.h>

#include <stdexcept>

#include "core/base32.hpp"
#include "core/detail/invite_check.hpp"
#include "core/room_secret.hpp"
#include "protocol/address.hpp"
#include "protocol/validate.hpp"

namespace confab::core {

namespace {

constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";

// Address kinds in the payload.
constexpr std::uint8_t kind_ipv4 = 1;
constexpr std::uint8_t kind_ipv6 = 2;
constexpr std::uint8_t kind_name = 3;
constexpr std::size_t max_host_name_bytes = 253;  // DNS

int symbol_value(char c) {
    const auto at = alphabet.find(c);
    return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

// Multiplication by x in GF(2)[x]/(x^5 + x^2 + 1).
unsigned times_x(unsigned v) {
    v <<= 1;
    if (v & 0x20) v ^= 0x25;
    return v;
}

// Horner's rule over the symbols: the polynomial's value, 0 for a string that checks out.
unsigned checksum(std::string_view base32) {
    unsigned sum = 0;
    for (char c : base32) sum = times_x(sum) ^ static_cast<unsigned>(symbol_value(c));
    return sum;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::optional<invite> fail(std::string* error, std::string message) {
    if (error) *error = std::move(message);
    return std::nullopt;
}

void put_address(std::vector<std::uint8_t>& out, const std::string& text) {
    std::string error;
    auto hp = protocol::parse_host_port(text, &error);
    if (!hp) throw std::invalid_argument("invite address: " + error);
    std::uint8_t v4[4];
    std::uint8_t v6[16];
    if (::inet_pton(AF_INET, hp->host.c_str(), v4) == 1) {
        out.push_back(kind_ipv4);
        out.insert(out.end(), v4, v4 + 4);
    } else if (::inet_pton(AF_INET6, hp->host.c_str(), v6) == 1) {
        out.push_back(kind_ipv6);
        out.insert(out.end(), v6, v6 + 16);
    } else {
        if (hp->host.size() > max_host_name_bytes) {
            throw std::invalid_argument("invite address: host name longer than 253 bytes");
        }
        out.push_back(kind_name);
        out.push_back(static_cast<std::uint8_t>(hp->host.size()));
        out.insert(out.end(), hp->host.begin(), hp->host.end());
    }
    out.push_back(static_cast<std::uint8_t>(hp->port >> 8));
    out.push_back(static_cast<std::uint8_t>(hp->port & 0xff));
}

// Reads the payload front to back; every read is bounds-checked, so a short payload is an
// error, never a read past the end.
class reader {
public:
    explicit reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
    bool take(std::size_t n, std::span<const std::uint8_t>* out) {
        if (bytes_.size() - at_ < n) return false;
        *out = bytes_.subspan(at_, n);
        at_ += n;
        return true;
    }
    bool byte(std::uint8_t* out) {
        std::span<const std::uint8_t> one;
        if (!take(1, &one)) return false;
        *out = one[0];
        return true;
    }
    std::size_t left() const { return bytes_.size() - at_; }

private:
    std::span<const std::uint8_t> bytes_;
    std::size_t at_ = 0;
};

std::nullopt_t bad(std::string* why, std::string message) {
    *why = std::move(message);
    return std::nullopt;
}

std::string as_string(std::span<const std::uint8_t> bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// One address; on failure says what was wrong with it.
std::optional<std::string> read_address(reader& in, std::string* why) {
    std::uint8_t kind = 0;
    if (!in.byte(&kind)) return bad(why, "it ends inside an address");
    std::string host;
    std::span<const std::uint8_t> raw;
    if (kind == kind_ipv4 || kind == kind_ipv6) {
        const bool v4 = kind == kind_ipv4;
        if (!in.take(v4 ? 4 : 16, &raw)) return bad(why, "it ends inside an address");
        char text[INET6_ADDRSTRLEN] = {};
        ::inet_ntop(v4 ? AF_INET : AF_INET6, raw.data(), text, sizeof text);
        host = text;
    } else if (kind == kind_name) {
        std::uint8_t length = 0;
        if (!in.byte(&length) || !in.take(length, &raw)) {
            return bad(why, "it ends inside an address");
        }
        if (length == 0 || length > max_host_name_bytes) {
            return bad(why, "a host name of " + std::to_string(length) + " bytes");
        }
        host = as_string(raw);
    } else {
        return bad(why, "an address of unknown kind " + std::to_string(kind));
    }
    if (!in.take(2, &raw)) return bad(why, "it ends inside an address");
    const auto port = static_cast<std::uint16_t>((raw[0] << 8) | raw[1]);
    const std::string text = protocol::host_port{host, port}.to_string();
    std::string error;
    // Host names are checked here; a port of 0 too.
    if (!protocol::parse_host_port(text, &error)) return bad(why, error);
    return text;
}

}  // namespace

namespace detail {

char invite_check_character(std::string_view base32) {
    // The check symbol c makes times_x(sum) ^ c zero.
    return alphabet[times_x(checksum(base32))];
}

bool invite_check_matches(std::string_view base32_with_check) {
    return !base32_with_check.empty() && checksum(base32_with_check) == 0;
}

std::string wrap_invite_payload(std::span<const std::uint8_t> payload) {
    std::string body = base32_encode(payload);
    std::string out(invite_prefix);
    out += body;
    out += invite_check_character(body);
    return out;
}

}  // namespace detail

std::string format_invite(const invite& inv) {
    if (auto why = protocol::check_room(inv.room); !why.empty()) {
        throw std::invalid_argument("invite: " + why);
    }
    if (inv.secret.size() != room_secret_bytes && inv.secret.size() != stretched_secret_bytes) {
        throw std::invalid_argument("invite: a room secret is 16 or 32 bytes, not " +
                                    std::to_string(inv.secret.size()));
    }
    if (inv.addresses.size() > max_invite_addresses) {
        throw std::invalid_argument("invite: at most 8 addresses");
    }
    std::vector<std::uint8_t> payload;
    payload.push_back(static_cast<std::uint8_t>(inv.secret.size()));
    payload.insert(payload.end(), inv.secret.begin(), inv.secret.end());
    payload.push_back(static_cast<std::uint8_t>(inv.room.size()));
    payload.insert(payload.end(), inv.room.begin(), inv.room.end());
    payload.push_back(static_cast<std::uint8_t>(inv.addresses.size()));
    for (const auto& a : inv.addresses) put_address(payload, a);
    return detail::wrap_invite_payload(payload);
}

std::optional<invite> parse_invite(std::string_view text, std::string* error) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    if (text.empty()) return fail(error, "the invite is empty; paste the whole invite");
    if (text.size() > max_invite_chars) {
        return fail(error, "not a confab invite: it is longer than any invite (" +
                               std::to_string(text.size()) + " characters)");
    }
    std::string lower(text);
    for (auto& c : lower) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    const std::string_view name = invite_prefix.substr(0, invite_prefix.size() - 1);  // "confab"
    if (!lower.starts_with(name)) {
        return fail(error,
                    "not a confab invite: an invite starts with " + std::string(invite_prefix));
    }
    if (lower.size() > name.size()) {
        const char version = lower[name.size()];
        if (version >= '2' && version <= '9') {
            return fail(error, std::string("the invite is from a newer confab (invite format ") +
                                   version + "); update confab to use it");
        }
    }
    if (!lower.starts_with(invite_prefix)) {
        return fail(error,
                    "the invite has a typo: it must start with " + std::string(invite_prefix));
    }
    const std::string_view body = std::string_view(lower).substr(invite_prefix.size());
    for (std::size_t i = 0; i < body.size(); ++i) {
        const char c = body[i];
        if (symbol_value(c) >= 0) continue;
        const std::size_t position = invite_prefix.size() + i + 1;
        if (is_space(c)) {
            return fail(error, "the invite is broken by a space or a line break at character " +
                                   std::to_string(position) + "; paste it as one piece");
        }
        const bool printable = c > 0x20 && c < 0x7f;
        return fail(error, "the invite has a typo at character " + std::to_string(position) + ": " +
                               (printable ? "\"" + std::string(1, c) + "\"" : "that character") +
                               " cannot be in an invite (only a-z and 2-7 can)");
    }
    if (!detail::invite_check_matches(body)) {
        return fail(error,
                    "the invite has a typo: its check character does not match; copy the whole "
                    "invite again");
    }
    // From here on a problem is a bug in the writer or a character lost or doubled in copying
    // that the check missed (it catches 31 in 32 of those); the lengths inside the payload
    // catch nearly all of the rest.
    const auto damaged = [&](std::string why) {
        return fail(error, "the invite is damaged (" + why + "); copy the whole invite again");
    };
    auto payload = base32_decode(body.substr(0, body.size() - 1));
    if (!payload) return damaged("its length cannot be base32");
    reader in(*payload);

    invite result;
    std::uint8_t secret_size = 0;
    std::span<const std::uint8_t> raw;
    if (!in.byte(&secret_size) || !in.take(secret_size, &raw)) {
        return damaged("it ends inside the secret");
    }
    if (secret_size != room_secret_bytes && secret_size != stretched_secret_bytes) {
        return damaged("a secret of " + std::to_string(secret_size) + " bytes (16 or 32 expected)");
    }
    result.secret.assign(raw.begin(), raw.end());
    std::uint8_t room_size = 0;
    if (!in.byte(&room_size) || !in.take(room_size, &raw)) {
        return damaged("it ends inside the room name");
    }
    result.room = as_string(raw);
    if (auto why = protocol::check_room(result.room); !why.empty()) {
        return damaged(why);
    }
    std::uint8_t count = 0;
    if (!in.byte(&count)) return damaged("it ends before its addresses");
    if (count > max_invite_addresses) {
        return damaged(std::to_string(count) + " addresses (at most 8)");
    }
    for (std::uint8_t i = 0; i < count; ++i) {
        std::string why;
        auto address = read_address(in, &why);
        if (!address) {
            return damaged("address " + std::to_string(i + 1) + ": " + why);
        }
        result.addresses.push_back(std::move(*address));
    }
    if (in.left() != 0) {
        return damaged(std::to_string(in.left()) + " bytes left over at its end");
    }
    return result;
}

}  // namespace confab::core

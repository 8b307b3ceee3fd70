#include "protocol/address.hpp"

#include <algorithm>

namespace confab::protocol {
namespace {

std::string quoted(std::string_view s) {
    // Appended rather than "\"" + ...: GCC 12 warns falsely (-Wrestrict) on a short prefix.
    std::string out = "\"";
    out += s;
    out += '"';
    return out;
}

// Host names and IPv4 addresses; anything else (spaces, brackets, '@', '/') is a typo or an
// attempt to smuggle something into a log line or a resolver.
bool is_host_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

bool is_ipv6_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
}

std::nullopt_t fail(std::string* error, std::string message) {
    if (error) *error = std::move(message);
    return std::nullopt;
}

// Digits only (no sign, no spaces), at most 5 of them so the value cannot overflow.
std::optional<std::uint16_t> parse_port(std::string_view port_text, std::string_view text,
                                        bool allow_port_zero, std::string* error) {
    const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    unsigned value = 0;
    const bool digits = !port_text.empty() && port_text.size() <= 5 &&
                        std::all_of(port_text.begin(), port_text.end(), is_digit);
    if (digits) {
        for (const char c : port_text) value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (!digits || value > 65535 || (value == 0 && !allow_port_zero)) {
        return fail(error, "port " + quoted(port_text) + " in " + quoted(text) +
                               " is not a number from " + (allow_port_zero ? "0" : "1") +
                               " to 65535");
    }
    return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string host_port::to_string() const {
    const auto port_text = std::to_string(port);
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + port_text;
    return host + ":" + port_text;
}

std::optional<host_port> parse_host_port(std::string_view text, std::string* error,
                                         bool allow_port_zero) {
    const std::string example = " (example: 127.0.0.1:7447)";
    host_port result;
    std::string_view port_text;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return fail(error, quoted(text) + " is not [IPV6]:PORT (example: [::1]:7447)");
        }
        const auto host = text.substr(1, close - 1);
        if (host.find(':') == std::string_view::npos ||
            !std::all_of(host.begin(), host.end(), is_ipv6_char)) {
            return fail(error, quoted(host) + " in " + quoted(text) +
                                   " is not an IPv6 address; brackets are only for IPv6");
        }
        result.host = host;
        port_text = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return fail(error, quoted(text) + " is not HOST:PORT" + example);
        }
        const auto host = text.substr(0, colon);
        if (host.find(':') != std::string_view::npos) {
            return fail(error, "the IPv6 address in " + quoted(text) +
                                   " must be in brackets (example: [::1]:7447)");
        }
        if (host.empty()) {
            return fail(error, quoted(text) + " has no host before the port" + example);
        }
        if (!std::all_of(host.begin(), host.end(), is_host_name_char)) {
            return fail(error, "host " + quoted(host) + " in " + quoted(text) +
                                   " may only contain letters, digits, '.', '-' and '_'");
        }
        result.host = host;
        port_text = text.substr(colon + 1);
    }
    const auto port = parse_port(port_text, text, allow_port_zero, error);
    if (!port) return std::nullopt;
    result.port = *port;
    return result;
}

}  // namespace confab::protocol

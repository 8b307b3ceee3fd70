#pragma once
// "HOST:PORT" addresses as users type them and as peers advertise them. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace confab::protocol {

struct host_port {
    std::string host;  // IPv4 dotted quad, IPv6 without brackets, or a host name
    std::uint16_t port = 0;

    // "1.2.3.4:5", "[::1]:5", "example.org:5"
    std::string to_string() const;
    friend bool operator==(const host_port&, const host_port&) = default;
};

// Parses "HOST:PORT" ("[V6]:PORT" for IPv6). With allow_port_zero, port 0 is accepted (it
// means "any free port" for --listen). On failure returns nullopt and sets *error to a
// sentence the user can act on, e.g. `"lobby" is not HOST:PORT (example: 127.0.0.1:7447)`.
std::optional<host_port> parse_host_port(std::string_view text, std::string* error,
                                         bool allow_port_zero = false);

}  // namespace confab::protocol

#include "protocol/presence.hpp"

namespace confab::protocol {

std::optional<presence> parse_presence(std::string_view body) {
    if (body == "join") return presence::join;
    if (body == "here") return presence::here;
    if (body == "leave") return presence::leave;
    return std::nullopt;
}

std::string_view to_string(presence p) {
    switch (p) {
        case presence::join:
            return "join";
        case presence::here:
            return "here";
        case presence::leave:
            return "leave";
    }
    return "";
}

}  // namespace confab::protocol

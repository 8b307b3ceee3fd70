#include "protocol/address.hpp"

#include <catch2/catch.hpp>

using namespace confab::protocol;

namespace {

// The error parse_host_port gives for text, or "" when it parses.
std::string error_for(std::string_view text, bool allow_port_zero = false) {
    std::string error;
    const auto parsed = parse_host_port(text, &error, allow_port_zero);
    CHECK(parsed.has_value() == error.empty());
    return error;
}

}  // namespace

TEST_CASE("parse_host_port reads IPv4, bracketed IPv6 and host names") {
    std::string error;
    CHECK(parse_host_port("127.0.0.1:7447", &error) == host_port{"127.0.0.1", 7447});
    CHECK(parse_host_port("[::1]:7447", &error) == host_port{"::1", 7447});
    CHECK(parse_host_port("[fe80::1:2]:1", &error) == host_port{"fe80::1:2", 1});
    CHECK(parse_host_port("localhost:7447", &error) == host_port{"localhost", 7447});
    CHECK(parse_host_port("chat.example-1.org:65535", &error) ==
          host_port{"chat.example-1.org", 65535});
    CHECK(error.empty());
}

TEST_CASE("parse_host_port accepts port 0 only when asked to") {
    std::string error;
    CHECK(parse_host_port("0.0.0.0:0", &error, true) == host_port{"0.0.0.0", 0});
    CHECK(error_for("0.0.0.0:0") == R"(port "0" in "0.0.0.0:0" is not a number from 1 to 65535)");
}

TEST_CASE("parse_host_port tolerates a null error pointer") {
    CHECK_FALSE(parse_host_port("nonsense", nullptr).has_value());
}

TEST_CASE("parse_host_port rejects text without a port") {
    CHECK(error_for("foo") == R"("foo" is not HOST:PORT (example: 127.0.0.1:7447))");
    CHECK(error_for("") == R"("" is not HOST:PORT (example: 127.0.0.1:7447))");
}

TEST_CASE("parse_host_port rejects a port that is not a number from 1 to 65535") {
    CHECK(error_for("h:99999") == R"(port "99999" in "h:99999" is not a number from 1 to 65535)");
    CHECK(error_for("h:65536") == R"(port "65536" in "h:65536" is not a number from 1 to 65535)");
    CHECK(error_for("h:") == R"(port "" in "h:" is not a number from 1 to 65535)");
    CHECK(error_for("h:-1") == R"(port "-1" in "h:-1" is not a number from 1 to 65535)");
    CHECK(error_for("h:+80") == R"(port "+80" in "h:+80" is not a number from 1 to 65535)");
    CHECK(error_for("h:80 ") == R"(port "80 " in "h:80 " is not a number from 1 to 65535)");
    CHECK(error_for("h:123456789012") ==
          R"(port "123456789012" in "h:123456789012" is not a number from 1 to 65535)");
    CHECK(error_for("h:x", true) == R"(port "x" in "h:x" is not a number from 0 to 65535)");
}

TEST_CASE("parse_host_port rejects a missing or malformed host") {
    CHECK(error_for(":7447") == R"(":7447" has no host before the port (example: 127.0.0.1:7447))");
    CHECK(error_for("my host:7447") ==
          R"(host "my host" in "my host:7447" may only contain letters, digits, '.', '-' and '_')");
    CHECK(error_for("user@host:7447") ==
          R"(host "user@host" in "user@host:7447" may only contain letters, digits, '.', '-' )"
          R"(and '_')");
}

TEST_CASE("parse_host_port requires brackets around IPv6 and only there") {
    CHECK(error_for("::1:7447") ==
          R"(the IPv6 address in "::1:7447" must be in brackets (example: [::1]:7447))");
    CHECK(error_for("[::1]") == R"("[::1]" is not [IPV6]:PORT (example: [::1]:7447))");
    CHECK(error_for("[::1:7447") == R"("[::1:7447" is not [IPV6]:PORT (example: [::1]:7447))");
    CHECK(error_for("[::1]7447") == R"("[::1]7447" is not [IPV6]:PORT (example: [::1]:7447))");
    CHECK(
        error_for("[localhost]:7447") ==
        R"("localhost" in "[localhost]:7447" is not an IPv6 address; brackets are only for IPv6)");
    CHECK(error_for("[]:7447") ==
          R"("" in "[]:7447" is not an IPv6 address; brackets are only for IPv6)");
    CHECK(error_for("[::1]:0") == R"(port "0" in "[::1]:0" is not a number from 1 to 65535)");
}

TEST_CASE("host_port::to_string brackets IPv6 hosts and round-trips") {
    CHECK(host_port{"127.0.0.1", 7447}.to_string() == "127.0.0.1:7447");
    CHECK(host_port{"::1", 7447}.to_string() == "[::1]:7447");
    CHECK(host_port{"localhost", 1}.to_string() == "localhost:1");
    for (const auto* text : {"127.0.0.1:7447", "[::1]:7447", "example.org:80"}) {
        std::string error;
        const auto parsed = parse_host_port(text, &error);
        REQUIRE(parsed);
        CHECK(parsed->to_string() == text);
    }
}

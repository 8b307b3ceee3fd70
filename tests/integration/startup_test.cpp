// Start-up: flags are checked, a taken port is a clear failure, an unreachable --join is not.

#include <algorithm>
#include <cctype>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/support/peer_process.hpp"

using namespace confab::test;

namespace {

// A listening socket on 127.0.0.1, held for the life of the object, so its port is taken.
struct taken_port {
    int fd = -1;
    std::uint16_t port = 0;

    taken_port() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd, 4) == 0);
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port = ntohs(addr.sin_port);
    }
    ~taken_port() { ::close(fd); }
};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::size_t count_lines(const std::string& text) {
    std::size_t n = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        if (nl > start) ++n;
        start = nl + 1;
    }
    return n;
}

}  // namespace

TEST_CASE("ready reports the bound address with a non-zero port, the peer id, nick and room",
          "[integration][startup]") {
    peer_options o;
    o.nick = "carol";
    o.room = "garden";
    peer_process p(o);
    auto ready = p.wait_for(is_event("ready"), 5s, "ready event");
    INFO(ready.json.dump());
    CHECK(ready.str("peer_id").size() == 52);
    CHECK(ready.str("nick") == "carol");
    CHECK(ready.str("room") == "garden");
    CHECK(ready.str("listen").rfind("127.0.0.1:", 0) == 0);
    CHECK(port_of(ready.str("listen")) != 0);
    // ready is the first event.
    CHECK(p.events().front().name() == "ready");
}

TEST_CASE("an unknown flag exits 2 with usage on stderr", "[integration][startup]") {
    peer_options o;
    o.extra_args = {"--frobnicate"};
    peer_process p(o);
    auto code = p.wait_exit(5s);
    INFO(p.describe());
    REQUIRE(code.has_value());
    CHECK(*code == 2);
    CHECK(lower(p.stderr_text()).find("usage") != std::string::npos);
    CHECK(p.count(is_event("ready")) == 0);
}

TEST_CASE("option --listen on a port in use exits 1 with one line on stderr naming it",
          "[integration][startup]") {
    taken_port taken;
    peer_options o;
    o.listen = "127.0.0.1:" + std::to_string(taken.port);
    // At error level the only stderr line is the one that explains the failure.
    o.log_level = "error";
    peer_process p(o);
    auto code = p.wait_exit(5s);
    INFO(p.describe());
    REQUIRE(code.has_value());
    CHECK(*code == 1);
    std::string err = p.stderr_text();
    CHECK(count_lines(err) == 1);
    CHECK(err.find(std::to_string(taken.port)) != std::string::npos);
    CHECK(p.count(is_event("ready")) == 0);
}

TEST_CASE("an unreachable --join gives an error event and the peer stays up",
          "[integration][startup]") {
    peer_options o;
    o.joins = {"127.0.0.1:" + std::to_string(dead_port())};
    auto p = start_peer(o);
    auto err = p->wait_for(is_event("error"), 5s, "error event for the unreachable join");
    INFO(err.json.dump());
    CHECK(!err.str("message").empty());

    std::size_t from = p->events().size();
    p->send_line("/peers");
    auto answer = p->wait_for(is_event("peers"), 5s, "answer to /peers", from);
    INFO(answer.json.dump());
    CHECK(answer.json.value("peers", nlohmann::json::array()).empty());
    CHECK(p->running());
}

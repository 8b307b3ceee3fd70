#include "tests/support/fake_peer.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base32.hpp"
#include "core/envelope_signature.hpp"
#include "core/room_secret.hpp"
#include "tests/support/wire.hpp"

namespace confab::test {

namespace {

int remaining_ms(test_clock::time_point deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - test_clock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 60'000));
}

std::int64_t wall_clock_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

raw_connection::raw_connection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    pollfd p{fd_, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if ((rc != 0 && errno != EINPROGRESS) || ::poll(&p, 1, 5000) != 1 ||
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        ::close(fd_);
        throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
}

raw_connection::~raw_connection() {
    ::close(fd_);
}

bool send_all(int fd, const std::string& bytes, test_clock::duration timeout) {
    auto deadline = test_clock::now() + timeout;
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
        if (test_clock::now() >= deadline) return false;
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 50);
    }
    return true;
}

bool raw_connection::send(const std::string& bytes, test_clock::duration timeout) {
    return send_all(fd_, bytes, timeout);
}

bool raw_connection::read_some(test_clock::time_point deadline) {
    for (;;) {
        char buf[4096];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
            received_.append(buf, static_cast<std::size_t>(n));
            return true;
        }
        if (n == 0) return false;
        if (errno != EAGAIN && errno != EINTR) return false;  // reset, or worse: closed
        if (test_clock::now() >= deadline) return true;
        pollfd p{fd_, POLLIN, 0};
        ::poll(&p, 1, remaining_ms(deadline));
        if (test_clock::now() >= deadline && !(p.revents & (POLLIN | POLLHUP | POLLERR))) {
            return true;
        }
    }
}

bool raw_connection::wait_closed(test_clock::duration timeout) {
    auto deadline = test_clock::now() + timeout;
    while (test_clock::now() < deadline) {
        if (!read_some(deadline)) return true;
    }
    return false;
}

std::vector<std::string> raw_connection::frames() const {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (received_.size() - pos >= 4) {
        auto b = [&](std::size_t i) { return static_cast<unsigned char>(received_[pos + i]); };
        std::size_t n = (std::size_t{b(0)} << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
        if (received_.size() - pos - 4 < n) break;
        out.push_back(received_.substr(pos + 4, n));
        pos += 4 + n;
    }
    return out;
}

std::optional<std::string> raw_connection::next_frame(test_clock::duration timeout) {
    auto deadline = test_clock::now() + timeout;
    for (;;) {
        auto all = frames();
        if (all.size() > frames_returned_) return all[frames_returned_++];
        if (test_clock::now() >= deadline || !read_some(deadline)) return std::nullopt;
    }
}

fake_peer::fake_peer(peer_process& target, std::string nick)
    : identity_(std::make_shared<const core::identity>(core::identity::generate())),
      nick_(std::move(nick)),
      connection_(tls_connection::dial(port_of(target.listen()), *identity_)) {
    if (!connection_.ok()) {
        throw std::runtime_error("fake peer could not connect: " + connection_.error());
    }
    const auto hello = member_hello(id(), nick_, connection_);
    // Then into the room's overlay as a newcomer, so that the target keeps the link.
    if (!connection_.send(frame(hello.dump()) + frame(member_join("lobby").dump()), 5s)) {
        throw std::runtime_error("fake peer could not send its hello");
    }
    target.wait_for(is_peer_up(id()), 5s, "peer_up for the fake peer " + nick_);
}

nlohmann::json member_hello(const std::string& peer_id, const std::string& nick,
                            const tls_connection& c, const std::string& room) {
    const auto secret = core::base32_decode(shared_test_secret);
    const auto keys = core::derive_room_keys(room, *secret);
    const nlohmann::json claim = {
        {"name", room},
        {"id", keys.room_id},
        {"proof", core::room_proof(keys, c.exporter(), core::proof_role::dialler, peer_id)}};
    return {{"type", "hello"},
            {"version", 2},
            {"peer_id", peer_id},
            {"nick", nick},
            {"listen_port", 0},
            {"rooms", nlohmann::json::array({claim})},
            {"features", nlohmann::json::array()}};
}

nlohmann::json member_join(const std::string& room) {
    const auto secret = core::base32_decode(shared_test_secret);
    return {{"type", "join"}, {"room", core::derive_room_keys(room, *secret).room_id}};
}

nlohmann::json fake_peer::envelope(const std::string& body) {
    return {{"room", "lobby"}, {"author", id()},        {"nick", nick_},
            {"seq", ++seq_},   {"ts", wall_clock_ms()}, {"body", body}};
}

nlohmann::json fake_peer::sign(nlohmann::json env) const {
    core::sign_envelope(*identity_, env);
    return env;
}

bool fake_peer::send_chat(const nlohmann::json& env) {
    return connection_.send(frame(nlohmann::json{{"type", "chat"}, {"envelope", env}}.dump()));
}

std::optional<nlohmann::json> fake_peer::next_chat(test_clock::duration timeout) {
    const auto deadline = test_clock::now() + timeout;
    // Presence envelopes (docs/protocol.md, "Presence") are not messages: skipped.
    while (auto chat = next_of_type("chat", deadline - test_clock::now())) {
        if (!chat->contains("envelope")) return std::nullopt;
        if ((*chat)["envelope"].value("kind", "") != "presence") return (*chat)["envelope"];
    }
    return std::nullopt;
}

std::optional<nlohmann::json> fake_peer::next_of_type(const std::string& type,
                                                      test_clock::duration timeout) {
    auto deadline = test_clock::now() + timeout;
    while (auto payload = connection_.next_frame(deadline - test_clock::now())) {
        auto j = nlohmann::json::parse(*payload, nullptr, false);
        if (j.is_object() && j.value("type", "") == type) return j;
    }
    return std::nullopt;
}

bool fake_peer::send(const nlohmann::json& message) {
    return connection_.send(frame(message.dump()), 5s);
}

}  // namespace confab::test

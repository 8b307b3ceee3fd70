#pragma once
// Speaking the peer protocol by hand, for the tests that send what no honest peer sends:
// garbage, forged or altered messages, hostile file offers. A fake peer speaks TLS with a key
// of its own (tests/support/tls_connection); raw_connection is plain TCP, for what a client
// that does not speak TLS can do. Single-threaded, like peer_process; every read and write is
// bounded by a deadline.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/identity.hpp"
#include "tests/support/peer_process.hpp"
#include "tests/support/tls_connection.hpp"

namespace confab::test {

// Writes all of `bytes` to a non-blocking socket within the timeout; false when the peer
// closed or the time ran out.
bool send_all(int fd, const std::string& bytes, test_clock::duration timeout);

// One connection to a peer's listening port on loopback.
class raw_connection {
public:
    // Throws std::runtime_error when it cannot connect within 5 s.
    explicit raw_connection(std::uint16_t port);
    ~raw_connection();
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    // Writes what the socket takes within the timeout. False when the peer has closed or the
    // time ran out: callers that expect to be cut off ignore it and look by reading.
    bool send(const std::string& bytes, test_clock::duration timeout = 2s);
    // Reads until the peer closes (EOF or reset): true if that happens within the timeout.
    bool wait_closed(test_clock::duration timeout);
    // Every byte received so far.
    const std::string& received() const { return received_; }
    // The next frame's payload not returned before, reading as needed; nullopt when the
    // timeout passes or the peer closes first.
    std::optional<std::string> next_frame(test_clock::duration timeout);
    // Every complete frame received so far, returned by next_frame or not.
    std::vector<std::string> frames() const;

private:
    // Reads what is there, waiting at most until `deadline`; false on EOF or error.
    bool read_some(test_clock::time_point deadline);

    int fd_ = -1;
    std::string received_;
    std::size_t frames_returned_ = 0;
};

// A hello as a member of the tests' shared room sends it when it dialled `c`: the room id
// and the proof for that connection, from shared_test_secret (peer_process.hpp).
nlohmann::json member_hello(const std::string& peer_id, const std::string& nick,
                            const tls_connection& c, const std::string& room = "lobby");
// The frame that takes a peer into `room`'s overlay through the peer it just greeted.
nlohmann::json member_join(const std::string& room = "lobby");

// A peer of our own making: its own Ed25519 identity, one connection to `target`.
class fake_peer {
public:
    // Connects, says hello as `nick` (listen_port 0, room lobby) and waits for the target's
    // peer_up for it.
    explicit fake_peer(peer_process& target, std::string nick = "mallory");

    const core::identity& identity() const { return *identity_; }
    const std::string& id() const { return identity_->peer_id(); }
    const std::string& nick() const { return nick_; }
    tls_connection& connection() { return connection_; }

    // An unsigned envelope written by this peer now: room lobby, its id and nick, the next
    // seq, ts the wall clock. Sign it with sign(), or not.
    nlohmann::json envelope(const std::string& body);
    // Signs `env` with this peer's key (whatever author it names) and returns it.
    nlohmann::json sign(nlohmann::json env) const;
    // Sends {"type":"chat","envelope":env} exactly as given.
    bool send_chat(const nlohmann::json& env);
    // The envelope of the next chat frame the target sends us, skipping other frames and
    // presence envelopes (they are not messages); nullopt when none comes within the timeout.
    std::optional<nlohmann::json> next_chat(test_clock::duration timeout);
    // The next frame of `type` the target sends us, skipping others.
    std::optional<nlohmann::json> next_of_type(const std::string& type,
                                               test_clock::duration timeout);
    // Sends one frame holding `message` as given.
    bool send(const nlohmann::json& message);

private:
    std::shared_ptr<const core::identity> identity_;
    std::string nick_;
    tls_connection connection_;
    std::uint64_t seq_ = 0;
};

}  // namespace confab::test

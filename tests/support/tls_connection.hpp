#pragma once
// One TLS 1.3 connection on loopback as a peer makes it, driven by hand: for tests that play
// a hostile or fake peer (frames no honest peer sends, a file service serving other bytes).
// Blocking calls, each bounded by a deadline; one thread per connection.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/identity.hpp"
#include "peer/tls.hpp"

typedef struct ssl_st SSL;

namespace confab::test {

class tls_connection {
public:
    using clock = std::chrono::steady_clock;

    // Dials 127.0.0.1:port and does the client's handshake with `identity`'s certificate.
    // On failure, ok() is false and error() says why.
    static tls_connection dial(std::uint16_t port, const core::identity& identity,
                               clock::duration timeout = std::chrono::seconds(5));
    // The server's handshake on an accepted socket (which it takes over).
    static tls_connection accept(int fd, const core::identity& identity,
                                 clock::duration timeout = std::chrono::seconds(5));

    tls_connection(tls_connection&&) noexcept;
    tls_connection& operator=(tls_connection&&) noexcept;
    ~tls_connection();

    bool ok() const { return ssl_ != nullptr; }
    const std::string& error() const { return error_; }
    // The peer id the other side's certificate proves.
    const std::string& peer_id() const { return peer_id_; }
    // 32 bytes of RFC 8446 exporter material, as peer/tls.hpp derives it.
    std::vector<std::uint8_t> exporter() const;

    // Writes everything within the timeout; false if the connection failed first.
    bool send(const std::string& bytes, clock::duration timeout = std::chrono::seconds(5));
    // The next frame's payload not returned before, reading as needed; nullopt on timeout
    // or close.
    std::optional<std::string> next_frame(clock::duration timeout);
    // Every complete frame received so far, returned by next_frame or not.
    std::vector<std::string> frames() const;
    // Reads until the other side closes: true if that happens within the timeout. What was
    // read is kept in received().
    bool wait_closed(clock::duration timeout);
    // Half-closes our direction at the TCP level (no close_notify), as a sender does after
    // the last byte.
    void shutdown_send();
    const std::string& received() const { return received_; }

private:
    tls_connection() = default;
    void handshake(bool client, const core::identity& identity, clock::duration timeout);
    // Waits until the fd is readable/writable as OpenSSL asked; false at the deadline.
    bool wait(int ssl_error, clock::time_point deadline) const;
    // Appends what arrives to received_; false on close, error or deadline.
    bool read_more(clock::time_point deadline);

    int fd_ = -1;
    SSL* ssl_ = nullptr;
    std::shared_ptr<peer::tls_credentials> credentials_;
    std::shared_ptr<asio::ssl::context> context_;  // kept alive with the SSL
    std::string error_;
    std::string peer_id_;
    std::string received_;
    std::size_t consumed_ = 0;  // bytes of received_ returned by read_frame
};

}  // namespace confab::test

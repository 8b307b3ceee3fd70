#include "tests/support/tls_connection.hpp"

#include <cerrno>
#include <utility>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace confab::test {

namespace {

int remaining_ms(tls_connection::clock::time_point deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                             tls_connection::clock::now());
    return left.count() <= 0 ? 0 : static_cast<int>(left.count());
}

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "connection closed";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

}  // namespace

tls_connection tls_connection::dial(std::uint16_t port, const core::identity& identity,
                                    clock::duration timeout) {
    tls_connection c;
    c.fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const auto deadline = clock::now() + timeout;
    int rc = ::connect(c.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (rc != 0 && errno != EINPROGRESS) {
        c.error_ = "connect failed";
        return c;
    }
    pollfd p{c.fd_, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, remaining_ms(deadline)) != 1 ||
        ::getsockopt(c.fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        c.error_ = "connect failed";
        return c;
    }
    c.handshake(true, identity, deadline - clock::now());
    return c;
}

tls_connection tls_connection::accept(int fd, const core::identity& identity,
                                      clock::duration timeout) {
    tls_connection c;
    c.fd_ = fd;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    c.handshake(false, identity, timeout);
    return c;
}

void tls_connection::handshake(bool client, const core::identity& identity,
                               clock::duration timeout) {
    credentials_ = std::make_shared<peer::tls_credentials>(identity);
    context_ = std::make_shared<asio::ssl::context>(peer::make_tls_context(*credentials_));
    SSL* ssl = SSL_new(context_->native_handle());
    SSL_set_fd(ssl, fd_);
    const auto deadline = clock::now() + timeout;
    for (;;) {
        int rc = client ? SSL_connect(ssl) : SSL_accept(ssl);
        if (rc == 1) break;
        int e = SSL_get_error(ssl, rc);
        if (!wait(e, deadline)) {
            error_ = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? "handshake timed out"
                                                                           : openssl_error();
            SSL_free(ssl);
            return;
        }
    }
    ssl_ = ssl;
    peer_id_ = peer::tls_peer_id(ssl_).value_or("");
}

tls_connection::tls_connection(tls_connection&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      ssl_(std::exchange(o.ssl_, nullptr)),
      credentials_(std::move(o.credentials_)),
      context_(std::move(o.context_)),
      error_(std::move(o.error_)),
      peer_id_(std::move(o.peer_id_)),
      received_(std::move(o.received_)),
      consumed_(o.consumed_) {}

tls_connection& tls_connection::operator=(tls_connection&& o) noexcept {
    if (this != &o) {
        this->~tls_connection();
        new (this) tls_connection(std::move(o));
    }
    return *this;
}

tls_connection::~tls_connection() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
}

std::vector<std::uint8_t> tls_connection::exporter() const {
    auto e = peer::tls_exporter(ssl_);
    return e ? std::vector<std::uint8_t>(e->begin(), e->end()) : std::vector<std::uint8_t>{};
}

bool tls_connection::wait(int ssl_error, clock::time_point deadline) const {
    short events = 0;
    if (ssl_error == SSL_ERROR_WANT_READ) events = POLLIN;
    if (ssl_error == SSL_ERROR_WANT_WRITE) events = POLLOUT;
    if (events == 0) return false;
    pollfd p{fd_, events, 0};
    for (;;) {
        int ms = remaining_ms(deadline);
        if (ms == 0) return false;
        int rc = ::poll(&p, 1, ms);
        if (rc > 0) return true;
        if (rc < 0 && errno != EINTR) return false;
    }
}

bool tls_connection::send(const std::string& bytes, clock::duration timeout) {
    if (!ssl_) return false;
    const auto deadline = clock::now() + timeout;
    std::size_t done = 0;
    while (done < bytes.size()) {
        int n = SSL_write(ssl_, bytes.data() + done, static_cast<int>(bytes.size() - done));
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (!wait(SSL_get_error(ssl_, n), deadline)) return false;
    }
    return true;
}

bool tls_connection::read_more(clock::time_point deadline) {
    if (!ssl_) return false;
    for (;;) {
        char buf[16 * 1024];
        int n = SSL_read(ssl_, buf, sizeof buf);
        if (n > 0) {
            received_.append(buf, static_cast<std::size_t>(n));
            return true;
        }
        if (!wait(SSL_get_error(ssl_, n), deadline)) {
            ERR_clear_error();
            return false;
        }
    }
}

std::vector<std::string> tls_connection::frames() const {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (received_.size() - pos >= 4) {
        auto b = [&](std::size_t i) {
            return static_cast<std::size_t>(static_cast<unsigned char>(received_[pos + i]));
        };
        const std::size_t n = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
        if (received_.size() - pos - 4 < n) break;
        out.push_back(received_.substr(pos + 4, n));
        pos += 4 + n;
    }
    return out;
}

std::optional<std::string> tls_connection::next_frame(clock::duration timeout) {
    const auto deadline = clock::now() + timeout;
    for (;;) {
        const std::size_t have = received_.size() - consumed_;
        if (have >= 4) {
            auto b = [&](std::size_t i) {
                return static_cast<std::size_t>(static_cast<unsigned char>(received_[consumed_ + i]));
            };
            const std::size_t n = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
            if (have - 4 >= n) {
                std::string payload = received_.substr(consumed_ + 4, n);
                consumed_ += 4 + n;
                return payload;
            }
        }
        if (!read_more(deadline)) return std::nullopt;
    }
}

bool tls_connection::wait_closed(clock::duration timeout) {
    if (!ssl_) return true;
    const auto deadline = clock::now() + timeout;
    for (;;) {
        char buf[16 * 1024];
        int n = SSL_read(ssl_, buf, sizeof buf);
        if (n > 0) {
            received_.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        int e = SSL_get_error(ssl_, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!wait(e, deadline)) return false;
            continue;
        }
        ERR_clear_error();
        return true;  // EOF, reset, or the end of the TLS stream
    }
}

void tls_connection::shutdown_send() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

}  // namespace confab::test

#pragma once
// TLS 1.3 for every connection between peers, chat links and file transfers alike. A peer's
// certificate is self-signed with its Ed25519 identity key: there is no authority to ask, so
// the certificate proves nothing by itself; what matters is that the handshake proves the
// other side holds the private key, and the peer id *is* that key. Any thread may build a
// context; each context (and each stream made from it) is then used by one thread.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>

#include "core/identity.hpp"

typedef struct x509_st X509;
typedef struct ssl_st SSL;

namespace confab::peer {

using tls_stream = asio::ssl::stream<asio::ip::tcp::socket>;

// A peer's certificate and key, made once at start and shared by the contexts of the loop and
// the file worker (OpenSSL counts references; both are immutable once made).
class tls_credentials {
public:
    explicit tls_credentials(const core::identity& identity);
    X509* certificate() const { return certificate_.get(); }
    EVP_PKEY* key() const { return key_.get(); }

private:
    struct x509_deleter {
        void operator()(X509* c) const;
    };
    struct key_deleter {
        void operator()(EVP_PKEY* k) const;
    };
    std::unique_ptr<X509, x509_deleter> certificate_;
    std::unique_ptr<EVP_PKEY, key_deleter> key_;
};

// TLS 1.3 only, our certificate on both sides, the other side's certificate required (client
// and server alike), any certificate with an Ed25519 key accepted by the verifier, whoever
// signed it and whatever its dates (the caller checks the key against the peer id it
// expects), no session resumption. The acceptor follows the dialler's order of suites.
asio::ssl::context make_tls_context(const tls_credentials& credentials);

// After a handshake: the peer id the other side proved it owns (base32 of its certificate's
// Ed25519 key), or nullopt when it has no such certificate.
std::optional<std::string> tls_peer_id(SSL* ssl);

// 32 bytes only the two ends of this TLS connection know (RFC 8446 exporter, with
// core::proof_exporter_label): a proof computed over it is worthless on any other connection.
std::optional<std::array<std::uint8_t, 32>> tls_exporter(SSL* ssl);

// A sentence for a failed handshake ("the other side does not speak TLS 1.3", ...).
std::string describe_tls_error(const std::error_code& ec);

}  // namespace confab::peer

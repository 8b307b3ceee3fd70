#include "peer/tls.hpp"

#include <future>
#include <thread>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

using namespace confab;
using asio::ip::tcp;

namespace {

struct side {
    std::error_code handshake;
    std::optional<std::string> peer_id;
    std::optional<std::array<std::uint8_t, 32>> exporter;
    std::string cipher;
};

side finish(peer::tls_stream& s, asio::ssl::stream_base::handshake_type role) {
    side out;
    s.handshake(role, out.handshake);
    if (!out.handshake) {
        out.peer_id = peer::tls_peer_id(s.native_handle());
        out.exporter = peer::tls_exporter(s.native_handle());
        out.cipher = SSL_get_cipher_name(s.native_handle());
    }
    // Closing here (not at destruction) lets the other side's handshake fail rather than wait.
    std::error_code ignored;
    s.lowest_layer().close(ignored);
    return out;
}

// One connection on loopback: the server with `server_ctx` on a thread, the client here.
std::pair<side, side> connect(asio::ssl::context& server_ctx, asio::ssl::context& client_ctx) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto server = std::async(std::launch::async, [&] {
        asio::io_context sio;
        tcp::socket plain(sio);
        acceptor.accept(plain);
        peer::tls_stream s(std::move(plain), server_ctx);
        return finish(s, asio::ssl::stream_base::server);
    });
    peer::tls_stream client(io, client_ctx);
    client.lowest_layer().connect(acceptor.local_endpoint());
    side c = finish(client, asio::ssl::stream_base::client);
    return {server.get(), c};
}

}  // namespace

TEST_CASE("tls: each side learns the other's peer id from its key, and shares an exporter",
          "[tls]") {
    auto alice = core::identity::generate();
    auto bob = core::identity::generate();
    peer::tls_credentials alice_creds(alice), bob_creds(bob);
    auto alice_ctx = peer::make_tls_context(alice_creds);
    auto bob_ctx = peer::make_tls_context(bob_creds);

    auto [server, client] = connect(alice_ctx, bob_ctx);
    REQUIRE_FALSE(server.handshake);
    REQUIRE_FALSE(client.handshake);
    CHECK(server.peer_id == bob.peer_id());
    CHECK(client.peer_id == alice.peer_id());
    REQUIRE(server.exporter);
    CHECK(server.exporter == client.exporter);
    // The fastest of TLS 1.3's suites on AES-NI machines: file transfers pay it per byte.
    CHECK(server.cipher == "TLS_AES_128_GCM_SHA256");
    CHECK(client.cipher == "TLS_AES_128_GCM_SHA256");

    SECTION("another connection between the same two has another exporter") {
        auto [server2, client2] = connect(alice_ctx, bob_ctx);
        REQUIRE(server2.exporter);
        CHECK(server2.exporter != server.exporter);
    }
}

TEST_CASE("tls: only TLS 1.3, and only with a certificate", "[tls]") {
    auto alice = core::identity::generate();
    peer::tls_credentials alice_creds(alice);
    auto alice_ctx = peer::make_tls_context(alice_creds);

    SECTION("a TLS 1.2 client is refused") {
        auto bob = core::identity::generate();
        peer::tls_credentials bob_creds(bob);
        auto old = peer::make_tls_context(bob_creds);
        SSL_CTX_set_min_proto_version(old.native_handle(), TLS1_2_VERSION);
        SSL_CTX_set_max_proto_version(old.native_handle(), TLS1_2_VERSION);
        auto [server, client] = connect(alice_ctx, old);
        CHECK(server.handshake);
        CHECK(client.handshake);
        CHECK_FALSE(server.peer_id);
    }
    SECTION("a client without a certificate is refused") {
        asio::ssl::context anonymous(asio::ssl::context::tls_client);
        anonymous.set_verify_mode(asio::ssl::verify_none);
        auto [server, client] = connect(alice_ctx, anonymous);
        CHECK(server.handshake);
        CHECK_FALSE(server.peer_id);
    }
}

namespace {

struct x509_free {
    void operator()(X509* c) const { X509_free(c); }
};

// Bob's key in a certificate that no one would call valid: issued and signed by someone
// else, for another name, expired years ago.
std::unique_ptr<X509, x509_free> foreign_certificate(const core::identity& bob) {
    auto issuer = core::identity::generate();
    std::unique_ptr<X509, x509_free> cert(X509_new());
    REQUIRE(cert);
    const auto name = [](const char* cn) {
        X509_NAME* n = X509_NAME_new();
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
        return n;
    };
    X509_NAME* subject = name("somebody else");
    X509_NAME* issuer_name = name("an authority nobody trusts");
    REQUIRE(X509_set_version(cert.get(), 2) == 1);
    REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 42) == 1);
    REQUIRE(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -10L * 365 * 24 * 3600));
    REQUIRE(X509_gmtime_adj(X509_getm_notAfter(cert.get()), -9L * 365 * 24 * 3600));
    REQUIRE(X509_set_subject_name(cert.get(), subject) == 1);
    REQUIRE(X509_set_issuer_name(cert.get(), issuer_name) == 1);
    X509_NAME_free(subject);
    X509_NAME_free(issuer_name);
    REQUIRE(X509_set_pubkey(cert.get(), bob.key()) == 1);
    REQUIRE(X509_sign(cert.get(), issuer.key(), nullptr) != 0);
    return cert;
}

}  // namespace

TEST_CASE("tls: any certificate with an Ed25519 key is accepted: only its key counts", "[tls]") {
    // docs/protocol.md, Transport: issuer, name, dates and the certificate's own signature
    // are not checked, because trust comes from the key the handshake proves.
    auto alice = core::identity::generate();
    auto bob = core::identity::generate();
    peer::tls_credentials alice_creds(alice), bob_creds(bob);
    auto alice_ctx = peer::make_tls_context(alice_creds);
    auto bob_ctx = peer::make_tls_context(bob_creds);
    const auto cert = foreign_certificate(bob);
    REQUIRE(SSL_CTX_use_certificate(bob_ctx.native_handle(), cert.get()) == 1);

    SECTION("as the dialler's") {
        auto [server, client] = connect(alice_ctx, bob_ctx);
        REQUIRE_FALSE(server.handshake);
        CHECK(server.peer_id == bob.peer_id());
    }
    SECTION("as the acceptor's") {
        auto [server, client] = connect(bob_ctx, alice_ctx);
        REQUIRE_FALSE(client.handshake);
        CHECK(client.peer_id == bob.peer_id());
    }
}

TEST_CASE("tls: the acceptor takes the dialler's preferred suite, among the three it allows",
          "[tls]") {
    auto alice = core::identity::generate();
    auto bob = core::identity::generate();
    peer::tls_credentials alice_creds(alice), bob_creds(bob);
    auto alice_ctx = peer::make_tls_context(alice_creds);
    auto bob_ctx = peer::make_tls_context(bob_creds);

    SECTION("its own first choice does not win over the dialler's") {
        REQUIRE(SSL_CTX_set_ciphersuites(bob_ctx.native_handle(),
                                         "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256") ==
                1);
        auto [server, client] = connect(alice_ctx, bob_ctx);
        REQUIRE_FALSE(server.handshake);
        CHECK(server.cipher == "TLS_CHACHA20_POLY1305_SHA256");
    }
    SECTION("a suite outside the three is refused") {
        REQUIRE(SSL_CTX_set_ciphersuites(bob_ctx.native_handle(), "TLS_AES_128_CCM_SHA256") == 1);
        auto [server, client] = connect(alice_ctx, bob_ctx);
        CHECK(server.handshake);
        CHECK(client.handshake);
    }
}

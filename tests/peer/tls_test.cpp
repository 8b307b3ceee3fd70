#include "peer/tls.hpp"

#include <future>
#include <thread>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <openssl/ssl.h>

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

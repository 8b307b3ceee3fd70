// Signed envelopes: what is signed, how the signature is spelled, and every way verification
// says no (and never throws).

#include "core/envelope_signature.hpp"

#include <string>

#include <openssl/evp.h>
#include <catch2/catch.hpp>

#include "core/atomic_file.hpp"
#include "core/identity.hpp"
#include "core/message_id.hpp"
#include "core/sha256.hpp"
#include "protocol/canonical.hpp"
#include "tests/support/temp_dir.hpp"

using namespace confab;
using core::identity;
using core::sign_envelope;
using core::verify_envelope;
using json = nlohmann::json;

namespace {

const std::string mismatch = "signature does not match the author's key";

json envelope_by(const identity& author) {
    return {{"room", "lobby"}, {"author", author.peer_id()}, {"nick", "alice"},
            {"seq", 12},       {"ts", 1700000000123},        {"body", "hello, lobby"}};
}

json signed_by(const identity& author) {
    json env = envelope_by(author);
    sign_envelope(author, env);
    return env;
}

json with(json j, const std::string& key, json value) {
    j[key] = std::move(value);
    return j;
}

// A plain Ed25519 signature of `message`, in hex: the envelope code is not involved.
std::string raw_sign(const identity& key, const std::string& message) {
    unsigned char sig[64];
    std::size_t length = sizeof sig;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    REQUIRE(EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key.key()) == 1);
    REQUIRE(EVP_DigestSign(ctx, sig, &length,
                           reinterpret_cast<const unsigned char*>(message.data()),
                           message.size()) == 1);
    EVP_MD_CTX_free(ctx);
    return core::to_hex({sig, length});
}

// The private key of RFC 8032's first Ed25519 test vector, as OpenSSL writes it.
identity rfc8032_test_key(const test::temp_dir& dir) {
    core::write_file_atomically(dir.path() / "identity.pem",
                                "-----BEGIN PRIVATE KEY-----\n"
                                "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
                                "-----END PRIVATE KEY-----\n",
                                0600);
    return identity::load_or_create(dir.path());
}

}  // namespace

TEST_CASE("a signed envelope verifies, and its sig is 128 lowercase hex digits") {
    const auto alice = identity::generate();
    const json env = signed_by(alice);
    CHECK(verify_envelope(env).empty());
    const auto sig = env.at("sig").get<std::string>();
    CHECK(sig.size() == 128);
    CHECK(sig.find_first_not_of("0123456789abcdef") == std::string::npos);
    // Everything else is as it was.
    json without_sig = env;
    without_sig.erase("sig");
    CHECK(without_sig == envelope_by(alice));
}

TEST_CASE("the signature covers the label, a NUL and the canonical bytes without sig") {
    const auto alice = identity::generate();
    const json env = signed_by(alice);
    const std::string expected =
        std::string("confab envelope v1") + '\0' + protocol::canonical_bytes(envelope_by(alice));
    CHECK(core::envelope_signed_bytes(env) == expected);
    CHECK(core::envelope_signed_bytes(envelope_by(alice)) == expected);
}

TEST_CASE("a known answer: RFC 8032's test key 1 signs the documented example envelope") {
    // The example of docs/protocol.md ("Signature"); the signature was computed independently
    // (OpenSSL's command line and Python's cryptography agree) over
    // "confab envelope v1\0" + canonical bytes.
    test::temp_dir dir;
    const auto key = rfc8032_test_key(dir);
    REQUIRE(key.peer_id() == "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkena");
    json env = envelope_by(key);
    CHECK(protocol::canonical_bytes(env) ==
          R"({"author":"25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkena","body":"hello, )"
          R"(lobby","nick":"alice","room":"lobby","seq":12,"ts":1700000000123})");
    sign_envelope(key, env);
    CHECK(env["sig"] ==
          "15f81b516bb1ab53c7ca09452eb7e65da9dfe627e2c1d9618e961f8ed272ce4c"
          "0e2d4f246af030265649365e508a2629a7f0ef7592edee65143d36e17fed5204");
    CHECK(core::message_id(env) ==
          "64868ae2958b3041f1db6e6bcfd11c404085c6f8633f48e1d052a7ef8c13373e");
    CHECK(verify_envelope(env).empty());
}

TEST_CASE("signing again replaces sig and keeps the message id") {
    const auto alice = identity::generate();
    json env = signed_by(alice);
    const auto id = core::message_id(env);
    env["sig"] = std::string(128, '0');
    CHECK(verify_envelope(env) == mismatch);
    sign_envelope(alice, env);
    CHECK(verify_envelope(env).empty());
    CHECK(core::message_id(env) == id);
}

TEST_CASE("any change to a signed envelope breaks the signature") {
    const auto alice = identity::generate();
    const json env = signed_by(alice);
    CHECK(verify_envelope(with(env, "body", "hello, lobby!")) == mismatch);
    CHECK(verify_envelope(with(env, "nick", "mallory")) == mismatch);
    CHECK(verify_envelope(with(env, "seq", 13)) == mismatch);
    CHECK(verify_envelope(with(env, "ts", 1700000000124)) == mismatch);
    CHECK(verify_envelope(with(env, "room", "dev")) == mismatch);
    // Unknown fields are signed too: nobody on the way can add or drop one.
    CHECK(verify_envelope(with(env, "extra", true)) == mismatch);
    CHECK(verify_envelope(with(env, "kind", "action")) == mismatch);
    json dropped = env;
    dropped.erase("ts");
    CHECK(verify_envelope(dropped) == mismatch);
}

TEST_CASE("an envelope signed by one key but naming another author does not verify") {
    const auto alice = identity::generate();
    const auto mallory = identity::generate();
    // Mallory signs a message in Alice's name.
    json forged = envelope_by(alice);
    sign_envelope(mallory, forged);
    CHECK(verify_envelope(forged) == mismatch);
    // Alice's genuine signature moved onto another author's envelope.
    CHECK(verify_envelope(with(signed_by(alice), "author", mallory.peer_id())) == mismatch);
}

TEST_CASE("a signature from a flipped bit or without the label does not verify") {
    const auto alice = identity::generate();
    json env = signed_by(alice);
    auto sig = env["sig"].get<std::string>();
    sig[10] = sig[10] == '0' ? '1' : '0';
    CHECK(verify_envelope(with(env, "sig", sig)) == mismatch);

    const auto content = protocol::canonical_bytes(envelope_by(alice));
    // Signed by hand as the protocol says: verifies.
    const std::string labelled = std::string("confab envelope v1") + '\0' + content;
    CHECK(verify_envelope(with(env, "sig", raw_sign(alice, labelled))).empty());
    // The same key's signature over the bare bytes, or under another label, is no signature of
    // an envelope.
    CHECK(verify_envelope(with(env, "sig", raw_sign(alice, content))) == mismatch);
    CHECK(verify_envelope(
              with(env, "sig", raw_sign(alice, "confab envelope v2" + labelled.substr(18)))) ==
          mismatch);
}

TEST_CASE("a missing or garbled signature is named as such") {
    const auto alice = identity::generate();
    const json env = signed_by(alice);
    CHECK(verify_envelope(envelope_by(alice)) == "no signature");
    const std::string garbled = "signature is not 128 lowercase hex digits";
    const auto sig = env["sig"].get<std::string>();
    CHECK(verify_envelope(with(env, "sig", sig.substr(1))) == garbled);
    CHECK(verify_envelope(with(env, "sig", sig + "0")) == garbled);
    std::string upper = sig;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper != sig) CHECK(verify_envelope(with(env, "sig", upper)) == garbled);
    CHECK(verify_envelope(with(env, "sig", std::string(128, 'g'))) == garbled);
    CHECK(verify_envelope(with(env, "sig", 7)) == garbled);
    CHECK(verify_envelope(with(env, "sig", nullptr)) == garbled);
    CHECK(verify_envelope(with(env, "sig", json::array())) == garbled);
}

TEST_CASE("an author that is not a peer id is named as such") {
    const auto alice = identity::generate();
    const json env = signed_by(alice);
    const std::string invalid = "author is not a valid peer id";
    CHECK(verify_envelope(with(env, "author", "alice")) == invalid);
    CHECK(verify_envelope(with(env, "author", 5)) == invalid);
    // The same key spelled in upper case, or with padding bits set: not the canonical id.
    std::string upper = alice.peer_id();
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(verify_envelope(with(env, "author", upper)) == invalid);
    std::string padded = alice.peer_id();
    padded.back() = padded.back() == 'a' ? 'b' : 'r';
    CHECK(verify_envelope(with(env, "author", padded)) == invalid);
    json no_author = env;
    no_author.erase("author");
    CHECK(verify_envelope(no_author) == "no author");
}

TEST_CASE("non-canonical numbers cannot be signed and do not verify") {
    const auto alice = identity::generate();
    json with_float = with(envelope_by(alice), "score", 0.5);
    CHECK_THROWS_AS(sign_envelope(alice, with_float), std::invalid_argument);
    json big = with(envelope_by(alice), "extra", {{"n", (std::uint64_t{1} << 53) + 1}});
    CHECK_THROWS_AS(sign_envelope(alice, big), std::invalid_argument);

    // A float slipped in after signing: refused for what it is, not as a mismatch.
    json env = signed_by(alice);
    CHECK(verify_envelope(with(env, "score", 0.5)) ==
          R"(envelope is not canonical JSON: field "score" must not be a floating-point number)");
    CHECK(verify_envelope(with(env, "list", {1, -(std::int64_t{1} << 53) - 1})) ==
          R"(envelope is not canonical JSON: field "list[1]" is an integer beyond -2^53)");
}

TEST_CASE("verify_envelope never throws, whatever it is given") {
    const auto alice = identity::generate();
    const json env = signed_by(alice);
    for (const json& odd : {json(nullptr), json(1), json("text"), json::array(), json::object(),
                            with(env, "body", "\xff\xfe"), with(env, "\xc3", 1),
                            with(env, "nested", {{"deep", {1.5}}})}) {
        INFO(odd.type_name());
        std::string problem;
        CHECK_NOTHROW(problem = verify_envelope(odd));
        CHECK_FALSE(problem.empty());
    }
    CHECK(verify_envelope(json::array()) == "envelope is not a JSON object");
}

TEST_CASE("sign_envelope refuses what is not an object") {
    const auto alice = identity::generate();
    json not_object = json::array();
    CHECK_THROWS_AS(sign_envelope(alice, not_object), std::invalid_argument);
}

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "core/detail/kdf.hpp"
#include "core/room_secret.hpp"
#include "core/sha256.hpp"

using namespace confab::core;
using confab::core::detail::bytes_of;
using confab::core::to_hex;

namespace {

std::vector<std::uint8_t> from_hex(std::string_view hex) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(
            static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

std::vector<std::uint8_t> exporter(std::uint8_t fill) {
    return std::vector<std::uint8_t>(proof_exporter_bytes, fill);
}

const std::string alice = "mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpiytgnbvgy3q";
const std::string bob = "qg3dpwh42ldnuy2z42ldce5bc4g6pfpew4s3qti6bngp3hwfrtuq";

}  // namespace

TEST_CASE("scrypt matches the RFC 7914 test vectors", "[room_secret]") {
    // Section 12, vectors 1 to 3 (the fourth, N = 2^20, takes a gigabyte).
    CHECK(to_hex(detail::scrypt({}, {}, 16, 1, 1, 64)) ==
          "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
          "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
    CHECK(to_hex(detail::scrypt(bytes_of("password"), bytes_of("NaCl"), 1024, 8, 16, 64)) ==
          "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
          "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
    // The shape of the passphrase stretch: r = 8, p = 1.
    CHECK(to_hex(detail::scrypt(bytes_of("pleaseletmein"), bytes_of("SodiumChloride"), 16384, 8, 1,
                                64)) ==
          "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
          "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887");
}

TEST_CASE("HKDF-SHA256 matches RFC 5869 test cases 1 and 3", "[room_secret]") {
    const auto ikm = std::vector<std::uint8_t>(22, 0x0b);
    CHECK(to_hex(detail::hkdf_sha256(ikm, from_hex("000102030405060708090a0b0c"),
                                     from_hex("f0f1f2f3f4f5f6f7f8f9"), 42)) ==
          "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    // Test case 3: no salt, no info.
    CHECK(to_hex(detail::hkdf_sha256(ikm, {}, {}, 42)) ==
          "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 2", "[room_secret]") {
    CHECK(to_hex(detail::hmac_sha256(bytes_of("Jefe"), bytes_of("what do ya want for nothing?"))) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("random room secrets are 16 bytes and differ", "[room_secret]") {
    auto a = random_room_secret();
    auto b = random_room_secret();
    CHECK(a.size() == 16);
    CHECK(b.size() == 16);
    CHECK(a != b);
}

TEST_CASE("a passphrase stretches to 32 bytes of scrypt salted with the room", "[room_secret]") {
    const auto lobby = stretch_passphrase("correct horse", "lobby");
    CHECK(lobby.size() == 32);
    // Exactly the documented construction.
    const std::string salt = std::string("confab room v1\0", 15) + "lobby";
    CHECK(lobby == detail::scrypt(bytes_of("correct horse"), bytes_of(salt), 1 << 15, 8, 1, 32));
    CHECK(stretch_passphrase("correct horse", "lobby") == lobby);
    CHECK(stretch_passphrase("correct horse", "dev") != lobby);
    CHECK(stretch_passphrase("correct horsf", "lobby") != lobby);
    CHECK_THROWS_AS(stretch_passphrase("", "lobby"), std::invalid_argument);
}

TEST_CASE("room keys: a public hex id and a 32-byte key, both tied to room and secret",
          "[room_secret]") {
    const std::vector<std::uint8_t> secret(16, 0x42);
    const auto keys = derive_room_keys("lobby", secret);
    CHECK(keys.room == "lobby");
    CHECK_FALSE(keys.open);
    CHECK(keys.room_id.size() == 32);
    CHECK(keys.room_id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(keys.auth_key.size() == 32);

    // Exactly the documented construction.
    const auto salt = bytes_of("confab room v1");
    CHECK(keys.room_id == to_hex(detail::hkdf_sha256(
                              secret, salt, bytes_of(std::string("room id\0lobby", 13)), 16)));
    CHECK(keys.auth_key ==
          detail::hkdf_sha256(secret, salt, bytes_of(std::string("room auth\0lobby", 15)), 32));

    const auto again = derive_room_keys("lobby", secret);
    CHECK(again.room_id == keys.room_id);
    CHECK(again.auth_key == keys.auth_key);
    const auto dev = derive_room_keys("dev", secret);
    CHECK(dev.room_id != keys.room_id);
    CHECK(dev.auth_key != keys.auth_key);
    const auto other = derive_room_keys("lobby", std::vector<std::uint8_t>(16, 0x43));
    CHECK(other.room_id != keys.room_id);
    CHECK(other.auth_key != keys.auth_key);
    // The id is public: it must not be the key, nor a piece of it.
    CHECK(to_hex(keys.auth_key).find(keys.room_id) == std::string::npos);
    CHECK_THROWS_AS(derive_room_keys("lobby", {}), std::invalid_argument);
}

TEST_CASE("an open room's id is a hash of its name and it has no key", "[room_secret]") {
    const auto keys = open_room_keys("lobby");
    CHECK(keys.open);
    CHECK(keys.room == "lobby");
    CHECK(keys.auth_key.empty());
    CHECK(keys.room_id == sha256_hex(std::string("confab open room v1\0lobby", 25)).substr(0, 32));
    CHECK(open_room_keys("dev").room_id != keys.room_id);
    // An open room and a secret one of the same name never share an id.
    CHECK(derive_room_keys("lobby", std::vector<std::uint8_t>(16, 1)).room_id != keys.room_id);
}

TEST_CASE("a room proof checks only with the same key, exporter, role and peer id",
          "[room_secret]") {
    const auto keys = derive_room_keys("lobby", std::vector<std::uint8_t>(16, 7));
    const auto tls = exporter(0x11);
    const auto proof = room_proof(keys, tls, proof_role::dialler, alice);
    CHECK(proof.size() == 64);
    CHECK(proof.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(room_proof(keys, tls, proof_role::dialler, alice) == proof);

    // Exactly the documented construction.
    std::string message("confab room proof v1\0", 21);
    message.append(tls.begin(), tls.end());
    message += 'd';
    message += alice;
    CHECK(proof == to_hex(detail::hmac_sha256(keys.auth_key, bytes_of(message))));

    CHECK(check_room_proof(keys, tls, proof_role::dialler, alice, proof));
    // The acceptor's proof differs, so a dialler's cannot be reflected back to it.
    CHECK(room_proof(keys, tls, proof_role::acceptor, alice) != proof);
    CHECK_FALSE(check_room_proof(keys, tls, proof_role::acceptor, alice, proof));
    CHECK_FALSE(check_room_proof(keys, tls, proof_role::dialler, bob, proof));
    // Another TLS connection: a proof cannot be replayed.
    CHECK_FALSE(check_room_proof(keys, exporter(0x12), proof_role::dialler, alice, proof));
    // Another secret, another room.
    const auto stranger = derive_room_keys("lobby", std::vector<std::uint8_t>(16, 8));
    CHECK_FALSE(check_room_proof(stranger, tls, proof_role::dialler, alice, proof));
    const auto dev = derive_room_keys("dev", std::vector<std::uint8_t>(16, 7));
    CHECK_FALSE(check_room_proof(dev, tls, proof_role::dialler, alice, proof));
}

TEST_CASE("malformed proofs and misuse are refused", "[room_secret]") {
    const auto keys = derive_room_keys("lobby", std::vector<std::uint8_t>(16, 7));
    const auto tls = exporter(0x11);
    const auto proof = room_proof(keys, tls, proof_role::acceptor, bob);
    std::string upper = proof;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const std::string& bad :
         {std::string(), proof.substr(0, 63), proof + "0", upper, std::string(64, 'g'),
          std::string(64, '0'), proof.substr(0, 63) + std::string(1, '\0')}) {
        CHECK_FALSE(check_room_proof(keys, tls, proof_role::acceptor, bob, bad));
    }
    // The exporter must be the agreed 32 bytes.
    CHECK_THROWS_AS(room_proof(keys, std::vector<std::uint8_t>(16, 1), proof_role::dialler, bob),
                    std::invalid_argument);
    CHECK_FALSE(check_room_proof(keys, std::vector<std::uint8_t>(33, 0x11), proof_role::acceptor,
                                 bob, proof));
    // An open room has nothing to prove.
    const auto open = open_room_keys("lobby");
    CHECK_THROWS_AS(room_proof(open, tls, proof_role::dialler, bob), std::invalid_argument);
    CHECK_FALSE(check_room_proof(open, tls, proof_role::acceptor, bob, proof));
}

TEST_CASE("the room keys in docs/protocol.md", "[room_secret]") {
    // Computed by an independent implementation of the document (Python's hashlib and hmac).
    std::vector<std::uint8_t> secret;
    for (std::uint8_t i = 0; i < 16; ++i) secret.push_back(i);
    const auto keys = derive_room_keys("lobby", secret);
    CHECK(keys.room_id == "a86c1816e8114e6b94f9083c7ab410d8");
    CHECK(to_hex(keys.auth_key) ==
          "95c10d629a5c8b592e08c893e34c7ecb528cd015c42fca0fd9534c9b2a62c56f");
    CHECK(open_room_keys("lobby").room_id == "883ab18fb81c610f5a522eaeb586307e");
    const std::vector<std::uint8_t> zeros(32, 0);
    CHECK(room_proof(keys, zeros, proof_role::dialler, alice) ==
          "3b4378438f830ac0395e26a82c6350b7ed00adf1618fc9904d1e1bebb19edb5a");
    CHECK(room_proof(keys, zeros, proof_role::acceptor, alice) ==
          "e7db89e02d96921f5b1aa1c19713e77bcd9b5b46e55ecbdd848d5fad15c43b63");
    CHECK(to_hex(stretch_passphrase("correct horse battery staple", "lobby")) ==
          "6f406664154a343ed9d316069c65a33741be56a6cfaf6fe80703631b4abcd5ea");
}

#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

#include <sys/stat.h>

#include "core/atomic_file.hpp"
#include "core/base32.hpp"
#include "core/identity.hpp"
#include "tests/support/temp_dir.hpp"

using confab::core::identity;

namespace {

bool is_peer_id(const std::string& id) {
    return id.size() == 52 &&
           id.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567") == std::string::npos;
}

}  // namespace

TEST_CASE("a generated identity has a 52-character base32 peer id of its public key") {
    identity id = identity::generate();
    CHECK(id.key() != nullptr);
    CHECK(id.public_key().size() == 32);
    CHECK(is_peer_id(id.peer_id()));
    CHECK(confab::core::base32_decode(id.peer_id()) == id.public_key());
}

TEST_CASE("two generated identities differ") {
    CHECK(identity::generate().peer_id() != identity::generate().peer_id());
}

TEST_CASE("load_or_create creates identity.pem readable by its owner only, then reloads it") {
    confab::test::temp_dir dir;
    std::string first = identity::load_or_create(dir.path()).peer_id();
    CHECK(is_peer_id(first));

    auto pem = dir.path() / "identity.pem";
    struct stat st {};
    REQUIRE(::stat(pem.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(confab::core::read_file(pem).starts_with("-----BEGIN PRIVATE KEY-----"));

    CHECK(identity::load_or_create(dir.path()).peer_id() == first);
}

TEST_CASE("load_or_create refuses a file that is not an Ed25519 key, saying what to do") {
    confab::test::temp_dir dir;
    auto pem = dir.path() / "identity.pem";
    confab::core::write_file_atomically(pem, "not a key at all\n", 0600);
    try {
        identity::load_or_create(dir.path());
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        CHECK(what.find(pem.string()) != std::string::npos);
        CHECK(what.find("is not an Ed25519 private key") != std::string::npos);
        CHECK(what.find("move it away") != std::string::npos);
    }
    // The file is the user's: it is left alone.
    CHECK(confab::core::read_file(pem) == "not a key at all\n");
}

#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "core/base32.hpp"
#include "core/room_secret_store.hpp"
#include "tests/support/temp_dir.hpp"

using Catch::Matchers::Contains;
using confab::core::room_secret_store;

namespace {

mode_t mode_of(const std::filesystem::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// A umask that would leave new files world-readable, for the length of a test.
struct loose_umask {
    mode_t old = ::umask(0);
    ~loose_umask() { ::umask(old); }
};

}  // namespace

TEST_CASE("the secret store creates a random secret once and reuses it", "[secrets]") {
    confab::test::temp_dir dir;
    room_secret_store store(dir.path());
    CHECK(store.file() == dir.path() / "secrets.json");
    CHECK_FALSE(store.find("lobby"));
    CHECK_FALSE(std::filesystem::exists(store.file()));

    bool created = false;
    const auto first = store.load_or_create("lobby", &created);
    CHECK(created);
    CHECK(first.size() == 16);
    const auto again = store.load_or_create("lobby", &created);
    CHECK_FALSE(created);
    CHECK(again == first);
    CHECK(store.find("lobby") == first);
    // Another store on the same folder (the next start) reads the same.
    CHECK(room_secret_store(dir.path()).find("lobby") == first);
    // Each room has its own.
    CHECK(store.load_or_create("dev") != first);
    CHECK(store.find("lobby") == first);
}

TEST_CASE("secrets.json is an object of room to base32 secret, mode 0600 whatever the umask",
          "[secrets]") {
    confab::test::temp_dir dir;
    loose_umask umask;
    room_secret_store store(dir.path());
    const auto secret = store.load_or_create("lobby");
    CHECK(mode_of(store.file()) == 0600);
    const auto json = nlohmann::json::parse(confab::core::read_file(store.file()));
    REQUIRE(json.is_object());
    CHECK(json.size() == 1);
    CHECK(json.at("lobby") == confab::core::base32_encode(secret));

    // A file made readable by hand is written back at 0600.
    std::filesystem::permissions(store.file(), std::filesystem::perms(0644));
    CHECK(confab::core::readable_by_others(store.file()));
    store.load_or_create("dev");
    CHECK(mode_of(store.file()) == 0600);
    CHECK_FALSE(confab::core::readable_by_others(store.file()));
}

TEST_CASE("remember stores a secret from an invite, replacing the room's old one", "[secrets]") {
    confab::test::temp_dir dir;
    room_secret_store store(dir.path());
    const auto own = store.load_or_create("lobby");
    const std::vector<std::uint8_t> invited(32, 0xab);
    CHECK(store.remember("dev", invited) == false);  // new room: nothing replaced
    CHECK(store.find("dev") == invited);
    CHECK(store.remember("dev", invited) == false);  // the same again
    CHECK(store.remember("lobby", invited) == true);
    CHECK(store.find("lobby") == invited);
    CHECK(store.find("dev") == invited);
    CHECK(store.load_or_create("lobby") == invited);
    CHECK(own != invited);

    CHECK_THROWS_AS(store.remember("a b", invited), std::invalid_argument);
    CHECK_THROWS_AS(store.remember("lobby", std::vector<std::uint8_t>(8)), std::invalid_argument);
}

TEST_CASE("a damaged secrets.json is reported and left alone", "[secrets]") {
    confab::test::temp_dir dir;
    room_secret_store store(dir.path());
    for (const std::string contents :
         {"", "not json", "[]", R"({"lobby": 5})", R"({"lobby": "abc"})", R"({"a b": "aaaa"})",
          R"({"lobby": "aaaaaaaaaaaaaaaaaaaaaaaaa"})"}) {
        INFO(contents);
        confab::core::write_file_atomically(store.file(), contents, 0600);
        CHECK_THROWS_WITH(store.find("lobby"), Contains("secrets.json is damaged"));
        CHECK_THROWS_WITH(store.load_or_create("lobby"), Contains("move it away"));
        CHECK(confab::core::read_file(store.file()) == contents);
    }
}

#include "client/room_access.hpp"

#include <arpa/inet.h>

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/atomic_file.hpp"
#include "core/invite.hpp"
#include "core/room_secret_store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace confab;
using namespace confab::client;
using Catch::Matchers::Contains;

namespace {

std::filesystem::path write(const std::filesystem::path& path, std::string_view contents,
                            mode_t mode = 0600) {
    core::write_file_atomically(path, contents, mode);
    return path;
}

std::optional<std::string> read_ok(const std::filesystem::path& path) {
    std::string error;
    auto text = read_passphrase_file(path, &error);
    INFO(error);
    CHECK(error.empty());
    return text;
}

std::string read_error(const std::filesystem::path& path) {
    std::string error;
    CHECK_FALSE(read_passphrase_file(path, &error));
    return error;
}

room_policy policy_in(const std::filesystem::path& dir) {
    room_policy p;
    p.data_dir = dir;
    return p;
}

}  // namespace

TEST_CASE("a passphrase file loses one trailing line ending and must hold something", "[rooms]") {
    test::temp_dir dir;
    CHECK(read_ok(write(dir.path() / "a", "correct horse\n")) == "correct horse");
    CHECK(read_ok(write(dir.path() / "b", "correct horse")) == "correct horse");
    CHECK(read_ok(write(dir.path() / "c", "correct horse\r\n")) == "correct horse");
    CHECK(read_ok(write(dir.path() / "d", " spaced \n\n")) == " spaced \n");
    // Exactly one line ending, as docs/protocol.md says: \r\n, \n or a lone \r.
    CHECK(read_ok(write(dir.path() / "h", "old mac\r")) == "old mac");
    CHECK(read_ok(write(dir.path() / "i", "two\r\r")) == "two\r");
    CHECK(read_ok(write(dir.path() / "j", "lf cr\n\r")) == "lf cr\n");
    CHECK(read_ok(write(dir.path() / "k", "tab\t")) == "tab\t");

    CHECK_THAT(read_error(write(dir.path() / "e", "")), Contains("is empty"));
    CHECK_THAT(read_error(write(dir.path() / "f", "\n")), Contains("is empty"));
    CHECK_THAT(read_error(dir.path() / "missing"), Contains("cannot read"));
    CHECK_THAT(read_error(write(dir.path() / "g", std::string(70'000, 'x'))),
               Contains("holds one line"));
}

TEST_CASE("a passphrase file other users can read is refused", "[rooms]") {
    test::temp_dir dir;
    const auto file = write(dir.path() / "pass", "hunter2\n", 0644);
    CHECK(read_error(file) == file.string() +
                                  " can be read by other users, and the room's passphrase with "
                                  "it; chmod 600 " +
                                  file.string());
    write(file, "hunter2\n", 0640);
    CHECK_THAT(read_error(file), Contains("chmod 600"));
    write(file, "hunter2\n", 0400);
    CHECK(read_ok(file) == "hunter2");
}

TEST_CASE("an open room has no secret and stores nothing", "[rooms]") {
    test::temp_dir dir;
    auto policy = policy_in(dir.path());
    policy.open = true;
    const auto access = settle_room("lobby", policy, nullptr);
    CHECK(access.open);
    CHECK(access.room == "lobby");
    CHECK(access.secret.empty());
    CHECK(access.keys.room_id == core::open_room_keys("lobby").room_id);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "secrets.json"));
    CHECK(invite_for(access, "127.0.0.1:7447").empty());
}

TEST_CASE("without a flag a room gets a stored random secret, the same on every start", "[rooms]") {
    test::temp_dir dir;
    bool created = false;
    const auto first = settle_room("lobby", policy_in(dir.path()), nullptr, &created);
    CHECK(created);
    CHECK_FALSE(first.open);
    CHECK(first.secret.size() == 16);
    CHECK(first.keys.room_id == core::derive_room_keys("lobby", first.secret).room_id);
    CHECK(first.keys.auth_key.size() == 32);
    const auto again = settle_room("lobby", policy_in(dir.path()), nullptr, &created);
    CHECK_FALSE(created);
    CHECK(again.secret == first.secret);
    CHECK(settle_room("dev", policy_in(dir.path()), nullptr).secret != first.secret);
}

TEST_CASE("an invite's secret and a passphrase are remembered for the room", "[rooms]") {
    test::temp_dir dir;
    core::room_secret_store store(dir.path());
    store.load_or_create("garden");

    const core::invite invite{"garden", {"127.0.0.1:7447"}, std::vector<std::uint8_t>(16, 3)};
    auto access = settle_room("garden", policy_in(dir.path()), &invite);
    CHECK(access.secret == std::vector<std::uint8_t>(16, 3));
    CHECK(store.find("garden") == access.secret);
    // The next start without the invite uses it too.
    CHECK(settle_room("garden", policy_in(dir.path()), nullptr).secret == access.secret);

    auto with_passphrase = policy_in(dir.path());
    with_passphrase.passphrase = "correct horse";
    access = settle_room("den", with_passphrase, nullptr);
    CHECK(access.secret == core::stretch_passphrase("correct horse", "den"));
    CHECK(store.find("den") == access.secret);
}

TEST_CASE("every room of the command line is settled in its order, each with its own secret",
          "[rooms]") {
    test::temp_dir dir;
    options o;
    o.rooms = {"dev", "garden", "den"};
    o.invites = {core::invite{"garden", {"127.0.0.1:7447"}, std::vector<std::uint8_t>(16, 3)}};
    auto policy = policy_in(dir.path());
    const auto rooms = settle_room_access(o, policy);
    REQUIRE(rooms.size() == 3);
    CHECK(rooms[0].room == "dev");
    CHECK(rooms[1].room == "garden");
    CHECK(rooms[1].secret == std::vector<std::uint8_t>(16, 3));
    CHECK(rooms[2].room == "den");
    CHECK(rooms[0].secret != rooms[2].secret);
    CHECK(rooms[0].keys.room_id != rooms[2].keys.room_id);

    policy.passphrase = "correct horse";
    o.invites.clear();
    const auto stretched = settle_room_access(o, policy);
    CHECK(stretched[0].secret == core::stretch_passphrase("correct horse", "dev"));
    CHECK(stretched[2].secret == core::stretch_passphrase("correct horse", "den"));
}

TEST_CASE("an invite lists the bound address, or the host's for a wildcard", "[rooms]") {
    const std::vector<std::string> host = {"192.168.1.20", "2001:db8::5", "10.0.0.3"};
    CHECK(invite_addresses("127.0.0.1:7447", host) == std::vector<std::string>{"127.0.0.1:7447"});
    CHECK(invite_addresses("[::1]:7447", host) == std::vector<std::string>{"[::1]:7447"});
    CHECK(invite_addresses("0.0.0.0:7447", host) ==
          std::vector<std::string>{"192.168.1.20:7447", "10.0.0.3:7447"});
    CHECK(invite_addresses("[::]:9", host) ==
          std::vector<std::string>{"192.168.1.20:9", "[2001:db8::5]:9", "10.0.0.3:9"});
    // Nothing but loopback: reachable from this machine at least.
    CHECK(invite_addresses("0.0.0.0:7447", {}) == std::vector<std::string>{"127.0.0.1:7447"});
    CHECK(invite_addresses("[::]:7447", {}) == std::vector<std::string>{"[::1]:7447"});
    CHECK(invite_addresses("0.0.0.0:7447", {"2001:db8::5"}) ==
          std::vector<std::string>{"127.0.0.1:7447"});
    // At most 8.
    std::vector<std::string> many;
    for (int i = 1; i <= 12; ++i) many.push_back("10.0.0." + std::to_string(i));
    CHECK(invite_addresses("0.0.0.0:1", many).size() == 8);
}

TEST_CASE("the host's addresses are IP addresses, never loopback", "[rooms]") {
    for (bool ipv6 : {false, true}) {
        for (const auto& a : host_addresses(ipv6)) {
            INFO(a);
            unsigned char buffer[16];
            const bool v4 = ::inet_pton(AF_INET, a.c_str(), buffer) == 1;
            const bool v6 = ::inet_pton(AF_INET6, a.c_str(), buffer) == 1;
            CHECK((v4 || (ipv6 && v6)));
            CHECK_FALSE(a.starts_with("127."));
            CHECK(a != "::1");
        }
    }
}

TEST_CASE("the invite for a room carries its name, secret and address", "[rooms]") {
    test::temp_dir dir;
    const auto access = settle_room("garden", policy_in(dir.path()), nullptr);
    const auto text = invite_for(access, "127.0.0.1:40123");
    std::string error;
    const auto parsed = core::parse_invite(text, &error);
    INFO(error);
    REQUIRE(parsed);
    CHECK(parsed->room == "garden");
    CHECK(parsed->secret == access.secret);
    CHECK(parsed->addresses == std::vector<std::string>{"127.0.0.1:40123"});
}

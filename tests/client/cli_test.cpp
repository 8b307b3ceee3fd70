#include "client/cli.hpp"

#include "core/invite.hpp"

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/scoped_env.hpp"

using namespace confab;
using namespace confab::client;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

using confab::test::scoped_env;

namespace {

options parse_ok(const std::vector<std::string>& args) {
    auto r = parse_cli(args);
    INFO("error: " << r.error);
    REQUIRE(r.opts);
    CHECK(r.error.empty());
    return *r.opts;
}

std::string parse_error(const std::vector<std::string>& args) {
    auto r = parse_cli(args);
    CHECK_FALSE(r.opts);
    return r.error;
}

// The same options written as `--flag value` and as `--flag=value`.
std::vector<std::vector<std::string>> both_forms(const std::string& flag,
                                                 const std::string& value) {
    return {{flag, value}, {flag + "=" + value}};
}

}  // namespace

TEST_CASE("defaults: listen on 0.0.0.0:7447, room lobby, nick from $USER", "[cli]") {
    scoped_env user("USER", "tester");
    auto o = parse_ok({});
    CHECK(o.listen == protocol::host_port{"0.0.0.0", 7447});
    CHECK_FALSE(o.listen_explicit);
    CHECK(o.rooms == std::vector<std::string>{"lobby"});
    CHECK(o.nick == "tester");
    CHECK(o.joins.empty());
    CHECK_FALSE(o.headless);
    CHECK_FALSE(o.help);
    CHECK_FALSE(o.version);
    CHECK_FALSE(o.data_dir.empty());
    CHECK_FALSE(o.data_dir_explicit);
    CHECK_FALSE(o.downloads.empty());
    CHECK(o.log_level == core::log_level::info);
}

TEST_CASE("the default nick is $USER made valid, or anon when nothing usable is left", "[cli]") {
    SECTION("spaces become underscores") {
        scoped_env user("USER", "has space");
        CHECK(parse_ok({}).nick == "has_space");
    }
    SECTION("too long: cut to 32 bytes, never inside a character") {
        scoped_env user("USER", (std::string(31, 'a') + "\xc3\xa9xyz").c_str());
        CHECK(parse_ok({}).nick == std::string(31, 'a'));
    }
    SECTION("empty") {
        scoped_env user("USER", "");
        CHECK(parse_ok({}).nick == "anon");
    }
    SECTION("unset") {
        scoped_env user("USER", nullptr);
        CHECK(parse_ok({}).nick == "anon");
    }
}

TEST_CASE("option --nick sets the nick in both forms and overrides $USER", "[cli]") {
    scoped_env user("USER", "tester");
    for (const auto& args : both_forms("--nick", "alice")) {
        CHECK(parse_ok(args).nick == "alice");
    }
}

TEST_CASE("option --room sets the room in both forms", "[cli]") {
    for (const auto& args : both_forms("--room", "den")) {
        CHECK(parse_ok(args).rooms == std::vector<std::string>{"den"});
    }
}

TEST_CASE("option --room may be given several times: every room in order, once", "[cli][rooms]") {
    CHECK(parse_ok({"--room", "den", "--room=dev", "--room", "den"}).rooms ==
          std::vector<std::string>{"den", "dev"});
    CHECK_THAT(parse_error({"--room", "den", "--room", ""}), StartsWith("--room: "));
}

TEST_CASE("option --listen sets the address in both forms and marks it explicit", "[cli]") {
    for (const auto& args : both_forms("--listen", "127.0.0.1:9000")) {
        auto o = parse_ok(args);
        CHECK(o.listen == protocol::host_port{"127.0.0.1", 9000});
        CHECK(o.listen_explicit);
    }
}

TEST_CASE("option --listen allows port 0", "[cli]") {
    auto o = parse_ok({"--listen", "127.0.0.1:0"});
    CHECK(o.listen == protocol::host_port{"127.0.0.1", 0});
    CHECK(o.listen_explicit);
}

TEST_CASE("option --join takes an address in both forms", "[cli]") {
    for (const auto& args : both_forms("--join", "10.0.0.2:7447")) {
        auto o = parse_ok(args);
        CHECK(o.joins == std::vector<protocol::host_port>{{"10.0.0.2", 7447}});
    }
}

TEST_CASE("option --join is repeatable and keeps the order given", "[cli]") {
    auto o = parse_ok({"--join", "10.0.0.2:7447", "--join=[::1]:7448", "--join", "host:1"});
    CHECK(o.joins ==
          std::vector<protocol::host_port>{{"10.0.0.2", 7447}, {"::1", 7448}, {"host", 1}});
}

TEST_CASE("option --join refuses port 0", "[cli]") {
    CHECK_THAT(parse_error({"--join", "10.0.0.2:0"}), StartsWith("--join: "));
}

TEST_CASE("option --data-dir sets the folder in both forms and marks it explicit", "[cli]") {
    for (const auto& args : both_forms("--data-dir", "/tmp/confab-data")) {
        auto o = parse_ok(args);
        CHECK(o.data_dir == "/tmp/confab-data");
        CHECK(o.data_dir_explicit);
    }
}

TEST_CASE("option --downloads sets the folder in both forms", "[cli]") {
    for (const auto& args : both_forms("--downloads", "/tmp/confab-down")) {
        CHECK(parse_ok(args).downloads == "/tmp/confab-down");
    }
}

TEST_CASE("option --log-level sets the level in both forms", "[cli]") {
    for (const auto& args : both_forms("--log-level", "debug")) {
        CHECK(parse_ok(args).log_level == core::log_level::debug);
    }
    CHECK(parse_ok({"--log-level", "error"}).log_level == core::log_level::error);
    CHECK(parse_ok({"--log-level=warn"}).log_level == core::log_level::warn);
}

TEST_CASE("option --headless, --help, -h and --version set their switches", "[cli]") {
    CHECK(parse_ok({"--headless"}).headless);
    CHECK(parse_ok({"--help"}).help);
    CHECK(parse_ok({"-h"}).help);
    CHECK(parse_ok({"--version"}).version);
}

TEST_CASE("a switch given a value is an error", "[cli]") {
    CHECK_THAT(parse_error({"--headless=yes"}), Contains("--headless takes no value"));
}

TEST_CASE("all options together", "[cli]") {
    auto o = parse_ok({"--headless", "--nick", "bob", "--room=den", "--listen=0.0.0.0:0", "--join",
                       "1.2.3.4:5", "--data-dir", "/d", "--downloads=/x", "--log-level", "warn"});
    CHECK(o.headless);
    CHECK(o.nick == "bob");
    CHECK(o.rooms == std::vector<std::string>{"den"});
    CHECK(o.listen == protocol::host_port{"0.0.0.0", 0});
    CHECK(o.joins == std::vector<protocol::host_port>{{"1.2.3.4", 5}});
    CHECK(o.data_dir == "/d");
    CHECK(o.downloads == "/x");
    CHECK(o.log_level == core::log_level::warn);
}

TEST_CASE("an unknown option is an error that names it", "[cli]") {
    CHECK_THAT(parse_error({"--frobnicate"}), Contains("unknown option \"--frobnicate\""));
    CHECK_THAT(parse_error({"--frobnicate=1"}), Contains("--frobnicate"));
    CHECK_THAT(parse_error({"stray"}), Contains("\"stray\""));
}

TEST_CASE("an option without its value is an error", "[cli]") {
    CHECK(parse_error({"--nick"}) == "--nick needs a value");
    CHECK(parse_error({"--headless", "--join"}) == "--join needs a value");
    // A forgotten value must not swallow the next flag as a nick.
    CHECK(parse_error({"--nick", "--room", "x"}) == "--nick needs a value");
}

TEST_CASE("a bad value is an error naming the flag", "[cli]") {
    CHECK_THAT(parse_error({"--nick", "two words"}), StartsWith("--nick: "));
    CHECK_THAT(parse_error({"--nick="}), StartsWith("--nick: "));
    CHECK_THAT(parse_error({"--room", "a room"}), StartsWith("--room: "));
    CHECK_THAT(parse_error({"--listen", "nonsense"}), StartsWith("--listen: "));
    CHECK_THAT(parse_error({"--listen", "nonsense"}), Contains("\"nonsense\""));
    CHECK_THAT(parse_error({"--join=1.2.3.4"}), StartsWith("--join: "));
    CHECK_THAT(parse_error({"--log-level", "loud"}), StartsWith("--log-level"));
    CHECK_THAT(parse_error({"--log-level", "loud"}), Contains("\"loud\""));
    CHECK_THAT(parse_error({"--data-dir="}), StartsWith("--data-dir"));
    CHECK_THAT(parse_error({"--downloads="}), StartsWith("--downloads"));
}

TEST_CASE("usage mentions every option", "[cli]") {
    auto text = usage();
    for (const char* flag : {"--headless", "--nick", "--listen", "--join", "--room", "--data-dir",
                             "--downloads", "--log-level", "--help", "--version"}) {
        CHECK_THAT(text, Contains(flag));
    }
}

TEST_CASE("sizes take k, M, G, T suffixes in powers of 1024, anything else is refused", "[cli]") {
    CHECK(parse_size("1000") == 1000u);
    CHECK(parse_size("512k") == 512u * 1024);
    CHECK(parse_size("10M") == 10u * 1024 * 1024);
    CHECK(parse_size("4G") == std::uint64_t{4} << 30);
    CHECK(parse_size("2T") == std::uint64_t{2} << 40);
    for (const char* bad : {"", "M", "-1", "1.5G", "10 M", "10MB", "99999999999999999999",
                            "20000000T"}) {
        CHECK_FALSE(parse_size(bad));
    }
}

TEST_CASE("file options: --accept-files, --max-file-size and --upload-limit", "[cli]") {
    auto defaults = parse_ok({});
    CHECK_FALSE(defaults.accept_files);
    CHECK(defaults.max_file_size == std::uint64_t{4} << 30);
    CHECK(defaults.upload_limit == 0);
    auto o = parse_ok({"--accept-files", "--max-file-size", "100M", "--upload-limit=1M"});
    CHECK(o.accept_files);
    CHECK(o.max_file_size == 100u << 20);
    CHECK(o.upload_limit == 1u << 20);
    CHECK_THAT(parse_error({"--max-file-size", "lots"}), Contains("--max-file-size must be"));
    CHECK_THAT(parse_error({"--accept-files=yes"}), Contains("takes no value"));
}

namespace {

std::string sample_invite(std::string room = "garden") {
    return core::format_invite(
        {std::move(room), {"192.0.2.7:7447", "127.0.0.1:7000"}, std::vector<std::uint8_t>(16, 9)});
}

}  // namespace

TEST_CASE("option --invite joins the invite's room and dials its addresses", "[cli][rooms]") {
    for (const auto& args : both_forms("--invite", sample_invite())) {
        auto o = parse_ok(args);
        REQUIRE(o.invites.size() == 1);
        CHECK(o.invites[0].secret == std::vector<std::uint8_t>(16, 9));
        CHECK(o.rooms == std::vector<std::string>{"garden"});
        CHECK(o.joins ==
              std::vector<protocol::host_port>{{"192.0.2.7", 7447}, {"127.0.0.1", 7000}});
    }
    // --join adds to them, without repeats; --room may say the same room.
    auto o = parse_ok({"--join", "127.0.0.1:7000", "--invite", sample_invite(), "--join",
                       "10.0.0.1:1", "--room", "garden"});
    CHECK(o.joins == std::vector<protocol::host_port>{
                         {"127.0.0.1", 7000}, {"10.0.0.1", 1}, {"192.0.2.7", 7447}});
}

TEST_CASE("a bad --invite is one sentence, without the usage", "[cli][rooms]") {
    std::string typo = sample_invite();
    typo[10] = typo[10] == 'a' ? 'b' : 'a';
    auto r = parse_cli({"--invite", typo});
    CHECK_FALSE(r.opts);
    CHECK(r.error ==
          "--invite: the invite has a typo: its check character does not match; copy the whole "
          "invite again");
    CHECK_FALSE(r.show_usage);
    CHECK_THAT(parse_error({"--invite", "192.0.2.7:7447"}), StartsWith("--invite: not a confab"));
    CHECK(parse_error({"--invite"}) == "--invite needs a value");
    CHECK(parse_cli({"--frobnicate"}).show_usage);
}

TEST_CASE("the room's secret comes from one place: --invite, --secret-file or --open",
          "[cli][rooms]") {
    auto defaults = parse_ok({});
    CHECK(defaults.invites.empty());
    CHECK(defaults.secret_file.empty());
    CHECK_FALSE(defaults.open);
    CHECK(parse_ok({"--open"}).open);
    CHECK(parse_ok({"--secret-file", "/run/pass"}).secret_file == "/run/pass");
    CHECK(parse_ok({"--secret-file=/run/pass"}).secret_file == "/run/pass");

    CHECK(parse_error({"--open", "--invite", sample_invite()}) ==
          "--open means rooms without a secret; it cannot go with --invite");
    CHECK(parse_error({"--secret-file", "/p", "--open"}) ==
          "--open means rooms without a secret; it cannot go with --secret-file");
    CHECK_THAT(parse_error({"--invite", sample_invite(), "--secret-file", "/p"}),
               Contains("use one of them"));
    CHECK_THAT(parse_error({"--invite", sample_invite(), "--invite",
                            core::format_invite({"garden", {}, std::vector<std::uint8_t>(16, 8)})}),
               Contains("two invites to #garden carry different secrets"));
    CHECK_THAT(parse_error({"--open=yes"}), Contains("takes no value"));
    CHECK_THAT(parse_error({"--secret-file="}), Contains("needs a file"));
}

TEST_CASE("several --room and --invite make several rooms, the invites' peers dialled for all",
          "[cli][rooms]") {
    auto o = parse_ok({"--room", "lobby", "--invite", sample_invite(), "--invite",
                       sample_invite("den"), "--invite", sample_invite()});
    CHECK(o.rooms == std::vector<std::string>{"lobby", "garden", "den"});
    REQUIRE(o.invites.size() == 2);
    CHECK(invite_for_room(o.invites, "den") == &o.invites[1]);
    CHECK(invite_for_room(o.invites, "lobby") == nullptr);
    CHECK(o.joins == std::vector<protocol::host_port>{{"192.0.2.7", 7447}, {"127.0.0.1", 7000}});
}

TEST_CASE("usage mentions the room options", "[cli][rooms]") {
    for (const char* flag : {"--invite", "--secret-file", "--open"}) {
        CHECK_THAT(usage(), Contains(flag));
    }
}

TEST_CASE("cli: --max-rate takes a positive number of messages a second") {
    auto ok = parse_cli({"--max-rate", "2000"});
    REQUIRE(ok.opts);
    CHECK(ok.opts->max_rate == 2000);
    CHECK(parse_cli({}).opts->max_rate == 200);
    for (const char* bad : {"0", "-5", "1.5", "lots", "", "1000001"}) {
        auto r = parse_cli({"--max-rate", bad});
        INFO(bad);
        CHECK_FALSE(r.opts);
        CHECK_THAT(r.error, Catch::Matchers::Contains("--max-rate must be a number"));
    }
}

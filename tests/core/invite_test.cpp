#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "core/detail/invite_check.hpp"
#include "core/invite.hpp"

using namespace confab::core;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";

std::vector<std::uint8_t> secret16() {
    std::vector<std::uint8_t> s;
    for (std::uint8_t i = 0; i < 16; ++i) s.push_back(static_cast<std::uint8_t>(i * 37 + 5));
    return s;
}

invite sample() {
    return {"lobby", {"192.0.2.7:7447", "[2001:db8::1]:7447", "chat.example.org:7000"}, secret16()};
}

std::string parse_error(std::string_view text) {
    std::string error;
    auto parsed = parse_invite(text, &error);
    CHECK_FALSE(parsed);
    return error;
}

invite parse_ok(std::string_view text) {
    std::string error;
    auto parsed = parse_invite(text, &error);
    INFO(error);
    REQUIRE(parsed);
    return *parsed;
}

// A payload as format_invite lays it out, with whatever the test wants inside.
struct payload {
    std::vector<std::uint8_t> bytes;
    payload& byte(std::uint8_t b) {
        bytes.push_back(b);
        return *this;
    }
    payload& text(std::string_view s) {
        bytes.insert(bytes.end(), s.begin(), s.end());
        return *this;
    }
    payload& secret(std::size_t n) {
        byte(static_cast<std::uint8_t>(n));
        bytes.insert(bytes.end(), n, 0x5a);
        return *this;
    }
    payload& room(std::string_view name) {
        byte(static_cast<std::uint8_t>(name.size()));
        return text(name);
    }
    payload& ipv4(std::uint16_t port = 7447) {
        byte(1).byte(10).byte(0).byte(0).byte(1);
        return byte(static_cast<std::uint8_t>(port >> 8)).byte(port & 0xff);
    }
    payload& name(std::string_view host) {
        byte(3).byte(static_cast<std::uint8_t>(host.size())).text(host);
        return byte(0).byte(1);
    }
    std::string wrapped() const { return detail::wrap_invite_payload(bytes); }
};

}  // namespace

TEST_CASE("an invite is confab1, lowercase base32 and a check character: shell-safe", "[invite]") {
    const std::string text = format_invite(sample());
    CHECK_THAT(text, StartsWith("confab1"));
    CHECK(text.substr(7).find_first_not_of(alphabet) == std::string::npos);
    // 1 + 16 + 1 + 5 + 1 + (1 + 4 + 2) + (1 + 16 + 2) + (1 + 1 + 16 + 2) bytes.
    CHECK(text.size() == 7 + (70 * 8 + 4) / 5 + 1);
    // The common case, one IPv4 address, is short enough for a chat line.
    CHECK(format_invite({"lobby", {"192.168.1.20:7447"}, secret16()}).size() == 58);
}

TEST_CASE("an invite round-trips room, addresses and secret", "[invite]") {
    CHECK(parse_ok(format_invite(sample())) == sample());
    const invite variants[] = {
        {"lobby", {}, secret16()},
        {"d\xc3\xa9v", {"127.0.0.1:1"}, std::vector<std::uint8_t>(32, 0xff)},
        {std::string(64, 'r'),
         {"1.1.1.1:1", "2.2.2.2:2", "3.3.3.3:3", "4.4.4.4:4", "[::1]:5", "[fe80::1]:6",
          "h.example:65535", std::string(253, 'a') + ":8"},
         std::vector<std::uint8_t>(16, 0)},
    };
    for (const auto& v : variants) {
        const std::string text = format_invite(v);
        INFO(text);
        CHECK(parse_ok(text) == v);
    }
}

TEST_CASE("an invite is read with whitespace around it and in upper case", "[invite]") {
    const std::string text = format_invite(sample());
    CHECK(parse_ok("  " + text + "\n") == sample());
    CHECK(parse_ok("\t" + text + " \r\n") == sample());
    std::string upper = text;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(parse_ok(upper) == sample());
}

TEST_CASE("every single substitution and every adjacent swap of an invite is caught", "[invite]") {
    const std::string text = format_invite(sample());
    std::size_t tried = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        // Any base32 character, and the digits a user might mistake for letters.
        for (char c : std::string(alphabet) + "0189") {
            if (c == text[i]) continue;
            std::string typo = text;
            typo[i] = c;
            INFO(typo);
            CHECK_FALSE(parse_invite(typo, nullptr));
            ++tried;
        }
    }
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
        if (text[i] == text[i + 1]) continue;
        std::string swapped = text;
        std::swap(swapped[i], swapped[i + 1]);
        INFO(swapped);
        CHECK_FALSE(parse_invite(swapped, nullptr));
        ++tried;
    }
    CHECK(tried > 3000);
}

TEST_CASE("an invite with a character lost or added is refused", "[invite]") {
    // The check character alone misses one in 32 of these; the lengths in the payload catch
    // the rest (here, all of them).
    const std::string text = format_invite(sample());
    for (std::size_t i = 0; i < text.size(); ++i) {
        std::string lost = text;
        lost.erase(i, 1);
        INFO(lost);
        CHECK_FALSE(parse_invite(lost, nullptr));
    }
    for (std::size_t i = 0; i <= text.size(); ++i) {
        for (char c : alphabet) {
            std::string added = text;
            added.insert(i, 1, c);
            INFO(added);
            CHECK_FALSE(parse_invite(added, nullptr));
        }
    }
}

TEST_CASE("the check character catches a swap of any two different adjacent characters",
          "[invite]") {
    // Exhaustively, in front of and behind every prefix state: the check is linear, so this
    // is every swap anywhere. (Luhn mod 32 fails this for "a7" and "7a".)
    for (char prefix : alphabet) {
        for (char x : alphabet) {
            for (char y : alphabet) {
                if (x == y) continue;
                std::string good{prefix, x, y};
                good += detail::invite_check_character(good);
                REQUIRE(detail::invite_check_matches(good));
                std::string swapped{prefix, y, x, good.back()};
                REQUIRE_FALSE(detail::invite_check_matches(swapped));
            }
        }
    }
    // And a swap of the last character with the check character itself.
    for (char x : alphabet) {
        std::string good{'q', x};
        good += detail::invite_check_character(good);
        if (good[1] == good[2]) continue;
        std::swap(good[1], good[2]);
        CHECK_FALSE(detail::invite_check_matches(good));
    }
}

TEST_CASE("a typo in an invite is named as one", "[invite]") {
    std::string text = format_invite(sample());
    std::string typo = text;
    typo[20] = typo[20] == 'b' ? 'c' : 'b';
    CHECK(parse_error(typo) ==
          "the invite has a typo: its check character does not match; copy the whole invite "
          "again");
    CHECK_THAT(parse_error(text.substr(0, text.size() - 1)), Contains("check character"));

    typo = text;
    typo[12] = '0';
    CHECK(parse_error(typo) ==
          "the invite has a typo at character 13: \"0\" cannot be in an invite (only a-z and 2-7 "
          "can)");
    typo[12] = '\x01';
    CHECK_THAT(parse_error(typo), Contains("typo at character 13: that character"));
    CHECK_THAT(parse_error(text.substr(0, 30) + "\n   " + text.substr(30)),
               Contains("broken by a space or a line break at character 31"));
    CHECK_THAT(parse_error("confabl" + text.substr(7)), Contains("must start with confab1"));
}

TEST_CASE("what is not an invite is said to be so", "[invite]") {
    CHECK_THAT(parse_error(""), Contains("empty"));
    CHECK_THAT(parse_error("   \n"), Contains("empty"));
    CHECK_THAT(parse_error("127.0.0.1:7447"), StartsWith("not a confab invite"));
    CHECK_THAT(parse_error("hello"), StartsWith("not a confab invite"));
    CHECK_THAT(parse_error("confab"), Contains("must start with confab1"));
    CHECK_THAT(parse_error("confab1"), Contains("check character"));
    CHECK_THAT(parse_error("confab2aaaa"), Contains("newer confab"));
    CHECK_THAT(parse_error("confab1" + std::string(5000, 'a')), Contains("longer than any"));
}

TEST_CASE("a well-checked invite is still read strictly", "[invite]") {
    // The valid base: 16-byte secret, room "lobby", one address.
    CHECK(parse_ok(payload{}.secret(16).room("lobby").byte(1).ipv4().wrapped()).addresses ==
          std::vector<std::string>{"10.0.0.1:7447"});
    CHECK(parse_ok(payload{}.secret(32).room("lobby").byte(0).wrapped()).secret.size() == 32);

    const std::pair<std::string, std::string_view> bad[] = {
        {payload{}.wrapped(), "ends inside the secret"},
        {payload{}.secret(20).room("lobby").byte(0).wrapped(), "a secret of 20 bytes"},
        {payload{}.secret(0).room("lobby").byte(0).wrapped(), "a secret of 0 bytes"},
        {payload{}.byte(16).text("short").wrapped(), "ends inside the secret"},
        {payload{}.secret(16).wrapped(), "ends inside the room name"},
        {payload{}.secret(16).room("").byte(0).wrapped(), "room"},
        {payload{}.secret(16).room("two words").byte(0).wrapped(), "room"},
        {payload{}.secret(16).room(std::string(65, 'r')).byte(0).wrapped(), "room"},
        {payload{}.secret(16).room("lobby").wrapped(), "ends before its addresses"},
        {payload{}.secret(16).room("lobby").byte(9).wrapped(), "9 addresses (at most 8)"},
        {payload{}.secret(16).room("lobby").byte(2).ipv4().wrapped(), "address 2: it ends"},
        {payload{}.secret(16).room("lobby").byte(1).ipv4(0).wrapped(), "address 1: port \"0\""},
        {payload{}.secret(16).room("lobby").byte(1).byte(7).wrapped(), "unknown kind 7"},
        {payload{}.secret(16).room("lobby").byte(1).name("").wrapped(), "a host name of 0 bytes"},
        {payload{}.secret(16).room("lobby").byte(1).name("a b").wrapped(), "address 1:"},
        {payload{}.secret(16).room("lobby").byte(1).name("a/b").wrapped(), "address 1:"},
        {payload{}.secret(16).room("lobby").byte(2).name("ok").name("a\nb").wrapped(),
         "address 2:"},
        {payload{}.secret(16).room("lobby").byte(0).byte(0).wrapped(), "1 bytes left over"},
    };
    for (const auto& [text, why] : bad) {
        INFO(text);
        const std::string error = parse_error(text);
        CHECK_THAT(error, StartsWith("the invite is damaged ("));
        CHECK_THAT(error, Contains("copy the whole invite again"));
        CHECK_THAT(error, Contains(std::string(why)));
    }
}

TEST_CASE("format_invite refuses what parse_invite would", "[invite]") {
    auto with = [](auto change) {
        invite i = sample();
        change(i);
        return i;
    };
    CHECK_THROWS_AS(format_invite(with([](invite& i) { i.room = "a b"; })), std::invalid_argument);
    CHECK_THROWS_AS(format_invite(with([](invite& i) { i.secret.resize(15); })),
                    std::invalid_argument);
    CHECK_THROWS_AS(format_invite(with([](invite& i) { i.addresses.push_back("nonsense"); })),
                    std::invalid_argument);
    CHECK_THROWS_AS(format_invite(with([](invite& i) { i.addresses.push_back("1.2.3.4:0"); })),
                    std::invalid_argument);
    CHECK_THROWS_AS(format_invite(with([](invite& i) { i.addresses.assign(9, "1.2.3.4:5"); })),
                    std::invalid_argument);
}

TEST_CASE("the invites in docs/protocol.md", "[invite]") {
    // Computed by an independent implementation of the document.
    std::vector<std::uint8_t> secret;
    for (std::uint8_t i = 0; i < 32; ++i) secret.push_back(i);
    const invite one{"lobby", {"192.0.2.7:7447"}, {secret.begin(), secret.begin() + 16}};
    CHECK(format_invite(one) == "confab1caaacaqdaqcqmbyibefawdanbyhqk3dpmjrhsaibyaaaeby5c4b");
    const invite three{
        "lobby", {"192.0.2.7:7447", "[2001:db8::1]:7447", "chat.example.org:7000"}, secret};
    const std::string text =
        "confab1eaaacaqdaqcqmbyibefawdanbyhraeiscmkbkfqxdamrugy4dupb6blmn5rge6idahaaaaqhdulqeiabb"
        "w4aaaaaaaaaaaaaaaaaaai5c4bray3imf2c4zlymfwxa3dffzxxezy3lae";
    CHECK(format_invite(three) == text);
    CHECK(parse_ok(text) == three);
}

#include "protocol/validate.hpp"

#include <catch2/catch.hpp>

using namespace confab::protocol;

TEST_CASE("is_valid_utf8 accepts well-formed text of every sequence length") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ascii"));
    CHECK(is_valid_utf8("caf\xc3\xa9"));                // U+00E9
    CHECK(is_valid_utf8("\xe2\x82\xac"));               // U+20AC
    CHECK(is_valid_utf8("\xf0\x9f\x98\x80"));           // U+1F600
    CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf"));           // U+10FFFF, the last code point
    CHECK(is_valid_utf8("\xed\x9f\xbf\xee\x80\x80"));   // U+D7FF and U+E000 around surrogates
    CHECK(is_valid_utf8(std::string_view("a\0b", 3)));  // NUL is valid UTF-8
}

TEST_CASE("is_valid_utf8 rejects overlong encodings") {
    CHECK_FALSE(is_valid_utf8("\xc0\xaf"));  // '/' in two bytes
    CHECK_FALSE(is_valid_utf8("\xc1\xbf"));
    CHECK_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // '/' in three bytes
    CHECK_FALSE(is_valid_utf8("\xf0\x80\x80\xaf"));  // '/' in four bytes
    CHECK_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf"));  // U+FFFF in four bytes
}

TEST_CASE("is_valid_utf8 rejects surrogates and code points above U+10FFFF") {
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));      // U+D800
    CHECK_FALSE(is_valid_utf8("\xed\xbf\xbf"));      // U+DFFF
    CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // U+110000
    CHECK_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
    CHECK_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80"));  // old five-byte form
    CHECK_FALSE(is_valid_utf8("\xff"));
}

TEST_CASE("is_valid_utf8 rejects truncated sequences and stray continuation bytes") {
    CHECK_FALSE(is_valid_utf8("\xc3"));
    CHECK_FALSE(is_valid_utf8("\xe2\x82"));
    CHECK_FALSE(is_valid_utf8("\xf0\x9f\x98"));
    CHECK_FALSE(is_valid_utf8("\xe2\x82x"));  // a lead byte followed by ASCII
    CHECK_FALSE(is_valid_utf8("\x80"));
    CHECK_FALSE(is_valid_utf8("ab\xbf"));
}

TEST_CASE("check_nick accepts 1 to 32 bytes of visible UTF-8") {
    CHECK(check_nick("alice") == "");
    CHECK(check_nick("a") == "");
    CHECK(check_nick(std::string(32, 'n')) == "");
    CHECK(check_nick("J\xc3\xbcrgen") == "");
}

TEST_CASE("check_nick names the length when it is out of range") {
    CHECK(check_nick("") == "nick must be 1 to 32 bytes (got 0)");
    CHECK(check_nick(std::string(40, 'n')) == "nick must be 1 to 32 bytes (got 40)");
}

TEST_CASE("check_nick rejects spaces and control characters") {
    const std::string problem = "nick must not contain spaces or control characters";
    CHECK(check_nick("al ice") == problem);
    CHECK(check_nick("alice\t") == problem);
    CHECK(check_nick("alice\n") == problem);
    CHECK(check_nick("\x1b[31m") == problem);
    CHECK(check_nick("del\x7f") == problem);
    CHECK(check_nick("csi\xc2\x9b") == problem);  // U+009B acts as ESC [ on some terminals
    CHECK(check_nick(std::string_view("a\0b", 3)) == problem);
}

TEST_CASE("check_nick rejects invalid UTF-8") {
    CHECK(check_nick("bad\xff") == "nick is not valid UTF-8");
}

TEST_CASE("check_room applies the nick rules with a 64-byte limit") {
    CHECK(check_room("lobby") == "");
    CHECK(check_room(std::string(64, 'r')) == "");
    CHECK(check_room(std::string(65, 'r')) == "room must be 1 to 64 bytes (got 65)");
    CHECK(check_room("") == "room must be 1 to 64 bytes (got 0)");
    CHECK(check_room("two words") == "room must not contain spaces or control characters");
    CHECK(check_room("\xc3") == "room is not valid UTF-8");
}

TEST_CASE("check_body accepts text up to the limit, newlines included") {
    CHECK(check_body("hello") == "");
    CHECK(check_body("line one\nline two") == "");
    CHECK(check_body(" x ") == "");
    CHECK(check_body(std::string(max_body_bytes, 'b')) == "");
}

TEST_CASE("check_body names both sizes when the message is too long") {
    CHECK(check_body(std::string(20000, 'b')) ==
          "message is 20000 bytes; the limit is 16384 bytes");
}

TEST_CASE("check_body rejects empty, blank, NUL and invalid UTF-8 bodies") {
    CHECK(check_body("") == "message is empty");
    CHECK(check_body(" \t\r\n ") == "message is only whitespace");
    CHECK(check_body(std::string_view("a\0b", 3)) == "message must not contain NUL bytes");
    CHECK(check_body("\xed\xa0\x80") == "message is not valid UTF-8");
}

TEST_CASE("check_peer_id accepts exactly 52 characters of a-z and 2-7") {
    CHECK(check_peer_id(std::string(52, 'a')) == "");
    CHECK(check_peer_id("abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrsq") == "");
}

TEST_CASE("check_peer_id rejects a second spelling of the same key") {
    // The last character carries one bit of the key and four padding bits that must be 0.
    CHECK(check_peer_id(std::string(51, 'a') + "b") ==
          "peer id is not the canonical spelling of a key (it must end in a or q)");
    CHECK(check_peer_id(std::string(51, 'a') + "r") ==
          "peer id is not the canonical spelling of a key (it must end in a or q)");
}

TEST_CASE("check_peer_id rejects a wrong length or alphabet") {
    CHECK(check_peer_id("") == "peer id must be 52 characters (got 0)");
    CHECK(check_peer_id(std::string(53, 'a')) == "peer id must be 52 characters (got 53)");
    const std::string alphabet_problem = "peer id must contain only the characters a-z and 2-7";
    CHECK(check_peer_id(std::string(51, 'a') + "A") == alphabet_problem);
    CHECK(check_peer_id(std::string(51, 'a') + "1") == alphabet_problem);
    CHECK(check_peer_id(std::string(51, 'a') + "8") == alphabet_problem);
    CHECK(check_peer_id(std::string(51, 'a') + "=") == alphabet_problem);
}

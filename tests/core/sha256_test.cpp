#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/message_id.hpp"
#include "core/sha256.hpp"
#include "tests/support/temp_dir.hpp"

using confab::core::sha256_file;
using confab::core::sha256_file_chunk;
using confab::core::sha256_hasher;

namespace {

constexpr const char* empty_digest =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* abc_digest =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

std::string digest_of(std::string_view bytes) {
    sha256_hasher hasher;
    hasher.update(bytes);
    return hasher.hex_digest();
}

std::string pattern(std::size_t size) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
    return out;
}

void write(const std::filesystem::path& path, const std::string& contents) {
    std::ofstream(path, std::ios::binary) << contents;
}

}  // namespace

TEST_CASE("sha256_hasher matches the FIPS 180-2 vectors") {
    CHECK(digest_of("") == empty_digest);
    CHECK(digest_of("abc") == abc_digest);
    CHECK(digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(digest_of(std::string(1'000'000, 'a')) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256_hasher gives the same digest however the input is split") {
    std::string data = pattern(100'003);
    std::string whole = confab::core::sha256_hex(data);
    for (std::size_t piece : {1u, 63u, 64u, 65u, 4096u, 99'999u}) {
        sha256_hasher hasher;
        for (std::size_t at = 0; at < data.size(); at += piece) {
            hasher.update(std::string_view(data).substr(at, piece));
        }
        CHECK(hasher.size() == data.size());
        CHECK(hasher.hex_digest() == whole);
    }
    // Bytes and chars hash alike.
    sha256_hasher hasher;
    hasher.update(std::as_bytes(std::span(data.data(), data.size())));
    CHECK(hasher.hex_digest() == whole);
}

TEST_CASE("sha256_hasher finalises once") {
    sha256_hasher hasher;
    hasher.update("abc");
    CHECK(hasher.active());
    CHECK(hasher.hex_digest() == abc_digest);
    CHECK_FALSE(hasher.active());
    CHECK_THROWS_AS(hasher.hex_digest(), std::logic_error);
    CHECK_THROWS_AS(hasher.update("more"), std::logic_error);
}

TEST_CASE("sha256_hasher moves its state") {
    sha256_hasher a;
    a.update("a");
    sha256_hasher b = std::move(a);
    CHECK_FALSE(a.active());  // NOLINT(bugprone-use-after-move): the moved-from state is the test
    CHECK_THROWS_AS(a.update("x"), std::logic_error);
    b.update("bc");
    CHECK(b.size() == 3);

    sha256_hasher c;
    c.update("unrelated");
    c = std::move(b);
    CHECK(c.hex_digest() == abc_digest);
}

TEST_CASE("sha256_file hashes whole files across chunk boundaries") {
    confab::test::temp_dir dir;
    for (std::size_t size :
         {std::size_t{0}, std::size_t{3}, sha256_file_chunk - 1, sha256_file_chunk,
          sha256_file_chunk + 1, 2 * sha256_file_chunk + 12'345}) {
        std::string data = size == 3 ? std::string("abc") : pattern(size);
        auto path = dir.path() / ("f" + std::to_string(size));
        write(path, data);
        INFO("size " << size);
        auto digest = sha256_file(path);
        REQUIRE(digest);
        CHECK(*digest == confab::core::sha256_hex(data));
    }
    write(dir.path() / "empty", "");
    CHECK(sha256_file(dir.path() / "empty") == std::optional<std::string>(empty_digest));
}

TEST_CASE("sha256_file says nullopt when it cannot read") {
    confab::test::temp_dir dir;
    CHECK_FALSE(sha256_file(dir.path() / "missing"));
    CHECK_FALSE(sha256_file(dir.path()));  // a folder
}

TEST_CASE("sha256_file stops when cancelled") {
    confab::test::temp_dir dir;
    auto path = dir.path() / "big";
    write(path, pattern(3 * sha256_file_chunk));
    std::atomic<bool> cancel{true};
    CHECK_FALSE(sha256_file(path, &cancel));
    cancel = false;
    auto digest = sha256_file(path, &cancel);
    REQUIRE(digest);
    CHECK(digest == sha256_file(path));
}

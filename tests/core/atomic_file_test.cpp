#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <system_error>

#include <sys/stat.h>

#include "core/atomic_file.hpp"
#include "tests/support/temp_dir.hpp"

using confab::core::read_file;
using confab::core::write_file_atomically;

namespace {

mode_t mode_of(const std::filesystem::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::size_t files_in(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
    return n;
}

}  // namespace

TEST_CASE("write_file_atomically creates and then replaces a file") {
    confab::test::temp_dir dir;
    auto path = dir.path() / "peers.json";
    write_file_atomically(path, "first");
    CHECK(read_file(path) == "first");
    write_file_atomically(path, "second, longer");
    CHECK(read_file(path) == "second, longer");
    write_file_atomically(path, "");
    CHECK(read_file(path).empty());
    // No temp file is left next to it.
    CHECK(files_in(dir.path()) == 1);
}

TEST_CASE("write_file_atomically applies the mode whatever the umask") {
    confab::test::temp_dir dir;
    auto path = dir.path() / "key";
    mode_t old_umask = ::umask(077);
    write_file_atomically(path, "a", 0644);
    ::umask(old_umask);
    CHECK(mode_of(path) == 0644);
    write_file_atomically(path, "b", 0600);
    CHECK(mode_of(path) == 0600);
}

TEST_CASE("write_file_atomically keeps binary contents intact") {
    confab::test::temp_dir dir;
    auto path = dir.path() / "blob";
    std::string contents(200'000, '\0');
    for (std::size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i * 7);
    write_file_atomically(path, contents);
    CHECK(read_file(path) == contents);
}

TEST_CASE("write_file_atomically into a missing folder throws naming the path") {
    confab::test::temp_dir dir;
    auto path = dir.path() / "missing" / "file";
    try {
        write_file_atomically(path, "x");
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).find(path.string()) != std::string::npos);
    }
    CHECK(files_in(dir.path()) == 0);
}

TEST_CASE("write_file_atomically over a folder fails and leaves no temp file") {
    confab::test::temp_dir dir;
    auto path = dir.path() / "occupied";
    std::filesystem::create_directory(path);
    std::filesystem::create_directory(path / "inside");
    CHECK_THROWS_AS(write_file_atomically(path, "x"), std::system_error);
    CHECK(files_in(dir.path()) == 1);
    CHECK(std::filesystem::is_directory(path));
}

TEST_CASE("read_file of a missing file throws naming the path") {
    confab::test::temp_dir dir;
    auto path = dir.path() / "nothing-here";
    try {
        read_file(path);
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).find(path.string()) != std::string::npos);
        CHECK(e.code() == std::errc::no_such_file_or_directory);
    }
}

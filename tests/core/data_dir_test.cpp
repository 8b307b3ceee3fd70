#include <catch2/catch.hpp>

#include "tests/support/scoped_env.hpp"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.hpp"
#include "core/data_dir.hpp"
#include "tests/support/temp_dir.hpp"

using confab::core::data_dir_lock;

using confab::test::scoped_env;

TEST_CASE("default_data_dir follows XDG_DATA_HOME, else HOME") {
    scoped_env home("HOME", "/home/someone");
    {
        scoped_env xdg("XDG_DATA_HOME", "/xdg/data");
        CHECK(confab::core::default_data_dir() == "/xdg/data/confab");
    }
    {
        scoped_env xdg("XDG_DATA_HOME", "");
        CHECK(confab::core::default_data_dir() == "/home/someone/.local/share/confab");
    }
    {
        scoped_env xdg("XDG_DATA_HOME", nullptr);
        CHECK(confab::core::default_data_dir() == "/home/someone/.local/share/confab");
    }
    CHECK(confab::core::default_downloads_dir() == "/home/someone/Downloads/confab");
}

TEST_CASE("data_dir_lock creates the folder with mode 0700 and writes its pid") {
    confab::test::temp_dir tmp;
    auto dir = tmp.path() / "a" / "data";
    data_dir_lock lock(dir, false);
    CHECK(lock.path() == dir);
    struct stat st {};
    REQUIRE(::stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    CHECK(confab::core::read_file(dir / "lock") == std::to_string(::getpid()) + "\n");
}

TEST_CASE("data_dir_lock leaves the mode of an existing folder alone") {
    confab::test::temp_dir tmp;
    std::filesystem::permissions(tmp.path(), std::filesystem::perms::owner_all |
                                                 std::filesystem::perms::group_read |
                                                 std::filesystem::perms::group_exec);
    data_dir_lock lock(tmp.path(), false);
    struct stat st {};
    REQUIRE(::stat(tmp.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0750);
}

TEST_CASE("a named data dir that is in use is refused with the holder's pid") {
    confab::test::temp_dir tmp;
    data_dir_lock first(tmp.path(), false);
    try {
        data_dir_lock second(tmp.path(), false);
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) ==
              "data dir " + tmp.path().string() + " is in use by another confab (pid " +
                  std::to_string(::getpid()) + "); give each peer its own --data-dir");
    }
}

TEST_CASE("a default data dir that is in use gives way to instances/2, 3, ...") {
    confab::test::temp_dir tmp;
    data_dir_lock first(tmp.path(), true);
    CHECK(first.path() == tmp.path());
    data_dir_lock second(tmp.path(), true);
    CHECK(second.path() == tmp.path() / "instances" / "2");
    data_dir_lock third(tmp.path(), true);
    CHECK(third.path() == tmp.path() / "instances" / "3");
}

TEST_CASE("a default data dir gives up after instances/9") {
    confab::test::temp_dir tmp;
    std::vector<std::unique_ptr<data_dir_lock>> held;
    for (int i = 1; i <= 9; ++i) held.push_back(std::make_unique<data_dir_lock>(tmp.path(), true));
    CHECK(held.back()->path() == tmp.path() / "instances" / "9");
    CHECK_THROWS_WITH(data_dir_lock(tmp.path(), true), Catch::Contains("in use"));
}

TEST_CASE("a data dir can be locked again once its lock is gone") {
    confab::test::temp_dir tmp;
    {
        data_dir_lock first(tmp.path(), false);
        CHECK_THROWS_AS(data_dir_lock(tmp.path(), false), std::runtime_error);
    }
    data_dir_lock again(tmp.path(), false);
    CHECK(again.path() == tmp.path());
}

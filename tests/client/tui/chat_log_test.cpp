#include "client/tui/chat_log.hpp"

#include <sys/stat.h>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.hpp"

using confab::client::tui::chat_log;
using Catch::Matchers::EndsWith;

namespace {

std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("the chat log appends time-stamped lines to logs/ROOM.log with mode 0600") {
    confab::test::temp_dir dir;
    {
        chat_log log(dir.path() / "logs", "lobby");
        REQUIRE(log.error().empty());
        CHECK(log.backlog().empty());
        CHECK(log.append(1'700'000'000'000, "<bob> hi"));
        CHECK(log.append(1'700'000'001'000, "* bob waves"));
    }
    const auto path = dir.path() / "logs" / "lobby.log";
    const std::string text = read(path);
    CHECK(text.find(" <bob> hi\n") != std::string::npos);
    CHECK_THAT(text, EndsWith(" * bob waves\n"));
    // "YYYY-MM-DD HH:MM:SS " before each line.
    CHECK(text.size() == 2 * 20 + std::string("<bob> hi\n* bob waves\n").size());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("the next run gets the last lines back as backlog") {
    confab::test::temp_dir dir;
    {
        chat_log log(dir.path() / "logs", "lobby");
        for (int i = 0; i < 80; ++i) log.append(0, "line " + std::to_string(i));
    }
    chat_log again(dir.path() / "logs", "lobby");
    REQUIRE(again.backlog().size() == chat_log::max_backlog_lines);
    CHECK_THAT(again.backlog().back(), EndsWith("line 79"));
    CHECK_THAT(again.backlog().front(), EndsWith("line 30"));
}

TEST_CASE("a room name cannot put its log outside the logs folder") {
    CHECK(chat_log::file_name("lobby") == "lobby.log");
    CHECK(chat_log::file_name("../etc/x") == "_._etc_x.log");
    CHECK(chat_log::file_name(".hidden") == "_hidden.log");
}

TEST_CASE("a log that cannot be opened is an error, not a crash") {
    confab::test::temp_dir dir;
    std::ofstream(dir.path() / "logs") << "a file where the folder should be";
    chat_log log(dir.path() / "logs", "lobby");
    CHECK_FALSE(log.error().empty());
    CHECK_FALSE(log.append(0, "<bob> lost?"));
}

TEST_CASE("a log line's time stamp reads back as the time it was written") {
    confab::test::temp_dir dir;
    const std::int64_t written = 1'700'000'123'000;
    {
        chat_log log(dir.path() / "logs", "lobby");
        log.append(written, "<bob> hi");
    }
    chat_log again(dir.path() / "logs", "lobby");
    REQUIRE(again.backlog().size() == 1);
    CHECK(chat_log::parse_stamp(again.backlog()[0]) == written);
    CHECK(again.backlog()[0].substr(chat_log::stamp_length) == "<bob> hi");
    CHECK_FALSE(chat_log::parse_stamp("not a stamped line at all"));
    CHECK_FALSE(chat_log::parse_stamp("short"));
}

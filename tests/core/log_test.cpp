#include <catch2/catch.hpp>

#include <cstdio>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "core/atomic_file.hpp"
#include "core/log.hpp"
#include "tests/support/temp_dir.hpp"

using confab::core::log_level;

namespace {

// Points stderr at a file for one scope, so that what log_line wrote can be read back.
class captured_stderr {
public:
    explicit captured_stderr(const std::filesystem::path& file) : file_(file) {
        int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        saved_ = ::dup(STDERR_FILENO);
        ::dup2(fd, STDERR_FILENO);
        ::close(fd);
    }
    ~captured_stderr() { restore(); }
    captured_stderr(const captured_stderr&) = delete;
    captured_stderr& operator=(const captured_stderr&) = delete;

    std::string text() {
        restore();
        return confab::core::read_file(file_);
    }

private:
    void restore() {
        if (saved_ < 0) return;
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        saved_ = -1;
    }

    std::filesystem::path file_;
    int saved_ = -1;
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

// Restores the global level whatever a test set it to.
struct level_guard {
    log_level saved = confab::core::current_log_level();
    ~level_guard() { confab::core::set_log_level(saved); }
};

}  // namespace

TEST_CASE("parse_log_level knows the four levels") {
    log_level level = log_level::info;
    CHECK(confab::core::parse_log_level("error", &level));
    CHECK(level == log_level::error);
    CHECK(confab::core::parse_log_level("warn", &level));
    CHECK(level == log_level::warn);
    CHECK(confab::core::parse_log_level("debug", &level));
    CHECK(level == log_level::debug);
    CHECK(confab::core::parse_log_level("info", &level));
    CHECK(level == log_level::info);
    CHECK_FALSE(confab::core::parse_log_level("verbose", &level));
    CHECK_FALSE(confab::core::parse_log_level("", &level));
    CHECK(level == log_level::info);
}

TEST_CASE("log_line writes one line: UTC time with milliseconds, padded level, component") {
    confab::test::temp_dir dir;
    captured_stderr err(dir.path() / "stderr");
    confab::core::log_line(log_level::info, "peer", "connected to\n10.0.0.1:7447");
    confab::core::log_line(log_level::error, "core", "disk full");
    auto lines = lines_of(err.text());
    REQUIRE(lines.size() == 2);
    const std::regex stamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z )");
    CHECK(std::regex_search(lines[0], stamp, std::regex_constants::match_continuous));
    CHECK(lines[0].substr(25) == "info  peer: connected to 10.0.0.1:7447");
    CHECK(lines[1].substr(25) == "error core: disk full");
}

TEST_CASE("log_line never lets text from the network drive the terminal, nor run long") {
    confab::test::temp_dir dir;
    captured_stderr err(dir.path() / "stderr");
    // A neighbour's bye reason with OSC (retitle), CSI (clear screen), BEL and C1 CSI.
    confab::core::log_line(log_level::info, "link",
                           "bye (\x1b]0;owned\x07\x1b[2J\xc2\x9b"
                           "2J)");
    confab::core::log_line(log_level::info, "link", std::string(5000, 'x'));
    auto lines = lines_of(err.text());
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].substr(25) == "info  link: bye (?]0;owned??[2J?2J)");
    CHECK(lines[1].size() < 2100);
    CHECK(lines[1].ends_with(" [...]"));
}

TEST_CASE("log() drops what is above the current level") {
    level_guard guard;
    confab::test::temp_dir dir;
    captured_stderr err(dir.path() / "stderr");
    confab::core::set_log_level(log_level::warn);
    CHECK(confab::core::current_log_level() == log_level::warn);
    confab::core::log(log_level::info, "peer", "hidden");
    confab::core::log(log_level::warn, "peer", "shown ", 42, ' ', 1.5);
    auto lines = lines_of(err.text());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].substr(25) == "warn  peer: shown 42 1.5");
}

TEST_CASE("log lines from two threads never interleave") {
    confab::test::temp_dir dir;
    captured_stderr err(dir.path() / "stderr");
    const std::string a(300, 'a');
    const std::string b(300, 'b');
    constexpr int per_thread = 500;
    std::thread ta([&] {
        for (int i = 0; i < per_thread; ++i) confab::core::log_line(log_level::info, "t", a);
    });
    std::thread tb([&] {
        for (int i = 0; i < per_thread; ++i) confab::core::log_line(log_level::info, "t", b);
    });
    ta.join();
    tb.join();
    auto lines = lines_of(err.text());
    REQUIRE(lines.size() == 2 * per_thread);
    for (const auto& line : lines) {
        std::string body = line.substr(25);
        if (body != "info  t: " + a && body != "info  t: " + b) FAIL("mixed line: " << line);
    }
}

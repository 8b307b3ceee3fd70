#include "client/tui/completion.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/scoped_env.hpp"
#include "tests/support/temp_dir.hpp"

using namespace confab::client::tui;
using confab::test::scoped_env;
using confab::test::temp_dir;
namespace fs = std::filesystem;

namespace {

using strings = std::vector<std::string>;

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

// A folder with the kinds of entries completion has to tell apart.
struct tree {
    temp_dir dir;
    std::string root = dir.path().string();

    tree() {
        fs::create_directory(dir.path() / "docs");
        touch(dir.path() / "docs" / "readme.txt");
        touch(dir.path() / "download.bin");
        touch(dir.path() / "my file.txt");
        touch(dir.path() / "alpha.txt");
        touch(dir.path() / "Zeta.txt");
        touch(dir.path() / ".hidden");
        fs::create_directory(dir.path() / ".config");
    }
};

// The working directory for one scope; relative paths complete against it.
class scoped_cwd {
public:
    explicit scoped_cwd(const fs::path& p) : old_(fs::current_path()) { fs::current_path(p); }
    ~scoped_cwd() {
        std::error_code ec;
        fs::current_path(old_, ec);
    }
    scoped_cwd(const scoped_cwd&) = delete;
    scoped_cwd& operator=(const scoped_cwd&) = delete;

private:
    fs::path old_;
};

const completer::sources people{
    {"bob", "alice", "Amy", "alice", "carol", "Bobby"},
    {"nick", "me", "peers", "connect", "clear", "help", "quit", "send"},
};

// The lines successive Tabs produce (the caller would put each into the editor).
strings tabs(completer& c, const std::string& line, std::size_t cursor, int count,
             const completer::sources& from = people) {
    strings lines;
    std::string current = line;
    for (int i = 0; i < count; ++i) {
        auto r = c.complete(current, cursor, from);
        if (!r) break;
        current = r->line;
        cursor = r->cursor;
        lines.push_back(current);
    }
    return lines;
}

std::optional<completer::result> tab_once(const std::string& line, std::size_t cursor,
                                          const completer::sources& from = people) {
    completer c;
    return c.complete(line, cursor, from);
}

}  // namespace

// --- complete_path ------------------------------------------------------------------------

TEST_CASE("complete_path lists entries starting with the last part", "[completion][path]") {
    tree t;
    CHECK(complete_path(t.root + "/d") == strings{t.root + "/docs/", t.root + "/download.bin"});
    CHECK(complete_path(t.root + "/docs/") == strings{t.root + "/docs/readme.txt"});
    CHECK(complete_path(t.root + "/my") == strings{t.root + "/my file.txt"});
    CHECK(complete_path(t.root + "/nothing").empty());
}

TEST_CASE("complete_path sorts case-insensitively and hides dot files", "[completion][path]") {
    tree t;
    CHECK(complete_path(t.root + "/") == strings{t.root + "/alpha.txt", t.root + "/docs/",
                                                 t.root + "/download.bin",
                                                 t.root + "/my file.txt", t.root + "/Zeta.txt"});
    CHECK(complete_path(t.root + "/.") == strings{t.root + "/.config/", t.root + "/.hidden"});
    CHECK(complete_path(t.root + "/.h") == strings{t.root + "/.hidden"});
}

TEST_CASE("complete_path matches the file name case-sensitively", "[completion][path]") {
    tree t;
    CHECK(complete_path(t.root + "/z").empty());
    CHECK(complete_path(t.root + "/Z") == strings{t.root + "/Zeta.txt"});
}

TEST_CASE("complete_path is relative to the current directory", "[completion][path]") {
    tree t;
    scoped_cwd cwd(t.dir.path());
    CHECK(complete_path("do") == strings{"docs/", "download.bin"});
    CHECK(complete_path("docs/r") == strings{"docs/readme.txt"});
    CHECK(complete_path("./a") == strings{"./alpha.txt"});
    CHECK(complete_path("docs/../al") == strings{"docs/../alpha.txt"});
    CHECK(complete_path("").size() == 5);
}

TEST_CASE("complete_path expands ~/ but keeps it in the replacement", "[completion][path]") {
    tree t;
    {
        scoped_env home("HOME", t.root.c_str());
        CHECK(complete_path("~/do") == strings{"~/docs/", "~/download.bin"});
        CHECK(complete_path("~/docs/") == strings{"~/docs/readme.txt"});
        CHECK(complete_path("~/").size() == 5);
        CHECK(complete_path("~") == strings{"~/"});
    }
    {
        scoped_env no_home("HOME", nullptr);
        CHECK(complete_path("~/do").empty());
        CHECK(complete_path("~").empty());
    }
}

TEST_CASE("complete_path gives nothing, not an exception, on errors", "[completion][path]") {
    tree t;
    CHECK(complete_path("/no/such/folder/x").empty());
    CHECK(complete_path(t.root + "/alpha.txt/").empty());  // a file is not a folder
    CHECK(complete_path(t.root + "/docs/readme.txt/x").empty());

    fs::create_directory(t.dir.path() / "locked");
    touch(t.dir.path() / "locked" / "secret");
    fs::permissions(t.dir.path() / "locked", fs::perms::none);
    if (::geteuid() != 0) {  // root reads it anyway
        CHECK_NOTHROW(complete_path(t.root + "/locked/"));
        CHECK(complete_path(t.root + "/locked/").empty());
    }
    // Restored so that temp_dir can remove it.
    fs::permissions(t.dir.path() / "locked", fs::perms::owner_all);
}

TEST_CASE("complete_path follows symlinks to folders", "[completion][path]") {
    tree t;
    fs::create_directory_symlink(t.dir.path() / "docs", t.dir.path() / "linked");
    fs::create_symlink(t.dir.path() / "gone", t.dir.path() / "lost");
    CHECK(complete_path(t.root + "/l") == strings{t.root + "/linked/", t.root + "/lost"});
}

TEST_CASE("complete_path returns at most 200 entries, the first ones", "[completion][path]") {
    temp_dir dir;
    for (int i = 0; i < 250; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "f%03d", i);
        touch(dir.path() / name);
    }
    auto found = complete_path(dir.path().string() + "/f");
    REQUIRE(found.size() == 200);
    CHECK(found.front() == dir.path().string() + "/f000");
    CHECK(found.back() == dir.path().string() + "/f199");
    CHECK(std::is_sorted(found.begin(), found.end()));
}

// --- nicks --------------------------------------------------------------------------------

TEST_CASE("a nick at the start of the line gets a colon", "[completion]") {
    auto r = tab_once("car", 3);
    REQUIRE(r);
    CHECK(r->line == "carol: ");
    CHECK(r->cursor == 7);
}

TEST_CASE("a nick elsewhere gets a space", "[completion]") {
    auto r = tab_once("hi car", 6);
    REQUIRE(r);
    CHECK(r->line == "hi carol ");
    CHECK(r->cursor == 9);
}

TEST_CASE("nicks match case-insensitively and take the nick's spelling", "[completion]") {
    auto r = tab_once("CAR", 3);
    REQUIRE(r);
    CHECK(r->line == "carol: ");
    r = tab_once("am", 2);
    REQUIRE(r);
    CHECK(r->line == "Amy: ");
}

TEST_CASE("Tab again cycles through the candidates and wraps around", "[completion]") {
    completer c;
    // Sorted case-insensitively, the duplicate "alice" once.
    CHECK(tabs(c, "a", 1, 4) == strings{"alice: ", "Amy: ", "alice: ", "Amy: "});
    c.reset();
    CHECK(tabs(c, "hey b", 5, 3) == strings{"hey bob ", "hey Bobby ", "hey bob "});
}

TEST_CASE("the text after the cursor is kept", "[completion]") {
    completer c;
    // "ca|rol?" - the word is what is before the cursor.
    auto r = c.complete("say ca to you", 6, people);
    REQUIRE(r);
    // The space after the cursor is not doubled: the cursor steps over it.
    CHECK(r->line == "say carol to you");
    CHECK(r->cursor == 10);

    c.reset();
    r = c.complete("bo,x", 2, people);
    REQUIRE(r);
    CHECK(r->line == "bob: ,x");
    CHECK(r->cursor == 5);
    r = c.complete(r->line, r->cursor, people);
    REQUIRE(r);
    CHECK(r->line == "Bobby: ,x");
    CHECK(r->cursor == 7);

    c.reset();
    r = c.complete("al hello", 2, people);
    REQUIRE(r);
    CHECK(r->line == "alice: hello");
    CHECK(r->cursor == 7);
}

TEST_CASE("leading spaces still make the first word", "[completion]") {
    auto r = tab_once("  al", 4);
    REQUIRE(r);
    CHECK(r->line == "  alice: ");
}

TEST_CASE("no word or no match completes nothing", "[completion]") {
    CHECK_FALSE(tab_once("", 0));
    CHECK_FALSE(tab_once("hello ", 6));
    CHECK_FALSE(tab_once("zed", 3));
    CHECK_FALSE(tab_once("al", 2, completer::sources{}));
    CHECK_FALSE(tab_once("al", 0));  // nothing before the cursor
}

TEST_CASE("a cursor past the end is taken as the end", "[completion]") {
    auto r = tab_once("car", 99);
    REQUIRE(r);
    CHECK(r->line == "carol: ");
}

TEST_CASE("reset starts over from the line as it is", "[completion]") {
    completer c;
    auto r = c.complete("a", 1, people);
    REQUIRE(r);
    CHECK(r->line == "alice: ");
    c.reset();
    // The word before the cursor is now empty.
    CHECK_FALSE(c.complete(r->line, r->cursor, people));
}

TEST_CASE("an edit without reset starts a new completion", "[completion]") {
    completer c;
    REQUIRE(c.complete("a", 1, people));
    auto r = c.complete("hi c", 4, people);
    REQUIRE(r);
    CHECK(r->line == "hi carol ");
}

TEST_CASE("with one candidate, Tab again completes from the result", "[completion]") {
    completer c;
    auto r = c.complete("car", 3, people);
    REQUIRE(r);
    CHECK_FALSE(c.complete(r->line, r->cursor, people));
    // And after that failure it has not got stuck.
    r = c.complete("bo", 2, people);
    REQUIRE(r);
    CHECK(r->line == "bob: ");
}

// --- commands -----------------------------------------------------------------------------

TEST_CASE("a slash at the start completes command names", "[completion]") {
    auto r = tab_once("/ni", 3);
    REQUIRE(r);
    CHECK(r->line == "/nick ");
    CHECK(r->cursor == 6);

    r = tab_once("/NI", 3);
    REQUIRE(r);
    CHECK(r->line == "/nick ");

    completer c;
    CHECK(tabs(c, "/c", 2, 3) == strings{"/clear ", "/connect ", "/clear "});
}

TEST_CASE("a lone slash cycles through every command", "[completion]") {
    completer c;
    CHECK(tabs(c, "/", 1, 9) == strings{"/clear ", "/connect ", "/help ", "/me ", "/nick ",
                                        "/peers ", "/quit ", "/send ", "/clear "});
}

TEST_CASE("a command keeps its arguments", "[completion]") {
    auto r = tab_once("/ni bob", 3);
    REQUIRE(r);
    CHECK(r->line == "/nick bob");
    CHECK(r->cursor == 6);
}

TEST_CASE("unknown commands and later words are not command names", "[completion]") {
    CHECK_FALSE(tab_once("/xyz", 4));
    CHECK_FALSE(tab_once("//ni", 4));
    // Not the first word: a nick, even with a slash.
    CHECK_FALSE(tab_once("see /ni", 7));
    auto r = tab_once("/me waves at car", 16);
    REQUIRE(r);
    CHECK(r->line == "/me waves at carol ");
}

// --- /send paths --------------------------------------------------------------------------

TEST_CASE("the word after /send completes a path", "[completion][path]") {
    tree t;
    completer c;
    std::string line = "/send " + t.root + "/d";
    CHECK(tabs(c, line, line.size(), 3) ==
          strings{"/send " + t.root + "/docs/", "/send " + t.root + "/download.bin ",
                  "/send " + t.root + "/docs/"});
}

TEST_CASE("/send is matched case-insensitively and with extra spaces", "[completion][path]") {
    tree t;
    std::string line = "/SEND   " + t.root + "/al";
    auto r = tab_once(line, line.size());
    REQUIRE(r);
    CHECK(r->line == "/SEND   " + t.root + "/alpha.txt ");
    CHECK(r->cursor == r->line.size());
}

TEST_CASE("a completed folder goes on into the folder on the next Tab", "[completion][path]") {
    tree t;
    completer c;
    std::string line = "/send " + t.root + "/doc";
    auto r = c.complete(line, line.size(), people);
    REQUIRE(r);
    CHECK(r->line == "/send " + t.root + "/docs/");
    r = c.complete(r->line, r->cursor, people);
    REQUIRE(r);
    CHECK(r->line == "/send " + t.root + "/docs/readme.txt ");
}

TEST_CASE("an empty path lists the current folder", "[completion][path]") {
    tree t;
    scoped_cwd cwd(t.dir.path());
    completer c;
    CHECK(tabs(c, "/send ", 6, 6) ==
          strings{"/send alpha.txt ", "/send docs/", "/send download.bin ",
                  "/send my file.txt ", "/send Zeta.txt ", "/send alpha.txt "});
}

TEST_CASE("a path with a space in it completes whole", "[completion][path]") {
    tree t;
    scoped_env home("HOME", t.root.c_str());
    auto r = tab_once("/send ~/my", 10);
    REQUIRE(r);
    CHECK(r->line == "/send ~/my file.txt ");
}

TEST_CASE("only the first argument of /send is a path", "[completion][path]") {
    tree t;
    scoped_cwd cwd(t.dir.path());
    // Past the path, words are nicks again.
    auto r = tab_once("/send alpha.txt bo", 18);
    REQUIRE(r);
    CHECK(r->line == "/send alpha.txt bob ");
    // "/sender" is not /send.
    CHECK_FALSE(tab_once("/sender al", 10, completer::sources{}));
    // The command word itself is still a command.
    r = tab_once("/se", 3);
    REQUIRE(r);
    CHECK(r->line == "/send ");
}

TEST_CASE("a missing folder after /send completes nothing", "[completion][path]") {
    CHECK_FALSE(tab_once("/send /no/such/folder/x", 23));
}

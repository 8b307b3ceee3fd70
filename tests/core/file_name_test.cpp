#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/file_name.hpp"
#include "tests/support/temp_dir.hpp"

using confab::core::max_file_name_bytes;
using confab::core::sanitize_file_name;
using confab::core::unique_destination;

namespace {

void touch(const std::filesystem::path& path) {
    std::ofstream(path) << "x";
}

// True when every byte sequence in `s` is well-formed UTF-8 (std::mbstowcs depends on the
// locale; this does not).
bool valid_utf8(const std::string& s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto b = static_cast<unsigned char>(s[i]);
        std::size_t length = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 ? 2 : 0;
        if (length == 0 || i + length > s.size()) return false;
        for (std::size_t k = 1; k < length; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
        }
        i += length;
    }
    return true;
}

}  // namespace

TEST_CASE("sanitize_file_name keeps ordinary names as they are") {
    CHECK(sanitize_file_name("report.pdf") == "report.pdf");
    CHECK(sanitize_file_name("holiday photo 2024.jpeg") == "holiday photo 2024.jpeg");
    CHECK(sanitize_file_name("archive.tar.gz") == "archive.tar.gz");
    CHECK(sanitize_file_name("Übersicht – 東京.txt") == "Übersicht – 東京.txt");
    CHECK(sanitize_file_name("emoji 🎉.png") == "emoji 🎉.png");
    CHECK(sanitize_file_name("a") == "a");
    CHECK(sanitize_file_name("name with:colon?and*star") == "name with:colon?and*star");
}

TEST_CASE("sanitize_file_name keeps only the last path component") {
    CHECK(sanitize_file_name("../../etc/passwd") == "passwd");
    CHECK(sanitize_file_name("/etc/passwd") == "passwd");
    CHECK(sanitize_file_name("dir/sub/file.txt") == "file.txt");
    CHECK(sanitize_file_name("C:\\Users\\me\\notes.txt") == "notes.txt");
    CHECK(sanitize_file_name("..\\..\\windows\\system.ini") == "system.ini");
    CHECK(sanitize_file_name("mixed/slashes\\here.txt") == "here.txt");
    // A trailing separator names the folder itself.
    CHECK(sanitize_file_name("photos/") == "photos");
    CHECK(sanitize_file_name("a/b//") == "b");
}

TEST_CASE("sanitize_file_name never yields a dot name, a hidden file or an empty name") {
    CHECK(sanitize_file_name("") == "file");
    CHECK(sanitize_file_name(".") == "file");
    CHECK(sanitize_file_name("..") == "file");
    CHECK(sanitize_file_name("...") == "file");
    CHECK(sanitize_file_name("/") == "file");
    CHECK(sanitize_file_name("\\") == "file");
    CHECK(sanitize_file_name("../..") == "file");
    CHECK(sanitize_file_name("foo/..") == "file");
    CHECK(sanitize_file_name("   ") == "file");
    CHECK(sanitize_file_name(". .") == "file");
    CHECK(sanitize_file_name(".bashrc") == "bashrc");
    CHECK(sanitize_file_name("..hidden.txt") == "hidden.txt");
    CHECK(sanitize_file_name(" . profile") == "profile");
    CHECK(sanitize_file_name("~/.ssh/authorized_keys") == "authorized_keys");
    CHECK(sanitize_file_name(".ssh/") == "ssh");
}

TEST_CASE("sanitize_file_name strips trailing dots and spaces") {
    CHECK(sanitize_file_name("notes.txt.") == "notes.txt");
    CHECK(sanitize_file_name("notes.txt  ") == "notes.txt");
    CHECK(sanitize_file_name("notes. . .") == "notes");
    CHECK(sanitize_file_name("  padded  ") == "padded");
    // Inner dots and spaces are the user's business.
    CHECK(sanitize_file_name("a . b..c") == "a . b..c");
}

TEST_CASE("sanitize_file_name replaces control characters") {
    using namespace std::string_literals;
    CHECK(sanitize_file_name("a\nb.txt") == "a_b.txt");
    CHECK(sanitize_file_name("tab\there") == "tab_here");
    CHECK(sanitize_file_name("nul\0byte"s) == "nul_byte");
    CHECK(sanitize_file_name("bell\a\x1b[31mred") == "bell__[31mred");
    CHECK(sanitize_file_name("del\x7f") == "del_");
    CHECK(sanitize_file_name("\x01\x02\x03") == "___");
    // C1 controls, encoded as UTF-8: U+0085 (NEL) and U+009B (CSI).
    CHECK(sanitize_file_name("c1\xc2\x85x\xc2\x9by") == "c1_x_y");
    // U+00A0, just past C1, is an ordinary character.
    CHECK(sanitize_file_name("nb\xc2\xa0sp") == "nb\xc2\xa0sp");
}

TEST_CASE("sanitize_file_name replaces characters that disguise a name") {
    // U+202E RIGHT-TO-LEFT OVERRIDE would show "invoice\u202Efdp.exe" as "invoiceexe.pdf".
    CHECK(sanitize_file_name("invoice\xe2\x80\xae"
                             "fdp.exe") == "invoice_fdp.exe");
    CHECK(sanitize_file_name("a\xe2\x81\xa6"
                             "b\xe2\x81\xa9"
                             "c") == "a_b_c");                       // U+2066, U+2069
    CHECK(sanitize_file_name("x\xe2\x80\x8fy") == "x_y");            // U+200F
    CHECK(sanitize_file_name("line\xe2\x80\xa8sep") == "line_sep");  // U+2028
}

TEST_CASE("sanitize_file_name replaces each byte of invalid UTF-8") {
    CHECK(sanitize_file_name("bad\xff.txt") == "bad_.txt");
    CHECK(sanitize_file_name("\xc3") == "_");                       // truncated sequence
    CHECK(sanitize_file_name("lone\x80.bin") == "lone_.bin");       // stray continuation
    CHECK(sanitize_file_name("over\xc0\xaf") == "over__");          // overlong '/'
    CHECK(sanitize_file_name("over\xe0\x80\xaf") == "over___");     // overlong '/'
    CHECK(sanitize_file_name("sur\xed\xa0\x80") == "sur___");       // UTF-16 surrogate
    CHECK(sanitize_file_name("big\xf4\x90\x80\x80") == "big____");  // above U+10FFFF
    CHECK(sanitize_file_name("cut\xe6\x9d") == "cut__");
    // A valid character right after an invalid byte survives.
    CHECK(sanitize_file_name("\xff\xc3\xa9") == "_\xc3\xa9");
    CHECK(valid_utf8(sanitize_file_name("\xf0\x9f\x8e\x89\xf0\x9f\x8e")));
}

TEST_CASE("sanitize_file_name limits the length and keeps the extension") {
    SECTION("ASCII") {
        std::string name = std::string(300, 'a') + ".jpeg";
        std::string clean = sanitize_file_name(name);
        CHECK(clean.size() == max_file_name_bytes);
        CHECK(clean == std::string(max_file_name_bytes - 5, 'a') + ".jpeg");
    }
    SECTION("exactly at the limit is untouched") {
        std::string name = std::string(max_file_name_bytes - 4, 'b') + ".txt";
        CHECK(sanitize_file_name(name) == name);
        CHECK(sanitize_file_name(name + "x").size() == max_file_name_bytes);
    }
    SECTION("multi-byte characters are never split") {
        std::string name;
        for (int i = 0; i < 100; ++i) name += "東";  // 3 bytes each
        name += ".txt";
        std::string clean = sanitize_file_name(name);
        CHECK(clean.size() <= max_file_name_bytes);
        CHECK(clean.size() > max_file_name_bytes - 3);
        CHECK(valid_utf8(clean));
        CHECK(clean.ends_with("東.txt"));
    }
    SECTION("four-byte characters") {
        std::string name;
        for (int i = 0; i < 60; ++i) name += "🎉";
        std::string clean = sanitize_file_name(name);
        CHECK(clean.size() == 200);
        CHECK(valid_utf8(clean));
    }
    SECTION("an overlong extension is not kept") {
        std::string name = std::string(150, 'a') + "." + std::string(150, 'b');
        std::string clean = sanitize_file_name(name);
        CHECK(clean.size() == max_file_name_bytes);
        CHECK(clean == std::string(150, 'a') + "." + std::string(49, 'b'));
    }
    SECTION("no trailing dot or space is left by the cut") {
        std::string name = std::string(195, 'a') + " . . . . . . . . .x.pdf";
        std::string clean = sanitize_file_name(name);
        CHECK(clean.size() <= max_file_name_bytes);
        CHECK(clean == std::string(195, 'a') + ".pdf");
    }
    SECTION("long path prefixes do not count") {
        std::string name = std::string(1000, 'd') + "/short.txt";
        CHECK(sanitize_file_name(name) == "short.txt");
    }
}

TEST_CASE("sanitize_file_name output is always a safe single name") {
    // Every byte value in every position of a short name.
    for (int b = 0; b < 256; ++b) {
        for (std::string pattern : {"X", "aX", "Xa", ".X.", "X/X"}) {
            std::string name;
            for (char c : pattern) name += c == 'X' ? static_cast<char>(b) : c;
            std::string clean = sanitize_file_name(name);
            INFO("byte " << b << " in " << pattern);
            CHECK(!clean.empty());
            CHECK(clean != ".");
            CHECK(clean != "..");
            CHECK(clean.front() != '.');
            CHECK(clean.find('/') == std::string::npos);
            CHECK(clean.find('\\') == std::string::npos);
            CHECK(clean.find('\0') == std::string::npos);
            CHECK(valid_utf8(clean));
        }
    }
}

TEST_CASE("unique_destination picks a name that is not taken") {
    confab::test::temp_dir dir;
    CHECK(unique_destination(dir.path(), "report.pdf") == dir.path() / "report.pdf");
    touch(dir.path() / "report.pdf");
    CHECK(unique_destination(dir.path(), "report.pdf") == dir.path() / "report (1).pdf");
    touch(dir.path() / "report (1).pdf");
    touch(dir.path() / "report (2).pdf");
    CHECK(unique_destination(dir.path(), "report.pdf") == dir.path() / "report (3).pdf");
    // Unrelated files do not matter.
    CHECK(unique_destination(dir.path(), "other.pdf") == dir.path() / "other.pdf");
}

TEST_CASE("unique_destination puts the number before the last extension") {
    confab::test::temp_dir dir;
    touch(dir.path() / "archive.tar.gz");
    CHECK(unique_destination(dir.path(), "archive.tar.gz") == dir.path() / "archive.tar (1).gz");
    touch(dir.path() / "README");
    CHECK(unique_destination(dir.path(), "README") == dir.path() / "README (1)");
    // A leading dot is not an extension.
    touch(dir.path() / ".profile");
    CHECK(unique_destination(dir.path(), ".profile") == dir.path() / ".profile (1)");
}

TEST_CASE("unique_destination treats folders and dangling symlinks as taken") {
    confab::test::temp_dir dir;
    std::filesystem::create_directory(dir.path() / "photos");
    CHECK(unique_destination(dir.path(), "photos") == dir.path() / "photos (1)");
    std::filesystem::create_symlink(dir.path() / "nowhere", dir.path() / "link.txt");
    CHECK(unique_destination(dir.path(), "link.txt") == dir.path() / "link (1).txt");
}

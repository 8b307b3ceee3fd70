#include <catch2/catch.hpp>

#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include <sys/resource.h>

#include "core/message_id.hpp"
#include "core/partial_download.hpp"
#include "core/sha256.hpp"
#include "tests/support/temp_dir.hpp"

using confab::core::incoming_file;
using confab::core::part_file_name;
using confab::core::partial_download;
using confab::core::sha256_hex;

namespace {

namespace fs = std::filesystem;

std::string pattern(std::size_t size, unsigned seed = 1) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + seed * 7) & 0xff);
    return out;
}

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write(const fs::path& path, const std::string& contents) {
    std::ofstream(path, std::ios::binary) << contents;
}

incoming_file offer(const std::string& name, const std::string& contents,
                    std::string id = "transfer-1") {
    return {std::move(id), name, contents.size(), sha256_hex(contents)};
}

// The part file a download of `file` uses in `dir`, computed the way the engine would.
fs::path part_of(const fs::path& dir, const std::string& sanitized, const incoming_file& file) {
    return dir / part_file_name(sanitized, file.transfer_id);
}

partial_download open_ok(const fs::path& dir, const incoming_file& file,
                         const std::atomic<bool>* cancel = nullptr) {
    auto opened = partial_download::open(dir, file, cancel);
    INFO(opened.error);
    REQUIRE(opened.download);
    CHECK(opened.error.empty());
    return std::move(*opened.download);
}

std::set<std::string> files_in(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
    return names;
}

// Lowers the file size limit for the scope so that writes fail with EFBIG, as they would on
// a full disk, without needing one. SIGXFSZ would kill the process instead: ignore it.
class file_size_limit {
public:
    explicit file_size_limit(rlim_t bytes) {
        ::getrlimit(RLIMIT_FSIZE, &old_);
        old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        rlimit lowered = old_;
        lowered.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &lowered);
    }
    ~file_size_limit() {
        ::setrlimit(RLIMIT_FSIZE, &old_);
        std::signal(SIGXFSZ, old_handler_);
    }
    file_size_limit(const file_size_limit&) = delete;
    file_size_limit& operator=(const file_size_limit&) = delete;

private:
    rlimit old_{};
    void (*old_handler_)(int) = nullptr;
};

}  // namespace

TEST_CASE("part_file_name is per transfer and safe whatever the id") {
    std::string a = part_file_name("photo.jpg", "transfer-1");
    std::string b = part_file_name("photo.jpg", "transfer-2");
    CHECK(a != b);
    CHECK(a == part_file_name("photo.jpg", "transfer-1"));
    CHECK(a.starts_with("photo.jpg."));
    CHECK(a.ends_with(".part"));
    CHECK(a.size() == std::string("photo.jpg.").size() + 8 + 5);
    std::string odd = part_file_name("x", "../../../etc/passwd\n");
    CHECK(odd.find('/') == std::string::npos);
    CHECK(odd.find('\n') == std::string::npos);
    CHECK(part_file_name("x", "") != part_file_name("x", "0"));
}

TEST_CASE("a download written in pieces lands under its name and leaves no part file") {
    confab::test::temp_dir dir;
    std::string contents = pattern(300'000);
    auto file = offer("report.pdf", contents);
    auto download = open_ok(dir.path(), file);
    CHECK(download.resumed_from() == 0);
    CHECK(download.received() == 0);
    CHECK(download.expected_size() == contents.size());
    CHECK(download.name() == "report.pdf");
    CHECK(download.part_path() == part_of(dir.path(), "report.pdf", file));
    CHECK(fs::exists(download.part_path()));

    for (std::size_t at = 0; at < contents.size(); at += 65'536) {
        REQUIRE(download.append(std::string_view(contents).substr(at, 65'536)) == "");
    }
    CHECK(download.received() == contents.size());
    auto result = download.finish();
    INFO(result.error);
    REQUIRE(result.ok);
    CHECK(result.error.empty());
    CHECK(result.path == dir.path() / "report.pdf");
    CHECK(read(result.path) == contents);
    CHECK(files_in(dir.path()) == std::set<std::string>{"report.pdf"});
    CHECK_FALSE(download.is_open());
}

TEST_CASE("an empty file is received too") {
    confab::test::temp_dir dir;
    auto download = open_ok(dir.path(), offer("empty.txt", ""));
    auto result = download.finish();
    REQUIRE(result.ok);
    CHECK(fs::file_size(result.path) == 0);
}

TEST_CASE("the downloads folder is created when missing") {
    confab::test::temp_dir dir;
    auto downloads = dir.path() / "Downloads" / "confab";
    auto download = open_ok(downloads, offer("a.txt", "abc"));
    REQUIRE(download.append("abc") == "");
    auto result = download.finish();
    REQUIRE(result.ok);
    CHECK(result.path == downloads / "a.txt");
}

TEST_CASE("a download resumes from the bytes an earlier part file holds") {
    confab::test::temp_dir dir;
    std::string contents = pattern(2'500'000);  // more than one re-hash chunk
    auto file = offer("video.mp4", contents);
    std::size_t half = 1'300'001;
    write(part_of(dir.path(), "video.mp4", file), contents.substr(0, half));

    auto download = open_ok(dir.path(), file);
    CHECK(download.resumed_from() == half);
    CHECK(download.received() == half);
    REQUIRE(download.append(std::string_view(contents).substr(half)) == "");
    auto result = download.finish();
    INFO(result.error);
    REQUIRE(result.ok);
    CHECK(read(result.path) == contents);
    CHECK(files_in(dir.path()) == std::set<std::string>{"video.mp4"});
}

TEST_CASE("an abandoned download keeps its part file and resumes from it") {
    confab::test::temp_dir dir;
    std::string contents = pattern(10'000);
    auto file = offer("notes.txt", contents);
    fs::path part;
    {
        auto download = open_ok(dir.path(), file);
        part = download.part_path();
        REQUIRE(download.append(std::string_view(contents).substr(0, 4'000)) == "");
        download.abandon();
        CHECK_FALSE(download.is_open());
        download.abandon();  // a no-op once closed
    }
    CHECK(fs::file_size(part) == 4'000);
    {
        // Going out of scope open abandons too.
        auto download = open_ok(dir.path(), file);
        CHECK(download.resumed_from() == 4'000);
        REQUIRE(download.append(std::string_view(contents).substr(4'000, 1'000)) == "");
    }
    CHECK(fs::file_size(part) == 5'000);
    auto download = open_ok(dir.path(), file);
    CHECK(download.resumed_from() == 5'000);
    REQUIRE(download.append(std::string_view(contents).substr(5'000)) == "");
    auto result = download.finish();
    REQUIRE(result.ok);
    CHECK(read(result.path) == contents);
}

TEST_CASE("a part file complete already only needs finishing") {
    confab::test::temp_dir dir;
    std::string contents = pattern(5'000);
    auto file = offer("done.bin", contents);
    write(part_of(dir.path(), "done.bin", file), contents);
    auto download = open_ok(dir.path(), file);
    CHECK(download.resumed_from() == contents.size());
    auto result = download.finish();
    REQUIRE(result.ok);
    CHECK(read(result.path) == contents);
}

TEST_CASE("tampered bytes are rejected and the part file deleted") {
    confab::test::temp_dir dir;
    std::string contents = pattern(50'000);
    auto file = offer("data.bin", contents);

    SECTION("tampered on the wire") {
        std::string tampered = contents;
        tampered[12'345] ^= 0x01;
        auto download = open_ok(dir.path(), file);
        REQUIRE(download.append(tampered) == "");
        auto result = download.finish();
        CHECK_FALSE(result.ok);
        CHECK(result.path.empty());
        CHECK(result.error ==
              "SHA-256 mismatch: got " + sha256_hex(tampered) + ", expected " + file.sha256);
    }
    SECTION("tampered in the part file before a resume") {
        std::string prefix = contents.substr(0, 20'000);
        prefix[7] ^= 0x40;
        write(part_of(dir.path(), "data.bin", file), prefix);
        auto download = open_ok(dir.path(), file);
        CHECK(download.resumed_from() == 20'000);
        REQUIRE(download.append(std::string_view(contents).substr(20'000)) == "");
        auto result = download.finish();
        CHECK_FALSE(result.ok);
        CHECK(result.error.starts_with("SHA-256 mismatch: got "));
    }
    CHECK(files_in(dir.path()).empty());
}

TEST_CASE("a truncated download is rejected and the part file deleted") {
    confab::test::temp_dir dir;
    std::string contents = pattern(50'000);
    auto file = offer("data.bin", contents);
    auto download = open_ok(dir.path(), file);
    REQUIRE(download.append(std::string_view(contents).substr(0, 49'999)) == "");
    auto result = download.finish();
    CHECK_FALSE(result.ok);
    CHECK(result.error == "size mismatch: got 49999 bytes, expected 50000");
    CHECK(files_in(dir.path()).empty());
    CHECK_FALSE(download.is_open());
    CHECK_THROWS_AS(download.finish(), std::logic_error);
    CHECK_THROWS_AS((void)download.append("x"), std::logic_error);
}

TEST_CASE("bytes past the offered size are refused, not written") {
    confab::test::temp_dir dir;
    auto file = offer("small.txt", "hello");
    auto download = open_ok(dir.path(), file);
    REQUIRE(download.append("hel") == "");
    CHECK(download.append("lo!") == "the sender sent more than the 5 bytes it offered");
    CHECK(download.received() == 3);
    CHECK(fs::file_size(download.part_path()) == 3);
    // What did fit is still good.
    REQUIRE(download.append("lo") == "");
    CHECK(download.append("") == "");
    CHECK(download.append("!") != "");
    auto result = download.finish();
    REQUIRE(result.ok);
    CHECK(read(result.path) == "hello");
}

TEST_CASE("a part file bigger than the offered file is started over") {
    confab::test::temp_dir dir;
    std::string contents = pattern(1'000);
    auto file = offer("x.bin", contents);
    auto part = part_of(dir.path(), "x.bin", file);
    write(part, pattern(1'001, 9));
    auto download = open_ok(dir.path(), file);
    CHECK(download.resumed_from() == 0);
    CHECK(fs::file_size(part) == 0);
    REQUIRE(download.append(contents) == "");
    auto result = download.finish();
    REQUIRE(result.ok);
    CHECK(read(result.path) == contents);
}

TEST_CASE("a name with ../ lands inside the downloads folder") {
    confab::test::temp_dir root;
    auto downloads = root.path() / "downloads";
    fs::create_directories(root.path() / "etc");
    for (std::string name : {"../../etc/passwd", "../etc/passwd", "/etc/passwd",
                             "..\\..\\etc\\passwd", "..", ".passwd"}) {
        INFO(name);
        std::string contents = "root:x:0:0:" + name;
        auto download = open_ok(downloads, offer(name, contents, "id " + name));
        CHECK(download.part_path().parent_path() == downloads);
        REQUIRE(download.append(contents) == "");
        auto result = download.finish();
        REQUIRE(result.ok);
        CHECK(result.path.parent_path() == downloads);
        CHECK(read(result.path) == contents);
    }
    CHECK(files_in(downloads) == std::set<std::string>{"passwd", "passwd (1)", "passwd (2)",
                                                       "passwd (3)", "file", "passwd (4)"});
    CHECK(files_in(root.path() / "etc").empty());
    CHECK(files_in(root.path()) == std::set<std::string>{"downloads", "etc"});
}

TEST_CASE("an existing file is never overwritten") {
    confab::test::temp_dir dir;
    write(dir.path() / "report.pdf", "the user's own report");
    write(dir.path() / "report (1).pdf", "an earlier download");
    std::string contents = pattern(1'234);
    auto download = open_ok(dir.path(), offer("report.pdf", contents));
    REQUIRE(download.append(contents) == "");
    auto result = download.finish();
    REQUIRE(result.ok);
    CHECK(result.path == dir.path() / "report (2).pdf");
    CHECK(read(result.path) == contents);
    CHECK(read(dir.path() / "report.pdf") == "the user's own report");
    CHECK(read(dir.path() / "report (1).pdf") == "an earlier download");
}

TEST_CASE("two transfers of one name use two part files and two final names") {
    confab::test::temp_dir dir;
    std::string first = pattern(3'000, 1);
    std::string second = pattern(4'000, 2);
    auto a = open_ok(dir.path(), offer("same.txt", first, "id-a"));
    auto b = open_ok(dir.path(), offer("same.txt", second, "id-b"));
    CHECK(a.part_path() != b.part_path());
    REQUIRE(a.append(std::string_view(first).substr(0, 1'000)) == "");
    REQUIRE(b.append(second) == "");
    REQUIRE(a.append(std::string_view(first).substr(1'000)) == "");
    auto done_b = b.finish();
    auto done_a = a.finish();
    REQUIRE(done_a.ok);
    REQUIRE(done_b.ok);
    CHECK(done_b.path == dir.path() / "same.txt");
    CHECK(done_a.path == dir.path() / "same (1).txt");
    CHECK(read(done_a.path) == first);
    CHECK(read(done_b.path) == second);
}

TEST_CASE("one transfer cannot be opened twice at once") {
    confab::test::temp_dir dir;
    auto file = offer("once.txt", "abc");
    auto first = open_ok(dir.path(), file);
    auto second = partial_download::open(dir.path(), file);
    CHECK_FALSE(second.download);
    CHECK(second.error == "another download is writing " + first.part_path().string());
    first.abandon();
    auto third = open_ok(dir.path(), file);
    CHECK(third.is_open());
}

TEST_CASE("discard deletes the part file") {
    confab::test::temp_dir dir;
    auto download = open_ok(dir.path(), offer("gone.txt", "abcdef"));
    REQUIRE(download.append("abc") == "");
    download.discard();
    CHECK_FALSE(download.is_open());
    download.discard();
    CHECK(files_in(dir.path()).empty());
}

TEST_CASE("a moved download keeps working") {
    confab::test::temp_dir dir;
    auto download = open_ok(dir.path(), offer("moved.txt", "abcdef"));
    REQUIRE(download.append("abc") == "");
    partial_download other = std::move(download);
    CHECK_FALSE(download.is_open());  // NOLINT(bugprone-use-after-move)
    REQUIRE(other.append("def") == "");
    auto result = other.finish();
    REQUIRE(result.ok);
    CHECK(read(result.path) == "abcdef");
}

TEST_CASE("an offer whose hash is not SHA-256 hex is refused") {
    confab::test::temp_dir dir;
    auto file = offer("x.txt", "abc");
    for (std::string bad : {std::string(""), std::string(63, 'a'), std::string(65, 'a'),
                            std::string(63, 'a') + "g", std::string(63, 'a') + "/"}) {
        file.sha256 = bad;
        auto opened = partial_download::open(dir.path(), file);
        CHECK_FALSE(opened.download);
        CHECK(opened.error == "the offer's SHA-256 is not 64 hex digits");
    }
    CHECK(files_in(dir.path()).empty());
}

TEST_CASE("an offer's hash in upper case is accepted") {
    confab::test::temp_dir dir;
    auto file = offer("upper.txt", "abc");
    for (char& c : file.sha256) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto download = open_ok(dir.path(), file);
    REQUIRE(download.append("abc") == "");
    CHECK(download.finish().ok);
}

TEST_CASE("an offer bigger than the free space is refused as disk full") {
    confab::test::temp_dir dir;
    incoming_file file{"huge", "huge.iso", std::uint64_t{1} << 62, std::string(64, '0')};
    auto opened = partial_download::open(dir.path(), file);
    CHECK_FALSE(opened.download);
    CHECK(opened.error.starts_with("disk full: "));
    CHECK(opened.error.find(std::to_string(std::uint64_t{1} << 62)) != std::string::npos);
    CHECK(files_in(dir.path()).empty());
}

TEST_CASE("a failing write is an error value, not a crash") {
    confab::test::temp_dir dir;
    std::string contents = pattern(100'000);
    auto download = open_ok(dir.path(), offer("limited.bin", contents));
    std::string error;
    {
        file_size_limit limit(40'000);
        error = download.append(contents);
    }
    CHECK(error.starts_with("cannot write " + download.part_path().string() + ": "));
    // Hash and file agree on the bytes that did reach the disk, so a resume is sound.
    CHECK(download.received() == fs::file_size(download.part_path()));
    CHECK(download.received() <= 40'000);
    std::uint64_t kept = download.received();
    download.abandon();
    auto resumed = open_ok(dir.path(), offer("limited.bin", contents));
    CHECK(resumed.resumed_from() == kept);
    REQUIRE(resumed.append(std::string_view(contents).substr(kept)) == "");
    auto result = resumed.finish();
    REQUIRE(result.ok);
    CHECK(read(result.path) == contents);
}

TEST_CASE("a symlink at the part path is never followed") {
    confab::test::temp_dir dir;
    auto outside = dir.path() / "outside.txt";
    write(outside, "precious");
    auto downloads = dir.path() / "downloads";
    fs::create_directories(downloads);
    auto file = offer("evil.txt", "overwrite");
    fs::create_symlink(outside, part_of(downloads, "evil.txt", file));
    auto opened = partial_download::open(downloads, file);
    CHECK_FALSE(opened.download);
    CHECK(opened.error.starts_with("cannot open "));
    CHECK(read(outside) == "precious");
}

TEST_CASE("re-hashing a part file stops when cancelled and keeps the file") {
    confab::test::temp_dir dir;
    std::string contents = pattern(3'000'000);
    auto file = offer("slow.bin", contents);
    auto part = part_of(dir.path(), "slow.bin", file);
    write(part, contents.substr(0, 2'500'000));
    std::atomic<bool> cancel{true};
    auto opened = partial_download::open(dir.path(), file, &cancel);
    CHECK_FALSE(opened.download);
    CHECK(opened.error == "cancelled");
    CHECK(fs::file_size(part) == 2'500'000);
    // Not yet cancelled, it resumes.
    cancel = false;
    auto download = open_ok(dir.path(), file, &cancel);
    CHECK(download.resumed_from() == 2'500'000);
}

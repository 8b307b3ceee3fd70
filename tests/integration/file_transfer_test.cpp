// File transfer between real processes: a large file arrives byte-identical, an interrupted
// transfer resumes, tampered and hostile offers are refused, chat keeps flowing meanwhile, and
// the commands around it (/send, /accept, /reject, /cancel) do what they say.

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/support/fake_peer.hpp"
#include "tests/support/peer_process.hpp"
#include "tests/support/tls_connection.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wire.hpp"

using namespace confab::test;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

// `size` bytes of random data (fast: a 64-bit generator, written in 1 MiB blocks).
void write_random_file(const fs::path& path, std::uint64_t size, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    REQUIRE(out);
    std::vector<std::uint64_t> block(MiB / 8);
    for (std::uint64_t done = 0; done < size;) {
        for (auto& w : block) w = rng();
        auto n = std::min<std::uint64_t>(MiB, size - done);
        out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
        done += n;
    }
    REQUIRE(out.good());
}

// SHA-256 by coreutils: independent of the implementation under test.
std::string sha256_of(const fs::path& path) {
    std::string cmd = "sha256sum '" + path.string() + "'";
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[128] = {};
    std::string out;
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
    return out.substr(0, 64);
}

bool same_bytes(const fs::path& a, const fs::path& b) {
    std::ifstream x(a, std::ios::binary), y(b, std::ios::binary);
    if (!x || !y || fs::file_size(a) != fs::file_size(b)) return false;
    std::vector<char> bx(MiB), by(MiB);
    while (x && y) {
        x.read(bx.data(), static_cast<std::streamsize>(bx.size()));
        y.read(by.data(), static_cast<std::streamsize>(by.size()));
        if (x.gcount() != y.gcount()) return false;
        if (!std::equal(bx.begin(), bx.begin() + x.gcount(), by.begin())) return false;
    }
    return true;
}

// Every entry of a folder, by name (for "nothing was created" checks).
std::vector<std::string> entries(const fs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
}

bool has_part_file(const fs::path& dir) {
    auto all = entries(dir);
    return std::any_of(all.begin(), all.end(),
                       [](const std::string& n) { return n.ends_with(".part"); });
}

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return "[" + s + "]";
}

event_predicate is_file_event(std::string name, std::string transfer) {
    return [name = std::move(name), transfer = std::move(transfer)](const event& e) {
        return e.name() == name && e.str("transfer") == transfer;
    };
}

event_predicate is_progress_at_least(std::string transfer, std::uint64_t bytes) {
    return [transfer = std::move(transfer), bytes](const event& e) {
        return e.name() == "file_progress" && e.str("transfer") == transfer &&
               e.json.value("bytes", std::uint64_t{0}) >= bytes;
    };
}

event_predicate is_error_or_failure() {
    return [](const event& e) { return e.name() == "error" || e.name() == "file_failed"; };
}

std::uint64_t u64(const event& e, const char* key) {
    return e.json.value(key, std::uint64_t{0});
}

double seconds(test_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

// Offers `path` from `sender` (to `nick` when given) and returns the sender's own file_offer.
event offer(peer_process& sender, const fs::path& path, const std::string& nick = "") {
    std::size_t from = sender.events().size();
    sender.send_line("/send " + path.string() + (nick.empty() ? "" : " " + nick));
    auto is_own_offer = [](const event& e) {
        return (e.name() == "file_offer" && e.json.value("own", false)) || e.name() == "error";
    };
    auto e = sender.wait_for(is_own_offer, 20s, "own file_offer after /send", from);
    INFO(e.json.dump());
    REQUIRE(e.name() == "file_offer");
    return e;
}

// Waits until pred() holds, polling the processes' stdout meanwhile; for conditions on the
// file system, which no event announces. Short poll turns, bounded by `timeout`.
bool wait_until(std::vector<peer_process*> procs, const std::function<bool()>& pred,
                test_clock::duration timeout) {
    auto deadline = test_clock::now() + timeout;
    while (!pred()) {
        if (test_clock::now() >= deadline) return false;
        poll_many(procs, 20ms);
    }
    return true;
}

// A sender and a receiver; extra flags for each.
struct two_peers {
    std::unique_ptr<peer_process> alice;
    std::unique_ptr<peer_process> bob;

    two_peers(std::vector<std::string> alice_args, std::vector<std::string> bob_args) {
        peer_options oa;
        oa.nick = "alice";
        oa.log_level = "info";
        oa.extra_args = std::move(alice_args);
        alice = start_peer(oa);
        peer_options ob;
        ob.nick = "bob";
        ob.log_level = "info";
        ob.joins = {alice->listen()};
        ob.extra_args = std::move(bob_args);
        bob = start_peer(ob);
        alice->wait_for(is_peer_up(bob->peer_id()), 5s, "peer_up for bob");
        bob->wait_for(is_peer_up(alice->peer_id()), 5s, "peer_up for alice");
    }
    fs::path downloads() const { return bob->dir() / "downloads"; }
};

// ---- a fake peer speaking the protocol, for offers no honest sender makes ----

std::string random_hex(std::size_t n) {
    std::mt19937 rng(std::random_device{}());
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s.push_back("0123456789abcdef"[rng() % 16]);
    return s;
}

// A file service that answers one fetch of `transfer` with `content` (whatever the offer
// said), on its own thread; the test thread keeps reading the peers' stdout meanwhile.
class fake_file_service {
public:
    // `key`: the fake sender's, which the receiver checks against the offer's author.
    fake_file_service(const confab::core::identity& key, std::string transfer, std::string content)
        : key_(key), transfer_(std::move(transfer)), content_(std::move(content)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd_, 4) == 0);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve_one(); });
    }
    ~fake_file_service() {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
    }
    std::uint16_t port() const { return port_; }
    // The fetch request it got ("" if none), read after the receiver reported the end.
    std::string request() const { return request_; }

private:
    void serve_one() {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 15000) != 1) return;
        int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) return;
        auto c = tls_connection::accept(fd, key_);
        if (!c.ok()) return;
        request_ = c.next_frame(10s).value_or("");
        auto req = nlohmann::json::parse(request_, nullptr, false);
        std::uint64_t offset = req.is_object() ? req.value("offset", std::uint64_t{0}) : 0;
        offset = std::min<std::uint64_t>(offset, content_.size());
        nlohmann::json ok = {{"type", "fetch_ok"},
                             {"transfer", transfer_},
                             {"offset", offset},
                             {"size", content_.size()}};
        if (c.send(frame(ok.dump()) + content_.substr(offset), 10s)) c.shutdown_send();
        // Wait for the receiver to close, so it reads everything before we do.
        c.wait_closed(10s);
    }

    const confab::core::identity& key_;
    std::string transfer_;
    std::string content_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::string request_;
    std::thread thread_;
};

// Floods, as `mallory`, one signed file_offer envelope naming `name`, served by
// `service_port`: an offer no honest sender would make.
void send_offer(fake_peer& mallory, const std::string& transfer, const std::string& name,
                const std::string& content, const std::string& sha256, std::uint16_t service_port) {
    nlohmann::json env = mallory.envelope("offers a file: " + name);
    env["kind"] = "file_offer";
    env["file"] = {{"id", transfer},   {"name", name},         {"size", content.size()},
                   {"sha256", sha256}, {"port", service_port}, {"hosts", {"127.0.0.1"}}};
    REQUIRE(mallory.send_chat(mallory.sign(env)));
}

std::string sha256_of_string(const std::string& s, const fs::path& scratch) {
    std::ofstream(scratch, std::ios::binary) << s;
    return sha256_of(scratch);
}

}  // namespace

// ---- 1 ----

TEST_CASE("a 64 MiB random file arrives byte-identical, with offer, progress and done events",
          "[integration][files]") {
    temp_dir src;
    const fs::path file = src.path() / "random.bin";
    const std::uint64_t size = 64 * MiB;
    write_random_file(file, size, 1);
    const std::string want = sha256_of(file);

    two_peers p({}, {"--accept-files"});
    auto own = offer(*p.alice, file);
    const std::string id = own.str("transfer");
    CHECK(own.str("sha256") == want);
    CHECK(u64(own, "size") == size);

    auto off = p.bob->wait_for(is_file_event("file_offer", id), 5s, "bob's file_offer");
    CHECK(off.str("name") == "random.bin");
    CHECK(u64(off, "size") == size);
    CHECK(off.str("sha256") == want);
    CHECK(off.str("from") == "alice");
    CHECK(off.str("peer_id") == p.alice->peer_id());
    CHECK_FALSE(off.json.value("own", true));

    auto got = p.bob->wait_for(is_file_event("file_received", id), 30s, "bob's file_received");
    auto sent = p.alice->wait_for(is_file_event("file_sent", id), 10s, "alice's file_sent");
    INFO(got.json.dump() << "\n" << sent.json.dump());

    const fs::path path = got.str("path");
    CHECK(fs::canonical(path).parent_path() == fs::canonical(p.downloads()));
    CHECK(path.filename() == "random.bin");
    CHECK(u64(got, "size") == size);
    CHECK(got.str("sha256") == want);
    CHECK(sha256_of(path) == want);
    CHECK(same_bytes(path, file));
    CHECK_FALSE(has_part_file(p.downloads()));
    CHECK(sent.str("to") == "bob");
    CHECK(u64(sent, "bytes") == size);
    CHECK(u64(sent, "size") == size);
    CHECK(p.bob->count(is_event("file_failed")) == 0);
    CHECK(p.bob->count(is_event("error")) == 0);

    // At most about ten progress events a second, counted over offer -> received.
    std::size_t progress = p.bob->count(is_file_event("file_progress", id));
    double elapsed = seconds(got.at - off.at);
    INFO("progress events: " << progress << " in " << elapsed << " s");
    CHECK(progress >= 1);
    CHECK(static_cast<double>(progress) <= 10 * elapsed + 2);
    // Progress never goes backwards and never passes the size.
    std::uint64_t last = 0;
    for (const auto& e : p.bob->events()) {
        if (e.name() != "file_progress" || e.str("transfer") != id) continue;
        CHECK(u64(e, "bytes") >= last);
        CHECK(u64(e, "bytes") <= size);
        CHECK(u64(e, "size") == size);
        last = u64(e, "bytes");
    }
}

// ---- 2 ----

// Sender restarted with the same data dir and port must serve the offer again; the receiver
// resumes from its part file.
TEST_CASE("a transfer whose sender was killed half-way resumes and sends only the rest",
          "[integration][files]") {
    // The file service comes back on the port of the last run (saved in transfers.json), so
    // the receiver's stored offer still points at it.
    temp_dir src, alice_data;
    const fs::path file = src.path() / "resume.bin";
    const std::uint64_t size = 24 * MiB;
    write_random_file(file, size, 2);
    const std::vector<std::string> alice_args = {
        "--data-dir", (alice_data.path() / "data").string(), "--upload-limit", "8M"};
    seed_shared_secret(alice_data.path() / "data", "lobby");

    two_peers p(alice_args, {"--accept-files"});
    const std::string alice_listen = p.alice->listen();
    const std::string alice_id = p.alice->peer_id();
    const std::string id = offer(*p.alice, file).str("transfer");
    auto prog = p.bob->wait_for(is_progress_at_least(id, size * 4 / 10), 20s, "40% progress");
    p.alice->kill(SIGKILL);
    REQUIRE(p.alice->wait_exit(5s).has_value());
    auto cut = p.bob->wait_for(is_file_event("file_failed", id), 10s, "file_failed after kill");
    INFO(cut.json.dump());
    CHECK(cut.json.value("resumable", false));
    CHECK(has_part_file(p.downloads()));
    CHECK(p.bob->count(is_event("file_received")) == 0);

    // The same peer again: same identity, data dir (offers) and address.
    peer_options oa;
    oa.nick = "alice";
    oa.log_level = "info";
    oa.listen = alice_listen;
    oa.extra_args = alice_args;
    auto alice2 = start_peer(oa);
    REQUIRE(alice2->peer_id() == alice_id);
    std::vector<peer_process*> both = {alice2.get(), p.bob.get()};
    std::size_t bob_from = p.bob->events().size();
    // Either side may redial; bob sees alice come up again.
    bool up = poll_until(both, [&] {
        return p.bob->count(is_peer_up(alice_id)) >= 2;
    }, 20s);
    INFO("after the restart:\n" << p.bob->describe() << "\n----- alice2\n" << alice2->describe());
    REQUIRE(up);
    auto done = p.bob->try_wait_for(is_file_event("file_received", id), 30s, bob_from);
    INFO("30 s later:\n" << p.bob->describe() << "\n----- alice2\n" << alice2->describe());
    REQUIRE(done.has_value());
    auto sent = alice2->wait_for(is_file_event("file_sent", id), 10s, "alice's file_sent");
    INFO(sent.json.dump() << " (40% mark was " << u64(prog, "bytes") << ")");
    CHECK(u64(sent, "bytes") < size);
    CHECK(u64(sent, "bytes") <= size - u64(prog, "bytes"));
    CHECK(sha256_of(done->str("path")) == sha256_of(file));
    CHECK(same_bytes(done->str("path"), file));
    CHECK_FALSE(has_part_file(p.downloads()));
}

TEST_CASE("a transfer whose receiver was killed half-way resumes from its part file",
          "[integration][files]") {
    temp_dir src, bob_dirs;
    const fs::path file = src.path() / "resume.bin";
    const std::uint64_t size = 24 * MiB;
    write_random_file(file, size, 3);
    const fs::path downloads = bob_dirs.path() / "downloads";
    const std::vector<std::string> bob_args = {
        "--accept-files", "--data-dir", (bob_dirs.path() / "data").string(), "--downloads",
        downloads.string()};
    seed_shared_secret(bob_dirs.path() / "data", "lobby");

    two_peers p({"--upload-limit", "8M"}, bob_args);
    const std::string bob_id = p.bob->peer_id();
    const std::string id = offer(*p.alice, file).str("transfer");
    auto prog = p.bob->wait_for(is_progress_at_least(id, size * 4 / 10), 20s, "40% progress");
    p.bob->kill(SIGKILL);
    REQUIRE(p.bob->wait_exit(5s).has_value());
    CHECK(has_part_file(downloads));
    std::uint64_t part_size = 0;
    for (const auto& e : fs::directory_iterator(downloads))
        if (e.path().extension() == ".part") part_size = fs::file_size(e.path());
    INFO("part file holds " << part_size << " bytes; the 40% mark was " << u64(prog, "bytes"));
    CHECK(part_size >= u64(prog, "bytes"));

    peer_options ob;
    ob.nick = "bob";
    ob.log_level = "info";
    ob.joins = {p.alice->listen()};
    ob.extra_args = bob_args;
    std::size_t alice_from = p.alice->events().size();
    auto bob2 = start_peer(ob);
    REQUIRE(bob2->peer_id() == bob_id);
    std::vector<peer_process*> both = {p.alice.get(), bob2.get()};
    auto done = bob2->try_wait_for(is_file_event("file_received", id), 30s);
    INFO(bob2->describe() << "\n----- alice\n" << p.alice->describe());
    REQUIRE(done.has_value());
    auto sent = p.alice->wait_for(is_file_event("file_sent", id), 10s, "alice's file_sent",
                                  alice_from);
    INFO(sent.json.dump());
    CHECK(u64(sent, "bytes") < size);
    CHECK(u64(sent, "bytes") == size - part_size);
    CHECK(same_bytes(done->str("path"), file));
    CHECK(sha256_of(done->str("path")) == sha256_of(file));
    CHECK_FALSE(has_part_file(downloads));
    (void)both;
}

// ---- 3 ----

TEST_CASE("a file changed or truncated on the sender's disk after the offer is rejected",
          "[integration][files]") {
    temp_dir src;
    const fs::path file = src.path() / "doc.bin";
    const std::uint64_t size = 4 * MiB;
    write_random_file(file, size, 4);

    // bob accepts by hand, after the tampering.
    two_peers p({}, {});
    const std::string id = offer(*p.alice, file).str("transfer");
    p.bob->wait_for(is_file_event("file_offer", id), 5s, "bob's file_offer");

    SECTION("same size, different bytes") {
        write_random_file(file, size, 5);
    }
    SECTION("same size, different bytes, modification time put back") {
        // Defeats the sender's stat check: the receiver's hash must catch it.
        struct stat before {};
        REQUIRE(::stat(file.c_str(), &before) == 0);
        {
            std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
            f.seekp(static_cast<std::streamoff>(size / 2));
            f.write("tampered!", 9);
        }
        timespec times[2] = {before.st_atim, before.st_mtim};
        REQUIRE(::utimensat(AT_FDCWD, file.c_str(), times, 0) == 0);
    }
    SECTION("truncated") {
        fs::resize_file(file, size / 2);
    }

    std::size_t from = p.bob->events().size();
    p.bob->send_line("/accept " + id.substr(0, 8));
    auto failed = p.bob->wait_for(is_file_event("file_failed", id), 15s, "file_failed", from);
    INFO(failed.json.dump() << "\ndownloads: " << joined(entries(p.downloads())));
    CHECK_FALSE(failed.json.value("resumable", true));
    CHECK_FALSE(failed.str("reason").empty());
    CHECK(p.bob->count(is_event("file_received")) == 0);
    CHECK(entries(p.downloads()).empty());
}

TEST_CASE("a file truncated on the sender's disk during the transfer is rejected",
          "[integration][files]") {
    temp_dir src;
    const fs::path file = src.path() / "shrinking.bin";
    const std::uint64_t size = 16 * MiB;
    write_random_file(file, size, 6);

    two_peers p({"--upload-limit", "8M"}, {"--accept-files"});
    const std::string id = offer(*p.alice, file).str("transfer");
    p.bob->wait_for(is_progress_at_least(id, size / 4), 10s, "25% progress");
    fs::resize_file(file, size / 2);
    // The upload ends short of the size (resumable: a connection cut), then the sender
    // refuses the resumed fetch because the file changed: the end is a final failure.
    auto is_final_failure = [&](const event& e) {
        return e.name() == "file_failed" && e.str("transfer") == id &&
               !e.json.value("resumable", true);
    };
    auto failed = p.bob->try_wait_for(is_final_failure, 20s);
    INFO(p.bob->describe() << "\ndownloads: " << joined(entries(p.downloads())));
    REQUIRE(failed.has_value());
    CHECK(p.bob->count(is_event("file_received")) == 0);
    CHECK(wait_until({p.alice.get(), p.bob.get()}, [&] { return entries(p.downloads()).empty(); },
                     5s));
}

TEST_CASE("a file whose bytes do not match the offered SHA-256 is deleted, never renamed",
          "[integration][files]") {
    // A fake sender that serves other bytes than it offered: only the receiver's hash check
    // stands between them and the downloads folder.
    peer_options ob;
    ob.nick = "bob";
    ob.extra_args = {"--accept-files"};
    auto bob = start_peer(ob);
    fake_peer mallory(*bob);
    temp_dir scratch;
    const std::string offered(100000, 'a');
    const std::string served(100000, 'b');
    const std::string transfer = random_hex(32);
    fake_file_service service(mallory.identity(), transfer, served);
    send_offer(mallory, transfer, "lies.txt", offered,
               sha256_of_string(offered, scratch.path() / "x"), service.port());
    auto failed = bob->wait_for(is_file_event("file_failed", transfer), 15s, "file_failed");
    INFO(failed.json.dump());
    CHECK_FALSE(failed.json.value("resumable", true));
    CHECK(bob->count(is_event("file_received")) == 0);
    CHECK(entries(bob->dir() / "downloads").empty());
}

// ---- 4 ----

TEST_CASE("a hostile file name from the wire lands inside the downloads folder",
          "[integration][files]") {
    peer_options ob;
    ob.nick = "bob";
    ob.extra_args = {"--accept-files"};
    auto bob = start_peer(ob);
    fake_peer mallory(*bob);
    temp_dir scratch;
    const fs::path downloads = bob->dir() / "downloads";

    const std::string tag = random_hex(8);
    std::string name;
    std::string expect;  // the sanitised name, when we know it
    SECTION("../../evil") {
        name = "../../evil-" + tag;
        expect = "evil-" + tag;
    }
    SECTION("a/../../b.txt") {
        name = "a/../../b-" + tag + ".txt";
        expect = "b-" + tag + ".txt";
    }
    SECTION("an absolute path") {
        name = "/tmp/abs-" + tag;
        expect = "abs-" + tag;
    }
    SECTION("backslashes, a leading dot and control characters") {
        name = "..\\..\\.hidden\x01\x1b-" + tag;
    }
    SECTION("only dots") {
        name = "..";
    }

    const std::string content = "payload " + tag + "\n";
    const std::string transfer = random_hex(32);
    fake_file_service service(mallory.identity(), transfer, content);
    send_offer(mallory, transfer, name, content, sha256_of_string(content, scratch.path() / "x"),
               service.port());
    auto end = bob->wait_for(
        [&](const event& e) {
            return (e.name() == "file_received" || e.name() == "file_failed") &&
                   e.str("transfer") == transfer;
        },
        15s, "file_received for the hostile name");
    INFO("name on the wire: " << nlohmann::json(name).dump() << "\n" << end.json.dump()
                              << "\ndownloads: " << joined(entries(downloads)));
    REQUIRE(end.name() == "file_received");
    const fs::path path = end.str("path");
    CHECK(fs::canonical(path).parent_path() == fs::canonical(downloads));
    const std::string saved = path.filename().string();
    if (!expect.empty()) CHECK(saved == expect);
    CHECK_FALSE(saved.starts_with("."));
    CHECK(saved.find('/') == std::string::npos);
    CHECK(saved.find('\\') == std::string::npos);
    CHECK(std::none_of(saved.begin(), saved.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20; }));
    CHECK(entries(downloads) == std::vector<std::string>{saved});
    std::ifstream in(path, std::ios::binary);
    std::string got((std::istreambuf_iterator<char>(in)), {});
    CHECK(got == content);
    // Nothing escaped to the folders above.
    for (const fs::path& above : {downloads.parent_path(), downloads.parent_path().parent_path()})
        for (const auto& n : entries(above)) CHECK(n.find(tag) == std::string::npos);
}

TEST_CASE("a real sender's file with spaces and unicode in its name arrives under that name",
          "[integration][files]") {
    temp_dir src;
    const fs::path file = src.path() / "ré sumé ✓ (final).txt";
    write_random_file(file, 1000, 7);
    two_peers p({}, {"--accept-files"});
    const std::string id = offer(*p.alice, file).str("transfer");
    auto got = p.bob->wait_for(is_file_event("file_received", id), 10s, "file_received");
    CHECK(fs::path(got.str("path")).filename() == file.filename());
    CHECK(same_bytes(got.str("path"), file));

    // The same file again: a second copy, never an overwrite.
    const std::string id2 = offer(*p.alice, file).str("transfer");
    auto got2 = p.bob->wait_for(is_file_event("file_received", id2), 10s, "second file_received");
    INFO(got2.json.dump());
    CHECK(fs::path(got2.str("path")).filename() == "ré sumé ✓ (final) (1).txt");
    CHECK(same_bytes(got2.str("path"), file));
    CHECK(same_bytes(got.str("path"), file));
}

// ---- 5 ----

TEST_CASE("chat messages keep flowing both ways during a transfer", "[integration][files]") {
    temp_dir src;
    const fs::path file = src.path() / "big.bin";
    const std::uint64_t size = 64 * MiB;
    write_random_file(file, size, 8);

    two_peers p({"--upload-limit", "16M"}, {"--accept-files"});
    const std::string id = offer(*p.alice, file).str("transfer");
    auto first = p.bob->wait_for(is_file_event("file_progress", id), 10s, "first progress");

    std::vector<double> latency_ms;
    for (int i = 0; i < 20; ++i) {
        bool from_alice = i % 2 == 0;
        auto& writer = from_alice ? *p.alice : *p.bob;
        auto& reader = from_alice ? *p.bob : *p.alice;
        std::string text = "during the transfer " + std::to_string(i);
        auto written = test_clock::now();
        writer.send_line(text);
        // The deadline is the check: a chat loop frozen behind the transfer misses it.
        auto e = reader.wait_for(is_message_with_text(text), 1s, text);
        latency_ms.push_back(std::chrono::duration<double, std::milli>(e.at - written).count());
    }
    // The messages really overlapped the transfer.
    CHECK(p.bob->count(is_file_event("file_received", id)) == 0);
    std::sort(latency_ms.begin(), latency_ms.end());
    WARN("chat latency during a 16 MB/s transfer: p50 " << latency_ms[latency_ms.size() / 2]
                                                        << " ms, max " << latency_ms.back()
                                                        << " ms (20 messages)");
    CHECK(latency_ms.back() < 250);

    auto got = p.bob->wait_for(is_file_event("file_received", id), 30s, "file_received");
    CHECK(same_bytes(got.str("path"), file));
    // ~4 s of transfer: about ten progress events a second, not many more.
    std::size_t progress = p.bob->count(is_file_event("file_progress", id));
    double elapsed = seconds(got.at - first.at);
    INFO(progress << " progress events in " << elapsed << " s");
    CHECK(static_cast<double>(progress) <= 10 * elapsed + 3);
    CHECK(static_cast<double>(progress) >= 3 * elapsed);
}

// ---- 6 ----

TEST_CASE("a rejected offer never creates files", "[integration][files]") {
    temp_dir src;
    const fs::path file = src.path() / "unwanted.bin";
    write_random_file(file, 1 * MiB, 9);
    two_peers p({}, {});
    const std::string id = offer(*p.alice, file).str("transfer");
    p.bob->wait_for(is_file_event("file_offer", id), 5s, "bob's file_offer");
    std::size_t from = p.bob->events().size();
    p.bob->send_line("/reject " + id.substr(0, 8));
    auto note = p.bob->wait_for(is_event("notice"), 5s, "notice for /reject", from);
    CHECK(note.str("message").find("rejected") != std::string::npos);
    from = p.bob->events().size();
    p.bob->send_line("/files");
    auto files = p.bob->wait_for(is_event("files"), 5s, "/files", from);
    INFO(files.json.dump());
    bool listed_rejected = false;
    for (const auto& f : files.json.at("files"))
        if (f.value("transfer", "") == id) listed_rejected = f.value("state", "") == "rejected";
    CHECK(listed_rejected);
    // A chat round-trip after the reject: anything the reject could have started has had
    // its turn on bob's loop.
    p.alice->send_line("after the reject");
    p.bob->wait_for(is_message_with_text("after the reject"), 5s, "marker");
    CHECK(entries(p.downloads()).empty());
    CHECK(p.alice->count(is_file_event("file_sent", id)) == 0);
    CHECK(p.bob->count(is_file_event("file_progress", id)) == 0);
}

TEST_CASE("/cancel by the receiver during a transfer deletes the part file",
          "[integration][files]") {
    temp_dir src;
    const fs::path file = src.path() / "long.bin";
    const std::uint64_t size = 32 * MiB;
    write_random_file(file, size, 10);
    two_peers p({"--upload-limit", "4M"}, {"--accept-files"});
    const std::string id = offer(*p.alice, file).str("transfer");
    p.bob->wait_for(is_progress_at_least(id, 1), 10s, "progress");
    REQUIRE(has_part_file(p.downloads()));
    std::size_t from = p.bob->events().size();
    p.bob->send_line("/cancel " + id.substr(0, 8));
    auto note = p.bob->wait_for(is_event("notice"), 5s, "notice for /cancel", from);
    CHECK(note.str("message").find("cancelled") != std::string::npos);
    CHECK(wait_until({p.alice.get(), p.bob.get()}, [&] { return entries(p.downloads()).empty(); },
                     5s));
    INFO("downloads: " << joined(entries(p.downloads())));
    CHECK(entries(p.downloads()).empty());
    CHECK(p.bob->count(is_file_event("file_received", id)) == 0);
    // Nothing starts it again by itself: a marker round-trip later, still nothing.
    p.alice->send_line("after the cancel");
    p.bob->wait_for(is_message_with_text("after the cancel"), 5s, "marker");
    CHECK(entries(p.downloads()).empty());
}

TEST_CASE("/cancel by the sender withdraws the offer and the receiver's fetch fails",
          "[integration][files]") {
    temp_dir src;
    const fs::path file = src.path() / "withdrawn.bin";
    const std::uint64_t size = 32 * MiB;
    write_random_file(file, size, 11);
    two_peers p({"--upload-limit", "4M"}, {"--accept-files"});
    const std::string id = offer(*p.alice, file).str("transfer");
    p.bob->wait_for(is_progress_at_least(id, 1), 10s, "progress");
    std::size_t from = p.alice->events().size();
    p.alice->send_line("/cancel " + id.substr(0, 8));
    auto note = p.alice->wait_for(is_event("notice"), 5s, "notice for /cancel", from);
    CHECK(note.str("message").find("withdrew") != std::string::npos);
    auto is_final_failure = [&](const event& e) {
        return e.name() == "file_failed" && e.str("transfer") == id &&
               !e.json.value("resumable", true);
    };
    auto failed = p.bob->try_wait_for(is_final_failure, 20s);
    INFO(p.bob->describe());
    REQUIRE(failed.has_value());
    CHECK(failed->str("reason").find("no such offer") != std::string::npos);
    CHECK(p.bob->count(is_event("file_received")) == 0);
    CHECK(wait_until({p.alice.get(), p.bob.get()}, [&] { return entries(p.downloads()).empty(); },
                     5s));
}

// ---- 7 ----

TEST_CASE("/send of a missing file or a folder gives a clear error", "[integration][files]") {
    temp_dir src;
    two_peers p({}, {});
    std::size_t from = p.alice->events().size();
    const fs::path missing = src.path() / "no-such-file.txt";
    p.alice->send_line("/send " + missing.string());
    auto e = p.alice->wait_for(is_event("error"), 5s, "error for a missing file", from);
    INFO(e.json.dump());
    CHECK(e.str("message").find("no such file") != std::string::npos);
    CHECK(e.str("message").find(missing.string()) != std::string::npos);

    from = p.alice->events().size();
    p.alice->send_line("/send " + src.path().string());
    e = p.alice->wait_for(is_event("error"), 5s, "error for a folder", from);
    INFO(e.json.dump());
    CHECK(e.str("message").find("not a regular file") != std::string::npos);

    from = p.alice->events().size();
    write_random_file(src.path() / "f.txt", 10, 12);
    p.alice->send_line("/send " + (src.path() / "f.txt").string() + " nobody");
    e = p.alice->wait_for(is_event("error"), 5s, "error for an unknown nick", from);
    INFO(e.json.dump());
    CHECK(e.str("message").find("nobody") != std::string::npos);

    CHECK(p.alice->count(is_event("file_offer")) == 0);
    p.alice->send_line("still here");
    p.bob->wait_for(is_message_with_text("still here"), 5s, "a message after the errors");
    CHECK(p.bob->count(is_event("file_offer")) == 0);
}

TEST_CASE("an offer over --max-file-size is refused with a reason naming the limit",
          "[integration][files]") {
    temp_dir src;
    const fs::path file = src.path() / "too-big.bin";
    write_random_file(file, 2 * MiB, 13);
    two_peers p({}, {"--accept-files", "--max-file-size", "1M"});
    const std::string id = offer(*p.alice, file).str("transfer");
    auto failed = p.bob->wait_for(is_file_event("file_failed", id), 5s, "file_failed");
    INFO(failed.json.dump());
    CHECK_FALSE(failed.json.value("resumable", true));
    const std::string reason = failed.str("reason");
    CHECK(reason.find("--max-file-size") != std::string::npos);
    CHECK(reason.find("1.0 MB") != std::string::npos);  // 1M = 1048576 B, shown as 1.0 MB
    std::size_t from = p.bob->events().size();
    p.bob->send_line("/accept " + id.substr(0, 8));
    auto e = p.bob->wait_for(is_error_or_failure(), 5s, "error for /accept", from);
    CHECK(e.str("message").find("--max-file-size") != std::string::npos);
    p.alice->send_line("marker");
    p.bob->wait_for(is_message_with_text("marker"), 5s, "marker");
    CHECK(entries(p.downloads()).empty());
    CHECK(p.alice->count(is_file_event("file_sent", id)) == 0);
}

TEST_CASE("/send PATH NICK offers to that nick only", "[integration][files]") {
    temp_dir src;
    const fs::path file = src.path() / "for-bob.txt";
    write_random_file(file, 50000, 14);
    two_peers p({}, {"--accept-files"});
    peer_options oc;
    oc.nick = "carol";
    oc.joins = {p.alice->listen()};
    oc.extra_args = {"--accept-files"};
    auto carol = start_peer(oc);
    p.alice->wait_for(is_peer_up(carol->peer_id()), 5s, "peer_up for carol");

    auto own = offer(*p.alice, file, "bob");
    const std::string id = own.str("transfer");
    CHECK(own.str("to") == p.bob->peer_id());
    auto off = p.bob->wait_for(is_file_event("file_offer", id), 5s, "bob's file_offer");
    CHECK(off.str("to") == p.bob->peer_id());
    auto got = p.bob->wait_for(is_file_event("file_received", id), 10s, "bob's file_received");
    CHECK(same_bytes(got.str("path"), file));

    // The offer floods through carol's links too; a marker sent after it arrives after it.
    p.alice->send_line("after the private offer");
    carol->wait_for(is_message_with_text("after the private offer"), 5s, "marker at carol");
    p.bob->wait_for(is_message_with_text("after the private offer"), 5s, "marker at bob");
    CHECK(carol->count(is_event("file_offer")) == 0);
    CHECK(carol->count(is_event("file_received")) == 0);
    CHECK(entries(carol->dir() / "downloads").empty());
}

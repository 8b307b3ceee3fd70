// /stats: the counters bench/run reads (copies per message, bytes per message) answer with
// every field, and they move with the traffic.

#include <cstdint>
#include <string>

#include <catch2/catch.hpp>

#include "tests/support/peer_process.hpp"

using namespace confab::test;

namespace {

event ask_stats(peer_process& p) {
    std::size_t from = p.events().size();
    p.send_line("/stats");
    return p.wait_for(is_event("stats"), 5s, "answer to /stats", from);
}

std::uint64_t number(const event& e, const char* key) {
    INFO(key << " in " << e.json.dump());
    REQUIRE(e.json.contains(key));
    REQUIRE(e.json[key].is_number_unsigned());
    return e.json[key].get<std::uint64_t>();
}

}  // namespace

TEST_CASE("/stats answers with a stats event whose counters follow the traffic",
          "[integration][stats]") {
    pair_of_peers peers;
    // Alice's presence (a chat frame, not a message) first, so that it is counted before.
    peers.b->wait_for(
        [&](const event& e) {
            return e.name() == "member_join" && e.str("peer_id") == peers.a->peer_id();
        },
        5s, "alice's presence at bob");
    auto before = ask_stats(*peers.b);
    for (const char* key : {"uptime_ms", "chat_frames_received", "chat_delivered", "chat_own",
                            "chat_rejected", "bytes_received", "bytes_sent", "frames_received",
                            "frames_sent", "frames_not_proven"}) {
        number(before, key);
    }
    REQUIRE(before.json["frames_by_type"].is_object());
    // The handshake alone is traffic: each side read the other's hello.
    CHECK(before.json["frames_by_type"].value("hello", 0) >= 1);
    CHECK(number(before, "bytes_received") > 0);
    CHECK(number(before, "bytes_sent") > 0);

    const std::string text = "counted once";
    peers.a->send_line(text);
    peers.b->wait_for(is_message_with_text(text), 5s, "alice's message at bob");
    auto after = ask_stats(*peers.b);
    CHECK(number(after, "chat_delivered") == number(before, "chat_delivered") + 1);
    CHECK(number(after, "chat_own") == 0);
    // One neighbour, so exactly one copy; its frame is well over 100 bytes (signature, ids).
    CHECK(number(after, "chat_frames_received") == number(before, "chat_frames_received") + 1);
    CHECK(number(after, "bytes_received") > number(before, "bytes_received") + 100);
    CHECK(after.json["frames_by_type"].value("chat", 0) >= 1);

    auto sender = ask_stats(*peers.a);
    CHECK(number(sender, "chat_own") == 1);
    CHECK(number(sender, "chat_delivered") == 0);
    CHECK(number(sender, "frames_sent") >= 2);  // hello and the message
    // Nothing is lost between two ends of one link, though the other side's counters may
    // lag by what is still in flight (a ping, say): bob read at most what alice wrote.
    auto bob = ask_stats(*peers.b);
    CHECK(number(bob, "bytes_received") <= number(sender, "bytes_sent"));
    CHECK(number(bob, "bytes_received") >= number(after, "bytes_received"));
}

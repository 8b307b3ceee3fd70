#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>

#include "core/address_book.hpp"

using confab::core::address_book;
using confab::core::backoff_policy;
using namespace std::chrono_literals;

namespace {

const auto no_skip = [](const address_book::entry&) { return false; };
const address_book::clock::time_point t0 = address_book::clock::now();

backoff_policy policy() {
    return {.initial = 1000ms, .max = 10'000ms, .max_failures = 5};
}

}  // namespace

TEST_CASE("a new address is due at once and dialling takes it out of due()") {
    address_book book(policy(), 100, 1);
    CHECK(book.add("10.0.0.1:7447"));
    CHECK(book.due(t0, 10, no_skip) == std::vector<std::string>{"10.0.0.1:7447"});
    CHECK(book.next_due() <= t0);

    book.dial_started("10.0.0.1:7447");
    CHECK(book.find("10.0.0.1:7447")->dialling);
    CHECK(book.due(t0, 10, no_skip).empty());
    CHECK_FALSE(book.next_due());

    book.dial_succeeded("10.0.0.1:7447", "peer-a");
    const auto* e = book.find("10.0.0.1:7447");
    REQUIRE(e);
    CHECK(e->connected);
    CHECK_FALSE(e->dialling);
    CHECK(e->peer_id == "peer-a");
    CHECK(book.due(t0, 10, no_skip).empty());
}

TEST_CASE("adding a known address updates its peer id and pinning, never unpins") {
    address_book book(policy(), 100, 1);
    CHECK(book.add("h:1"));
    CHECK(book.add("h:1", "id-1", true));
    CHECK(book.find("h:1")->peer_id == "id-1");
    CHECK(book.find("h:1")->pinned);
    CHECK(book.add("h:1"));
    CHECK(book.find("h:1")->peer_id == "id-1");
    CHECK(book.find("h:1")->pinned);
    CHECK(book.size() == 1);
}

TEST_CASE("back-off doubles within the jitter bounds and is capped") {
    backoff_policy p{.initial = 1000ms, .max = 10'000ms, .max_failures = 100};
    address_book book(p, 100, 42);
    book.add("h:1");
    auto now = t0;
    for (int failure = 1; failure <= 10; ++failure) {
        book.dial_started("h:1");
        auto delay = book.dial_failed("h:1", now);
        REQUIRE(delay);
        auto nominal =
            std::min<address_book::clock::duration>(p.initial * (1LL << (failure - 1)), p.max);
        CAPTURE(failure);
        CHECK(*delay >= nominal / 2);
        CHECK(*delay <= nominal);
        CHECK(book.find("h:1")->next_attempt == now + *delay);
        CHECK(book.find("h:1")->failures == failure);
        // Not due until the back-off has passed, then due again.
        CHECK(book.due(now + *delay - 1ms, 10, no_skip).empty());
        CHECK(book.next_due() == now + *delay);
        now += *delay;
        CHECK(book.due(now, 10, no_skip).size() == 1);
    }
}

TEST_CASE("jitter spreads the delays of identical failures") {
    address_book book(policy(), 100, 7);
    std::set<address_book::clock::duration> delays;
    for (int i = 0; i < 20; ++i) {
        std::string addr = "h:" + std::to_string(i + 1);
        book.add(addr);
        delays.insert(*book.dial_failed(addr, t0));
    }
    CHECK(delays.size() > 10);
}

TEST_CASE("a success resets the failures, a disconnect allows a redial after the initial delay") {
    address_book book(policy(), 100, 3);
    book.add("h:1");
    book.dial_failed("h:1", t0);
    book.dial_failed("h:1", t0);
    book.dial_started("h:1");
    book.dial_succeeded("h:1", "id");
    CHECK(book.find("h:1")->failures == 0);

    book.disconnected("h:1", t0);
    const auto* e = book.find("h:1");
    CHECK_FALSE(e->connected);
    CHECK(e->next_attempt >= t0 + 500ms);
    CHECK(e->next_attempt <= t0 + 1000ms);
    CHECK(book.due(t0, 10, no_skip).empty());
    CHECK(book.due(t0 + 1000ms, 10, no_skip) == std::vector<std::string>{"h:1"});
}

TEST_CASE("an address is forgotten after max_failures unless pinned") {
    address_book book(policy(), 100, 5);
    book.add("plain:1");
    book.add("pinned:1", "", true);
    for (int i = 1; i < 5; ++i) {
        CHECK(book.dial_failed("plain:1", t0));
        CHECK(book.dial_failed("pinned:1", t0));
    }
    CHECK_FALSE(book.dial_failed("plain:1", t0));
    CHECK(book.find("plain:1") == nullptr);
    for (int i = 0; i < 20; ++i) CHECK(book.dial_failed("pinned:1", t0));
    CHECK(book.find("pinned:1") != nullptr);
    CHECK(book.find("pinned:1")->next_attempt <= t0 + policy().max);
    // An address that is not in the book has nothing to back off.
    CHECK_FALSE(book.dial_failed("unknown:1", t0));
}

TEST_CASE("an address that is ourselves is never due and cannot be added back") {
    address_book book(policy(), 100, 1);
    book.add("me:1");
    book.dial_started("me:1");
    book.mark_self("me:1");
    CHECK(book.find("me:1")->self);
    CHECK_FALSE(book.find("me:1")->dialling);
    CHECK_FALSE(book.add("me:1", "id", true));
    CHECK(book.due(t0 + 24h, 10, no_skip).empty());
    CHECK_FALSE(book.next_due());

    // Marked before it was ever added, too.
    book.mark_self("me:2");
    CHECK(book.find("me:2")->self);
    CHECK_FALSE(book.add("me:2"));
    CHECK(book.due(t0 + 24h, 10, no_skip).empty());
}

TEST_CASE("addresses that reach ourselves cannot crowd real peers out of the book") {
    address_book book(policy(), 100, 1);
    book.add("me:0");  // known first as an ordinary address, then found to be us
    book.mark_self("me:0");
    for (int i = 1; i < 40; ++i) book.mark_self("me:" + std::to_string(i));
    // Only the 16 most recent are remembered; the rest of the book stays free for peers.
    CHECK(book.size() == 16);
    CHECK(book.find("me:0") == nullptr);
    CHECK(book.find("me:39")->self);
    CHECK(book.add("peer:1"));
}

TEST_CASE("due() puts pinned entries first, then fewer failures, and honours max and skip") {
    address_book book(policy(), 100, 1);
    book.add("a:1");
    book.add("b:1");
    book.add("c:1", "", true);
    book.add("d:1", "known-peer");
    book.dial_failed("a:1", t0);
    book.dial_failed("a:1", t0);
    book.dial_failed("b:1", t0);
    book.dial_failed("c:1", t0);

    auto later = t0 + 1h;
    CHECK(book.due(later, 10, no_skip) == std::vector<std::string>{"c:1", "d:1", "b:1", "a:1"});
    CHECK(book.due(later, 2, no_skip) == std::vector<std::string>{"c:1", "d:1"});
    auto skip_known = [](const address_book::entry& e) { return e.peer_id == "known-peer"; };
    CHECK(book.due(later, 10, skip_known) == std::vector<std::string>{"c:1", "b:1", "a:1"});
    CHECK(book.due(later, 0, no_skip).empty());
}

TEST_CASE("a full book evicts the entry that failed most, never pinned or busy ones") {
    address_book book(policy(), 3, 1);
    CHECK(book.add("pinned:1", "", true));
    CHECK(book.add("weak:1"));
    CHECK(book.add("weaker:1"));
    book.dial_failed("weak:1", t0);
    book.dial_failed("weaker:1", t0);
    book.dial_failed("weaker:1", t0);
    book.dial_failed("pinned:1", t0);
    book.dial_failed("pinned:1", t0);
    book.dial_failed("pinned:1", t0);

    CHECK(book.add("new:1"));
    CHECK(book.size() == 3);
    CHECK(book.find("weaker:1") == nullptr);
    CHECK(book.find("weak:1") != nullptr);
    CHECK(book.find("pinned:1") != nullptr);

    // With nothing evictable left (pinned, dialling, connected) a new address is refused.
    book.dial_started("weak:1");
    book.dial_started("new:1");
    book.dial_succeeded("new:1", "id");
    CHECK_FALSE(book.add("another:1"));
    CHECK(book.size() == 3);
    CHECK(book.find("another:1") == nullptr);
    // A known address is still updated.
    CHECK(book.add("weak:1", "weak-id"));
    CHECK(book.find("weak:1")->peer_id == "weak-id");
}

TEST_CASE("to_json and load_json round-trip addresses and peer ids, not ourselves") {
    address_book book(policy(), 100, 1);
    book.add("b:2", "peer-b");
    book.add("a:1");
    book.mark_self("me:1");
    book.dial_failed("b:2", t0);

    nlohmann::json j = book.to_json();
    CHECK(j == nlohmann::json::parse(
                   R"([{"addr":"a:1","peer_id":""},{"addr":"b:2","peer_id":"peer-b"}])"));

    address_book loaded(policy(), 100, 2);
    loaded.load_json(j);
    CHECK(loaded.size() == 2);
    CHECK(loaded.find("b:2")->peer_id == "peer-b");
    CHECK(loaded.find("b:2")->failures == 0);
    CHECK(loaded.find("me:1") == nullptr);
    // Loaded entries are due at once.
    CHECK(loaded.due(t0, 10, no_skip).size() == 2);
}

TEST_CASE("load_json skips what it cannot use and never throws") {
    address_book book(policy(), 100, 1);
    for (const char* text : {"null", "42", R"("text")", R"({"addr":"x:1"})", "[]"}) {
        CAPTURE(text);
        CHECK_NOTHROW(book.load_json(nlohmann::json::parse(text)));
    }
    CHECK(book.size() == 0);

    auto j = nlohmann::json::parse(R"([
        1, "a:1", null, [], {},
        {"addr": 5},
        {"addr": ""},
        {"addr": "bad-id:1", "peer_id": 7},
        {"peer_id": "no-addr"},
        {"addr": "good:1"},
        {"addr": "good:2", "peer_id": "id-2", "extra": true}
    ])");
    CHECK_NOTHROW(book.load_json(j));
    CHECK(book.size() == 2);
    CHECK(book.find("good:1") != nullptr);
    CHECK(book.find("good:2")->peer_id == "id-2");
}

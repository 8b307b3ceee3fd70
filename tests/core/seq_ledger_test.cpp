#include "core/seq_ledger.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "core/sha256.hpp"

using confab::core::seq_ledger;
using confab::core::sha256_hex;

TEST_CASE("seq_ledger reports a second id for the same author and seq, and keeps the first") {
    seq_ledger ledger;
    const auto a = sha256_hex("a"), b = sha256_hex("b"), c = sha256_hex("c");
    CHECK_FALSE(ledger.record("alice", 1, a));
    // The same message again (a copy): nothing to report.
    CHECK_FALSE(ledger.record("alice", 1, a));
    // Another author, or another seq: unrelated.
    CHECK_FALSE(ledger.record("bob", 1, b));
    CHECK_FALSE(ledger.record("alice", 2, c));
    CHECK(ledger.record("alice", 1, b));
    CHECK(ledger.record("alice", 1, c));
    // The first stays the reference.
    CHECK_FALSE(ledger.record("alice", 1, a));
    CHECK(ledger.size() == 3);
}

TEST_CASE("seq_ledger tells apart pairs whose strings run together") {
    seq_ledger ledger;
    CHECK_FALSE(ledger.record("alice1", 2, "x"));
    CHECK_FALSE(ledger.record("alice", 12, "y"));
    CHECK(ledger.size() == 2);
}

TEST_CASE("seq_ledger forgets the oldest pairs beyond its capacity") {
    seq_ledger ledger(3);
    for (std::uint64_t seq = 1; seq <= 4; ++seq) {
        CHECK_FALSE(ledger.record("alice", seq, "id" + std::to_string(seq)));
    }
    CHECK(ledger.size() == 3);
    // seq 1 was the oldest: forgotten, so a different id for it goes unnoticed ...
    CHECK_FALSE(ledger.record("alice", 1, "other"));
    // ... and now holds that id, having pushed out seq 2.
    CHECK(ledger.size() == 3);
    CHECK_FALSE(ledger.record("alice", 2, "another"));
    CHECK(ledger.record("alice", 4, "x"));
}

TEST_CASE("seq_ledger's default capacity is 4096 pairs") {
    seq_ledger ledger;
    CHECK(seq_ledger::default_capacity == 4096);
    for (std::uint64_t seq = 1; seq <= 5000; ++seq) ledger.record("a", seq, "id");
    CHECK(ledger.size() == 4096);
    CHECK(ledger.record("a", 5000, "other"));
    CHECK_FALSE(ledger.record("a", 904, "other"));  // seq 1..904 were forgotten
}

#include "client/tui/ui_state.hpp"

#include <catch2/catch.hpp>

using confab::client::tui::mentions;

TEST_CASE("a nick as a whole word in any case is a mention") {
    CHECK(mentions("alice: lunch?", "alice"));
    CHECK(mentions("hey Alice", "alice"));
    CHECK(mentions("@ALICE look", "alice"));
    CHECK(mentions("alice", "alice"));
    CHECK(mentions("(alice)", "alice"));
    CHECK(mentions("malice, then alice", "alice"));  // the second occurrence counts
}

TEST_CASE("a nick inside another word, or no nick, is not a mention") {
    CHECK_FALSE(mentions("malice", "alice"));
    CHECK_FALSE(mentions("alice2 is here", "alice"));
    CHECK_FALSE(mentions("alice_bot says hi", "alice"));
    CHECK_FALSE(mentions("ali", "alice"));
    CHECK_FALSE(mentions("anything", ""));
    CHECK_FALSE(mentions("aliceé", "alice"));  // a letter beyond ASCII continues the word
}

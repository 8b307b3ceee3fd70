#pragma once
// The chat gate: decides whether a chat envelope received from a neighbour is accepted (to be
// delivered and forwarded), before anything else is done with it. In order: copies are
// dropped (by message id), each author is held to a rate, the signature is checked, the date may not be far in the future, and an author that
// signs two messages with one seq is noticed. Pure: no sockets, no clocks, no logging; `now`
// and the wall clock come in, and the node acts on the verdict. Main thread (single owner).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/seen_cache.hpp"
#include "core/seq_ledger.hpp"
#include "core/token_bucket.hpp"
#include "protocol/messages.hpp"

namespace confab::core {

// What the gate says about one envelope.
enum class chat_outcome {
    accept,         // new and sound: deliver and forward
    duplicate,      // already accepted (or our own): drop quietly
    over_rate,      // its author writes faster than the room allows: drop
    bad_signature,  // not signed by the key its author names: drop
    from_future,    // dated more than max_future_ms ahead of our clock: drop
};
inline constexpr std::size_t chat_outcome_count = 5;

// For logs: "accepted", "over the author's rate", ...
std::string_view to_string(chat_outcome outcome);

// Why a neighbour is cut off, as its bye frame says it on the wire (docs/protocol.md).
enum class chat_bye {
    none,               // keep the neighbour
    invalid_signature,  // "invalid signature"
    invalid_message,    // "invalid message"
    flooding,           // "flooding"
};

// The wire spelling of a bye reason; "" for none.
std::string_view to_string(chat_bye reason);

struct chat_gate_config {
    // New messages one author may put into the room, per second and in one burst. The
    // neighbour that floods its *own* messages is cut off once `author_patience` of them
    // have been dropped (forgiven at a tenth of the rate). node_config explains the figures.
    double author_rate = 200;
    double author_burst = 2000;
    double author_patience = 1000;
    // A message dated further ahead of our clock than this is refused: honest clocks kept by
    // NTP agree within seconds; ten minutes forgives a machine nobody set carefully.
    std::int64_t max_future_ms = 10 * 60 * 1000;
    // Author budgets are forgotten all at once past this many (a flood of fresh keys is the
    // per-link limit's business).
    std::size_t max_author_budgets = 10000;
    // Message ids remembered.
    std::size_t seen_ids = 100'000;
};

struct chat_verdict {
    chat_outcome outcome = chat_outcome::accept;
    std::string id;  // the message id, computed here (never taken from the wire)
    // What is wrong, as one sentence ("signature does not match the author's key", "dated
    // more than 10 minutes in the future"); empty for accept and duplicate.
    std::string problem;
    // Not none: the neighbour it came from must be told (error + bye) and cut off.
    chat_bye cut = chat_bye::none;
    // Accepted, but its author already gave another message the same seq. Both are delivered:
    // which one reaches a peer first depends on the path.
    bool equivocation = false;
};

class chat_gate {
public:
    using clock = std::chrono::steady_clock;

    explicit chat_gate(chat_gate_config config = {});

    // The verdict on `chat`, received from neighbour `from_id`. `now` drives the rate limits,
    // `wall_ms` (ms since the Unix epoch) the date check.
    chat_verdict check(const protocol::chat& chat, const std::string& from_id,
                       clock::time_point now, std::int64_t wall_ms);

    // Our own message `id`: copies of it coming back are duplicates.
    void mark_own(const std::string& id);

    // Envelopes checked since start with this outcome: the refusals by reason, and the
    // copies dropped and messages accepted.
    std::uint64_t count(chat_outcome outcome) const { return counts_[index(outcome)]; }
    // Refusals of every reason together.
    std::uint64_t rejected() const;
    std::uint64_t equivocations() const { return equivocations_; }
    const chat_gate_config& config() const { return config_; }

private:
    struct author_budget {
        token_bucket messages;
        token_bucket patience;
    };
    static constexpr std::size_t index(chat_outcome o) { return static_cast<std::size_t>(o); }
    // False when `author` is over its rate; sets `cut` when the neighbour is the author and
    // has run out of patience.
    bool author_may_speak(const std::string& author, const std::string& from_id,
                          clock::time_point now, chat_bye& cut);
    chat_verdict refuse(chat_verdict v, chat_outcome outcome, std::string problem, chat_bye cut);

    chat_gate_config config_;
    seen_cache seen_;
    seq_ledger seq_ledger_;
    std::unordered_map<std::string, author_budget> author_budgets_;  // by author id
    std::array<std::uint64_t, chat_outcome_count> counts_{};
    std::uint64_t equivocations_ = 0;
};

}  // namespace confab::core

#include "core/chat_gate.hpp"

#include "core/envelope_signature.hpp"
#include "core/sha256.hpp"
#include "protocol/canonical.hpp"

namespace confab::core {

std::string_view to_string(chat_outcome outcome) {
    switch (outcome) {
        case chat_outcome::accept:
            return "accepted";
        case chat_outcome::duplicate:
            return "a copy of a message already seen";
        case chat_outcome::over_rate:
            return "over the author's rate";
        case chat_outcome::bad_signature:
            return "invalid signature";
        case chat_outcome::from_future:
            return "dated in the future";
    }
    return "?";
}

std::string_view to_string(chat_bye reason) {
    switch (reason) {
        case chat_bye::none:
            return "";
        case chat_bye::invalid_signature:
            return "invalid signature";
        case chat_bye::invalid_message:
            return "invalid message";
        case chat_bye::flooding:
            return "flooding";
    }
    return "";
}

chat_gate::chat_gate(chat_gate_config config)
    : config_(config), seen_(config.seen_ids) {}

void chat_gate::mark_own(const std::string& id) {
    seen_.insert(id);
}

std::uint64_t chat_gate::rejected() const {
    return count(chat_outcome::over_rate) + count(chat_outcome::bad_signature) +
           count(chat_outcome::from_future);
}

chat_verdict chat_gate::check(const protocol::chat& chat, const std::string& from_id,
                              clock::time_point now, std::int64_t wall_ms) {
    chat_verdict v;
    // core::message_id, with the canonical bytes kept for the signature check: canonicalising
    // an envelope costs more than hashing it, so a parsed chat brings the bytes its parse made.
    std::string computed;
    const std::string& canonical = chat.canonical_unsigned.empty()
                                       ? (computed = protocol::canonical_bytes_unsigned(chat.raw))
                                       : chat.canonical_unsigned;
    const auto id = sha256(canonical);
    v.id = to_hex(id);
    if (seen_.contains(id)) {
        // Delivered before: a copy through another neighbour, or a replay. The id leaves the
        // signature out, so a copy of the same content under another signature (even a broken
        // one) tells us nothing new either, and costs no signature check.
        v.outcome = chat_outcome::duplicate;
        ++counts_[index(v.outcome)];
        return v;
    }
    // Before the signature check, which is the expensive part: a flood costs us a lookup.
    chat_bye cut = chat_bye::none;
    if (!author_may_speak(chat.env.author, from_id, now, cut)) {
        return refuse(std::move(v), chat_outcome::over_rate,
                      "its author writes more than " +
                          std::to_string(static_cast<long>(config_.author_rate)) +
                          " messages a second",
                      cut);
    }
    // Checked before the id is remembered, so that a forged copy arriving first cannot make
    // us drop the genuine message behind it. Every honest peer checks before it forwards, so
    // a bad signature comes only from a forger or a broken peer: nothing more it sends is
    // worth reading.
    if (auto problem = verify_envelope(chat.raw, &canonical); !problem.empty()) {
        return refuse(std::move(v), chat_outcome::bad_signature, std::move(problem),
                      chat_bye::invalid_signature);
    }
    if (chat.env.ts > wall_ms + config_.max_future_ms) {
        // Every peer checks this before it forwards, so the neighbour either wrote it or
        // relayed it unchecked; either way it goes. (An honest relay whose clock is more than
        // ten minutes behind ours would go too: clocks that far apart are broken.)
        return refuse(std::move(v), chat_outcome::from_future,
                      "dated more than " + std::to_string(config_.max_future_ms / 60000) +
                          " minutes in the future",
                      chat_bye::invalid_message);
    }
    seen_.insert(id);
    // Ids, not seq, deduplicate, so an equivocation breaks nothing; the node makes it visible.
    if (seq_ledger_.record(chat.env.author, chat.env.seq, v.id)) {
        v.equivocation = true;
        ++equivocations_;
    }
    ++counts_[index(chat_outcome::accept)];
    return v;
}

chat_verdict chat_gate::refuse(chat_verdict v, chat_outcome outcome, std::string problem,
                               chat_bye cut) {
    v.outcome = outcome;
    v.problem = std::move(problem);
    v.cut = cut;
    ++counts_[index(outcome)];
    return v;
}

bool chat_gate::author_may_speak(const std::string& author, const std::string& from_id,
                                 clock::time_point now, chat_bye& cut) {
    auto it = author_budgets_.find(author);
    if (it == author_budgets_.end()) {
        if (author_budgets_.size() >= config_.max_author_budgets) author_budgets_.clear();
        it = author_budgets_
                 .emplace(author,
                          author_budget{{config_.author_rate, config_.author_burst, now},
                                        {config_.author_rate / 10, config_.author_patience, now}})
                 .first;
    }
    if (it->second.messages.take(now)) return true;
    // The relays in between are never blamed: only the author itself is cut off.
    if (from_id == author && !it->second.patience.take(now)) cut = chat_bye::flooding;
    return false;
}

}  // namespace confab::core

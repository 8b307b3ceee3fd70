// Receive-path benchmark: what one chat message costs a peer between its bytes arriving and
// the gate's verdict, step by step, in one process (no sockets, no other peers competing for
// the CPU). See bench/README.md, "Cost per message".

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <sodium.h>
#include <time.h>

#include "core/base32.hpp"
#include "core/chat_gate.hpp"
#include "core/envelope_signature.hpp"
#include "core/identity.hpp"
#include "core/message_id.hpp"
#include "core/sha256.hpp"
#include "protocol/messages.hpp"

using namespace confab;
using clock_type = std::chrono::steady_clock;

namespace {

// Keeps the optimiser from dropping work whose result is unused.
volatile std::size_t sink = 0;

// This thread's CPU time, in microseconds: on a machine shared with other work, wall time
// would measure the neighbours too.
double cpu_us() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}

template <class F>
double time_per_call_us(int rounds, F&& f) {
    const double start = cpu_us();
    for (int i = 0; i < rounds; ++i) f(i);
    return (cpu_us() - start) / rounds;
}

}  // namespace

int main(int argc, char** argv) {
    const int messages = argc > 1 ? std::atoi(argv[1]) : 2000;
    const int authors = 5;
    if (messages < 1) {
        std::fprintf(stderr, "usage: %s [MESSAGES]\n", argv[0]);
        return 2;
    }

    std::vector<core::identity> ids;
    for (int i = 0; i < authors; ++i) ids.push_back(core::identity::generate());
    std::vector<std::string> payloads;
    std::vector<protocol::chat> chats;
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    for (int i = 0; i < messages; ++i) {
        const auto& author = ids[i % authors];
        protocol::envelope env{"lobby",
                               author.peer_id(),
                               "nick",
                               static_cast<std::uint64_t>(i + 1),
                               now_ms,
                               "message " + std::to_string(i) +
                                   " of the benchmark, "
                                   "about as long as a line of chat",
                               ""};
        protocol::chat chat{0, env, protocol::envelope_to_json(env)};
        core::sign_envelope(author, chat.raw);
        payloads.push_back(protocol::serialize(chat));
        // As a receiver has it: parsed from the frame (with the canonical bytes its parse made).
        chats.push_back(std::get<protocol::chat>(*protocol::parse_message(payloads.back()).msg));
    }

    struct row {
        const char* what;
        double us;
    };
    std::vector<row> rows;
    rows.push_back({"sha256 of the frame payload", time_per_call_us(messages, [&](int i) {
                        sink = sink + core::sha256_hex(payloads[i]).size();
                    })});
    rows.push_back(
        {"parse_message (strict JSON + validation)", time_per_call_us(messages, [&](int i) {
             sink = sink + protocol::parse_message(payloads[i]).msg.has_value();
         })});
    rows.push_back({"serialize the chat to forward it (hops + 1)",
                    time_per_call_us(messages, [&](int i) {
                        chats[i].hops = 1;
                        sink = sink + protocol::serialize(chats[i]).size();
                    })});
    rows.push_back({"rewrite the hops of the received frame to forward it (chat_with_hops)",
                    time_per_call_us(messages, [&](int i) {
                        sink = sink + protocol::chat_with_hops(payloads[i], 1)->size();
                    })});
    rows.push_back({"message_id (canonical bytes + sha256)", time_per_call_us(messages, [&](int i) {
                        sink = sink + core::message_id(chats[i].raw).size();
                    })});
    rows.push_back({"verify_envelope (key from id, canonical bytes, verify)",
                    time_per_call_us(messages, [&](int i) {
                        sink = sink + core::verify_envelope(chats[i].raw).size();
                    })});

    // Ed25519 alone, on the same bytes: a key parsed per call, and a key parsed once.
    std::vector<std::string> signed_bytes;
    std::vector<std::string> sigs;
    for (const auto& c : chats) {
        signed_bytes.push_back(core::envelope_signed_bytes(c.raw));
        sigs.push_back(c.raw.at("sig").get<std::string>());
    }
    auto raw_sig = [&](int i) {
        std::string out(64, '\0');
        for (int b = 0; b < 64; ++b)
            out[b] = static_cast<char>(std::stoi(sigs[i].substr(2 * b, 2), nullptr, 16));
        return out;
    };
    std::vector<std::string> raw_sigs;
    for (int i = 0; i < messages; ++i) raw_sigs.push_back(raw_sig(i));
    std::vector<EVP_PKEY*> keys;
    for (const auto& id : ids) {
        auto raw = core::base32_decode(id.peer_id());
        keys.push_back(
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw->data(), raw->size()));
    }
    rows.push_back(
        {"EVP_PKEY_new_raw_public_key (parse a key)", time_per_call_us(messages, [&](int i) {
             auto raw = core::base32_decode(ids[i % authors].peer_id());
             EVP_PKEY* k =
                 EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw->data(), raw->size());
             sink = sink + (k != nullptr);
             EVP_PKEY_free(k);
         })});
    rows.push_back(
        {"OpenSSL Ed25519 verify, key parsed once", time_per_call_us(messages, [&](int i) {
             EVP_MD_CTX* ctx = EVP_MD_CTX_new();
             EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, keys[i % authors]);
             sink = sink + EVP_DigestVerify(
                               ctx, reinterpret_cast<const unsigned char*>(raw_sigs[i].data()), 64,
                               reinterpret_cast<const unsigned char*>(signed_bytes[i].data()),
                               signed_bytes[i].size());
             EVP_MD_CTX_free(ctx);
         })});
    for (auto* k : keys) EVP_PKEY_free(k);
    if (sodium_init() < 0) return 1;
    std::vector<std::array<unsigned char, 32>> raw_keys;
    for (const auto& id : ids) {
        auto raw = core::base32_decode(id.peer_id());
        std::array<unsigned char, 32> k{};
        std::copy(raw->begin(), raw->end(), k.begin());
        raw_keys.push_back(k);
    }
    rows.push_back({"libsodium Ed25519 verify", time_per_call_us(messages, [&](int i) {
                        sink = sink +
                               (crypto_sign_verify_detached(
                                    reinterpret_cast<const unsigned char*>(raw_sigs[i].data()),
                                    reinterpret_cast<const unsigned char*>(signed_bytes[i].data()),
                                    signed_bytes[i].size(), raw_keys[i % authors].data()) == 0);
                    })});
    rows.push_back({"base32 decode of a peer id (the key, for libsodium)",
                    time_per_call_us(messages, [&](int i) {
                        sink = sink + core::base32_decode(ids[i % authors].peer_id())->size();
                    })});

    // The whole gate on new messages (each checked once: a fresh gate), then on copies.
    const std::string from = "neighbour";
    core::chat_gate_config config;
    config.author_rate = 1e9;
    config.author_burst = 1e9;
    core::chat_gate gate(config);
    rows.push_back(
        {"chat_gate::check, a new message", time_per_call_us(messages, [&](int i) {
             sink = sink +
                    static_cast<int>(
                        gate.check(chats[i], from, clock_type::now(), now_ms).outcome);
         })});
    rows.push_back(
        {"chat_gate::check, a copy", time_per_call_us(messages, [&](int i) {
             sink = sink +
                    static_cast<int>(
                        gate.check(chats[i], from, clock_type::now(), now_ms).outcome);
         })});

    std::printf("%d messages of %zu bytes, %d authors\n\n", messages, payloads[0].size(), authors);
    std::printf("| step | us per message |\n| --- | --- |\n");
    for (const auto& r : rows) std::printf("| %s | %.2f |\n", r.what, r.us);
    return 0;
}

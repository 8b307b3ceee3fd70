#include "core/envelope_signature.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "core/base32.hpp"
#include "core/sha256.hpp"  // to_hex
#include "protocol/canonical.hpp"
#include "protocol/validate.hpp"

namespace confab::core {

namespace {

using json = nlohmann::json;

constexpr std::size_t ed25519_signature_size = 64;
constexpr std::size_t ed25519_public_key_size = 32;

struct md_ctx_deleter {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// The 64 bytes of a signature already checked by protocol::check_signature.
std::array<std::uint8_t, ed25519_signature_size> signature_bytes(std::string_view hex) {
    std::array<std::uint8_t, ed25519_signature_size> out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<std::uint8_t>(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
    }
    return out;
}

std::string signed_bytes(const std::string& canonical_unsigned);

// The public key a peer id spells, or nullopt when it spells none.
std::optional<std::array<std::uint8_t, ed25519_public_key_size>> author_key(
    const std::string& peer_id) {
    if (!protocol::check_peer_id(peer_id).empty()) return std::nullopt;
    auto raw = base32_decode(peer_id);
    if (!raw || raw->size() != ed25519_public_key_size) return std::nullopt;
    std::array<std::uint8_t, ed25519_public_key_size> key{};
    std::copy(raw->begin(), raw->end(), key.begin());
    return key;
}

// libsodium verifies Ed25519 in about half the time OpenSSL 3.0 takes (bench/README.md, "Cost
// per message"), and every peer verifies every message. Signing stays with OpenSSL, which
// holds the identity key. sodium_init is idempotent and thread-safe; it only picks the
// fastest code for this CPU.
bool sodium_ready() {
    static const bool ready = sodium_init() >= 0;
    return ready;
}

// `canonical_unsigned`, when given, is protocol::canonical_bytes_unsigned(envelope), which
// the caller already computed for the message id.
std::string check_signature(const json& envelope, const std::string* canonical_unsigned) {
    if (!envelope.is_object()) return "envelope is not a JSON object";
    const auto sig = envelope.find(protocol::envelope_sig_field);
    if (sig == envelope.end()) return "no signature";
    if (!sig->is_string() ||
        !protocol::check_signature(sig->get_ref<const std::string&>()).empty()) {
        return "signature is not " + std::to_string(protocol::signature_hex_length) +
               " lowercase hex digits";
    }
    const auto author = envelope.find("author");
    if (author == envelope.end()) return "no author";
    if (!author->is_string()) return "author is not a valid peer id";
    const auto key = author_key(author->get_ref<const std::string&>());
    if (!key) return "author is not a valid peer id";
    // The author's canonical bytes are the only ones a signature can be over: an envelope that
    // has none (a float, say) cannot carry a signature another implementation would agree on.
    if (auto problem = protocol::find_canonical_problem(envelope)) {
        return "envelope is not canonical JSON: " +
               (problem->path.empty() ? "it" : "field \"" + problem->path + "\"") + " " +
               problem->problem;
    }

    const std::string message = canonical_unsigned ? signed_bytes(*canonical_unsigned)
                                                   : envelope_signed_bytes(envelope);
    const auto signature = signature_bytes(sig->get_ref<const std::string&>());
    if (!sodium_ready()) return "cannot check the signature: libsodium failed to start";
    // Pure Ed25519 (RFC 8032): the message goes in whole. libsodium also refuses a key or an
    // R of small order and a non-canonical S, which no honest signer produces.
    if (crypto_sign_verify_detached(signature.data(),
                                    reinterpret_cast<const unsigned char*>(message.data()),
                                    message.size(), key->data()) != 0) {
        return "signature does not match the author's key";
    }
    return {};
}

std::string signed_bytes(const std::string& canonical_unsigned) {
    std::string out(envelope_signature_label);
    out.push_back('\0');
    out += canonical_unsigned;
    return out;
}

}  // namespace

std::string envelope_signed_bytes(const json& envelope) {
    return signed_bytes(protocol::canonical_bytes_unsigned(envelope));
}

void sign_envelope(const identity& author, json& envelope) {
    if (!envelope.is_object()) throw std::invalid_argument("only a JSON object can be signed");
    if (auto problem = protocol::find_canonical_problem(envelope)) {
        throw std::invalid_argument("cannot sign an envelope whose field \"" + problem->path +
                                    "\" " + problem->problem);
    }
    const std::string message = envelope_signed_bytes(envelope);
    std::array<std::uint8_t, ed25519_signature_size> signature{};
    std::size_t length = signature.size();
    md_ctx_ptr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, author.key()) != 1 ||
        EVP_DigestSign(ctx.get(), signature.data(), &length,
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1 ||
        length != signature.size()) {
        ERR_clear_error();
        throw std::runtime_error("OpenSSL cannot sign with the identity key");
    }
    envelope[protocol::envelope_sig_field] = to_hex(signature);
}

std::string verify_envelope(const json& envelope) {
    return verify_envelope(envelope, nullptr);
}

std::string verify_envelope(const json& envelope, const std::string* canonical_unsigned) {
    std::string problem;
    try {
        problem = check_signature(envelope, canonical_unsigned);
    } catch (const std::exception& e) {
        // Out of memory, or a string that is not UTF-8 in an envelope built in-process: the
        // wire never gets this far (messages.cpp validates first).
        problem = std::string("cannot check the signature: ") + e.what();
    }
    // A failed verification leaves its reason in this thread's OpenSSL error queue, where it
    // would confuse the next TLS call.
    if (!problem.empty()) ERR_clear_error();
    return problem;
}

}  // namespace confab::core

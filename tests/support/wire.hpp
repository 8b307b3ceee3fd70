#pragma once
// Bytes as a peer puts them on the wire, for tests that speak the protocol by hand (hostile
// clients, fake senders).

#include <cstdint>
#include <random>
#include <string>

namespace confab::test {

// A 4-byte big-endian length, then the payload.
inline std::string frame(const std::string& payload) {
    auto n = static_cast<std::uint32_t>(payload.size());
    std::string out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
    return out + payload;
}

// A syntactically valid peer id that belongs to nobody: 52 characters of base32 whose last one
// carries no bits beyond the 256 of a key ('a' or 'q').
inline std::string random_peer_id() {
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    std::mt19937 rng(std::random_device{}());
    std::string id;
    for (int i = 0; i < 51; ++i) id.push_back(alphabet[rng() % 32]);
    id.push_back('a');
    return id;
}

}  // namespace confab::test

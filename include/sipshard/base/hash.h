// Stable 64-bit hashing for sipshard.
//
// Shard choice (Call-ID → shard), statelessly computed Via branches and
// rendezvous hashing over destinations must give the same answer in every
// process, on every run and on every sipshard instance sharing a config.
// absl::Hash is seeded per process, so it cannot be used for any of these;
// this hash is fixed forever. Pure functions, no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sipshard::base {

// Mixes a 64-bit value into a well-distributed 64-bit value (bijective).
constexpr uint64_t Mix64(uint64_t x) {
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  return x;
}

// Returns a stable 64-bit hash of `bytes`, optionally seeded. Never changes
// between releases: persisted mappings (rendezvous hashing) depend on it.
uint64_t StableHash(std::string_view bytes, uint64_t seed = 0);

// Combines two hashes, order-sensitive.
constexpr uint64_t HashCombine(uint64_t a, uint64_t b) {
  return Mix64(a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2)));
}

// Maps a hash uniformly onto [0, n) without modulo bias worth caring about
// (Lemire's multiply-shift reduction).
inline uint32_t ReduceToRange(uint64_t hash, uint32_t n) {
  __extension__ using Uint128 = unsigned __int128;
  return static_cast<uint32_t>((static_cast<Uint128>(hash) * n) >> 64);
}

}  // namespace sipshard::base

#include "sipshard/base/hash.h"

#include <cstring>

namespace sipshard::base {
namespace {

constexpr uint64_t kPrime1 = 0x9e3779b185ebca87ULL;
constexpr uint64_t kPrime2 = 0xc2b2ae3d27d4eb4fULL;
constexpr uint64_t kPrime3 = 0x165667b19e3779f9ULL;

uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

}  // namespace

// A word-at-a-time multiply/rotate hash. Call-IDs are short (20-60 bytes),
// so the loop runs a handful of times; the tail is folded in one load.
uint64_t StableHash(std::string_view bytes, uint64_t seed) {
  const char* p = bytes.data();
  size_t n = bytes.size();
  uint64_t h = seed ^ (kPrime3 + n * kPrime1);
  while (n >= 8) {
    h ^= Rotl(Load64(p) * kPrime2, 31) * kPrime1;
    h = Rotl(h, 27) * kPrime1 + kPrime3;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t tail = 0;
    std::memcpy(&tail, p, n);
    h ^= Rotl(tail * kPrime2, 31) * kPrime1;
    h = Rotl(h, 27) * kPrime1 + kPrime3;
  }
  return Mix64(h);
}

}  // namespace sipshard::base

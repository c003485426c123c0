// Block scanning primitives for the parser's hot loops.
//
// Not part of the public sip API. The things a SIP parser looks for are
// short: a header line is 30-60 bytes, a name, tag, host or parameter
// 3-30. A memchr call per line, or a byte loop with a table lookup and a
// branch per byte, costs more than the work itself; classifying 16 or 64
// bytes at once into bit masks and reading positions off them with a
// count-trailing-zeros does not. SSE2 is part of x86-64, so there is no
// run-time dispatch; other targets get byte loops with the same results.
//
// Bounds: every function here reads only bytes the caller says may be
// read. Views of a message are usually followed by more of it, so the
// parsers pass how far they may read (`readable`) and most scans take
// whole 16-byte blocks; a view at the very end takes a TailBlock.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sipshard::sip::internal {

#if defined(__SSE2__)
inline __m128i Load16(const char* p) {
  __m128i v;
  std::memcpy(&v, p, sizeof v);  // an unaligned load; no alignment is assumed
  return v;
}
inline uint32_t MoveMask(__m128i v) { return static_cast<uint32_t>(_mm_movemask_epi8(v)); }
#endif

// What the parser needs from the start of a header line: where it ends and
// where its name may end. One look at 64 bytes: most lines are shorter,
// and a known name is at most 19 bytes, so its ':' is near the start.
inline constexpr size_t kLineWindow = 64;
struct LineWindow {
  uint64_t lf;     // bit i: p[i] == '\n'
  uint64_t colon;  // bit i: p[i] == ':'
};

// Classifies p[0, 64); all 64 bytes must be readable. Colons are looked
// for in the first kColons bytes only (a known name ends in the first 20;
// 64 when the window is shifted afterwards).
template <size_t kColons>
[[gnu::always_inline]] inline LineWindow ScanLineWindow(const char* p) {
  static_assert(kColons == 32 || kColons == 64);
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i colon = _mm_set1_epi8(':');
  const __m128i b0 = Load16(p);
  const __m128i b1 = Load16(p + 16);
  const __m128i b2 = Load16(p + 32);
  const __m128i b3 = Load16(p + 48);
  const uint64_t l0 = MoveMask(_mm_cmpeq_epi8(b0, lf));
  const uint64_t l1 = MoveMask(_mm_cmpeq_epi8(b1, lf));
  const uint64_t l2 = MoveMask(_mm_cmpeq_epi8(b2, lf));
  const uint64_t l3 = MoveMask(_mm_cmpeq_epi8(b3, lf));
  uint64_t colons = MoveMask(_mm_cmpeq_epi8(b0, colon)) |
                    (uint64_t{MoveMask(_mm_cmpeq_epi8(b1, colon))} << 16);
  if constexpr (kColons == 64) {
    colons |= (uint64_t{MoveMask(_mm_cmpeq_epi8(b2, colon))} << 32) |
              (uint64_t{MoveMask(_mm_cmpeq_epi8(b3, colon))} << 48);
  }
  return {l0 | (l1 << 16) | (l2 << 32) | (l3 << 48), colons};
#else
  LineWindow w{0, 0};
  for (size_t i = 0; i < kLineWindow; ++i) {
    if (p[i] == '\n') w.lf |= uint64_t{1} << i;
    if (i < kColons && p[i] == ':') w.colon |= uint64_t{1} << i;
  }
  return w;
#endif
}

// 16 bytes to classify at once.
#if defined(__SSE2__)
using Vec16 = __m128i;
#else
struct Vec16 {
  unsigned char b[16];
};
inline Vec16 Load16(const char* p) {
  Vec16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
#endif

// Two 8-byte words as one block: `low` in bytes 0-7, `high` in 8-15.
inline Vec16 Pair(uint64_t low, uint64_t high) {
#if defined(__SSE2__)
  return _mm_set_epi64x(static_cast<long long>(high), static_cast<long long>(low));
#else
  Vec16 v;
  std::memcpy(v.b, &low, 8);
  std::memcpy(v.b + 8, &high, 8);
  return v;
#endif
}

// A set of bytes: control characters and SP (<= 0x20) when kCtl, and `Cs`.
// Match(v) has bit i set when byte i of v is in the set.
template <bool kCtl, char... Cs>
struct ByteSet {
  static constexpr bool Contains(char c) {
    return (kCtl && static_cast<unsigned char>(c) <= 0x20) || ((c == Cs) || ...);
  }
  [[gnu::always_inline]] static uint32_t Match(Vec16 v) {
#if defined(__SSE2__)
    __m128i m = _mm_setzero_si128();
    if constexpr (kCtl) {
      // v <= 0x20 (unsigned) exactly when max(v, 0x20) == 0x20.
      const __m128i space = _mm_set1_epi8(0x20);
      m = _mm_cmpeq_epi8(_mm_max_epu8(v, space), space);
    }
    ((m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(Cs)))), ...);
    return MoveMask(m);
#else
    uint32_t m = 0;
    for (int i = 0; i < 16; ++i) {
      if (Contains(static_cast<char>(v.b[i]))) m |= uint32_t{1} << i;
    }
    return m;
#endif
  }
};

constexpr size_t RoundUp16(size_t n) { return (n + 15) & ~size_t{15}; }

// The block for p[i, n) when fewer than 16 bytes may be read from p + i
// (0 < n - i < 16): the last 16 bytes of p[0, n), overlapping what came
// before; or, for a view shorter than 16 bytes, two overlapping 8- or
// 4-byte loads side by side (p[i, i + w) and p[n - w, n)), or its 1 to 3
// bytes. Positions(m) turns a ByteSet match of v into bit k = p[i + k].
struct TailBlock {
  Vec16 v;
  uint32_t left;   // n - i
  uint32_t width;  // 16: the overlapping block; 8 or 4: two loads; 0: bytes
  [[gnu::always_inline]] uint32_t Positions(uint32_t m) const {
    if (width == 16) return m >> (16 - left);
    if (width == 0) return m & ((uint32_t{1} << left) - 1);
    const uint32_t bits = (uint32_t{1} << width) - 1;
    return (m & bits) | (((m >> 8) & bits) << (left - width));
  }
};
[[gnu::noinline]] inline TailBlock LoadTail(const char* p, size_t i, size_t n) {
  const uint32_t left = static_cast<uint32_t>(n - i);
  if (n >= 16) return {Load16(p + n - 16), left, 16};
  const char* const q = p + i;
  if (left >= 8) {
    uint64_t a, b;
    std::memcpy(&a, q, 8);
    std::memcpy(&b, q + left - 8, 8);
    return {Pair(a, b), left, 8};
  }
  if (left >= 4) {
    uint32_t a, b;
    std::memcpy(&a, q, 4);
    std::memcpy(&b, q + left - 4, 4);
    return {Pair(a, b), left, 4};
  }
  uint64_t a = 0;
  for (uint32_t k = 0; k < left; ++k) a |= uint64_t{static_cast<unsigned char>(q[k])} << (8 * k);
  return {Pair(a, 0), left, 0};
}

template <class S>
uint32_t TailMatch(const char* p, size_t i, size_t n) {
  const TailBlock t = LoadTail(p, i, n);
  return t.Positions(S::Match(t.v));
}

// FindIn when fewer than the rounded-up 16-byte blocks may be read.
template <class S>
[[gnu::noinline]] size_t FindInTail(const char* p, size_t n, size_t readable) {
  size_t i = 0;
  for (; i + 16 <= n || (i < n && readable - i >= 16); i += 16) {
    const uint32_t m = S::Match(Load16(p + i));
    if (m != 0) return std::min(i + static_cast<size_t>(__builtin_ctz(m)), n);
  }
  if (i >= n) return n;
  const uint32_t m = TailMatch<S>(p, i, n);
  return m != 0 ? i + static_cast<size_t>(__builtin_ctz(m)) : n;
}

// Returns the index of the first byte of p[0, n) in the ByteSet S, or n.
// Reads 16 bytes at a time, never outside p[0, readable) (readable >= n).
// The parsers pass the end of the message as the limit when they know it:
// then the blocks may run past n (a match there is ignored), and the short
// views they scan (a tag, a host, a URI) take one or two block compares.
template <class S>
[[gnu::always_inline]] inline size_t FindIn(const char* p, size_t n, size_t readable) {
  if (readable < RoundUp16(n)) return FindInTail<S>(p, n, readable);
  for (size_t i = 0; i < n; i += 16) {
    const uint32_t m = S::Match(Load16(p + i));
    if (m != 0) return std::min(i + static_cast<size_t>(__builtin_ctz(m)), n);
  }
  return n;
}

// The first control character, SP or one of `Cs` in p[0, n), or n.
template <char... Cs>
[[gnu::always_inline]] inline size_t FindCtlOr(const char* p, size_t n, size_t readable) {
  return FindIn<ByteSet<true, Cs...>>(p, n, readable);
}
template <char... Cs>
[[gnu::always_inline]] inline size_t FindCtlOr(const char* p, size_t n) {
  return FindIn<ByteSet<true, Cs...>>(p, n, n);
}

// The first of `Cs` in p[0, n), or n.
template <char... Cs>
[[gnu::always_inline]] inline size_t FindAny(const char* p, size_t n, size_t readable) {
  return FindIn<ByteSet<false, Cs...>>(p, n, readable);
}
template <char... Cs>
[[gnu::always_inline]] inline size_t FindAny(const char* p, size_t n) {
  return FindIn<ByteSet<false, Cs...>>(p, n, n);
}

// A parameter list (";name[=value]..." as in Via, URI and name-addr
// parameters) of at most 64 bytes, classified at once: bit i of each mask
// is byte p[i]. `other` marks control characters, SP and `Others`: bytes a
// parameter list in the usual spelling does not hold, left to the general
// code. `readable` >= n bytes may be read from p: 16-byte blocks where it
// allows, then at most one TailBlock. (Three named masks rather than an
// array: the compiler keeps them in registers.)
struct ParamMasks {
  uint64_t semi;
  uint64_t equal;
  uint64_t other;
};
inline constexpr size_t kMaxParamMasks = 64;
template <char... Others>
[[gnu::always_inline]] inline ParamMasks ClassifyParams(const char* p, size_t n,
                                                        size_t readable) {
  using Semi = ByteSet<false, ';'>;
  using Equal = ByteSet<false, '='>;
  using Other = ByteSet<true, Others...>;
  uint64_t semi = 0;
  uint64_t equal = 0;
  uint64_t other = 0;
  size_t i = 0;
  for (; i < n && readable - i >= 16; i += 16) {
    const Vec16 v = Load16(p + i);
    semi |= uint64_t{Semi::Match(v)} << i;
    equal |= uint64_t{Equal::Match(v)} << i;
    other |= uint64_t{Other::Match(v)} << i;
  }
  if (i < n) {
    const TailBlock t = LoadTail(p, i, n);
    semi |= uint64_t{t.Positions(Semi::Match(t.v))} << i;
    equal |= uint64_t{t.Positions(Equal::Match(t.v))} << i;
    other |= uint64_t{t.Positions(Other::Match(t.v))} << i;
  }
  const uint64_t valid = n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
  return {semi & valid, equal & valid, other & valid};
}

// Bits [from, to) of a 64-bit mask (from <= to <= 64).
constexpr uint64_t BitRange(size_t from, size_t to) {
  const uint64_t below_to = to >= 64 ? ~uint64_t{0} : (uint64_t{1} << to) - 1;
  const uint64_t below_from = from >= 64 ? ~uint64_t{0} : (uint64_t{1} << from) - 1;
  return below_to & ~below_from;
}

}  // namespace sipshard::sip::internal

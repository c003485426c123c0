// Lexical helpers shared by the SIP parsers (RFC 3261 §25.1 basic rules).
//
// All functions work on views into the message buffer and never allocate.
// Header values may contain folded line breaks (CRLF followed by SP/HT);
// these helpers treat CR and LF as linear white space so that the parsers
// above them never need to unfold a copy.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace sipshard::sip {

constexpr char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

namespace internal {
// Character classes for the hot scanning loops: one table load per byte.
inline constexpr uint16_t kClassLws = 1 << 0;       // SP HT CR LF
inline constexpr uint16_t kClassSemi = 1 << 1;      // ';'
inline constexpr uint16_t kClassEqual = 1 << 2;     // '='
inline constexpr uint16_t kClassQuote = 1 << 3;     // '"'
inline constexpr uint16_t kClassLAngle = 1 << 4;    // '<'
inline constexpr uint16_t kClassRAngle = 1 << 5;    // '>'
inline constexpr uint16_t kClassComma = 1 << 6;     // ','
inline constexpr uint16_t kClassQuestion = 1 << 7;  // '?'
inline constexpr uint16_t kClassCtl = 1 << 8;       // 0x00-0x20 and 0x7f (incl. SP)
inline constexpr uint16_t kClassPercent = 1 << 9;   // '%'
inline constexpr uint16_t kClassHostChar = 1 << 10;  // ALPHA DIGIT '-' (hostname labels)
inline constexpr uint16_t kClassColon = 1 << 11;     // ':'
inline constexpr uint16_t kClassLParen = 1 << 12;    // '('
inline constexpr uint16_t kClassBackslash = 1 << 13;  // '\\'
inline constexpr uint16_t kClassDot = 1 << 14;        // '.'
constexpr std::array<uint16_t, 256> MakeCharClasses() {
  std::array<uint16_t, 256> t{};
  for (int c = 0; c <= 0x20; ++c) t[c] |= kClassCtl;
  t[0x7f] |= kClassCtl;
  t[' '] |= kClassLws;
  t['\t'] |= kClassLws;
  t['\r'] |= kClassLws;
  t['\n'] |= kClassLws;
  t[';'] |= kClassSemi;
  t['='] |= kClassEqual;
  t['"'] |= kClassQuote;
  t['<'] |= kClassLAngle;
  t['>'] |= kClassRAngle;
  t[','] |= kClassComma;
  t['?'] |= kClassQuestion;
  t['%'] |= kClassPercent;
  for (int c = '0'; c <= '9'; ++c) t[c] |= kClassHostChar;
  for (int c = 'a'; c <= 'z'; ++c) t[c] |= kClassHostChar;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kClassHostChar;
  t['-'] |= kClassHostChar;
  t[':'] |= kClassColon;
  t['('] |= kClassLParen;
  t['\\'] |= kClassBackslash;
  t['.'] |= kClassDot;
  return t;
}
inline constexpr std::array<uint16_t, 256> kCharClasses = MakeCharClasses();
constexpr bool HasClass(char c, uint16_t classes) {
  return (kCharClasses[static_cast<unsigned char>(c)] & classes) != 0;
}
// Returns the index of the first character of `s` not in `classes`, or s.size().
inline size_t SpanClass(std::string_view s, uint16_t classes) {
  size_t i = 0;
  while (i < s.size() && HasClass(s[i], classes)) ++i;
  return i;
}
// Returns the index of the first character of `s` in `classes`, or s.size().
inline size_t FindClass(std::string_view s, uint16_t classes) {
  size_t i = 0;
  while (i < s.size() && !HasClass(s[i], classes)) ++i;
  return i;
}

// Test hook: when true, the parsers skip their fast paths (each one a
// shortcut for the common spelling of something the general code also
// handles) so that tests can check both give identical results. Not
// thread-safe; only tests set it.
inline bool force_general_paths = false;
}  // namespace internal

constexpr bool IsLws(char c) { return internal::HasClass(c, internal::kClassLws); }

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// True if `s` is `lower` in any case, where `lower` is a lower-case word of
// at most 8 ASCII letters: EqualsIgnoreCase(s, lower) in two word
// compares. Exact because for a lower-case letter t, (c | 0x20) == t holds
// only for c == t and c == t - 0x20, its upper-case form.
template <size_t N>
inline bool EqualsLowerLetters(std::string_view s, const char (&lower)[N]) {
  constexpr size_t n = N - 1;
  static_assert(n >= 1 && n <= 8);
  if (s.size() != n) return false;
  // Two loads that may overlap cover the word: no byte loop, no stack copy.
  auto folded_equal = [&](auto zero, size_t at) {
    decltype(zero) a, b;
    std::memcpy(&a, s.data() + at, sizeof a);
    std::memcpy(&b, lower + at, sizeof b);
    decltype(zero) fold;
    std::memset(&fold, 0x20, sizeof fold);
    return (a | fold) == b;
  };
  if constexpr (n >= 4) {
    return folded_equal(uint32_t{0}, 0) && folded_equal(uint32_t{0}, n - 4);
  } else if constexpr (n >= 2) {
    return folded_equal(uint16_t{0}, 0) && folded_equal(uint16_t{0}, n - 2);
  } else {
    return (s[0] | 0x20) == lower[0];
  }
}

// Compares ASCII case-insensitively (header names, parameter names, schemes).
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i] && AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// Returns `s` without leading and trailing linear white space. These run on
// every header value, so they live here to be inlined.
inline std::string_view TrimLeadingLws(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && IsLws(s[i])) ++i;
  return s.substr(i);
}
inline std::string_view TrimTrailingLws(std::string_view s) {
  size_t n = s.size();
  while (n > 0 && IsLws(s[n - 1])) --n;
  return s.substr(0, n);
}
inline std::string_view TrimLws(std::string_view s) { return TrimTrailingLws(TrimLeadingLws(s)); }

// Parses a decimal integer made only of digits (no sign, no spaces) that is
// at most `max`. Returns nullopt on empty input, non-digits or overflow.
// Inline: it runs on Content-Length, Max-Forwards, CSeq and ports of every
// message.
inline std::optional<uint64_t> ParseDecimal(std::string_view digits, uint64_t max) {
  if (digits.empty() || digits.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

// Returns the index just past the closing quote of the quoted-string that
// starts at s[start] == '"', honouring quoted-pair escapes (§25.1), or npos
// if it is unterminated.
size_t SkipQuotedString(std::string_view s, size_t start);

// Returns the index just past the matching ')' of a comment starting at
// s[start] == '(' (comments nest and allow quoted-pairs, §25.1), or npos.
size_t SkipComment(std::string_view s, size_t start);

// Splits a list header value at top-level commas: commas inside quoted
// strings and <...> do not split. Call repeatedly; returns false at the end.
// Elements are trimmed; empty elements (",,") are skipped.
class ListSplitter {
 public:
  explicit ListSplitter(std::string_view value) : rest_(value) {}
  bool Next(std::string_view* element);
  // Returns false if a quote or '<' was left unterminated.
  bool ok() const { return ok_; }

 private:
  std::string_view rest_;
  bool ok_ = true;
};

// Iterates `;name[=value]` parameters (generic-param, §25.1). `params` starts
// at the first ';' (or is empty). Names compare case-insensitively; values
// are returned as written (quoted values keep their quotes).
class ParamIterator {
 public:
  explicit ParamIterator(std::string_view params) : rest_(params) {}
  bool Next(std::string_view* name, std::string_view* value);
  bool ok() const { return ok_; }

 private:
  std::string_view rest_;
  bool ok_ = true;
};

// Finds parameter `name` in `params`. Returns true if present; *value is set
// to its value ("" for a flag parameter such as `lr` or bare `rport`).
bool FindParam(std::string_view params, std::string_view name, std::string_view* value);

}  // namespace sipshard::sip

// Lexical helpers shared by the SIP parsers (RFC 3261 §25.1 basic rules).
//
// All functions work on views into the message buffer and never allocate.
// Header values may contain folded line breaks (CRLF followed by SP/HT);
// these helpers treat CR and LF as linear white space so that the parsers
// above them never need to unfold a copy.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sipshard::sip {

constexpr char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

constexpr bool IsLws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Returns `s` without leading and trailing linear white space.
std::string_view TrimLws(std::string_view s);
std::string_view TrimLeadingLws(std::string_view s);
std::string_view TrimTrailingLws(std::string_view s);

// Parses a decimal integer made only of digits (no sign, no spaces) that is
// at most `max`. Returns nullopt on empty input, non-digits or overflow.
std::optional<uint64_t> ParseDecimal(std::string_view digits, uint64_t max);

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

#include "sipshard/sip/text.h"

namespace sipshard::sip {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

std::string_view TrimLeadingLws(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && IsLws(s[i])) ++i;
  return s.substr(i);
}

std::string_view TrimTrailingLws(std::string_view s) {
  size_t n = s.size();
  while (n > 0 && IsLws(s[n - 1])) --n;
  return s.substr(0, n);
}

std::string_view TrimLws(std::string_view s) { return TrimTrailingLws(TrimLeadingLws(s)); }

std::optional<uint64_t> ParseDecimal(std::string_view digits, uint64_t max) {
  if (digits.empty() || digits.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

size_t SkipQuotedString(std::string_view s, size_t start) {
  for (size_t i = start + 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;  // quoted-pair: the next character is literal, even '"'
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

size_t SkipComment(std::string_view s, size_t start) {
  int depth = 0;
  for (size_t i = start; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\') {
      ++i;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

bool ListSplitter::Next(std::string_view* element) {
  while (!rest_.empty()) {
    size_t i = 0;
    bool in_angle = false;
    for (; i < rest_.size(); ++i) {
      const char c = rest_[i];
      if (c == '"') {
        const size_t end = SkipQuotedString(rest_, i);
        if (end == std::string_view::npos) {
          ok_ = false;
          i = rest_.size();
          break;
        }
        i = end - 1;
      } else if (c == '<') {
        in_angle = true;
      } else if (c == '>') {
        in_angle = false;
      } else if (c == ',' && !in_angle) {
        break;
      }
    }
    if (in_angle) ok_ = false;
    std::string_view piece = TrimLws(rest_.substr(0, i));
    rest_ = i < rest_.size() ? rest_.substr(i + 1) : std::string_view();
    if (!piece.empty()) {
      *element = piece;
      return true;
    }
  }
  return false;
}

bool ParamIterator::Next(std::string_view* name, std::string_view* value) {
  rest_ = TrimLeadingLws(rest_);
  while (!rest_.empty() && rest_.front() == ';') {
    rest_ = TrimLeadingLws(rest_.substr(1));
    size_t i = 0;
    while (i < rest_.size() && rest_[i] != ';' && rest_[i] != '=' && !IsLws(rest_[i])) ++i;
    std::string_view n = rest_.substr(0, i);
    rest_ = TrimLeadingLws(rest_.substr(i));
    std::string_view v;
    if (!rest_.empty() && rest_.front() == '=') {
      rest_ = TrimLeadingLws(rest_.substr(1));
      size_t j = 0;
      if (!rest_.empty() && rest_.front() == '"') {
        j = SkipQuotedString(rest_, 0);
        if (j == std::string_view::npos) {
          ok_ = false;
          rest_ = {};
          return false;
        }
      } else {
        while (j < rest_.size() && rest_[j] != ';' && !IsLws(rest_[j])) ++j;
      }
      v = rest_.substr(0, j);
      rest_ = TrimLeadingLws(rest_.substr(j));
    }
    if (n.empty()) {
      ok_ = false;
      continue;
    }
    *name = n;
    *value = v;
    return true;
  }
  if (!rest_.empty()) ok_ = false;  // trailing junk that is not a parameter
  return false;
}

bool FindParam(std::string_view params, std::string_view name, std::string_view* value) {
  ParamIterator it(params);
  std::string_view n, v;
  while (it.Next(&n, &v)) {
    if (EqualsIgnoreCase(n, name)) {
      *value = v;
      return true;
    }
  }
  return false;
}

}  // namespace sipshard::sip

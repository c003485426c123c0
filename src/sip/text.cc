#include "sipshard/sip/text.h"

#include "sipshard/sip/internal/scan.h"

namespace sipshard::sip {

size_t SkipQuotedString(std::string_view s, size_t start) {
  if (!internal::force_general_paths) {
    // From one '"' or '\\' to the next, 16 bytes at a time: display names
    // and quoted values rarely hold escapes.
    const char* const p = s.data();
    size_t i = start + 1;
    while (i < s.size()) {
      i += internal::FindAny<'"', '\\'>(p + i, s.size() - i);
      if (i >= s.size()) break;
      if (p[i] == '"') return i + 1;
      i += 2;  // quoted-pair: the next character is literal, even '"'
    }
    return std::string_view::npos;
  }
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

namespace {

// The end of the list element that starts rest[0]: the index of its
// top-level ',' or rest.size(). Sets *ok to false on an unterminated
// quoted string (the element then runs to the end) and *in_angle when a
// '<' is left open. ListSplitter's loop, jumping from one '"', '<', '>' or
// ',' to the next 16 bytes at a time.
size_t FindElementEnd(std::string_view rest, bool* ok, bool* in_angle) {
  const char* const p = rest.data();
  const size_t n = rest.size();
  size_t i = 0;
  while (true) {
    i += internal::FindAny<'"', '<', '>', ','>(p + i, n - i);
    if (i >= n) return n;
    const char c = p[i];
    if (c == '"') {
      const size_t end = SkipQuotedString(rest, i);
      if (end == std::string_view::npos) {
        *ok = false;
        return n;
      }
      i = end;
      continue;
    }
    if (c == '<') {
      *in_angle = true;
    } else if (c == '>') {
      *in_angle = false;
    } else if (!*in_angle) {
      return i;  // a top-level ','
    }
    ++i;
  }
}

}  // namespace

bool ListSplitter::Next(std::string_view* element) {
  if (!internal::force_general_paths) {
    while (!rest_.empty()) {
      bool in_angle = false;
      const size_t i = FindElementEnd(rest_, &ok_, &in_angle);
      if (in_angle) ok_ = false;
      const std::string_view piece = TrimLws(rest_.substr(0, i));
      rest_ = i < rest_.size() ? rest_.substr(i + 1) : std::string_view();
      if (!piece.empty()) {
        *element = piece;
        return true;
      }
    }
    return false;
  }
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
  using internal::HasClass;
  using internal::kClassEqual;
  using internal::kClassLws;
  using internal::kClassSemi;
  const char* p = rest_.data();
  const size_t n = rest_.size();
  size_t i = 0;
  auto skip_lws = [&] {
    while (i < n && IsLws(p[i])) ++i;
  };
  // The fast path jumps to the next control character, SP, ';' (or '=')
  // 16 bytes at a time; a control character that is not white space is an
  // ordinary name or value byte here, so the scan goes on past it.
  const bool fast = !internal::force_general_paths;
  auto ordinary_ctl = [&] {
    return i < n && static_cast<unsigned char>(p[i]) <= 0x20 && !IsLws(p[i]);
  };
  skip_lws();
  while (i < n && p[i] == ';') {
    ++i;
    skip_lws();
    const size_t name_start = i;
    if (fast) {
      i += internal::FindCtlOr<';', '='>(p + i, n - i);
      while (ordinary_ctl()) {
        ++i;
        i += internal::FindCtlOr<';', '='>(p + i, n - i);
      }
    } else {
      while (i < n && !HasClass(p[i], kClassSemi | kClassEqual | kClassLws)) ++i;
    }
    const std::string_view n_view(p + name_start, i - name_start);
    skip_lws();
    std::string_view v;
    if (i < n && p[i] == '=') {
      ++i;
      skip_lws();
      const size_t value_start = i;
      if (i < n && p[i] == '"') {
        const size_t end = SkipQuotedString(rest_, i);
        if (end == std::string_view::npos) {
          ok_ = false;
          rest_ = {};
          return false;
        }
        i = end;
      } else if (fast) {
        i += internal::FindCtlOr<';'>(p + i, n - i);
        while (ordinary_ctl()) {
          ++i;
          i += internal::FindCtlOr<';'>(p + i, n - i);
        }
      } else {
        while (i < n && !HasClass(p[i], kClassSemi | kClassLws)) ++i;
      }
      v = std::string_view(p + value_start, i - value_start);
      skip_lws();
    }
    if (n_view.empty()) {
      ok_ = false;
      continue;
    }
    rest_ = rest_.substr(i);
    *name = n_view;
    *value = v;
    return true;
  }
  rest_ = rest_.substr(i);
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

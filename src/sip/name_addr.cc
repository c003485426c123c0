#include "sipshard/sip/name_addr.h"

#include "sipshard/sip/internal/scan.h"
#include "sipshard/sip/method.h"
#include "sipshard/sip/text.h"

namespace sipshard::sip {
namespace {

bool ParseHeaderParams(std::string_view params, size_t readable, NameAddr* out) {
  out->params = params;
  if (params.empty()) return true;
  if (params.front() != ';') return false;
  // From/To usually carry just ";tag=token": when the value runs to the end
  // without a quote, ';' or LWS, ParamIterator would yield exactly that one
  // parameter, so the tag can be taken directly.
  constexpr std::string_view kTag = ";tag=";
  if (!internal::force_general_paths && params.substr(0, kTag.size()) == kTag &&
      (params.size() == kTag.size() || params[kTag.size()] != '"')) {
    const std::string_view value = params.substr(kTag.size());
    // No ';' and no white space (nor, to scan in blocks, any other control
    // character) in the rest: the tag is all there is.
    if (internal::FindCtlOr<';'>(value.data(), value.size(), readable - kTag.size()) ==
        value.size()) {
      out->tag = value;
      return true;
    }
  }
  ParamIterator it(params);
  std::string_view name, value;
  while (it.Next(&name, &value)) {
    if (EqualsIgnoreCase(name, "tag")) out->tag = value;
  }
  return it.ok();
}

// ParseNameAddr for the usual spellings `<uri>;params` and
// `"Display Name" <uri>;params`: the URI is found and checked in one block
// scan where the general code searches for '>' and then scans the URI.
// Returns false, leaving *out to the general code, for anything else (and
// for every element the general code refuses); a true return fills *out
// exactly as the general code does.
bool ParseNameAddrFast(std::string_view s, size_t readable, NameAddr* out) {
  const size_t n = s.size();
  // Not trimmed, or too short for "<x>": the general code.
  if (n < 3 || IsLws(s.front()) || IsLws(s.back())) return false;
  size_t i = 0;
  if (s.front() == '"') {
    i = SkipQuotedString(s, 0);
    if (i == std::string_view::npos) return false;
    const size_t quoted = i;
    while (i < n && IsLws(s[i])) ++i;
    if (i >= n || s[i] != '<') return false;
    out->display_name = s.substr(0, quoted);
  } else if (s.front() == '<') {
    out->display_name = s.substr(0, 0);  // the general code's TrimLws of nothing
  } else {
    return false;
  }
  // s[i] == '<'. The URI runs to the first '>' and holds no white space,
  // '<' or '"'; it stops at any control character too, to scan in blocks.
  const size_t close =
      i + 1 + internal::FindCtlOr<'>', '<', '"'>(s.data() + i + 1, n - i - 1, readable - i - 1);
  if (close == n || s[close] != '>' || close == i + 1) return false;
  out->uri = s.substr(i + 1, close - i - 1);
  out->has_angle_brackets = true;
  out->tag = {};
  out->is_wildcard = false;
  out->raw = s;
  const std::string_view params = TrimLeadingLws(s.substr(close + 1));
  return ParseHeaderParams(params, readable - static_cast<size_t>(params.data() - s.data()), out);
}

// The general code: every spelling §20.10 and §25.1 allow.
bool ParseNameAddrGeneral(std::string_view element, NameAddr* out) {
  *out = NameAddr();
  std::string_view s = TrimLws(element);
  out->raw = s;
  if (s.empty()) return false;
  if (s.front() == '*') {
    out->is_wildcard = true;
    const std::string_view params = TrimLeadingLws(s.substr(1));
    return ParseHeaderParams(params, params.size(), out);
  }

  size_t i = 0;
  if (s.front() == '"') {
    i = SkipQuotedString(s, 0);
    if (i == std::string_view::npos) return false;
    out->display_name = s.substr(0, i);
    while (i < s.size() && IsLws(s[i])) ++i;
    if (i >= s.size() || s[i] != '<') return false;
  } else {
    // Either "token LWS token <uri>" or a bare addr-spec. Display names are
    // tokens and LWS only, so the first '<' decides.
    while (i < s.size() && s[i] != '<' && s[i] != ';' && s[i] != '@' && s[i] != ':') ++i;
    if (i < s.size() && s[i] == '<') {
      out->display_name = TrimLws(s.substr(0, i));
      for (char c : out->display_name) {
        if (!IsTokenChar(c) && !IsLws(c)) return false;
      }
    } else {
      const size_t semi = s.find(';');
      out->uri = TrimTrailingLws(s.substr(0, semi));
      if (out->uri.empty()) return false;
      // §20.10: a URI holding a comma, question mark or semicolon must be
      // enclosed in angle brackets; ';' already ended it above.
      using namespace internal;  // NOLINT: the character classes
      if (FindClass(out->uri, kClassLws | kClassLAngle | kClassRAngle | kClassQuote | kClassComma |
                                  kClassQuestion) != out->uri.size()) {
        return false;
      }
      const std::string_view params =
          semi == std::string_view::npos ? std::string_view() : s.substr(semi);
      return ParseHeaderParams(params, params.size(), out);
    }
  }
  // s[i] == '<'
  const size_t close = s.find('>', i);
  if (close == std::string_view::npos) return false;
  out->has_angle_brackets = true;
  // LAQUOT = SWS "<" and RAQUOT = ">" SWS: no white space inside (§25.1).
  out->uri = s.substr(i + 1, close - i - 1);
  if (out->uri.empty()) return false;
  using namespace internal;  // NOLINT: the character classes
  if (FindClass(out->uri, kClassLws | kClassLAngle | kClassQuote) != out->uri.size()) return false;
  const std::string_view params = TrimLeadingLws(s.substr(close + 1));
  return ParseHeaderParams(params, params.size(), out);
}

}  // namespace

namespace internal {
bool ParseNameAddrIn(std::string_view element, size_t readable, NameAddr* out) {
  if (!force_general_paths && ParseNameAddrFast(element, readable, out)) return true;
  return ParseNameAddrGeneral(element, out);
}
}  // namespace internal

bool ParseNameAddr(std::string_view element, NameAddr* out) {
  if (!internal::force_general_paths && ParseNameAddrFast(element, element.size(), out)) {
    return true;
  }
  return ParseNameAddrGeneral(element, out);
}

}  // namespace sipshard::sip

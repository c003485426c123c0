#include "sipshard/sip/name_addr.h"

#include "sipshard/sip/method.h"
#include "sipshard/sip/text.h"

namespace sipshard::sip {
namespace {

bool ParseHeaderParams(std::string_view params, NameAddr* out) {
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
    if (internal::FindClass(value, internal::kClassSemi | internal::kClassLws) == value.size()) {
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

}  // namespace

bool ParseNameAddr(std::string_view element, NameAddr* out) {
  *out = NameAddr();
  std::string_view s = TrimLws(element);
  out->raw = s;
  if (s.empty()) return false;
  if (s.front() == '*') {
    out->is_wildcard = true;
    return ParseHeaderParams(TrimLeadingLws(s.substr(1)), out);
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
      return ParseHeaderParams(semi == std::string_view::npos ? std::string_view() : s.substr(semi),
                               out);
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
  return ParseHeaderParams(TrimLeadingLws(s.substr(close + 1)), out);
}

}  // namespace sipshard::sip

#include "sipshard/sip/uri.h"

#include <cstring>

#include "sipshard/sip/internal/scan.h"
#include "sipshard/sip/text.h"

namespace sipshard::sip {
namespace {

bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool IsAlnum(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT, each ≤ 255.
bool IsIpv4Address(std::string_view s) {
  const char* p = s.data();
  const char* const end = p + s.size();
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (p == end || *p != '.') return false;
      ++p;
    }
    // One to three digits, unrolled: a fourth digit is an error.
    if (p == end || !IsDigit(*p)) return false;
    int value = *p++ - '0';
    if (p != end && IsDigit(*p)) {
      value = value * 10 + (*p++ - '0');
      if (p != end && IsDigit(*p)) {
        value = value * 10 + (*p++ - '0');
        if (p != end && IsDigit(*p)) return false;
      }
    }
    if (value > 255) return false;
  }
  return p == end;
}

// IPv6address (RFC 3261 §25.1, RFC 4291 §2.2): up to eight 1-4 digit hex
// groups, at most one "::", and optionally an IPv4 address as the last 32
// bits. RFC 5118 §4.10: "2001:db8:::192.0.2.1" (three colons) is invalid.
bool IsIpv6Address(std::string_view s) {
  const size_t n = s.size();
  if (n < 2) return false;
  int groups = 0;
  bool double_colon = false;
  size_t i = 0;
  if (s[0] == ':') {
    if (s[1] != ':') return false;
    double_colon = true;
    i = 2;
    if (i == n) return true;  // "::"
  }
  while (true) {
    size_t j = i;
    bool dotted = false;
    while (j < n && s[j] != ':') {
      if (s[j] == '.') dotted = true;
      ++j;
    }
    const std::string_view piece = s.substr(i, j - i);
    if (dotted) {
      if (j != n || !IsIpv4Address(piece)) return false;
      groups += 2;
      break;
    }
    if (piece.empty() || piece.size() > 4) return false;
    for (char c : piece) {
      if (!IsHex(c)) return false;
    }
    ++groups;
    if (j == n) break;
    if (j + 1 < n && s[j + 1] == ':') {
      if (double_colon) return false;
      double_colon = true;
      i = j + 2;
      if (i == n) break;
    } else {
      i = j + 1;
      if (i == n) return false;  // a trailing single ':'
    }
    if (groups > 8) return false;
  }
  return double_colon ? groups <= 7 : groups == 8;
}

bool IsValidIpv6Reference(std::string_view host) {
  if (host.size() < 4 || host.front() != '[' || host.back() != ']') return false;
  return IsIpv6Address(host.substr(1, host.size() - 2));
}

// hostname = *( domainlabel "." ) toplabel [ "." ], where a toplabel starts
// with a letter; a name whose last label starts with a digit can only be an
// IPv4address (§25.1).
bool IsValidHostname(std::string_view host) {
  const size_t n = host.size();
  if (n == 0) return false;
  size_t label_start = 0;
  size_t last_label = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = host[i];
    if (c == '.') {
      if (i == label_start || host[i - 1] == '-') return false;  // empty label, or ends in '-'
      last_label = label_start;
      label_start = i + 1;
    } else if (!internal::HasClass(c, internal::kClassHostChar) ||
               (c == '-' && i == label_start)) {
      return false;
    }
  }
  if (label_start < n) {  // no trailing dot: the last label is the toplabel
    if (host[n - 1] == '-') return false;
    last_label = label_start;
  }
  if (IsDigit(host[last_label])) return IsIpv4Address(host);
  return true;
}

}  // namespace

bool IsValidHost(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') return IsValidIpv6Reference(host);
  // Every IPv4address is also a valid hostname (digit labels, the last one
  // checked as IPv4 again), so trying it first only skips the second scan.
  if (IsDigit(host.front()) && !internal::force_general_paths && IsIpv4Address(host)) return true;
  return IsValidHostname(host);
}

bool HasValidEscapes(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 2 >= s.size() || !IsHex(s[i + 1]) || !IsHex(s[i + 2])) return false;
    i += 2;
  }
  return true;
}

std::string_view Uri::HostAddress() const {
  if (host_is_ipv6 && host.size() >= 2) return host.substr(1, host.size() - 2);
  return host;
}

uint16_t Uri::PortOrDefault() const {
  if (has_port) return port;
  return scheme == UriScheme::kSips ? 5061 : 5060;
}

bool Uri::HasParam(std::string_view name) const {
  std::string_view value;
  return FindParam(params, name, &value);
}

std::string_view Uri::Param(std::string_view name) const {
  std::string_view value;
  return FindParam(params, name, &value) ? value : std::string_view();
}

namespace {

// ParseUriInto for the usual sip:/sips: URI: sip:[user[:password]@]host
// [:port][;params], with a hostname or IPv4 host, parameters of at most 64
// bytes and without '%', '?' or quoted parameter values. A few block scans
// where the general code runs byte loops and searches the text several
// times. Returns false for anything else, valid or not; a true return
// fills *out exactly as the general code does. `readable` >= text.size()
// bytes may be read from text.data().
bool ParseSipUriFast(std::string_view text, size_t readable, Uri* out) {
  using internal::FindAny;
  using internal::FindCtlOr;
  const char* const begin = text.data();
  const size_t n = text.size();
  if (n < 5) return false;
  // "sip:" or "sips:" in any case: (c | 0x20) folds exactly the letters.
  uint32_t head;
  std::memcpy(&head, begin, 4);
  size_t colon;
  UriScheme scheme;
  if ((head | 0x00202020U) == ('s' | 'i' << 8 | 'p' << 16 | ':' << 24)) {
    colon = 3;
    scheme = UriScheme::kSip;
  } else if ((head | 0x20202020U) == ('s' | 'i' << 8 | 'p' << 16 | 's' << 24) && begin[4] == ':') {
    colon = 4;
    scheme = UriScheme::kSips;
  } else {
    return false;
  }
  const char* const rest = begin + colon + 1;
  const size_t rest_size = n - colon - 1;
  const size_t rest_readable = readable - colon - 1;
  // No white space, control character, escape or header part anywhere: the
  // general code's first check, with '%' and '?' left to it.
  if (rest_size == 0 || FindCtlOr<'\x7f', '%', '?'>(rest, rest_size, rest_readable) != rest_size) {
    return false;
  }

  // userinfo ends at the first '@' (none can appear unescaped after it).
  std::string_view user, password;
  const char* host = rest;
  const size_t at = FindAny<'@'>(rest, rest_size, rest_readable);
  if (at != rest_size) {
    const size_t pw = FindAny<':'>(rest, at, rest_readable);
    if (pw == 0) return false;
    user = std::string_view(rest, pw);
    if (pw != at) password = std::string_view(rest + pw + 1, at - pw - 1);
    host = rest + at + 1;
  }
  const char* const end = begin + n;
  if (host == end || *host == '[') return false;
  const char* p = host;
  while (p < end && internal::HasClass(*p, internal::kClassHostChar | internal::kClassDot)) ++p;
  const std::string_view host_view(host, static_cast<size_t>(p - host));
  if (p < end && *p != ':' && *p != ';') return false;
  if (!IsValidHost(host_view)) return false;
  bool has_port = false;
  uint64_t port = 0;
  if (p < end && *p == ':') {
    const char* const digits = ++p;
    while (p < end && IsDigit(*p)) port = port * 10 + static_cast<uint64_t>(*p++ - '0');
    // ParseDecimal's limits: 1 to 19 digits, at most 65535.
    if (p == digits || p - digits > 19 || port > 65535) return false;
    if (p < end && *p != ';') return false;
    has_port = true;
  }
  // Parameters, as ParamIterator checks them here (the text holds no white
  // space): every parameter has a name, and no value is quoted (a quoted
  // value may hold ';': the general code reads it).
  const std::string_view params(p, static_cast<size_t>(end - p));
  if (!params.empty()) {
    if (params.size() > internal::kMaxParamMasks) return false;
    const internal::ParamMasks m = internal::ClassifyParams<'"'>(
        params.data(), params.size(), readable - static_cast<size_t>(p - begin));
    uint64_t semis = m.semi;  // bit 0 is set: params starts with ';'
    while (semis != 0) {
      const size_t name = static_cast<size_t>(__builtin_ctzll(semis)) + 1;
      semis &= semis - 1;
      const size_t param_end =
          semis != 0 ? static_cast<size_t>(__builtin_ctzll(semis)) : params.size();
      const uint64_t equals = m.equal & internal::BitRange(name, param_end);
      const size_t name_end =
          equals != 0 ? static_cast<size_t>(__builtin_ctzll(equals)) : param_end;
      if (name_end == name) return false;  // an empty name
      if (equals != 0 && (m.other & internal::BitRange(name_end + 1, name_end + 2)) != 0) {
        return false;
      }
    }
  }
  out->scheme = scheme;
  out->scheme_text = std::string_view(begin, colon);
  out->user = user;
  out->password = password;
  out->host = host_view;
  out->host_is_ipv6 = false;
  out->has_port = has_port;
  out->port = static_cast<uint16_t>(port);
  out->params = params;
  out->headers = {};
  out->raw = text;
  return true;
}

}  // namespace

namespace internal {

bool ParseUriIn(std::string_view text, size_t readable, Uri* out) {
  if (!force_general_paths && ParseSipUriFast(text, readable, out)) return true;
  return ParseUriInto(text, out);
}

bool ParseUriInto(std::string_view text, Uri* out) {
  if (!force_general_paths && ParseSipUriFast(text, text.size(), out)) return true;
  // Filled in place: the Request-URI is parsed on every request, and a Uri
  // is too big to copy around cheaply.
  *out = Uri();
  Uri& uri = *out;
  uri.raw = text;
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  uri.scheme_text = text.substr(0, colon);
  for (char c : uri.scheme_text) {
    if (!IsAlnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  if (EqualsIgnoreCase(uri.scheme_text, "sip")) {
    uri.scheme = UriScheme::kSip;
  } else if (EqualsIgnoreCase(uri.scheme_text, "sips")) {
    uri.scheme = UriScheme::kSips;
  } else if (EqualsIgnoreCase(uri.scheme_text, "tel")) {
    uri.scheme = UriScheme::kTel;
  } else {
    for (char c : text) {
      if (IsLws(c)) return false;
    }
    return true;
  }
  std::string_view rest = text.substr(colon + 1);
  if (rest.empty()) return false;
  // One pass: no unescaped white space or control characters anywhere in a
  // URI, and (for SIP) every '%' starts a %HH escape. A host never holds a
  // '%', so checking the whole text is the same as checking userinfo,
  // parameters and headers separately.
  const bool check_escapes = uri.scheme != UriScheme::kTel;
  const uint16_t stop = internal::kClassCtl | (check_escapes ? internal::kClassPercent : 0);
  for (size_t i = internal::FindClass(rest, stop); i < rest.size();
       i += 1 + internal::FindClass(rest.substr(i + 1), stop)) {
    if (rest[i] != '%') return false;  // white space or a control character
    if (i + 2 >= rest.size() || !IsHex(rest[i + 1]) || !IsHex(rest[i + 2])) return false;
  }

  if (uri.scheme == UriScheme::kTel) {
    const size_t semi = rest.find(';');
    uri.user = rest.substr(0, semi);
    if (semi != std::string_view::npos) uri.params = rest.substr(semi);
    if (uri.user.empty() || !HasValidEscapes(uri.user)) return false;
    return true;
  }

  // userinfo never holds an unescaped '@', and params/headers cannot either,
  // so the first '@' ends the userinfo even when the user contains ';' or '?'.
  const size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    const size_t pw = userinfo.find(':');
    uri.user = userinfo.substr(0, pw);
    if (pw != std::string_view::npos) uri.password = userinfo.substr(pw + 1);
    if (uri.user.empty()) return false;
    rest = rest.substr(at + 1);
  }

  size_t host_end = 0;
  if (!rest.empty() && rest.front() == '[') {
    host_end = rest.find(']');
    if (host_end == std::string_view::npos) return false;
    ++host_end;
    uri.host_is_ipv6 = true;
  } else {
    host_end = internal::FindClass(rest, internal::kClassColon | internal::kClassSemi |
                                             internal::kClassQuestion);
  }
  uri.host = rest.substr(0, host_end);
  if (!IsValidHost(uri.host)) return false;
  rest = rest.substr(host_end);

  if (!rest.empty() && rest.front() == ':') {
    size_t p = 1;
    while (p < rest.size() && IsDigit(rest[p])) ++p;
    const std::optional<uint64_t> port = ParseDecimal(rest.substr(1, p - 1), 65535);
    if (!port) return false;
    uri.has_port = true;
    uri.port = static_cast<uint16_t>(*port);
    rest = rest.substr(p);
  }
  const size_t question = rest.find('?');
  uri.params = rest.substr(0, question);
  if (question != std::string_view::npos) uri.headers = rest.substr(question + 1);
  if (!uri.params.empty() && uri.params.front() != ';') return false;
  ParamIterator params(uri.params);
  std::string_view name, value;
  while (params.Next(&name, &value)) {
  }
  if (!params.ok()) return false;
  return true;
}

}  // namespace internal

std::optional<Uri> ParseUri(std::string_view text) {
  Uri uri;
  if (!internal::ParseUriInto(text, &uri)) return std::nullopt;
  return uri;
}

}  // namespace sipshard::sip

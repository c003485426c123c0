#include "sipshard/sip/uri.h"

#include "sipshard/sip/text.h"

namespace sipshard::sip {
namespace {

bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool IsAlnum(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool IsValidIpv6Reference(std::string_view host) {
  // "[" IPv6address "]": hex groups, colons, an optional embedded IPv4 tail.
  if (host.size() < 4 || host.front() != '[' || host.back() != ']') return false;
  std::string_view inner = host.substr(1, host.size() - 2);
  int colons = 0;
  bool double_colon = false;
  for (size_t i = 0; i < inner.size(); ++i) {
    const char c = inner[i];
    if (c == ':') {
      ++colons;
      if (i + 1 < inner.size() && inner[i + 1] == ':') {
        if (double_colon) return false;  // "::" at most once
        double_colon = true;
      }
    } else if (!IsHex(c) && c != '.') {
      return false;
    }
  }
  return colons >= 2 && colons <= 7;
}

bool IsValidHostname(std::string_view host) {
  // hostname = *( domainlabel "." ) toplabel [ "." ]; IPv4 fits this shape too.
  if (host.empty()) return false;
  size_t label_start = 0;
  for (size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      const size_t len = i - label_start;
      if (len == 0) return i == host.size() && i > 0;  // trailing dot allowed
      if (host[label_start] == '-' || host[i - 1] == '-') return false;
      label_start = i + 1;
      continue;
    }
    if (!IsAlnum(host[i]) && host[i] != '-') return false;
  }
  return true;
}

}  // namespace

bool IsValidHost(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') return IsValidIpv6Reference(host);
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

std::optional<Uri> ParseUri(std::string_view text) {
  Uri uri;
  uri.raw = text;
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  uri.scheme_text = text.substr(0, colon);
  for (char c : uri.scheme_text) {
    if (!IsAlnum(c) && c != '+' && c != '-' && c != '.') return std::nullopt;
  }
  if (EqualsIgnoreCase(uri.scheme_text, "sip")) {
    uri.scheme = UriScheme::kSip;
  } else if (EqualsIgnoreCase(uri.scheme_text, "sips")) {
    uri.scheme = UriScheme::kSips;
  } else if (EqualsIgnoreCase(uri.scheme_text, "tel")) {
    uri.scheme = UriScheme::kTel;
  } else {
    for (char c : text) {
      if (IsLws(c)) return std::nullopt;
    }
    return uri;
  }
  std::string_view rest = text.substr(colon + 1);
  if (rest.empty()) return std::nullopt;
  for (char c : rest) {
    // No unescaped white space or control characters anywhere in a URI.
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return std::nullopt;
  }

  if (uri.scheme == UriScheme::kTel) {
    const size_t semi = rest.find(';');
    uri.user = rest.substr(0, semi);
    if (semi != std::string_view::npos) uri.params = rest.substr(semi);
    if (uri.user.empty() || !HasValidEscapes(uri.user)) return std::nullopt;
    return uri;
  }

  // userinfo never holds an unescaped '@', and params/headers cannot either,
  // so the first '@' ends the userinfo even when the user contains ';' or '?'.
  const size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    const size_t pw = userinfo.find(':');
    uri.user = userinfo.substr(0, pw);
    if (pw != std::string_view::npos) uri.password = userinfo.substr(pw + 1);
    if (uri.user.empty() || !HasValidEscapes(userinfo)) return std::nullopt;
    rest = rest.substr(at + 1);
  }

  size_t host_end = 0;
  if (!rest.empty() && rest.front() == '[') {
    host_end = rest.find(']');
    if (host_end == std::string_view::npos) return std::nullopt;
    ++host_end;
    uri.host_is_ipv6 = true;
  } else {
    while (host_end < rest.size() && rest[host_end] != ':' && rest[host_end] != ';' &&
           rest[host_end] != '?') {
      ++host_end;
    }
  }
  uri.host = rest.substr(0, host_end);
  if (!IsValidHost(uri.host)) return std::nullopt;
  rest = rest.substr(host_end);

  if (!rest.empty() && rest.front() == ':') {
    size_t p = 1;
    while (p < rest.size() && IsDigit(rest[p])) ++p;
    const std::optional<uint64_t> port = ParseDecimal(rest.substr(1, p - 1), 65535);
    if (!port) return std::nullopt;
    uri.has_port = true;
    uri.port = static_cast<uint16_t>(*port);
    rest = rest.substr(p);
  }
  const size_t question = rest.find('?');
  uri.params = rest.substr(0, question);
  if (question != std::string_view::npos) uri.headers = rest.substr(question + 1);
  if (!uri.params.empty() && uri.params.front() != ';') return std::nullopt;
  if (!HasValidEscapes(uri.params) || !HasValidEscapes(uri.headers)) return std::nullopt;
  ParamIterator params(uri.params);
  std::string_view name, value;
  while (params.Next(&name, &value)) {
  }
  if (!params.ok()) return std::nullopt;
  return uri;
}

}  // namespace sipshard::sip

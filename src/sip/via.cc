#include "sipshard/sip/via.h"

#include "sipshard/sip/method.h"
#include "sipshard/sip/text.h"
#include "sipshard/sip/uri.h"

namespace sipshard::sip {
namespace {

// Consumes a token, then optional LWS; returns the token (empty on failure).
std::string_view TakeToken(std::string_view* s) {
  size_t i = 0;
  while (i < s->size() && IsTokenChar((*s)[i])) ++i;
  std::string_view token = s->substr(0, i);
  *s = TrimLeadingLws(s->substr(i));
  return token;
}

bool TakeChar(std::string_view* s, char c) {
  if (s->empty() || s->front() != c) return false;
  *s = TrimLeadingLws(s->substr(1));
  return true;
}

}  // namespace

std::string_view Via::HostAddress() const {
  if (host_is_ipv6 && host.size() >= 2) return host.substr(1, host.size() - 2);
  return host;
}

uint16_t Via::PortOrDefault() const {
  if (has_port) return port;
  return EqualsIgnoreCase(transport, "TLS") ? 5061 : 5060;
}

bool ParseVia(std::string_view element, Via* via) {
  *via = Via();
  via->raw = element;
  std::string_view s = TrimLeadingLws(element);
  // Nearly every Via says "SIP/2.0/": TakeToken and TakeChar would split it
  // the same way (no LWS to skip when s[8] is not LWS).
  constexpr std::string_view kSip20 = "SIP/2.0/";
  if (!internal::force_general_paths && s.size() > kSip20.size() &&
      s.substr(0, kSip20.size()) == kSip20 && !IsLws(s[kSip20.size()])) {
    via->protocol_name = s.substr(0, 3);
    via->protocol_version = s.substr(4, 3);
    s.remove_prefix(kSip20.size());
  } else {
    via->protocol_name = TakeToken(&s);
    if (via->protocol_name.empty() || !TakeChar(&s, '/')) return false;
    via->protocol_version = TakeToken(&s);
    if (via->protocol_version.empty() || !TakeChar(&s, '/')) return false;
  }
  via->transport = TakeToken(&s);
  if (via->transport.empty()) return false;

  // sent-by = host [ COLON port ]
  size_t host_end = 0;
  if (!s.empty() && s.front() == '[') {
    host_end = s.find(']');
    if (host_end == std::string_view::npos) return false;
    ++host_end;
    via->host_is_ipv6 = true;
  } else {
    using namespace internal;  // NOLINT: the character classes
    host_end = FindClass(s, kClassColon | kClassSemi | kClassLws | kClassLParen);
  }
  via->host = s.substr(0, host_end);
  if (!IsValidHost(via->host)) return false;
  s = TrimLeadingLws(s.substr(host_end));
  if (!s.empty() && s.front() == ':') {
    s = TrimLeadingLws(s.substr(1));
    size_t p = 0;
    while (p < s.size() && IsDigit(s[p])) ++p;
    const std::optional<uint64_t> port = ParseDecimal(s.substr(0, p), 65535);
    if (!port) return false;
    via->has_port = true;
    via->port = static_cast<uint16_t>(*port);
    s = TrimLeadingLws(s.substr(p));
  }
  // A trailing comment is tolerated (seen in the wild, harmless). A '(' in a
  // quoted parameter value is not one.
  size_t comment = s.find('(') == std::string_view::npos ? s.size() : 0;
  while (comment < s.size() && s[comment] != '(') {
    if (s[comment] == '"') {
      comment = SkipQuotedString(s, comment);
      if (comment == std::string_view::npos) return false;
    } else {
      ++comment;
    }
  }
  if (comment < s.size()) {
    const size_t end = SkipComment(s, comment);
    if (end == std::string_view::npos || !TrimLws(s.substr(end)).empty()) return false;
    s = TrimTrailingLws(s.substr(0, comment));
  }
  via->params = s;
  if (!s.empty() && s.front() != ';') return false;

  ParamIterator it(s);
  std::string_view name, value;
  while (it.Next(&name, &value)) {
    if (name.size() == 6 && EqualsIgnoreCase(name, "branch")) {
      if (value.empty()) return false;
      via->branch = value;
    } else if (EqualsIgnoreCase(name, "received")) {
      via->received = value;
    } else if (EqualsIgnoreCase(name, "maddr")) {
      via->maddr = value;
    } else if (EqualsIgnoreCase(name, "rport")) {
      via->has_rport = true;
      if (!value.empty()) {
        const std::optional<uint64_t> rport = ParseDecimal(value, 65535);
        if (!rport) return false;
        via->rport = static_cast<int32_t>(*rport);
      }
    } else if (EqualsIgnoreCase(name, "ttl")) {
      const std::optional<uint64_t> ttl = ParseDecimal(value, 255);
      if (!ttl) return false;
      via->ttl = static_cast<int32_t>(*ttl);
    }
  }
  return it.ok();
}

}  // namespace sipshard::sip

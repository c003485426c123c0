#include "sipshard/sip/via.h"

#include "sipshard/sip/internal/scan.h"
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

// Stores a parameter ParseVia keeps (branch, received, maddr, rport, ttl)
// in *via; returns false for a value ParseVia refuses. The general loop's
// tests, dispatched on the name's length (EqualsIgnoreCase needs equal
// lengths anyway).
bool SetViaParam(std::string_view name, std::string_view value, Via* via) {
  switch (name.size()) {
    case 6:
      if (EqualsLowerLetters(name, "branch")) {
        if (value.empty()) return false;
        via->branch = value;
      }
      return true;
    case 8:
      if (EqualsLowerLetters(name, "received")) via->received = value;
      return true;
    case 5:
      if (EqualsLowerLetters(name, "maddr")) {
        via->maddr = value;
      } else if (EqualsLowerLetters(name, "rport")) {
        via->has_rport = true;
        if (!value.empty()) {
          const std::optional<uint64_t> rport = ParseDecimal(value, 65535);
          if (!rport) return false;
          via->rport = static_cast<int32_t>(*rport);
        }
      }
      return true;
    case 3:
      if (EqualsLowerLetters(name, "ttl")) {
        const std::optional<uint64_t> ttl = ParseDecimal(value, 255);
        if (!ttl) return false;
        via->ttl = static_cast<int32_t>(*ttl);
      }
      return true;
    default:
      return true;
  }
}

// ParseVia for the shape nearly every Via has:
//   "SIP/2.0/" transport SP host [ ":" port ] *( ";" name [ "=" value ] )
// with one SP, a hostname or IPv4 address, parameters of at most 64 bytes
// and no other white space, no control characters, quotes, comments or
// commas. One pass with no trimming or re-scanning; `readable` >=
// element.size() bytes may be read from element.data() (the parser passes
// what is left of the message, so short views are scanned in blocks too).
// Returns false for anything else, valid or not (also for every input the
// general code refuses), leaving *via for the general code to redo: a
// true return gives exactly the general result.
bool ParseViaFast(std::string_view element, size_t readable, Via* via) {
  const char* const begin = element.data();
  const size_t n = element.size();
  constexpr std::string_view kSip20 = "SIP/2.0/";
  if (n < kSip20.size() + 3 || element.substr(0, kSip20.size()) != kSip20) return false;
  size_t i = kSip20.size();
  while (i < n && IsTokenChar(begin[i])) ++i;
  // One SP, then the host: n - i >= 2 leaves room for both.
  const size_t transport_end = i;
  if (i == kSip20.size() || n - i < 2 || begin[i] != ' ') return false;
  const size_t host = ++i;
  // The host ends where the general code ends it (':', ';', white space or
  // '('), or at another control character or ',' (both refused below).
  i += internal::FindCtlOr<':', ';', '(', ','>(begin + i, n - i, readable - i);
  const std::string_view host_view(begin + host, i - host);
  if (i < n && begin[i] != ':' && begin[i] != ';') return false;
  if (begin[host] == '[' || !IsValidHost(host_view)) return false;

  // Every field, as `*via = Via()` and the general code would leave it.
  via->protocol_name = std::string_view(begin, 3);
  via->protocol_version = std::string_view(begin + 4, 3);
  via->transport = std::string_view(begin + kSip20.size(), transport_end - kSip20.size());
  via->host = host_view;
  via->host_is_ipv6 = false;
  via->has_port = false;
  via->port = 0;
  via->branch = {};
  via->received = {};
  via->maddr = {};
  via->has_rport = false;
  via->rport = -1;
  via->ttl = -1;
  via->raw = element;
  if (i < n && begin[i] == ':') {
    const size_t digits = ++i;
    uint64_t port = 0;
    while (i < n && IsDigit(begin[i])) port = port * 10 + static_cast<uint64_t>(begin[i++] - '0');
    // ParseDecimal's limits: 1 to 19 digits, at most 65535.
    if (i == digits || i - digits > 19 || port > 65535) return false;
    if (i < n && begin[i] != ';') return false;
    via->has_port = true;
    via->port = static_cast<uint16_t>(port);
  }
  // Parameters: each ';' starts a name, the first '=' after it its value,
  // which runs to the next ';' (the general loop's reading when there is
  // no white space or quote).
  const char* const params = begin + i;
  const size_t size = n - i;
  via->params = std::string_view(params, size);
  if (size == 0) return true;
  if (size > internal::kMaxParamMasks) return false;
  const internal::ParamMasks m =
      internal::ClassifyParams<'"', '(', ','>(params, size, readable - i);
  if (m.other != 0) return false;
  uint64_t semis = m.semi;  // bit 0 is set: params starts with ';'
  while (semis != 0) {
    const size_t name = static_cast<size_t>(__builtin_ctzll(semis)) + 1;
    semis &= semis - 1;
    const size_t end = semis != 0 ? static_cast<size_t>(__builtin_ctzll(semis)) : size;
    const uint64_t equals = m.equal & internal::BitRange(name, end);
    const size_t name_end = equals != 0 ? static_cast<size_t>(__builtin_ctzll(equals)) : end;
    if (name_end == name) return false;  // an empty name
    std::string_view value;
    if (equals != 0) value = std::string_view(params + name_end + 1, end - name_end - 1);
    if (!SetViaParam(std::string_view(params + name, name_end - name), value, via)) return false;
  }
  return true;
}

}  // namespace

namespace internal {
bool ParseViaFastPath(std::string_view value, size_t readable, Via* via) {
  return !force_general_paths && ParseViaFast(value, readable, via);
}
}  // namespace internal

std::string_view Via::HostAddress() const {
  if (host_is_ipv6 && host.size() >= 2) return host.substr(1, host.size() - 2);
  return host;
}

uint16_t Via::PortOrDefault() const {
  if (has_port) return port;
  return EqualsIgnoreCase(transport, "TLS") ? 5061 : 5060;
}

bool ParseVia(std::string_view element, Via* via) {
  if (!internal::force_general_paths && ParseViaFast(element, element.size(), via)) return true;
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

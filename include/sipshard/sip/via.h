// One Via header element (RFC 3261 §20.42, §18.2.2; RFC 3581 rport).
//
// Via elements route responses back and key server transactions (§17.2.3),
// so the proxy reads the top element of every message. Views point into the
// message buffer.
#pragma once

#include <cstdint>
#include <string_view>

namespace sipshard::sip {

// The RFC 3261 branch prefix that promises a globally unique branch (§8.1.1.7).
inline constexpr std::string_view kMagicCookie = "z9hG4bK";

struct Via {
  std::string_view protocol_name;     // "SIP"
  std::string_view protocol_version;  // "2.0"
  std::string_view transport;         // "UDP", "TCP", "TLS", "SCTP", "WS", ...
  std::string_view host;              // IPv6 references keep their brackets
  bool host_is_ipv6 = false;
  bool has_port = false;
  uint16_t port = 0;
  std::string_view params;  // from the first ';' (inclusive), or empty
  std::string_view branch;
  std::string_view received;
  std::string_view maddr;
  bool has_rport = false;  // rport present, with or without a value
  int32_t rport = -1;      // its value, or -1 when present without one
  int32_t ttl = -1;
  std::string_view raw;  // the whole element as written

  bool has_magic_cookie() const { return branch.substr(0, kMagicCookie.size()) == kMagicCookie; }
  // Returns host without IPv6 brackets.
  std::string_view HostAddress() const;
  // Returns the sent-by port, or the transport default (5061 for TLS, else 5060).
  uint16_t PortOrDefault() const;
};

// Parses one via-parm (one element of a possibly comma-separated Via value).
// Accepts LWS around '/' in sent-protocol and around ';' and '=' (§25.1).
// Returns false on a syntax error; *via is then unspecified.
bool ParseVia(std::string_view element, Via* via);

namespace internal {
// ParseVia's shortcut on its own, for a whole Via header value: true when
// the value is a single element of the usual shape (so it holds no comma),
// with *via then exactly what ParseVia gives; false for anything else,
// *via then unspecified. Lets the parser skip the search for a comma.
// `readable` >= value.size() bytes may be read from value.data().
bool ParseViaFastPath(std::string_view value, size_t readable, Via* via);
}  // namespace internal

}  // namespace sipshard::sip

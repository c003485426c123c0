// SIP, SIPS and TEL URIs (RFC 3261 §19.1, §25.1; RFC 3966; RFC 5118 IPv6).
//
// A Uri is a set of views into the text it was parsed from: the caller keeps
// the text alive. The proxy needs host, port, transport, lr and maddr to
// route; the rest is kept as written so it can be forwarded untouched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sipshard::sip {

enum class UriScheme : uint8_t { kOther, kSip, kSips, kTel };

struct Uri {
  UriScheme scheme = UriScheme::kOther;
  std::string_view scheme_text;  // as written, without ':'
  std::string_view user;         // still %-escaped; the tel number for tel:
  std::string_view password;
  std::string_view host;         // IPv6 references keep their brackets
  bool host_is_ipv6 = false;
  bool has_port = false;
  uint16_t port = 0;
  std::string_view params;   // from the first ';' (inclusive), or empty
  std::string_view headers;  // after '?', or empty
  std::string_view raw;      // the whole URI

  // Returns host without IPv6 brackets.
  std::string_view HostAddress() const;
  // Returns the port to use: explicit port, else 5061 for sips, else 5060.
  uint16_t PortOrDefault() const;
  bool HasParam(std::string_view name) const;
  // Returns the value of a parameter, or "" if absent or a flag.
  std::string_view Param(std::string_view name) const;
  bool loose_route() const { return HasParam("lr"); }
};

// Parses an absolute URI. sip:/sips: URIs must have a valid host; tel: needs
// a number; other schemes are accepted with only scheme and raw filled in
// (a proxy forwards what it does not understand). Returns nullopt on error.
std::optional<Uri> ParseUri(std::string_view text);

namespace internal {
// ParseUri without the copy: fills *out in place (left unspecified on
// failure). For the parser's hot path.
bool ParseUriInto(std::string_view text, Uri* out);
// ParseUriInto for the parser, which knows that `readable` >= text.size()
// bytes may be read from text.data(): same results.
bool ParseUriIn(std::string_view text, size_t readable, Uri* out);
}  // namespace internal

// Returns true if `host` is a syntactically valid hostname, IPv4 address or
// bracketed IPv6 reference (RFC 3261 §25.1, RFC 5118).
bool IsValidHost(std::string_view host);

// Returns true if every '%' in `s` starts a valid %HH escape.
bool HasValidEscapes(std::string_view s);

}  // namespace sipshard::sip

// Well-known SIP header names, classified once per header at parse time.
//
// Header names are case-insensitive and many have a compact form (RFC 3261
// §7.3.3, §20; RFC 3265, 3515, 3892, 4028, 4474). The parser maps every
// spelling to one HeaderId so that "v:", "VIA:" and "Via:" are the same
// header everywhere: in the proxy, in the writer and in the Call-ID
// scanner that picks the shard.
#pragma once

#include <cstdint>
#include <string_view>

namespace sipshard::sip {

enum class HeaderId : uint8_t {
  kOther,
  kVia,
  kFrom,
  kTo,
  kCallId,
  kCSeq,
  kMaxForwards,
  kRoute,
  kRecordRoute,
  kContact,
  kContentLength,
  kContentType,
  kContentEncoding,
  kExpires,
  kRequire,
  kProxyRequire,
  kSupported,
  kUnsupported,
  kSubject,
  kEvent,
  kAllowEvents,
  kReferTo,
  kReferredBy,
  kSessionExpires,
  kAllow,
  kAccept,
  kAcceptContact,
  kRejectContact,
  kRequestDisposition,
  kIdentity,
  kIdentityInfo,
  kWwwAuthenticate,
  kProxyAuthenticate,
  kAuthorization,
  kProxyAuthorization,
  kRetryAfter,
  kWarning,
  kUserAgent,
  kServer,
  kTimestamp,
  kCount,  // not a header: number of ids
};

inline constexpr int kHeaderIdCount = static_cast<int>(HeaderId::kCount);

// Classifies a header name (already trimmed), long or compact form, any case.
HeaderId LookupHeaderId(std::string_view name);

// Returns the canonical long name used when sipshard writes the header.
std::string_view HeaderName(HeaderId id);

// Returns true if the header's value is a comma-separated list that may be
// split across several header lines (RFC 3261 §7.3.1). The proxy needs this
// to pop the top Via or Route element without touching the rest.
bool IsListHeader(HeaderId id);

}  // namespace sipshard::sip

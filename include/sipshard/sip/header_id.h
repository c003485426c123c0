// Well-known SIP header names, classified once per header at parse time.
//
// Header names are case-insensitive and many have a compact form (RFC 3261
// §7.3.3, §20; RFC 3265, 3515, 3892, 4028, 4474). The parser maps every
// spelling to one HeaderId so that "v:", "VIA:" and "Via:" are the same
// header everywhere: in the proxy, in the writer and in the Call-ID
// scanner that picks the shard.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "sipshard/sip/internal/scan.h"

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

namespace internal {

// The parser's shortcut for the usual spelling "Long-Name:" (any case, no
// white space before the colon). Each long name with its ':' appended,
// lower-cased, and a mask with 0x20 on the letters: (byte | mask) == lower
// holds exactly for the case variants of the letters and for the other
// bytes as written. Defined in header_id.cc from the same name list as
// LookupHeaderId.
struct HeaderPrefix {
  uint8_t length = 0;  // of the name, without ':'
  HeaderId id = HeaderId::kOther;
  std::array<char, 24> lower{};
  std::array<char, 24> mask{};
};
inline constexpr size_t kMaxLongNameLength = 19;
struct HeaderPrefixTable {
  // By (name length, first letter): entry index + 1, 0 ends; at most two.
  std::array<std::array<uint8_t, 2>, (kMaxLongNameLength + 1) * 26> by_length{};
  std::array<HeaderPrefix, 48> entries{};
};
extern const HeaderPrefixTable kHeaderPrefixes;

template <typename T>
bool PrefixWordMatches(const char* p, const HeaderPrefix& e, size_t at) {
  T a, m, l;
  std::memcpy(&a, p + at, sizeof(T));
  std::memcpy(&m, e.mask.data() + at, sizeof(T));
  std::memcpy(&l, e.lower.data() + at, sizeof(T));
  return (a | m) == l;
}

// True if the first n bytes of p (2 <= n <= 20) are entry e's name and ':'.
[[gnu::always_inline]] inline bool PrefixMatches(const char* p, const HeaderPrefix& e, size_t n) {
  if (n < 4) {
    return PrefixWordMatches<uint16_t>(p, e, 0) && PrefixWordMatches<uint16_t>(p, e, n - 2);
  }
  if (n < 8) {
    return PrefixWordMatches<uint32_t>(p, e, 0) && PrefixWordMatches<uint32_t>(p, e, n - 4);
  }
  if (n <= 16) {
    return PrefixWordMatches<uint64_t>(p, e, 0) && PrefixWordMatches<uint64_t>(p, e, n - 8);
  }
  return PrefixWordMatches<uint64_t>(p, e, 0) && PrefixWordMatches<uint64_t>(p, e, 8) &&
         PrefixWordMatches<uint64_t>(p, e, n - 8);
}

// If the line at `line` starts with a known long name (any case)
// immediately followed by the ':' at offset `colon` (the first ':' of the
// line), sets *id and returns the name's length; otherwise returns 0. A
// match implies the general scan (token name, optional SP/HT, ':',
// LookupHeaderId) finds the same name and id: known names hold no ':', so
// a name that matches ends at the first one, and (length, first letter)
// leaves one or two candidates. At least colon + 1 bytes must be readable.
// Inline: it runs once per header line.
[[gnu::always_inline]] inline size_t MatchKnownHeaderNameAt(const char* line, size_t colon,
                                                            HeaderId* id) {
  if (colon > kMaxLongNameLength) return 0;
  const size_t letter = static_cast<size_t>((line[0] | 0x20) - 'a');
  if (letter >= 26) return 0;
  for (const uint8_t slot : kHeaderPrefixes.by_length[colon * 26 + letter]) {
    if (slot == 0) return 0;
    const HeaderPrefix& e = kHeaderPrefixes.entries[slot - 1];
    if (PrefixMatches(line, e, colon + 1)) {
      *id = e.id;
      return colon;
    }
  }
  return 0;
}

}  // namespace internal

}  // namespace sipshard::sip

#include "sipshard/sip/header_id.h"

#include <array>

#include "sipshard/sip/text.h"

namespace sipshard::sip {
namespace {

struct NameEntry {
  std::string_view name;
  HeaderId id;
};

// Long names grouped by length so lookup compares against a few candidates.
constexpr NameEntry kLongNames[] = {
    {"Via", HeaderId::kVia},
    {"From", HeaderId::kFrom},
    {"To", HeaderId::kTo},
    {"Call-ID", HeaderId::kCallId},
    {"CSeq", HeaderId::kCSeq},
    {"Max-Forwards", HeaderId::kMaxForwards},
    {"Route", HeaderId::kRoute},
    {"Record-Route", HeaderId::kRecordRoute},
    {"Contact", HeaderId::kContact},
    {"Content-Length", HeaderId::kContentLength},
    {"Content-Type", HeaderId::kContentType},
    {"Content-Encoding", HeaderId::kContentEncoding},
    {"Expires", HeaderId::kExpires},
    {"Require", HeaderId::kRequire},
    {"Proxy-Require", HeaderId::kProxyRequire},
    {"Supported", HeaderId::kSupported},
    {"Unsupported", HeaderId::kUnsupported},
    {"Subject", HeaderId::kSubject},
    {"Event", HeaderId::kEvent},
    {"Allow-Events", HeaderId::kAllowEvents},
    {"Refer-To", HeaderId::kReferTo},
    {"Referred-By", HeaderId::kReferredBy},
    {"Session-Expires", HeaderId::kSessionExpires},
    {"Allow", HeaderId::kAllow},
    {"Accept", HeaderId::kAccept},
    {"Accept-Contact", HeaderId::kAcceptContact},
    {"Reject-Contact", HeaderId::kRejectContact},
    {"Request-Disposition", HeaderId::kRequestDisposition},
    {"Identity", HeaderId::kIdentity},
    {"Identity-Info", HeaderId::kIdentityInfo},
    {"WWW-Authenticate", HeaderId::kWwwAuthenticate},
    {"Proxy-Authenticate", HeaderId::kProxyAuthenticate},
    {"Authorization", HeaderId::kAuthorization},
    {"Proxy-Authorization", HeaderId::kProxyAuthorization},
    {"Retry-After", HeaderId::kRetryAfter},
    {"Warning", HeaderId::kWarning},
    {"User-Agent", HeaderId::kUserAgent},
    {"Server", HeaderId::kServer},
    {"Timestamp", HeaderId::kTimestamp},
};

constexpr std::array<HeaderId, 26> MakeCompactTable() {
  std::array<HeaderId, 26> t{};
  t['a' - 'a'] = HeaderId::kAcceptContact;
  t['b' - 'a'] = HeaderId::kReferredBy;
  t['c' - 'a'] = HeaderId::kContentType;
  t['d' - 'a'] = HeaderId::kRequestDisposition;
  t['e' - 'a'] = HeaderId::kContentEncoding;
  t['f' - 'a'] = HeaderId::kFrom;
  t['i' - 'a'] = HeaderId::kCallId;
  t['j' - 'a'] = HeaderId::kRejectContact;
  t['k' - 'a'] = HeaderId::kSupported;
  t['l' - 'a'] = HeaderId::kContentLength;
  t['m' - 'a'] = HeaderId::kContact;
  t['n' - 'a'] = HeaderId::kIdentityInfo;
  t['o' - 'a'] = HeaderId::kEvent;
  t['r' - 'a'] = HeaderId::kReferTo;
  t['s' - 'a'] = HeaderId::kSubject;
  t['t' - 'a'] = HeaderId::kTo;
  t['u' - 'a'] = HeaderId::kAllowEvents;
  t['v' - 'a'] = HeaderId::kVia;
  t['x' - 'a'] = HeaderId::kSessionExpires;
  t['y' - 'a'] = HeaderId::kIdentity;
  return t;
}
constexpr std::array<HeaderId, 26> kCompact = MakeCompactTable();

constexpr size_t kMaxNameLength = 19;

struct LengthIndex {
  // For each name length, the first and one-past-last entry in kSorted.
  std::array<uint8_t, kMaxNameLength + 2> begin{};
  std::array<NameEntry, std::size(kLongNames)> sorted{};
};

constexpr LengthIndex MakeLengthIndex() {
  LengthIndex index;
  size_t out = 0;
  for (size_t len = 0; len <= kMaxNameLength; ++len) {
    index.begin[len] = static_cast<uint8_t>(out);
    for (const NameEntry& e : kLongNames) {
      if (e.name.size() == len) index.sorted[out++] = e;
    }
  }
  index.begin[kMaxNameLength + 1] = static_cast<uint8_t>(out);
  return index;
}
constexpr LengthIndex kIndex = MakeLengthIndex();

}  // namespace

HeaderId LookupHeaderId(std::string_view name) {
  if (name.size() == 1) {
    const char c = AsciiLower(name[0]);
    if (c >= 'a' && c <= 'z') return kCompact[static_cast<size_t>(c - 'a')];
    return HeaderId::kOther;
  }
  if (name.empty() || name.size() > kMaxNameLength) return HeaderId::kOther;
  for (size_t i = kIndex.begin[name.size()]; i < kIndex.begin[name.size() + 1]; ++i) {
    if (EqualsIgnoreCase(kIndex.sorted[i].name, name)) return kIndex.sorted[i].id;
  }
  return HeaderId::kOther;
}

std::string_view HeaderName(HeaderId id) {
  for (const NameEntry& e : kLongNames) {
    if (e.id == id) return e.name;
  }
  return "";
}

bool IsListHeader(HeaderId id) {
  switch (id) {
    case HeaderId::kVia:
    case HeaderId::kRoute:
    case HeaderId::kRecordRoute:
    case HeaderId::kContact:
    case HeaderId::kRequire:
    case HeaderId::kProxyRequire:
    case HeaderId::kSupported:
    case HeaderId::kUnsupported:
    case HeaderId::kAllow:
    case HeaderId::kAllowEvents:
    case HeaderId::kAccept:
    case HeaderId::kContentEncoding:
    case HeaderId::kWarning:
    case HeaderId::kAcceptContact:
    case HeaderId::kRejectContact:
    case HeaderId::kRequestDisposition:
      return true;
    default:
      return false;
  }
}

}  // namespace sipshard::sip

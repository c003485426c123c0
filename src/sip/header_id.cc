#include "sipshard/sip/header_id.h"

#include <array>
#include <cstring>

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

constexpr size_t kMaxNameLength = internal::kMaxLongNameLength;
constexpr size_t kBucketSlots = 2;

// Long names bucketed by (length, lower-case first letter): a lookup compares
// against at most two candidates. MakeBuckets fails to compile if a bucket
// overflows, so adding a name cannot silently slow the lookup down.
struct Buckets {
  std::array<std::array<uint8_t, kBucketSlots>, (kMaxNameLength + 1) * 26> slots{};  // index+1
};

constexpr size_t BucketOf(size_t length, char first) {
  return length * 26 + static_cast<size_t>(AsciiLower(first) - 'a');
}

constexpr Buckets MakeBuckets() {
  Buckets b;
  for (size_t i = 0; i < std::size(kLongNames); ++i) {
    const std::string_view name = kLongNames[i].name;
    auto& bucket = b.slots[BucketOf(name.size(), name[0])];
    size_t slot = 0;
    while (bucket[slot] != 0) ++slot;  // past kBucketSlots: not a constant expression
    bucket[slot] = static_cast<uint8_t>(i + 1);
  }
  return b;
}
constexpr Buckets kBuckets = MakeBuckets();

// Each long name lower-cased, with a mask that has 0x20 where the name holds
// a letter: (byte | mask) == lower matches exactly the case variants of the
// letters and the other characters as they are. Padded so that 8-byte loads
// never leave the entry.
struct FoldedName {
  std::array<char, 24> lower{};
  std::array<char, 24> mask{};
};

constexpr std::array<FoldedName, std::size(kLongNames)> MakeFolded() {
  std::array<FoldedName, std::size(kLongNames)> out{};
  for (size_t i = 0; i < std::size(kLongNames); ++i) {
    const std::string_view name = kLongNames[i].name;
    for (size_t j = 0; j < name.size(); ++j) {
      const char lower = AsciiLower(name[j]);
      out[i].lower[j] = lower;
      out[i].mask[j] = (lower >= 'a' && lower <= 'z') ? 0x20 : 0;
    }
  }
  return out;
}
constexpr std::array<FoldedName, std::size(kLongNames)> kFolded = MakeFolded();

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// True if the `n`-byte words at offsets 0 and size-n (which may overlap)
// match; covers every size in [n, 2n].
template <typename T>
bool MatchWords(std::string_view name, const FoldedName& f) {
  const size_t t = name.size() - sizeof(T);
  return ((Load<T>(name.data()) | Load<T>(f.mask.data())) == Load<T>(f.lower.data())) &&
         ((Load<T>(name.data() + t) | Load<T>(f.mask.data() + t)) == Load<T>(f.lower.data() + t));
}

// Compares `name` (2..19 bytes) with a folded entry of the same length.
bool MatchesFolded(std::string_view name, const FoldedName& f) {
  const size_t n = name.size();
  if (n < 4) return MatchWords<uint16_t>(name, f);
  if (n < 8) return MatchWords<uint32_t>(name, f);
  if (n <= 16) return MatchWords<uint64_t>(name, f);
  return MatchWords<uint64_t>(name.substr(0, 16), f) &&
         (Load<uint64_t>(name.data() + n - 8) | Load<uint64_t>(f.mask.data() + n - 8)) ==
             Load<uint64_t>(f.lower.data() + n - 8);
}

}  // namespace

namespace internal {
namespace {

// Every long name followed by its ':' (folded as above), bucketed by
// (length, lower-case first letter) like kBuckets.
constexpr HeaderPrefixTable MakePrefixTable() {
  HeaderPrefixTable t{};
  const auto folded = MakeFolded();
  for (size_t i = 0; i < std::size(kLongNames); ++i) {
    const std::string_view name = kLongNames[i].name;
    HeaderPrefix& e = t.entries[i];
    e.length = static_cast<uint8_t>(name.size());
    e.id = kLongNames[i].id;
    e.lower = folded[i].lower;
    e.mask = folded[i].mask;
    e.lower[name.size()] = ':';
    auto& bucket = t.by_length[BucketOf(name.size(), name[0])];
    size_t slot = 0;
    while (bucket[slot] != 0) ++slot;  // past the bucket: not a constant expression
    bucket[slot] = static_cast<uint8_t>(i + 1);
  }
  return t;
}
static_assert(std::size(kLongNames) <= std::tuple_size_v<decltype(HeaderPrefixTable::entries)>);
static_assert(kMaxNameLength + 1 <= std::tuple_size_v<decltype(HeaderPrefix::lower)>);

}  // namespace

constexpr HeaderPrefixTable kHeaderPrefixes = MakePrefixTable();

}  // namespace internal

HeaderId LookupHeaderId(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return HeaderId::kOther;
  const char first = AsciiLower(name[0]);
  if (first < 'a' || first > 'z') return HeaderId::kOther;
  if (name.size() == 1) return kCompact[static_cast<size_t>(first - 'a')];
  for (uint8_t slot : kBuckets.slots[BucketOf(name.size(), first)]) {
    if (slot == 0) break;
    if (MatchesFolded(name, kFolded[slot - 1])) return kLongNames[slot - 1].id;
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

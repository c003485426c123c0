#include "sipshard/sip/call_id_scan.h"

#include <cstring>

#include "sipshard/base/hash.h"
#include "sipshard/sip/text.h"

namespace sipshard::sip {
namespace {

// If the header line at `p` is a Call-ID header, returns the offset just
// past its colon; otherwise 0.
size_t MatchCallIdName(std::string_view s, size_t p) {
  size_t i = p;
  const char c = s[i];
  if (c == 'i' || c == 'I') {
    ++i;
  } else if ((c == 'c' || c == 'C') && s.size() - i >= 7 &&
             EqualsIgnoreCase(s.substr(i, 7), "call-id")) {
    i += 7;
  } else {
    return 0;
  }
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return (i < s.size() && s[i] == ':') ? i + 1 : 0;
}

std::string_view ExtractValue(std::string_view s, size_t i) {
  // The value runs to the end of the logical line: continuation lines
  // (CRLF followed by SP/HT) belong to it.
  size_t end = i;
  while (true) {
    const void* lf = std::memchr(s.data() + end, '\n', s.size() - end);
    end = lf == nullptr ? s.size() : static_cast<size_t>(static_cast<const char*>(lf) - s.data());
    if (end + 1 < s.size() && (s[end + 1] == ' ' || s[end + 1] == '\t')) {
      ++end;
      continue;
    }
    break;
  }
  return TrimLws(s.substr(i, end - i));
}

}  // namespace

std::string_view FindCallId(std::string_view s) {
  // Skip the start line (and any leading CRLF keep-alive bytes).
  size_t pos = 0;
  while (pos < s.size() && (s[pos] == '\r' || s[pos] == '\n')) ++pos;
  while (pos < s.size()) {
    const void* lf = std::memchr(s.data() + pos, '\n', s.size() - pos);
    if (lf == nullptr) return {};
    pos = static_cast<size_t>(static_cast<const char*>(lf) - s.data()) + 1;
    if (pos >= s.size()) return {};
    const char c = s[pos];
    if (c == '\r' || c == '\n') return {};  // end of the header section
    if (c == ' ' || c == '\t') continue;     // continuation line
    if (const size_t colon = MatchCallIdName(s, pos)) return ExtractValue(s, colon);
  }
  return {};
}

uint64_t CallIdHash(std::string_view call_id) { return base::StableHash(call_id, 0x5349505348415244ULL); }

}  // namespace sipshard::sip

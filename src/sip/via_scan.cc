#include "sipshard/sip/via_scan.h"

#include <cstring>

#include "sipshard/sip/text.h"

namespace sipshard::sip {
namespace {

// If the header line at `p` is a Via header, returns the offset just past
// its colon; otherwise 0.
size_t MatchViaName(std::string_view s, size_t p) {
  size_t i = p;
  if (s[i] == 'v' || s[i] == 'V') {
    ++i;
    if (s.size() - i >= 2 && (s[i] == 'i' || s[i] == 'I') && (s[i + 1] == 'a' || s[i + 1] == 'A')) {
      i += 2;
    }
  } else {
    return 0;
  }
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return (i < s.size() && s[i] == ':') ? i + 1 : 0;
}

}  // namespace

std::string_view FindTopViaBranch(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size() && (s[pos] == '\r' || s[pos] == '\n')) ++pos;
  while (pos < s.size()) {
    const void* lf = std::memchr(s.data() + pos, '\n', s.size() - pos);
    if (lf == nullptr) return {};
    pos = static_cast<size_t>(static_cast<const char*>(lf) - s.data()) + 1;
    if (pos >= s.size() || s[pos] == '\r' || s[pos] == '\n') return {};
    const size_t colon = MatchViaName(s, pos);
    if (colon == 0) continue;
    // The value runs to the end of the logical line (continuation lines
    // included). Split it exactly like the parser does, so that quoted
    // commas and empty elements ("Via: , SIP/2.0/UDP ...") agree with it.
    size_t end = colon;
    while (true) {
      const void* next_lf = std::memchr(s.data() + end, '\n', s.size() - end);
      end = next_lf == nullptr ? s.size()
                               : static_cast<size_t>(static_cast<const char*>(next_lf) - s.data());
      if (end + 1 < s.size() && (s[end + 1] == ' ' || s[end + 1] == '\t')) {
        ++end;
        continue;
      }
      break;
    }
    ListSplitter elements(s.substr(colon, end - colon));
    std::string_view element;
    if (!elements.Next(&element)) return {};
    const size_t semi = element.find(';');
    if (semi == std::string_view::npos) return {};
    std::string_view branch;
    if (FindParam(element.substr(semi), "branch", &branch)) return TrimLws(branch);
    return {};
  }
  return {};
}

}  // namespace sipshard::sip

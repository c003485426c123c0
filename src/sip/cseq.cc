#include "sipshard/sip/cseq.h"

#include "sipshard/sip/text.h"

namespace sipshard::sip {

namespace {

// ParseCSeq for "<digits> SP <method>" without other white space (the
// parser hands over trimmed values): no trimming, one pass over each part.
// Returns false, leaving *out untouched, for anything else (and for every
// value ParseCSeq refuses), so that the general code decides.
bool ParseCSeqFast(std::string_view value, CSeq* out) {
  const char* const p = value.data();
  const size_t n = value.size();
  size_t i = 0;
  uint64_t number = 0;
  while (i < n && IsDigit(p[i])) number = number * 10 + static_cast<uint64_t>(p[i++] - '0');
  // ParseCSeq's limits: 1 to 19 digits, below 2^31; then one SP and a token.
  if (i == 0 || i > 19 || number > 0x7fffffffULL || n - i < 2 || p[i] != ' ') return false;
  for (size_t k = i + 1; k < n; ++k) {
    if (!IsTokenChar(p[k])) return false;
  }
  out->number = static_cast<uint32_t>(number);
  out->method_text = std::string_view(p + i + 1, n - i - 1);
  out->method = ParseMethod(out->method_text);
  return true;
}

}  // namespace

bool ParseCSeq(std::string_view value, CSeq* out) {
  if (!internal::force_general_paths && ParseCSeqFast(value, out)) return true;
  std::string_view s = TrimLws(value);
  // The digits are accumulated as they are scanned; the checks are those of
  // ParseDecimal (1 to 19 digits, at most 2^31 - 1).
  size_t i = 0;
  uint64_t number = 0;
  while (i < s.size() && IsDigit(s[i])) number = number * 10 + static_cast<uint64_t>(s[i++] - '0');
  if (i == 0 || i > 19 || number > 0x7fffffffULL) return false;
  if (i == s.size() || !IsLws(s[i])) return false;
  std::string_view method = TrimLeadingLws(s.substr(i));
  if (method.empty()) return false;
  for (char c : method) {
    if (!IsTokenChar(c)) return false;
  }
  out->number = static_cast<uint32_t>(number);
  out->method_text = method;
  out->method = ParseMethod(method);
  return true;
}

}  // namespace sipshard::sip

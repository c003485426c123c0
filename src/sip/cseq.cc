#include "sipshard/sip/cseq.h"

#include "sipshard/sip/text.h"

namespace sipshard::sip {

bool ParseCSeq(std::string_view value, CSeq* out) {
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

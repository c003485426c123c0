#include "sipshard/sip/cseq.h"

#include "sipshard/sip/text.h"

namespace sipshard::sip {

bool ParseCSeq(std::string_view value, CSeq* out) {
  std::string_view s = TrimLws(value);
  size_t i = 0;
  while (i < s.size() && IsDigit(s[i])) ++i;
  const std::optional<uint64_t> number = ParseDecimal(s.substr(0, i), 0x7fffffffULL);
  if (!number) return false;
  if (i == s.size() || !IsLws(s[i])) return false;
  std::string_view method = TrimLeadingLws(s.substr(i));
  if (method.empty()) return false;
  for (char c : method) {
    if (!IsTokenChar(c)) return false;
  }
  out->number = static_cast<uint32_t>(*number);
  out->method_text = method;
  out->method = ParseMethod(method);
  return true;
}

}  // namespace sipshard::sip

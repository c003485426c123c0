// The CSeq header (RFC 3261 §8.1.1.5, §20.16).
//
// The sequence number orders requests within a dialog and, with the method,
// matches responses to client transactions (§17.1.3).
#pragma once

#include <cstdint>
#include <string_view>

#include "sipshard/sip/method.h"

namespace sipshard::sip {

struct CSeq {
  uint32_t number = 0;  // < 2^31 (§8.1.1.5)
  Method method = Method::kOther;
  std::string_view method_text;
};

// Parses "1*DIGIT LWS Method". Returns false if malformed or ≥ 2^31.
bool ParseCSeq(std::string_view value, CSeq* out);

}  // namespace sipshard::sip

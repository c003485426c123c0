// Why a message failed to parse, and what sipshard answers to it.
//
// Every failure has one ParseError, so each is counted separately and a
// malformed request that still has enough to answer gets the RFC's status
// code and a reason phrase saying what is wrong (e.g. "400 Bad CSeq").
// Failures of responses, and of requests whose start line is unreadable,
// are dropped and counted: there is nobody sensible to answer.
#pragma once

#include <cstdint>
#include <string_view>

namespace sipshard::sip {

enum class ParseError : uint8_t {
  kNone,
  kEmpty,                 // only CRLFs (a keep-alive) or nothing at all
  kBadStartLine,          // neither a Request-Line nor a Status-Line
  kUnsupportedVersion,    // SIP version other than 2.0 (505 for requests)
  kBadRequestUri,
  kRequestUriTooLong,     // start line beyond limits.max_header_line (414)
  kBadHeaderLine,         // a line without a colon or with an invalid name
  kHeaderLineTooLong,
  kTooManyHeaders,
  kMessageTooLarge,
  kBodyTooLarge,          // Content-Length beyond the message size limit
  kBodyTruncated,         // Content-Length larger than what arrived
  kMissingVia,
  kMissingFrom,
  kMissingTo,
  kMissingCallId,
  kMissingCSeq,
  kBadVia,
  kBadFrom,
  kBadTo,
  kBadCallId,
  kBadCSeq,
  kCSeqMethodMismatch,
  kBadMaxForwards,
  kBadContentLength,
  kDuplicateHeader,       // a single-valued header (Call-ID, CSeq, ...) twice
  kBadRequestLine,        // a readable Request-Line with stray white space (400)
  kCount,
};

inline constexpr int kParseErrorCount = static_cast<int>(ParseError::kCount);

struct ParseErrorInfo {
  uint16_t status_code;     // answer to a request; 0 = drop even for requests
  std::string_view reason;  // reason phrase of that answer
  std::string_view name;    // stable identifier for counters and logs
};

const ParseErrorInfo& Describe(ParseError error);

}  // namespace sipshard::sip

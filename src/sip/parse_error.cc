#include "sipshard/sip/parse_error.h"

#include <array>

namespace sipshard::sip {
namespace {

constexpr std::array<ParseErrorInfo, kParseErrorCount> kInfo = {{
    {0, "", "none"},
    {0, "", "empty"},
    {0, "", "bad_start_line"},
    {505, "Version Not Supported", "unsupported_version"},
    {400, "Bad Request-URI", "bad_request_uri"},
    {414, "Request-URI Too Long", "request_uri_too_long"},
    {400, "Malformed Header Line", "bad_header_line"},
    {400, "Header Line Too Long", "header_line_too_long"},
    {513, "Too Many Headers", "too_many_headers"},
    {513, "Message Too Large", "message_too_large"},
    {413, "Request Entity Too Large", "body_too_large"},
    {400, "Content-Length Exceeds Message", "body_truncated"},
    {400, "Missing Via Header", "missing_via"},
    {400, "Missing From Header", "missing_from"},
    {400, "Missing To Header", "missing_to"},
    {400, "Missing Call-ID Header", "missing_call_id"},
    {400, "Missing CSeq Header", "missing_cseq"},
    {400, "Bad Via", "bad_via"},
    {400, "Bad From", "bad_from"},
    {400, "Bad To", "bad_to"},
    {400, "Bad Call-ID", "bad_call_id"},
    {400, "Bad CSeq", "bad_cseq"},
    {400, "CSeq Method Mismatch", "cseq_method_mismatch"},
    {400, "Bad Max-Forwards", "bad_max_forwards"},
    {400, "Bad Content-Length", "bad_content_length"},
    {400, "Duplicate Header", "duplicate_header"},
    {400, "Malformed Request-Line", "bad_request_line"},
}};

}  // namespace

const ParseErrorInfo& Describe(ParseError error) { return kInfo[static_cast<size_t>(error)]; }

}  // namespace sipshard::sip

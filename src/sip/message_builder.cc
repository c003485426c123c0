#include "sipshard/sip/message_builder.h"

#include "sipshard/sip/internal/write_util.h"
#include "sipshard/sip/name_addr.h"
#include "sipshard/sip/text.h"
#include "sipshard/sip/via.h"

namespace sipshard::sip {
namespace {

using internal::OutBuffer;
using internal::Splice;

WriteResult Finish(const OutBuffer& b) {
  if (b.overflow()) return {0, WriteError::kBufferTooSmall};
  return {b.size(), WriteError::kNone};
}

// Copies header line `line` of `msg`, applying `splices` (offsets into
// msg.data, increasing, all inside the line).
void AppendSplicedLine(const Message& msg, std::string_view line, const Splice* splices, int n,
                       OutBuffer* b) {
  const size_t line_start = msg.OffsetOf(line);
  size_t pos = line_start;
  for (int i = 0; i < n; ++i) {
    if (splices[i].offset < pos ||
        splices[i].offset + splices[i].remove > line_start + line.size()) {
      b->AppendLine(line);  // not ours to fix: never copy out of bounds
      return;
    }
    pos = splices[i].offset + splices[i].remove;
  }
  pos = line_start;
  for (int i = 0; i < n; ++i) {
    b->Append(msg.data.substr(pos, splices[i].offset - pos));
    b->Append(splices[i].prefix);
    b->Append(splices[i].text);
    pos = splices[i].offset + splices[i].remove;
  }
  b->AppendLine(msg.data.substr(pos, line_start + line.size() - pos));
}

// Copies the top Via line with the request's source filled in. It reuses
// the parser's top Via instead of parsing the element again (this runs for
// every 100 Trying). On a request that failed validation right there the
// parser may have filled it only partly: any view it holds still lies
// inside the element, which is checked, and without a host or parameters
// nothing is added and the line goes out as written.
void AppendTopVia(const Message& request, size_t field_index, const ResponseOptions& options,
                  OutBuffer* b) {
  const HeaderField& field = request.header_fields[field_index];
  const Via& via = request.top_via;
  const char* line_begin = field.line.data();
  const char* line_end = line_begin + field.line.size();
  const bool usable = (!options.source_ip.empty() || options.source_port != 0) &&
                      request.top_via_field == field_index && !via.host.empty() &&
                      via.raw.data() >= line_begin && via.raw.data() + via.raw.size() <= line_end;
  if (!usable) {
    b->AppendLine(field.line);
    return;
  }
  char port_digits[internal::kMaxDecimalDigits];
  std::string_view port;
  if (options.source_port != 0) {
    port = std::string_view(port_digits, internal::FormatDecimal(options.source_port, port_digits));
  }
  Splice splices[2];
  const int n =
      internal::PlanViaSourceParams(via, request.data, options.source_ip, port, splices);
  AppendSplicedLine(request, field.line, splices, n, b);
}

// Copies the To line, adding `;tag=` when it has none (§8.2.6.2). A To that
// does not parse goes out unchanged: a 400 for it must still be sendable.
void AppendTo(const Message& request, const HeaderField& field, std::string_view to_tag,
              OutBuffer* b) {
  NameAddr to;
  if (to_tag.empty() || !ParseNameAddr(field.value, &to) || to.is_wildcard || !to.tag.empty()) {
    b->AppendLine(field.line);
    return;
  }
  const Splice tag = {static_cast<uint32_t>(request.OffsetOf(field.value) + field.value.size()), 0,
                      ";tag=", to_tag};
  AppendSplicedLine(request, field.line, &tag, 1, b);
}

void AppendField(const Message& msg, HeaderId id, OutBuffer* b) {
  if (const HeaderField* field = msg.Find(id)) b->AppendLine(field->line);
}

void AppendExtraHeaders(std::span<const std::string_view> lines, OutBuffer* b) {
  for (std::string_view line : lines) {
    b->Append(line);
    b->Append("\r\n");
  }
}

// CANCEL (§9.1) and non-2xx ACK (§17.1.1.3) share everything but the method
// and where To comes from.
WriteResult BuildFromInvite(const Message& invite, std::string_view method, const HeaderField* to,
                            std::span<char> out) {
  const HeaderField* via = invite.Find(HeaderId::kVia);
  const HeaderField* from = invite.Find(HeaderId::kFrom);
  const HeaderField* call_id = invite.Find(HeaderId::kCallId);
  const HeaderField* cseq = invite.Find(HeaderId::kCSeq);
  if (invite.request_uri_text.empty() || via == nullptr || from == nullptr || to == nullptr ||
      call_id == nullptr || cseq == nullptr) {
    return {0, WriteError::kMissingHeader};
  }
  // Only our own Via: the request goes one hop, to the same next hop.
  ListSplitter elements(via->value);
  std::string_view top_via;
  if (!elements.Next(&top_via) || !elements.ok()) return {0, WriteError::kBadValue};

  OutBuffer b(out);
  b.Append(method);
  b.Append(" ");
  b.Append(invite.request_uri_text);
  b.Append(" SIP/2.0\r\nVia: ");
  b.Append(top_via);
  b.Append("\r\n");
  // The Route set, all lines in order (§9.1, §17.1.1.3).
  const uint8_t first_route = invite.first_index[static_cast<size_t>(HeaderId::kRoute)];
  if (first_route != Message::kNoHeader) {
    int left = invite.Count(HeaderId::kRoute);
    for (size_t i = first_route; i < invite.header_count && left > 0; ++i) {
      if (invite.header_fields[i].id != HeaderId::kRoute) continue;
      --left;
      b.AppendLine(invite.header_fields[i].line);
    }
  }
  b.Append("Max-Forwards: 70\r\n");
  b.AppendLine(from->line);
  b.AppendLine(to->line);
  b.AppendLine(call_id->line);
  b.Append("CSeq: ");
  b.AppendDecimal(invite.cseq.number);
  b.Append(" ");
  b.Append(method);
  b.Append("\r\nContent-Length: 0\r\n\r\n");
  return Finish(b);
}

}  // namespace

std::string_view DefaultReasonPhrase(int code) {
  // One code per line reads as the table it is.
  // clang-format off
  switch (code) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 181: return "Call Is Being Forwarded";
    case 182: return "Queued";
    case 183: return "Session Progress";
    case 199: return "Early Dialog Terminated";
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Notification";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 305: return "Use Proxy";
    case 380: return "Alternative Service";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 412: return "Conditional Request Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 417: return "Unknown Resource-Priority";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 422: return "Session Interval Too Small";
    case 423: return "Interval Too Brief";
    case 428: return "Use Identity Header";
    case 429: return "Provide Referrer Identity";
    case 430: return "Flow Failed";
    case 433: return "Anonymity Disallowed";
    case 436: return "Bad Identity-Info";
    case 437: return "Unsupported Certificate";
    case 438: return "Invalid Identity Header";
    case 439: return "First Hop Lacks Outbound Support";
    case 440: return "Max-Breadth Exceeded";
    case 469: return "Bad Info Package";
    case 470: return "Consent Needed";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 484: return "Address Incomplete";
    case 485: return "Ambiguous";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 489: return "Bad Event";
    case 491: return "Request Pending";
    case 493: return "Undecipherable";
    case 494: return "Security Agreement Required";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 555: return "Push Notification Service Not Supported";
    case 580: return "Precondition Failure";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    case 607: return "Unwanted";
    case 608: return "Rejected";
    default: return "";
  }
  // clang-format on
}

WriteResult BuildResponse(const Message& request, int code, std::string_view reason,
                          const ResponseOptions& options, std::span<char> out) {
  if (code < 100 || code > 699) return {0, WriteError::kInvalidArgument};
  if (reason.empty()) reason = DefaultReasonPhrase(code);

  OutBuffer b(out);
  b.Append("SIP/2.0 ");
  b.AppendDecimal(static_cast<uint64_t>(code));
  b.Append(" ");
  b.Append(reason);
  b.Append("\r\n");

  // §8.2.6.2: the Via values in order, as written; received/rport on top.
  const uint8_t first_via = request.first_index[static_cast<size_t>(HeaderId::kVia)];
  if (first_via != Message::kNoHeader) {
    AppendTopVia(request, first_via, options, &b);
    int left = request.Count(HeaderId::kVia) - 1;
    for (size_t i = first_via + 1u; i < request.header_count && left > 0; ++i) {
      if (request.header_fields[i].id != HeaderId::kVia) continue;
      --left;
      b.AppendLine(request.header_fields[i].line);
    }
  }
  AppendField(request, HeaderId::kFrom, &b);
  if (const HeaderField* to = request.Find(HeaderId::kTo)) {
    // A 100 never establishes a dialog, so it never gets a tag (§8.2.6.1).
    AppendTo(request, *to, code > 100 ? options.to_tag : std::string_view(), &b);
  }
  AppendField(request, HeaderId::kCallId, &b);
  AppendField(request, HeaderId::kCSeq, &b);
  if (code == 100) AppendField(request, HeaderId::kTimestamp, &b);  // §8.2.6.1
  AppendExtraHeaders(options.extra_headers, &b);
  b.Append("Content-Length: 0\r\n\r\n");
  return Finish(b);
}

WriteResult BuildCancel(const Message& outgoing_invite, std::span<char> out) {
  return BuildFromInvite(outgoing_invite, "CANCEL", outgoing_invite.Find(HeaderId::kTo), out);
}

WriteResult BuildNon2xxAck(const Message& outgoing_invite, const Message& response,
                           std::span<char> out) {
  return BuildFromInvite(outgoing_invite, "ACK", response.Find(HeaderId::kTo), out);
}

WriteResult BuildOptions(const OptionsProbe& probe, std::span<char> out) {
  if (probe.request_uri.empty() || probe.via_value.empty() || probe.call_id.empty()) {
    return {0, WriteError::kInvalidArgument};
  }
  OutBuffer b(out);
  b.Append("OPTIONS ");
  b.Append(probe.request_uri);
  b.Append(" SIP/2.0\r\nVia: ");
  b.Append(probe.via_value);
  b.Append("\r\nMax-Forwards: 70\r\nFrom: <");
  b.Append(probe.from_uri);
  b.Append(">;tag=");
  b.Append(probe.from_tag);
  b.Append("\r\nTo: <");
  b.Append(probe.to_uri.empty() ? probe.request_uri : probe.to_uri);
  b.Append(">\r\nCall-ID: ");
  b.Append(probe.call_id);
  b.Append("\r\nCSeq: ");
  b.AppendDecimal(probe.cseq);
  b.Append(" OPTIONS\r\n");
  AppendExtraHeaders(probe.extra_headers, &b);
  b.Append("Content-Length: 0\r\n\r\n");
  return Finish(b);
}

}  // namespace sipshard::sip

// libFuzzer target: the full message parser, both framings.
//
// Besides "no crash, no sanitizer report", it checks the invariants the
// proxy relies on:
//  - every view in the Message lies inside the input (zero-copy, no
//    pointer into a temporary);
//  - when the parse succeeds, the receive threads' Call-ID scanner finds
//    exactly the parser's Call-ID (the shard choice agrees with the parser);
//  - a successful datagram parse's data/body/headers_end are consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "sipshard/sip/call_id_scan.h"
#include "sipshard/sip/parser.h"

namespace {

using sipshard::sip::Message;
using sipshard::sip::ParseError;

std::string_view g_input;

void Check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("invariant violated: %s\n", what);
    std::abort();
  }
}

void CheckInside(std::string_view v, const char* what) {
  if (v.empty()) return;
  const char* begin = g_input.data();
  const char* end = begin + g_input.size();
  Check(v.data() >= begin && v.data() + v.size() <= end, what);
}

void CheckUri(const sipshard::sip::Uri& u) {
  CheckInside(u.scheme_text, "uri.scheme_text");
  CheckInside(u.user, "uri.user");
  CheckInside(u.password, "uri.password");
  CheckInside(u.host, "uri.host");
  CheckInside(u.params, "uri.params");
  CheckInside(u.headers, "uri.headers");
  CheckInside(u.raw, "uri.raw");
}

void CheckNameAddr(const sipshard::sip::NameAddr& n) {
  CheckInside(n.display_name, "name_addr.display_name");
  CheckInside(n.uri, "name_addr.uri");
  CheckInside(n.params, "name_addr.params");
  CheckInside(n.tag, "name_addr.tag");
  CheckInside(n.raw, "name_addr.raw");
}

void CheckMessage(const Message& m) {
  CheckInside(m.data, "data");
  CheckInside(m.start_line, "start_line");
  CheckInside(m.method_text, "method_text");
  CheckInside(m.request_uri_text, "request_uri_text");
  CheckUri(m.request_uri);
  CheckInside(m.reason_phrase, "reason_phrase");
  Check(m.header_count <= sipshard::sip::kMaxHeaderFields, "header_count");
  for (size_t i = 0; i < m.header_count; ++i) {
    const sipshard::sip::HeaderField& f = m.header_fields[i];
    CheckInside(f.name, "field.name");
    CheckInside(f.value, "field.value");
    CheckInside(f.line, "field.line");
    Check(!f.name.empty(), "field.name empty");
  }
  for (size_t id = 0; id < m.first_index.size(); ++id) {
    const uint8_t i = m.first_index[id];
    if (i == Message::kNoHeader) {
      Check(m.counts[id] == 0, "count without first_index");
    } else {
      Check(i < m.header_count, "first_index in range");
      Check(static_cast<size_t>(m.header_fields[i].id) == id, "first_index id");
    }
  }
  CheckInside(m.body, "body");
  const sipshard::sip::Via& v = m.top_via;
  for (std::string_view s : {v.protocol_name, v.protocol_version, v.transport, v.host, v.params,
                             v.branch, v.received, v.maddr, v.raw}) {
    CheckInside(s, "top_via");
  }
  CheckInside(m.call_id, "call_id");
  CheckInside(m.cseq.method_text, "cseq.method_text");
  CheckNameAddr(m.from);
  CheckNameAddr(m.to);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Message* const msg = new Message();  // 256 header slots: not on the stack
  g_input = std::string_view(reinterpret_cast<const char*>(data), size);

  sipshard::sip::ParseLimits limits;
  limits.max_headers = 32 + size % 200;      // vary the limits a little
  limits.max_header_line = 256 + size % 4096;

  for (sipshard::sip::Framing framing :
       {sipshard::sip::Framing::kDatagram, sipshard::sip::Framing::kStream}) {
    const ParseError e = sipshard::sip::ParseMessage(g_input, limits, msg, framing);
    CheckMessage(*msg);
    const bool answerable = sipshard::sip::IsAnswerable(*msg, e);
    Check(!answerable || msg->is_request, "answerable response");
    if (e != ParseError::kNone) continue;
    Check(msg->Count(sipshard::sip::HeaderId::kCallId) == 1, "exactly one Call-ID");
    Check(sipshard::sip::FindCallId(g_input) == msg->call_id, "FindCallId == msg.call_id");
    Check(msg->data.data() == nullptr || msg->data.data() == g_input.data(), "data starts input");
    Check(msg->headers_end <= msg->data.size(), "headers_end inside data");
    Check(msg->body.data() + msg->body.size() <= msg->data.data() + msg->data.size() ||
              msg->body.empty(),
          "body inside data");
    if (msg->content_length >= 0) {
      Check(msg->body.size() == static_cast<size_t>(msg->content_length), "body == Content-Length");
    }
  }
  return 0;
}

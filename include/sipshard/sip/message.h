// A parsed SIP message: views into one contiguous byte buffer.
//
// The parser fills a Message without copying or allocating: every field is
// a std::string_view into the caller's buffer, which must outlive it. A
// shard keeps one Message and reuses it for every datagram it handles. The
// fields the proxy needs on every message (top Via, Call-ID, CSeq, tags,
// Max-Forwards, Content-Length, Request-URI) are parsed eagerly; anything
// else is parsed on demand from `headers`.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "sipshard/sip/cseq.h"
#include "sipshard/sip/header_id.h"
#include "sipshard/sip/method.h"
#include "sipshard/sip/name_addr.h"
#include "sipshard/sip/uri.h"
#include "sipshard/sip/via.h"

namespace sipshard::sip {

// Hard ceiling on header fields per message; limits.max_headers is ≤ this.
inline constexpr size_t kMaxHeaderFields = 256;

struct HeaderField {
  HeaderId id = HeaderId::kOther;
  std::string_view name;   // as written
  std::string_view value;  // trimmed; folded line breaks remain inside
  std::string_view line;   // the whole field incl. continuation lines and CRLF
};

struct Message {
  std::string_view data;  // the whole message (framing may exclude trailing bytes)
  bool is_request = false;

  // Request-Line (is_request) or Status-Line.
  std::string_view start_line;  // without its CRLF
  Method method = Method::kOther;
  std::string_view method_text;
  std::string_view request_uri_text;
  Uri request_uri;
  int status_code = 0;
  std::string_view reason_phrase;

  std::array<HeaderField, kMaxHeaderFields> header_fields;
  uint16_t header_count = 0;
  // Index of the first field with each HeaderId, or kNoHeader.
  static constexpr uint8_t kNoHeader = 0xff;
  std::array<uint8_t, kHeaderIdCount> first_index;
  std::array<uint8_t, kHeaderIdCount> counts;

  size_t headers_end = 0;  // offset of the empty line that ends the headers
  std::string_view body;

  // Eagerly parsed, valid when ParseMessage returned kNone.
  Via top_via;
  uint8_t top_via_field = kNoHeader;  // header field holding the top Via
  std::string_view call_id;
  CSeq cseq;
  NameAddr from;
  NameAddr to;
  int32_t max_forwards = -1;    // -1 when absent
  int64_t content_length = -1;  // -1 when absent

  void Clear();
  const HeaderField* Find(HeaderId id) const {
    const uint8_t i = first_index[static_cast<size_t>(id)];
    return i == kNoHeader ? nullptr : &header_fields[i];
  }
  int Count(HeaderId id) const { return counts[static_cast<size_t>(id)]; }
  // Returns the byte offset of `view` (which must point into `data`).
  size_t OffsetOf(std::string_view view) const {
    return static_cast<size_t>(view.data() - data.data());
  }
};

}  // namespace sipshard::sip

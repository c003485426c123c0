#include "sipshard/sip/parser.h"

#include <algorithm>
#include <cstring>

#include "sipshard/sip/internal/scan.h"
#include "sipshard/sip/text.h"

namespace sipshard::sip {
namespace {

constexpr size_t npos = std::string_view::npos;

size_t FindLf(std::string_view s, size_t from) {
  if (from >= s.size()) return npos;
  const void* p = std::memchr(s.data() + from, '\n', s.size() - from);
  return p == nullptr ? npos : static_cast<size_t>(static_cast<const char*>(p) - s.data());
}

// TrimLws(line.substr(colon + 1)) for the usual spelling "Name: value\r\n":
// one SP after the colon, CRLF at the end and no other white space at
// either end of the value. Anything else takes TrimLws.
inline std::string_view FieldValue(std::string_view line, size_t colon) {
  const size_t n = line.size();
  const char* const p = line.data();
  if (n >= colon + 5 && p[colon + 1] == ' ' && !IsLws(p[colon + 2]) && p[n - 1] == '\n' &&
      p[n - 2] == '\r' && !IsLws(p[n - 3])) {
    return std::string_view(p + colon + 2, n - 4 - colon);
  }
  return TrimLws(line.substr(colon + 1));
}

// True if `s` holds a byte ≤ 0x20 or 0x7f: 16 bytes at a time (Call-IDs
// are long and checked on every message; `readable` bytes may be read from
// s.data()); the general path keeps the 8-byte loop below.
bool HasCtlOrSpace(std::string_view s, size_t readable) {
  if (!internal::force_general_paths) {
    return internal::FindCtlOr<'\x7f'>(s.data(), s.size(), readable) != s.size();
  }
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    // Exact "some byte < 0x21" and "some byte == 0x7f" tests (the classic
    // has-less-than and has-zero bit tricks; no false positives as booleans).
    const uint64_t below = (w - kOnes * 0x21) & ~w & kHighs;
    const uint64_t x = w ^ (kOnes * 0x7f);
    const uint64_t del = (x - kOnes) & ~x & kHighs;
    if ((below | del) != 0) return true;
  }
  for (; i < s.size(); ++i) {
    if (static_cast<unsigned char>(s[i]) <= ' ' || s[i] == 0x7f) return true;
  }
  return false;
}

// The bytes that may be read from view.data(): the rest of the message
// (which holds every view the parser makes), at least view.size().
size_t Readable(const Message& msg, std::string_view view) {
  return static_cast<size_t>(msg.data.data() + msg.data.size() - view.data());
}

enum class VersionCheck { kOk, kUnsupported, kInvalid };

// SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, "SIP" case-insensitive.
VersionCheck CheckVersion(std::string_view v) {
  // Nearly always exactly this, which the checks below accept as 2.0.
  if (!internal::force_general_paths && v == "SIP/2.0") return VersionCheck::kOk;
  if (v.size() < 7 || !EqualsIgnoreCase(v.substr(0, 4), "SIP/")) return VersionCheck::kInvalid;
  std::string_view number = v.substr(4);
  const size_t dot = number.find('.');
  if (dot == npos || dot == 0 || dot + 1 == number.size()) return VersionCheck::kInvalid;
  for (size_t i = 0; i < number.size(); ++i) {
    if (i != dot && !IsDigit(number[i])) return VersionCheck::kInvalid;
  }
  return number == "2.0" ? VersionCheck::kOk : VersionCheck::kUnsupported;
}

ParseError ParseStatusLine(std::string_view line, Message* msg) {
  msg->is_request = false;
  const size_t sp = line.find(' ');
  if (sp == npos) return ParseError::kBadStartLine;
  switch (CheckVersion(line.substr(0, sp))) {
    case VersionCheck::kOk:
      break;
    case VersionCheck::kUnsupported:
      return ParseError::kUnsupportedVersion;
    case VersionCheck::kInvalid:
      return ParseError::kBadStartLine;
  }
  std::string_view rest = line.substr(sp + 1);
  if (rest.size() < 3 || !IsDigit(rest[0]) || !IsDigit(rest[1]) || !IsDigit(rest[2])) {
    return ParseError::kBadStartLine;
  }
  const int code = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
  if (code < 100 || code > 699) return ParseError::kBadStartLine;
  if (rest.size() > 3 && rest[3] != ' ') return ParseError::kBadStartLine;
  msg->status_code = code;
  msg->reason_phrase = rest.size() > 4 ? rest.substr(4) : std::string_view();
  return ParseError::kNone;
}

ParseError ParseRequestLine(std::string_view line, const ParseLimits& limits, Message* msg) {
  msg->is_request = true;
  // RFC 4475 §3.1.2.10: SP after the SIP-Version is malformed, but the line
  // is still readable, so the request gets a 400 rather than a silent drop.
  bool trailing_space = false;
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
    trailing_space = true;
  }
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == npos || sp1 == 0 || sp2 == sp1) return ParseError::kBadStartLine;
  msg->method_text = line.substr(0, sp1);
  for (char c : msg->method_text) {
    if (!IsTokenChar(c)) return ParseError::kBadStartLine;
  }
  msg->method = ParseMethod(msg->method_text);
  switch (CheckVersion(line.substr(sp2 + 1))) {
    case VersionCheck::kOk:
      break;
    case VersionCheck::kUnsupported:
      return ParseError::kUnsupportedVersion;
    case VersionCheck::kInvalid:
      return ParseError::kBadStartLine;
  }
  if (line.size() > limits.max_header_line) return ParseError::kRequestUriTooLong;
  msg->request_uri_text = line.substr(sp1 + 1, sp2 - sp1 - 1);
  // Exactly one SP separates the elements (§7.1): extra spaces end up
  // inside the URI, which can never hold unescaped white space.
  Uri* const uri = &msg->request_uri;
  if (!internal::ParseUriIn(msg->request_uri_text, Readable(*msg, msg->request_uri_text), uri)) {
    *uri = Uri();  // as if never parsed
    return ParseError::kBadRequestUri;
  }
  // §19.1.1: headers are not allowed in a SIP Request-URI (RFC 4475 §3.1.2.11).
  if (!uri->headers.empty() || (uri->scheme != UriScheme::kOther && uri->raw.back() == '?')) {
    return ParseError::kBadRequestUri;
  }
  return trailing_space ? ParseError::kBadRequestLine : ParseError::kNone;
}

// Parses the typed fields every proxy needs; returns the first error.
ParseError ParseKeyHeaders(Message* msg) {
  constexpr HeaderId kSingle[] = {HeaderId::kCallId, HeaderId::kCSeq, HeaderId::kFrom,
                                  HeaderId::kTo, HeaderId::kMaxForwards};
  ParseError error = ParseError::kNone;
  auto note = [&error](ParseError e) {
    if (error == ParseError::kNone) error = e;
  };

  if (const HeaderField* via = msg->Find(HeaderId::kVia)) {
    msg->top_via_field = msg->first_index[static_cast<size_t>(HeaderId::kVia)];
    // Most Via lines hold one element of the usual shape, parsed in one pass
    // that also rules out a comma. Otherwise: without a comma there is
    // still nothing to split.
    std::string_view top = via->value;
    if (!internal::ParseViaFastPath(top, Readable(*msg, top), &msg->top_via)) {
      bool found = !top.empty();
      if (top.find(',') != std::string_view::npos) {
        ListSplitter elements(via->value);
        found = elements.Next(&top);
      }
      if (!found) {
        msg->top_via = Via();
        note(ParseError::kBadVia);
      } else if (!ParseVia(top, &msg->top_via)) {
        note(ParseError::kBadVia);
      }
    }
  } else {
    msg->top_via = Via();
    note(ParseError::kMissingVia);
  }

  if (const HeaderField* from = msg->Find(HeaderId::kFrom)) {
    if (!internal::ParseNameAddrIn(from->value, Readable(*msg, from->value), &msg->from) ||
        msg->from.is_wildcard) {
      note(ParseError::kBadFrom);
    }
  } else {
    msg->from = NameAddr();
    note(ParseError::kMissingFrom);
  }
  if (const HeaderField* to = msg->Find(HeaderId::kTo)) {
    if (!internal::ParseNameAddrIn(to->value, Readable(*msg, to->value), &msg->to) ||
        msg->to.is_wildcard) {
      note(ParseError::kBadTo);
    }
  } else {
    msg->to = NameAddr();
    note(ParseError::kMissingTo);
  }

  if (const HeaderField* call_id = msg->Find(HeaderId::kCallId)) {
    msg->call_id = call_id->value;
    // callid = word [ "@" word ]: no white space or control characters.
    if (msg->call_id.empty() || HasCtlOrSpace(msg->call_id, Readable(*msg, msg->call_id))) {
      note(ParseError::kBadCallId);
    }
  } else {
    note(ParseError::kMissingCallId);
  }

  if (const HeaderField* cseq = msg->Find(HeaderId::kCSeq)) {
    if (!ParseCSeq(cseq->value, &msg->cseq)) {
      note(ParseError::kBadCSeq);
    } else if (msg->is_request && msg->cseq.method_text != msg->method_text) {
      note(ParseError::kCSeqMethodMismatch);
    }
  } else {
    note(ParseError::kMissingCSeq);
  }

  if (const HeaderField* mf = msg->Find(HeaderId::kMaxForwards)) {
    // 1*DIGIT, but RFC 4475 §3.1.2.4 treats a value above 255 as malformed.
    const std::optional<uint64_t> v = ParseDecimal(mf->value, 255);
    if (v) {
      msg->max_forwards = static_cast<int32_t>(*v);
    } else {
      note(ParseError::kBadMaxForwards);
    }
  }
  for (HeaderId id : kSingle) {
    if (msg->Count(id) > 1) note(ParseError::kDuplicateHeader);
  }
  return error;
}

// Message::Clear() minus top_via, from and to: those are big, and
// ParseKeyHeaders sets each of them on every path (parsed or reset), so
// ParseMessage resets them itself only where it returns before that.
void ClearForParse(Message* msg) {
  msg->data = {};
  msg->is_request = false;
  msg->start_line = {};
  msg->method = Method::kOther;
  msg->method_text = {};
  msg->request_uri_text = {};
  msg->request_uri = Uri();
  msg->status_code = 0;
  msg->reason_phrase = {};
  msg->header_count = 0;
  msg->first_index.fill(Message::kNoHeader);
  msg->counts.fill(0);
  msg->headers_end = 0;
  msg->body = {};
  msg->top_via_field = Message::kNoHeader;
  msg->call_id = {};
  msg->cseq = CSeq();
  msg->max_forwards = -1;
  msg->content_length = -1;
}

void Note(ParseError* error, ParseError e) {
  if (*error == ParseError::kNone) *error = e;
}

// Splits the header lines that start at `pos` into msg->header_fields,
// up to the empty line; sets headers_end, the index arrays and
// header_count, notes errors in *error and returns where the body starts.
// The general path: memchr per line and a byte scan of each name.
size_t ParseHeaderLines(std::string_view bytes, size_t pos, const ParseLimits& limits,
                        size_t max_headers, Message* msg, ParseError* error) {
  size_t body_start = bytes.size();
  msg->headers_end = bytes.size();
  while (pos < bytes.size()) {
    if (bytes[pos] == '\n' || (bytes[pos] == '\r' && pos + 1 < bytes.size() && bytes[pos + 1] == '\n')) {
      msg->headers_end = pos;
      body_start = pos + (bytes[pos] == '\r' ? 2 : 1);
      break;
    }
    const size_t line_start = pos;
    size_t lf = FindLf(bytes, pos);
    // A line starting with SP or HT continues the previous one (§7.3.1).
    while (lf != npos && lf + 1 < bytes.size() && (bytes[lf + 1] == ' ' || bytes[lf + 1] == '\t')) {
      lf = FindLf(bytes, lf + 1);
    }
    pos = lf == npos ? bytes.size() : lf + 1;
    std::string_view line = bytes.substr(line_start, pos - line_start);
    if (msg->header_count >= max_headers) {
      Note(error, ParseError::kTooManyHeaders);
      continue;
    }
    if (line.size() > limits.max_header_line) {
      Note(error, ParseError::kHeaderLineTooLong);
      continue;
    }
    // header-name = token; HCOLON = *( SP / HTAB ) ":" SWS. One forward scan.
    size_t name_end = 0;
    while (name_end < line.size() && IsTokenChar(line[name_end])) ++name_end;
    size_t colon = name_end;
    while (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t')) ++colon;
    if (name_end == 0 || colon == line.size() || line[colon] != ':') {
      Note(error, ParseError::kBadHeaderLine);
      continue;
    }
    const HeaderId id = LookupHeaderId(line.substr(0, name_end));
    HeaderField& field = msg->header_fields[msg->header_count];
    field.id = id;
    field.name = line.substr(0, name_end);
    field.value = TrimLws(line.substr(colon + 1));
    field.line = line;
    const size_t index = static_cast<size_t>(id);
    if (msg->first_index[index] == Message::kNoHeader) {
      msg->first_index[index] = static_cast<uint8_t>(msg->header_count);
    }
    if (msg->counts[index] < 0xff) ++msg->counts[index];
    ++msg->header_count;
  }
  return body_start;
}

// ParseHeaderLines with the same results, faster for the usual message:
// - one look at the first 64 bytes of a line finds its end and the first
//   ':' together (most lines are shorter), instead of a memchr call and a
//   byte scan;
// - a name followed directly by ':' is looked up by its length and first
//   letter ("Known-Name:" in any case), settling name, colon and id at
//   once; anything else (compact forms, unknown names, space before the
//   colon) takes the general scan;
// - the value of "Name: value\r\n" is cut without trimming loops;
// - it works on locals and writes header_count back once: stores to the
//   uint8_t index arrays may alias anything, so fields of *msg would be
//   reloaded after each of them.
size_t ParseHeaderLinesFast(std::string_view bytes, size_t pos, const ParseLimits& limits,
                            size_t max_headers, Message* msg, ParseError* error) {
  const char* const data = bytes.data();
  const size_t size = bytes.size();
  const size_t max_line = limits.max_header_line;
  HeaderField* const fields = msg->header_fields.data();
  uint8_t* const first_index = msg->first_index.data();
  uint8_t* const counts = msg->counts.data();
  size_t count = 0;
  size_t body_start = size;
  size_t headers_end = size;
  constexpr size_t kNoColon = internal::kMaxLongNameLength + 1;
  while (pos < size) {
    const char c0 = data[pos];
    if (c0 == '\n' || (c0 == '\r' && pos + 1 < size && data[pos + 1] == '\n')) {
      headers_end = pos;
      body_start = pos + (c0 == '\r' ? 2 : 1);
      break;
    }
    const size_t line_start = pos;
    const char* const line_data = data + pos;
    // lf: the first '\n' at or after pos (npos if none); colon: the offset
    // in the line of its first ':', or kNoColon when that is past where a
    // known name can end.
    size_t lf;
    size_t colon;
    if (size >= internal::kLineWindow) {
      internal::LineWindow w;
      const size_t left = size - pos;
      if (left >= internal::kLineWindow) {
        w = internal::ScanLineWindow<32>(line_data);
      } else {
        // Near the end: the last 64 bytes of the message, shifted so that
        // bit 0 is pos (nothing past the end is looked at).
        w = internal::ScanLineWindow<64>(data + size - internal::kLineWindow);
        w.lf >>= internal::kLineWindow - left;
        w.colon >>= internal::kLineWindow - left;
      }
      colon = w.colon != 0 ? std::min(static_cast<size_t>(__builtin_ctzll(w.colon)), kNoColon)
                           : kNoColon;
      if (w.lf != 0) {
        lf = pos + static_cast<size_t>(__builtin_ctzll(w.lf));
      } else {
        lf = left > internal::kLineWindow ? FindLf(bytes, pos + internal::kLineWindow) : npos;
      }
    } else {
      lf = FindLf(bytes, pos);
      const size_t limit = std::min(size - pos, kNoColon);
      colon = 0;
      while (colon < limit && line_data[colon] != ':') ++colon;
      if (colon == limit) colon = kNoColon;
    }
    // A line starting with SP or HT continues the previous one (§7.3.1).
    while (lf != npos && lf + 1 < size && (data[lf + 1] == ' ' || data[lf + 1] == '\t')) {
      lf = FindLf(bytes, lf + 1);
    }
    pos = lf == npos ? size : lf + 1;
    const std::string_view line(line_data, pos - line_start);
    if (count >= max_headers) {
      Note(error, ParseError::kTooManyHeaders);
      continue;
    }
    if (line.size() > max_line) {
      Note(error, ParseError::kHeaderLineTooLong);
      continue;
    }
    HeaderId id = HeaderId::kOther;
    size_t name_end =
        colon < line.size() ? internal::MatchKnownHeaderNameAt(line_data, colon, &id) : 0;
    if (name_end == 0) {
      // The general scan, as in ParseHeaderLines.
      while (name_end < line.size() && IsTokenChar(line[name_end])) ++name_end;
      colon = name_end;
      while (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t')) ++colon;
      if (name_end == 0 || colon == line.size() || line[colon] != ':') {
        Note(error, ParseError::kBadHeaderLine);
        continue;
      }
      id = LookupHeaderId(line.substr(0, name_end));
    }
    HeaderField& field = fields[count];
    field.id = id;
    field.name = std::string_view(line_data, name_end);
    field.value = FieldValue(line, colon);
    field.line = line;
    const size_t index = static_cast<size_t>(id);
    if (first_index[index] == Message::kNoHeader) first_index[index] = static_cast<uint8_t>(count);
    if (counts[index] < 0xff) ++counts[index];
    ++count;
  }
  msg->header_count = static_cast<uint16_t>(count);
  msg->headers_end = headers_end;
  return body_start;
}

void ResetKeyFields(Message* msg) {
  msg->top_via = Via();
  msg->from = NameAddr();
  msg->to = NameAddr();
}

}  // namespace

void Message::Clear() {
  data = {};
  is_request = false;
  start_line = {};
  method = Method::kOther;
  method_text = {};
  request_uri_text = {};
  request_uri = Uri();
  status_code = 0;
  reason_phrase = {};
  header_count = 0;
  first_index.fill(kNoHeader);
  counts.fill(0);
  headers_end = 0;
  body = {};
  top_via = Via();
  top_via_field = kNoHeader;
  call_id = {};
  cseq = CSeq();
  from = NameAddr();
  to = NameAddr();
  max_forwards = -1;
  content_length = -1;
}

ParseError ParseMessage(std::string_view bytes, const ParseLimits& limits, Message* msg,
                        Framing framing) {
  ClearForParse(msg);
  // §7.5: CRLFs before the start line are ignored (and are keep-alives).
  size_t pos = 0;
  while (pos < bytes.size() && (bytes[pos] == '\r' || bytes[pos] == '\n')) ++pos;
  if (pos == bytes.size()) {
    ResetKeyFields(msg);
    return ParseError::kEmpty;
  }
  msg->data = bytes;

  ParseError error = ParseError::kNone;
  auto note = [&error](ParseError e) {
    if (error == ParseError::kNone) error = e;
  };

  // The start line's end: the fast path looks at 64 bytes at once, as for
  // the header lines below.
  size_t first_lf;
  if (!internal::force_general_paths && bytes.size() - pos >= internal::kLineWindow) {
    const uint64_t lf = internal::ScanLineWindow<32>(bytes.data() + pos).lf;
    first_lf = lf != 0 ? pos + static_cast<size_t>(__builtin_ctzll(lf))
                       : FindLf(bytes, pos + internal::kLineWindow);
  } else {
    first_lf = FindLf(bytes, pos);
  }
  size_t line_end = first_lf == npos ? bytes.size() : first_lf;
  std::string_view start_line = bytes.substr(pos, line_end - pos);
  if (!start_line.empty() && start_line.back() == '\r') start_line.remove_suffix(1);
  msg->start_line = start_line;
  const ParseError start_error = (start_line.size() >= 4 && EqualsIgnoreCase(start_line.substr(0, 4), "SIP/"))
                                     ? ParseStatusLine(start_line, msg)
                                     : ParseRequestLine(start_line, limits, msg);
  if (start_error == ParseError::kBadStartLine) {
    ResetKeyFields(msg);
    return start_error;
  }
  note(start_error);
  if (bytes.size() > limits.max_message_size) note(ParseError::kMessageTooLarge);

  // first_index is a uint8_t with 0xff meaning "absent": at most 255 fields.
  constexpr size_t kMaxIndexable = Message::kNoHeader;
  const size_t max_headers = limits.max_headers < kMaxIndexable ? limits.max_headers
                                                                 : kMaxIndexable;
  pos = first_lf == npos ? bytes.size() : first_lf + 1;
  const size_t body_start =
      internal::force_general_paths
          ? ParseHeaderLines(bytes, pos, limits, max_headers, msg, &error)
          : ParseHeaderLinesFast(bytes, pos, limits, max_headers, msg, &error);

  // Framing (§18.3): Content-Length bounds the body; on a datagram a missing
  // Content-Length means "the rest of the datagram".
  size_t body_length = bytes.size() - body_start;
  if (const HeaderField* cl = msg->Find(HeaderId::kContentLength)) {
    const std::optional<uint64_t> v = ParseDecimal(cl->value, 0x7fffffff);
    if (!v || msg->Count(HeaderId::kContentLength) > 1) {
      note(ParseError::kBadContentLength);
    } else if (*v > limits.max_message_size) {
      msg->content_length = static_cast<int64_t>(*v);
      note(ParseError::kBodyTooLarge);
    } else {
      msg->content_length = static_cast<int64_t>(*v);
      if (*v > body_length) {
        note(ParseError::kBodyTruncated);
      } else {
        body_length = *v;
        msg->data = bytes.substr(0, body_start + body_length);
      }
    }
  } else if (framing == Framing::kStream) {
    body_length = 0;
    msg->data = bytes.substr(0, body_start);
  }
  msg->body = bytes.substr(body_start, body_length);

  note(ParseKeyHeaders(msg));
  return error;
}

bool IsAnswerable(const Message& msg, ParseError error) {
  // §17.1.1.3, §17.2.3: an ACK never gets a response.
  return msg.is_request && msg.method != Method::kAck && error != ParseError::kNone &&
         Describe(error).status_code != 0;
}

}  // namespace sipshard::sip

#include "sipshard/sip/parser.h"

#include <cstring>

#include "sipshard/sip/text.h"

namespace sipshard::sip {
namespace {

constexpr size_t npos = std::string_view::npos;

size_t FindLf(std::string_view s, size_t from) {
  if (from >= s.size()) return npos;
  const void* p = std::memchr(s.data() + from, '\n', s.size() - from);
  return p == nullptr ? npos : static_cast<size_t>(static_cast<const char*>(p) - s.data());
}

// True if `s` holds a byte ≤ 0x20 or 0x7f. Eight bytes at a time: Call-IDs
// are long and checked on every message.
bool HasCtlOrSpace(std::string_view s) {
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

enum class VersionCheck { kOk, kUnsupported, kInvalid };

// SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, "SIP" case-insensitive.
VersionCheck CheckVersion(std::string_view v) {
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
  if (!internal::ParseUriInto(msg->request_uri_text, uri)) {
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
    // Most Via lines hold one element: without a comma there is nothing to split.
    std::string_view top = via->value;
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
  } else {
    msg->top_via = Via();
    note(ParseError::kMissingVia);
  }

  if (const HeaderField* from = msg->Find(HeaderId::kFrom)) {
    if (!ParseNameAddr(from->value, &msg->from) || msg->from.is_wildcard) {
      note(ParseError::kBadFrom);
    }
  } else {
    msg->from = NameAddr();
    note(ParseError::kMissingFrom);
  }
  if (const HeaderField* to = msg->Find(HeaderId::kTo)) {
    if (!ParseNameAddr(to->value, &msg->to) || msg->to.is_wildcard) note(ParseError::kBadTo);
  } else {
    msg->to = NameAddr();
    note(ParseError::kMissingTo);
  }

  if (const HeaderField* call_id = msg->Find(HeaderId::kCallId)) {
    msg->call_id = call_id->value;
    // callid = word [ "@" word ]: no white space or control characters.
    if (msg->call_id.empty() || HasCtlOrSpace(msg->call_id)) note(ParseError::kBadCallId);
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

  const size_t first_lf = FindLf(bytes, pos);
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
      note(ParseError::kTooManyHeaders);
      continue;
    }
    if (line.size() > limits.max_header_line) {
      note(ParseError::kHeaderLineTooLong);
      continue;
    }
    // Most lines start "Known-Name:"; one table lookup and a couple of word
    // compares settle name, colon and id at once. Anything else (compact
    // forms, unknown names, space before the colon) takes the general scan.
    HeaderId id = HeaderId::kOther;
    size_t name_end =
        internal::force_general_paths ? 0 : internal::MatchKnownHeaderName(line, &id);
    size_t colon = name_end;
    if (name_end == 0) {
      // header-name = token; HCOLON = *( SP / HTAB ) ":" SWS. One forward scan.
      while (name_end < line.size() && IsTokenChar(line[name_end])) ++name_end;
      colon = name_end;
      while (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t')) ++colon;
      if (name_end == 0 || colon == line.size() || line[colon] != ':') {
        note(ParseError::kBadHeaderLine);
        continue;
      }
      id = LookupHeaderId(line.substr(0, name_end));
    }
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

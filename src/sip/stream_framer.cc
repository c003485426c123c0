#include "sipshard/sip/stream_framer.h"

#include "sipshard/sip/header_id.h"
#include "sipshard/sip/text.h"

namespace sipshard::sip {
namespace {

constexpr size_t npos = std::string_view::npos;

StreamFrame Error(std::string_view why) {
  StreamFrame f;
  f.kind = StreamFrame::Kind::kError;
  f.error = why;
  return f;
}

}  // namespace

StreamFrame FrameStream(std::string_view buffered, size_t max_message_size) {
  StreamFrame frame;
  while (frame.skip < buffered.size() &&
         (buffered[frame.skip] == '\r' || buffered[frame.skip] == '\n')) {
    ++frame.skip;
  }
  std::string_view s = buffered.substr(frame.skip);
  if (s.empty()) return frame;

  // Find the end of the header section (the first empty line, as the parser
  // sees it); scan only up to the limit so a peer that never sends CRLFCRLF
  // costs us bounded work per call.
  const size_t scan_limit = s.size() < max_message_size ? s.size() : max_message_size;
  size_t header_end = npos;  // offset of the first body byte
  size_t line_start = 0;
  while (line_start < scan_limit) {
    const size_t lf = s.find('\n', line_start);
    if (lf == npos || lf >= scan_limit) break;
    if (line_start > 0 && (lf == line_start || (lf == line_start + 1 && s[line_start] == '\r'))) {
      header_end = lf + 1;
      break;
    }
    line_start = lf + 1;
  }
  if (header_end == npos) {
    if (s.size() >= max_message_size) return Error("header section exceeds the message size limit");
    return frame;  // wait for more bytes
  }

  // The header section is complete, so every logical line (continuation
  // lines included, §7.3.1) is known: read Content-Length as the parser does.
  const std::string_view headers = s.substr(0, header_end);
  int64_t content_length = -1;
  line_start = headers.find('\n') + 1;  // skip the start line
  while (line_start < headers.size()) {
    size_t lf = headers.find('\n', line_start);
    while (lf + 1 < headers.size() && (headers[lf + 1] == ' ' || headers[lf + 1] == '\t')) {
      lf = headers.find('\n', lf + 1);
    }
    const std::string_view line = headers.substr(line_start, lf - line_start);
    line_start = lf + 1;
    size_t name_end = 0;
    while (name_end < line.size() && line[name_end] != ':' && line[name_end] != ' ' &&
           line[name_end] != '\t') {
      ++name_end;
    }
    size_t colon = name_end;
    while (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t')) ++colon;
    if (colon == line.size() || line[colon] != ':') continue;
    if (LookupHeaderId(line.substr(0, name_end)) != HeaderId::kContentLength) continue;
    const std::optional<uint64_t> v = ParseDecimal(TrimLws(line.substr(colon + 1)), 0x7fffffff);
    if (!v) return Error("bad Content-Length");
    if (content_length >= 0 && static_cast<uint64_t>(content_length) != *v) {
      return Error("conflicting Content-Length");
    }
    content_length = static_cast<int64_t>(*v);
  }
  if (content_length < 0) return Error("missing Content-Length on a stream");
  const size_t total = header_end + static_cast<size_t>(content_length);
  if (total > max_message_size) return Error("message exceeds the message size limit");
  if (s.size() < total) return frame;
  frame.kind = StreamFrame::Kind::kComplete;
  frame.length = total;
  return frame;
}

}  // namespace sipshard::sip

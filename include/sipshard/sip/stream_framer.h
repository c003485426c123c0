// Finds message boundaries in a byte stream (RFC 3261 §18.3, for TCP/TLS).
//
// On a stream, Content-Length is the only framing. The framer looks at the
// bytes buffered so far and says whether a whole message is there, how long
// it is, or that the stream is broken and must be closed. It never buffers
// itself, so the connection owns memory and bounds it by the limit.
#pragma once

#include <cstddef>
#include <string_view>

namespace sipshard::sip {

struct StreamFrame {
  enum class Kind { kComplete, kIncomplete, kError };
  Kind kind = Kind::kIncomplete;
  size_t skip = 0;    // leading CRLF keep-alive bytes to discard first
  size_t length = 0;  // message length after `skip` when kComplete
  std::string_view error;  // why, when kError
};

// Examines `buffered` (the unconsumed stream bytes). A message whose header
// section or total length would exceed `max_message_size` is an error, so a
// peer cannot make the connection buffer without bound.
StreamFrame FrameStream(std::string_view buffered, size_t max_message_size);

}  // namespace sipshard::sip

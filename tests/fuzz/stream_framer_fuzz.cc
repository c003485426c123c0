// libFuzzer target: stream framing. The input is split into a stream of
// messages the way a TCP connection would consume it. Checks:
//  - a frame never claims more bytes than are buffered, nor more than the
//    limit;
//  - a framed message that the parser accepts (stream framing) spans exactly
//    the framed length, so framer and parser agree on the boundary;
//  - a frame is stable: the same verdict for the same bytes with more
//    bytes appended (no look-ahead beyond the message).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sipshard/sip/parser.h"
#include "sipshard/sip/stream_framer.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sipshard::sip::Message* const msg = new sipshard::sip::Message();
  using sipshard::sip::StreamFrame;
  std::string_view stream(reinterpret_cast<const char*>(data), size);
  const size_t max = 64 + size % 2048;
  sipshard::sip::ParseLimits limits;
  limits.max_message_size = max;

  for (int messages = 0; messages < 64 && !stream.empty(); ++messages) {
    const StreamFrame f = sipshard::sip::FrameStream(stream, max);
    Check(f.skip <= stream.size(), "skip within buffer");
    if (f.kind != StreamFrame::Kind::kComplete) {
      if (f.kind == StreamFrame::Kind::kError) Check(!f.error.empty(), "error has a reason");
      break;
    }
    Check(f.length > 0, "non-empty frame");
    Check(f.skip + f.length <= stream.size(), "frame within buffer");
    Check(f.length <= max, "frame within limit");
    const std::string_view framed = stream.substr(f.skip, f.length);
    // Appending bytes must not change the verdict for this message.
    const StreamFrame again = sipshard::sip::FrameStream(stream.substr(0, f.skip + f.length), max);
    Check(again.kind == StreamFrame::Kind::kComplete && again.length == f.length &&
              again.skip == f.skip,
          "frame stable under truncation to itself");
    const sipshard::sip::ParseError e =
        sipshard::sip::ParseMessage(framed, limits, msg, sipshard::sip::Framing::kStream);
    if (e == sipshard::sip::ParseError::kNone) {
      Check(msg->data.size() == framed.size(), "parser and framer agree on the length");
    }
    stream.remove_prefix(f.skip + f.length);
  }
  return 0;
}

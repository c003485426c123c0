// Stream framing by Content-Length (RFC 3261 §18.3).
#include "sipshard/sip/stream_framer.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "sipshard/sip/parser.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::sip {
namespace {

using ::sipshard::testing::Crlf;
using Kind = StreamFrame::Kind;

std::string StreamMessage(std::string_view content_length_line, std::string_view body) {
  return Crlf("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\n"
              "From: <sip:x@y>;tag=1\nTo: <sip:a@b>\nCall-ID: c1\nCSeq: 1 OPTIONS\n" +
              std::string(content_length_line) + "\n") +
         std::string(body);
}

TEST(StreamFramerTest, CompleteMessageAndTrailingBytes) {
  const std::string m = StreamMessage("Content-Length: 5\n", "hello");
  StreamFrame f = FrameStream(m + "NEXT", 65535);
  ASSERT_EQ(f.kind, Kind::kComplete);
  EXPECT_EQ(f.skip, 0u);
  EXPECT_EQ(f.length, m.size());

  auto msg = std::make_unique<Message>();
  const std::string framed = (m + "NEXT").substr(f.skip, f.length);
  ASSERT_EQ(ParseMessage(framed, ParseLimits(), msg.get(), Framing::kStream), ParseError::kNone);
  EXPECT_EQ(msg->body, "hello");
}

TEST(StreamFramerTest, IncompleteWaitsAtEveryPrefix) {
  const std::string m = StreamMessage("l: 5\n", "hello");
  for (size_t n = 0; n < m.size(); ++n) {
    const StreamFrame f = FrameStream(std::string_view(m).substr(0, n), 65535);
    EXPECT_EQ(f.kind, Kind::kIncomplete) << n;
  }
  EXPECT_EQ(FrameStream(m, 65535).kind, Kind::kComplete);
}

TEST(StreamFramerTest, KeepAliveCrlfsAreSkipped) {
  const std::string m = StreamMessage("Content-Length: 0\n", "");
  StreamFrame f = FrameStream("\r\n\r\n" + m, 65535);
  ASSERT_EQ(f.kind, Kind::kComplete);
  EXPECT_EQ(f.skip, 4u);
  EXPECT_EQ(f.length, m.size());
  f = FrameStream("\r\n\r\n", 65535);
  EXPECT_EQ(f.kind, Kind::kIncomplete);
  EXPECT_EQ(f.skip, 4u);
}

TEST(StreamFramerTest, HeaderFormsOfContentLength) {
  for (std::string_view line : {"content-length: 3\n", "L : 3\n", "CONTENT-LENGTH:3\n",
                                "Content-Length:\n 3\n", "l:  \n\t 3 \n"}) {
    const std::string m = StreamMessage(line, "abc");
    const StreamFrame f = FrameStream(m, 65535);
    ASSERT_EQ(f.kind, Kind::kComplete) << line;
    EXPECT_EQ(f.length, m.size()) << line;
  }
}

TEST(StreamFramerTest, ContentLengthInBodyOrStartLineIsIgnored) {
  const std::string m = StreamMessage("Content-Length: 19\n", "Content-Length: 999");
  const StreamFrame f = FrameStream(m, 65535);
  ASSERT_EQ(f.kind, Kind::kComplete);
  EXPECT_EQ(f.length, m.size());
}

TEST(StreamFramerTest, Errors) {
  StreamFrame f = FrameStream(StreamMessage("", ""), 65535);
  EXPECT_EQ(f.kind, Kind::kError);
  EXPECT_EQ(f.error, "missing Content-Length on a stream");
  f = FrameStream(StreamMessage("Content-Length: -1\n", ""), 65535);
  EXPECT_EQ(f.kind, Kind::kError);
  EXPECT_EQ(f.error, "bad Content-Length");
  f = FrameStream(StreamMessage("Content-Length: 1\nl: 2\n", "ab"), 65535);
  EXPECT_EQ(f.kind, Kind::kError);
  EXPECT_EQ(f.error, "conflicting Content-Length");
  f = FrameStream(StreamMessage("Content-Length: 2\nl: 2\n", "ab"), 65535);
  EXPECT_EQ(f.kind, Kind::kComplete);  // a repeat of the same value frames fine
}

TEST(StreamFramerTest, BoundedByMaxMessageSize) {
  // Content-Length that would take the message past the limit: error at once,
  // before the body arrives.
  StreamFrame f = FrameStream(StreamMessage("Content-Length: 60000\n", ""), 1024);
  EXPECT_EQ(f.kind, Kind::kError);
  EXPECT_EQ(f.error, "message exceeds the message size limit");
  // A header section that never ends.
  std::string endless = "OPTIONS sip:a@b SIP/2.0\r\n";
  while (endless.size() < 1024) endless += "X-Pad: padding padding padding\r\n";
  f = FrameStream(endless, 1024);
  EXPECT_EQ(f.kind, Kind::kError);
  EXPECT_EQ(f.error, "header section exceeds the message size limit");
  f = FrameStream(std::string_view(endless).substr(0, 1000), 1024);
  EXPECT_EQ(f.kind, Kind::kIncomplete);
  // Exactly at the limit is fine.
  const std::string m = StreamMessage("Content-Length: 10\n", "0123456789");
  f = FrameStream(m, m.size());
  EXPECT_EQ(f.kind, Kind::kComplete);
  f = FrameStream(m, m.size() - 1);
  EXPECT_EQ(f.kind, Kind::kError);
}

TEST(StreamFramerTest, BareLfLineEnds) {
  const std::string m = "OPTIONS sip:a@b SIP/2.0\nl: 2\n\nab";
  const StreamFrame f = FrameStream(m + "x", 65535);
  ASSERT_EQ(f.kind, Kind::kComplete);
  EXPECT_EQ(f.length, m.size());
}

}  // namespace
}  // namespace sipshard::sip

// ParseLimits: beyond each limit the parser gives the RFC's answer or a
// counted drop, with work bounded by the input size.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sipshard/sip/parser.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::sip {
namespace {

using ::sipshard::testing::Crlf;

std::string Options(std::string_view extra_headers, std::string_view request_uri = "sip:a@b") {
  return Crlf("OPTIONS " + std::string(request_uri) + " SIP/2.0\n"
              "Via: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:x@y>;tag=1\nTo: <sip:a@b>\n"
              "Call-ID: c1\nCSeq: 1 OPTIONS\n" + std::string(extra_headers) +
              "Content-Length: 0\n\n");
}

class LimitsTest : public ::testing::Test {
 protected:
  ParseError Parse(const std::string& bytes) {
    bytes_ = bytes;
    return ParseMessage(bytes_, limits_, msg_.get());
  }
  ParseLimits limits_;
  std::string bytes_;
  std::unique_ptr<Message> msg_ = std::make_unique<Message>();
};

TEST_F(LimitsTest, TooManyHeaders) {
  limits_.max_headers = 10;
  ASSERT_EQ(Parse(Options("A: 1\nB: 2\nC: 3\nD: 4\n")), ParseError::kNone);  // exactly 10
  EXPECT_EQ(msg_->header_count, 10);
  const ParseError e = Parse(Options("A: 1\nB: 2\nC: 3\nD: 4\nE: 5\n"));
  EXPECT_EQ(e, ParseError::kTooManyHeaders);
  EXPECT_TRUE(IsAnswerable(*msg_, e));
  EXPECT_EQ(Describe(e).status_code, 513);
  EXPECT_EQ(Describe(e).reason, "Too Many Headers");
  EXPECT_EQ(msg_->header_count, 10);
  EXPECT_EQ(msg_->call_id, "c1");
}

TEST_F(LimitsTest, MaxHeadersIsClampedToWhatMessageCanIndex) {
  limits_.max_headers = 100000;
  std::string extra;
  for (int i = 0; i < 300; ++i) extra += "Xa: " + std::to_string(i) + "\n";
  const ParseError e = Parse(Options(extra));
  EXPECT_EQ(e, ParseError::kTooManyHeaders);
  EXPECT_EQ(msg_->header_count, 255);
  // Every recorded index is a real one, never the "absent" marker.
  EXPECT_NE(msg_->Find(HeaderId::kOther), nullptr);
  EXPECT_EQ(msg_->Count(HeaderId::kOther), 250);  // 255 minus the 5 mandatory ones
}

TEST_F(LimitsTest, HeaderLineTooLong) {
  limits_.max_header_line = 64;
  const ParseError e = Parse(Options("Subject: " + std::string(80, 's') + "\n"));
  EXPECT_EQ(e, ParseError::kHeaderLineTooLong);
  EXPECT_EQ(Describe(e).status_code, 400);
  EXPECT_EQ(Describe(e).reason, "Header Line Too Long");
  EXPECT_TRUE(IsAnswerable(*msg_, e));
  // Folding does not hide a long logical line.
  std::string folded = "Subject: s";
  for (int i = 0; i < 10; ++i) folded += "\n  ssssssssss";
  EXPECT_EQ(Parse(Options(folded + "\n")), ParseError::kHeaderLineTooLong);
}

TEST_F(LimitsTest, RequestUriTooLong) {
  limits_.max_header_line = 64;
  const ParseError e = Parse(Options("", "sip:" + std::string(80, 'u') + "@example.com"));
  EXPECT_EQ(e, ParseError::kRequestUriTooLong);
  EXPECT_EQ(Describe(e).status_code, 414);
  EXPECT_EQ(Describe(e).reason, "Request-URI Too Long");
  EXPECT_TRUE(IsAnswerable(*msg_, e));
  EXPECT_EQ(msg_->call_id, "c1");
}

TEST_F(LimitsTest, MessageTooLarge) {
  limits_.max_message_size = 200;
  const std::string m = Options("Subject: " + std::string(200, 's') + "\n");
  const ParseError e = Parse(m);
  EXPECT_EQ(e, ParseError::kMessageTooLarge);
  EXPECT_EQ(Describe(e).status_code, 513);
  EXPECT_EQ(Describe(e).reason, "Message Too Large");
}

TEST_F(LimitsTest, BodyTooLarge) {
  limits_.max_message_size = 1000;
  std::string m = Options("");
  m.replace(m.find("Content-Length: 0"), 17, "Content-Length: 5000");
  const ParseError e = Parse(m);
  EXPECT_EQ(e, ParseError::kBodyTooLarge);
  EXPECT_EQ(Describe(e).status_code, 413);
  EXPECT_EQ(Describe(e).reason, "Request Entity Too Large");
  EXPECT_EQ(msg_->content_length, 5000);
  EXPECT_TRUE(msg_->body.empty());
}

TEST_F(LimitsTest, HugeContentLengthValues) {
  std::string m = Options("");
  m.replace(m.find("Content-Length: 0"), 17, "Content-Length: 99999999999999999999999");
  EXPECT_EQ(Parse(m), ParseError::kBadContentLength);
  m = Options("");
  m.replace(m.find("Content-Length: 0"), 17, "Content-Length: 2147483648");
  EXPECT_EQ(Parse(m), ParseError::kBadContentLength);
}

TEST_F(LimitsTest, ResponsesOverLimitsAreDropped) {
  limits_.max_headers = 3;
  const ParseError e = Parse(Crlf("SIP/2.0 200 OK\nVia: SIP/2.0/UDP h\nA: 1\nB: 2\nC: 3\n\n"));
  EXPECT_EQ(e, ParseError::kTooManyHeaders);
  EXPECT_FALSE(IsAnswerable(*msg_, e));
}

// Pathological inputs are linear: many tiny lines, one huge folded line,
// deeply nested quotes and brackets. Each must parse in well under a
// millisecond per kilobyte even in a sanitizer build.
TEST_F(LimitsTest, PathologicalInputsAreLinear) {
  limits_.max_message_size = 1 << 20;
  limits_.max_header_line = 1 << 20;
  const std::vector<std::string> inputs = {
      "OPTIONS sip:a@b SIP/2.0\r\n" + std::string(500000, '\n'),
      "OPTIONS sip:a@b SIP/2.0\r\nX: a" + [] {
        std::string s;
        for (int i = 0; i < 100000; ++i) s += "\r\n b";
        return s;
      }(),
      Options("Via: " + std::string(200000, ',') + "\n"),
      Options("To: " + std::string(200000, '"') + "\n"),
      Options("From: <" + std::string(200000, '<') + "\n"),
      Options("Via: SIP/2.0/UDP h" + std::string(200000, '(') + "\n"),
      Options("Via: SIP/2.0/UDP h;" + std::string(200000, ';') + "\n"),
      "OPTIONS sip:" + std::string(300000, ';') + " SIP/2.0\r\n\r\n",
      std::string(300000, 'x'),
  };
  for (const std::string& input : inputs) {
    const auto start = std::chrono::steady_clock::now();
    Parse(input);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LT(elapsed, std::chrono::milliseconds(500)) << input.substr(0, 40);
  }
}

TEST_F(LimitsTest, EmptyAndKeepAlive) {
  EXPECT_EQ(Parse(""), ParseError::kEmpty);
  EXPECT_EQ(Parse("\r\n\r\n"), ParseError::kEmpty);
  EXPECT_EQ(Parse("\n"), ParseError::kEmpty);
  EXPECT_FALSE(IsAnswerable(*msg_, ParseError::kEmpty));
}

}  // namespace
}  // namespace sipshard::sip

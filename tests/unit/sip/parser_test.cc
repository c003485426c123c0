#include "sipshard/sip/parser.h"

#include "gtest/gtest.h"
#include "sipshard/sip/call_id_scan.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::sip {
namespace {

using ::sipshard::testing::Crlf;

class ParserTest : public ::testing::Test {
 protected:
  ParseError Parse(const std::string& bytes) { return ParseMessage(bytes, limits_, &msg_); }
  ParseLimits limits_;
  Message msg_;
};

TEST_F(ParserTest, TypicalInviteHasEveryProxyField) {
  const std::string invite = sipshard::testing::TypicalInvite();
  ASSERT_EQ(Parse(invite), ParseError::kNone);
  EXPECT_TRUE(msg_.is_request);
  EXPECT_EQ(msg_.method, Method::kInvite);
  EXPECT_EQ(msg_.request_uri.host, "pbx.example.com");
  EXPECT_EQ(msg_.request_uri.user, "+15551234567");
  EXPECT_EQ(msg_.request_uri.Param("user"), "phone");
  EXPECT_EQ(msg_.top_via.transport, "UDP");
  EXPECT_EQ(msg_.top_via.host, "192.0.2.10");
  EXPECT_EQ(msg_.top_via.port, 5060);
  EXPECT_EQ(msg_.top_via.branch, "z9hG4bK776asdhds");
  EXPECT_TRUE(msg_.top_via.has_rport);
  EXPECT_EQ(msg_.top_via.rport, -1);
  EXPECT_EQ(msg_.Count(HeaderId::kVia), 2);
  EXPECT_EQ(msg_.call_id, "a84b4c76e66710@pc33.atlanta.example.com");
  EXPECT_EQ(msg_.cseq.number, 314159u);
  EXPECT_EQ(msg_.cseq.method, Method::kInvite);
  EXPECT_EQ(msg_.from.tag, "1928301774");
  EXPECT_EQ(msg_.from.display_name, "\"Alice Caller\"");
  EXPECT_EQ(msg_.to.tag, "");
  EXPECT_EQ(msg_.max_forwards, 69);
  EXPECT_EQ(msg_.content_length, static_cast<int64_t>(msg_.body.size()));
  EXPECT_EQ(msg_.body.substr(0, 5), "v=0\r\n");
  EXPECT_EQ(FindCallId(invite), msg_.call_id);
}

TEST_F(ParserTest, TypicalResponse) {
  const std::string ok = sipshard::testing::Typical200Ok();
  ASSERT_EQ(Parse(ok), ParseError::kNone);
  EXPECT_FALSE(msg_.is_request);
  EXPECT_EQ(msg_.status_code, 200);
  EXPECT_EQ(msg_.reason_phrase, "OK");
  EXPECT_EQ(msg_.top_via.rport, 5060);
  EXPECT_EQ(msg_.top_via.received, "192.0.2.10");
  EXPECT_EQ(msg_.to.tag, "a6c85cf");
  EXPECT_EQ(msg_.cseq.method, Method::kBye);
}

TEST_F(ParserTest, CSeqMethodMismatchIsAnswered400) {
  const std::string bad = Crlf(
      "OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:x@y>;tag=1\n"
      "To: <sip:a@b>\nCall-ID: c1\nCSeq: 1 INVITE\nContent-Length: 0\n\n");
  const ParseError e = Parse(bad);
  EXPECT_EQ(e, ParseError::kCSeqMethodMismatch);
  EXPECT_TRUE(IsAnswerable(msg_, e));
  EXPECT_EQ(Describe(e).status_code, 400);
  EXPECT_EQ(Describe(e).reason, "CSeq Method Mismatch");
  EXPECT_EQ(msg_.call_id, "c1");  // still filled in for the 400
}

}  // namespace
}  // namespace sipshard::sip

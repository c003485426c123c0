// The Call-ID scanner that picks the shard must agree with the full parser
// on every message, whatever header form the peer used.
#include "sipshard/sip/call_id_scan.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "sipshard/sip/parser.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::sip {
namespace {

using ::sipshard::testing::Crlf;

std::string WithCallIdLine(std::string_view call_id_line) {
  return Crlf("BYE sip:bob@192.0.2.4 SIP/2.0\n"
              "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds10\n"
              "From: <sip:alice@atlanta.com>;tag=1928301774\n"
              "To: <sip:bob@biloxi.com>;tag=a6c85cf\n" +
              std::string(call_id_line) +
              "CSeq: 231 BYE\n"
              "Content-Length: 0\n"
              "\n");
}

// Every spelling of the header gives the same Call-ID and hence the same
// hash, and the parser agrees.
TEST(CallIdScanTest, EveryHeaderFormGivesTheSameCallId) {
  const std::string_view id = "a84b4c76e66710@pc33.atlanta.com";
  const uint64_t hash = CallIdHash(id);
  auto msg = std::make_unique<Message>();
  for (std::string_view line : {
           "Call-ID: a84b4c76e66710@pc33.atlanta.com\n",
           "call-id: a84b4c76e66710@pc33.atlanta.com\n",
           "CALL-ID:a84b4c76e66710@pc33.atlanta.com\n",
           "i: a84b4c76e66710@pc33.atlanta.com\n",
           "I:a84b4c76e66710@pc33.atlanta.com   \n",
           "Call-ID \t :\t a84b4c76e66710@pc33.atlanta.com\t\n",
           "i  :\n   a84b4c76e66710@pc33.atlanta.com\n",
           "Call-Id:\n\ta84b4c76e66710@pc33.atlanta.com\n \n",
       }) {
    const std::string m = WithCallIdLine(line);
    EXPECT_EQ(FindCallId(m), id) << line;
    EXPECT_EQ(CallIdHash(FindCallId(m)), hash) << line;
    ASSERT_EQ(ParseMessage(m, ParseLimits(), msg.get()), ParseError::kNone) << line;
    EXPECT_EQ(msg->call_id, id) << line;
  }
}

TEST(CallIdScanTest, OnlyTheHeaderSectionIsScanned) {
  const std::string m = Crlf("MESSAGE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\nContent-Length: 17\n\n"
                             "Call-ID: in-body\n");
  EXPECT_EQ(FindCallId(m), "");
  EXPECT_EQ(FindCallId(Crlf("MESSAGE sip:a@b SIP/2.0\nVia: x\n")), "");
}

TEST(CallIdScanTest, StartLineIsNeverAHeader) {
  // A start line that happens to start with "i:" or "Call-ID:".
  EXPECT_EQ(FindCallId(Crlf("i: x\nCall-ID: real\n\n")), "real");
  EXPECT_EQ(FindCallId(Crlf("\n\nCall-ID: start\ni: real\n\n")), "real");
}

TEST(CallIdScanTest, SimilarNamesAreNotCallId) {
  EXPECT_EQ(FindCallId(Crlf("X\nCall-IDx: no\nid: no\nCall-I: no\nCall-ID-2: no\n i: no\nI: yes\n\n")),
            "yes");
  EXPECT_EQ(FindCallId(Crlf("X\nCall-ID no\n\n")), "");
}

TEST(CallIdScanTest, FirstCallIdWins) {
  EXPECT_EQ(FindCallId(Crlf("X\ni: one\nCall-ID: two\n\n")), "one");
}

TEST(CallIdScanTest, BareLfLineEndsAndTruncatedInput) {
  EXPECT_EQ(FindCallId("X\ni: lf-only\n\n"), "lf-only");
  EXPECT_EQ(FindCallId("X\r\ni: no-line-end"), "no-line-end");
  EXPECT_EQ(FindCallId("X\r\ni:"), "");
  EXPECT_EQ(FindCallId("X\r\ni"), "");
  EXPECT_EQ(FindCallId("X\r\n"), "");
  EXPECT_EQ(FindCallId(""), "");
  EXPECT_EQ(FindCallId("\r\n\r\n"), "");
}

TEST(CallIdScanTest, AgreesWithParserOnCanonicalMessages) {
  auto msg = std::make_unique<Message>();
  for (const std::string& m : {testing::TypicalInvite("x1@host"), testing::Typical200Ok("y2@host")}) {
    ASSERT_EQ(ParseMessage(m, ParseLimits(), msg.get()), ParseError::kNone);
    EXPECT_EQ(FindCallId(m), msg->call_id);
  }
}

TEST(CallIdScanTest, HashIsStableAndSpreads) {
  EXPECT_EQ(CallIdHash("abc@host"), CallIdHash(std::string("abc@") + "host"));
  EXPECT_NE(CallIdHash("abc@host"), CallIdHash("abd@host"));
  EXPECT_NE(CallIdHash(""), CallIdHash("a"));
}

}  // namespace
}  // namespace sipshard::sip

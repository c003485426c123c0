// Unit tests of FindTopViaBranch, the receive threads' pre-parse scan: it
// must find exactly the branch the full parser calls the top Via's.
#include "sipshard/sip/via_scan.h"

#include <string>

#include "gtest/gtest.h"
#include "sipshard/sip/parser.h"

namespace sipshard::sip {
namespace {

std::string Response(const std::string& via_lines) {
  return "SIP/2.0 200 OK\r\n" + via_lines +
         "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: v@x\r\n"
         "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
}

// Checks the scan against the full parser's top Via.
void ExpectAgreesWithParser(const std::string& message, std::string_view expected) {
  EXPECT_EQ(FindTopViaBranch(message), expected) << message;
  Message msg;
  ASSERT_EQ(ParseMessage(message, ParseLimits(), &msg), ParseError::kNone) << message;
  EXPECT_EQ(msg.top_via.branch, expected) << message;
}

TEST(ViaScanTest, PlainVia) {
  ExpectAgreesWithParser(Response("Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-top\r\n"
                                  "Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK-second\r\n"),
                         "z9hG4bK-top");
}

TEST(ViaScanTest, CompactAndOddlyCasedNames) {
  ExpectAgreesWithParser(Response("v: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKcompact\r\n"),
                         "z9hG4bKcompact");
  ExpectAgreesWithParser(Response("V:SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKupper\r\n"),
                         "z9hG4bKupper");
  ExpectAgreesWithParser(Response("vIA \t: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKmixed\r\n"),
                         "z9hG4bKmixed");
}

TEST(ViaScanTest, FirstElementOfAMultiElementLine) {
  ExpectAgreesWithParser(
      Response("Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKfirst, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKsecond\r\n"),
      "z9hG4bKfirst");
  // The first element without a branch: the second one's does not count.
  EXPECT_EQ(FindTopViaBranch(Response("Via: SIP/2.0/UDP 10.0.0.1, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKx\r\n")),
            "");
}

TEST(ViaScanTest, ElementsSplitLikeTheParser) {
  // Regression: the scan used to end the first element at any comma and
  // took an empty first element as "no branch", while the parser skips
  // empty elements and commas inside quoted strings.
  ExpectAgreesWithParser(Response("Via: , SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKafterempty\r\n"),
                         "z9hG4bKafterempty");
  ExpectAgreesWithParser(Response("Via:\r\n , SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKfoldempty\r\n"),
                         "z9hG4bKfoldempty");
  ExpectAgreesWithParser(
      Response("Via: SIP/2.0/UDP 10.0.0.1;x=\"a,b\";branch=z9hG4bKquoted, SIP/2.0/UDP h;branch=no\r\n"),
      "z9hG4bKquoted");
  ExpectAgreesWithParser(
      Response("Via: SIP/2.0/UDP 10.0.0.1;x=\"a\\\",b\";branch=z9hG4bKpair\r\n"), "z9hG4bKpair");
}

TEST(ViaScanTest, OtherParametersAndWhiteSpace) {
  ExpectAgreesWithParser(
      Response("Via: SIP/2.0/UDP 10.0.0.1:5060;rport;received=10.9.9.9 ; BRANCH = z9hG4bKsp ;ttl=3\r\n"),
      "z9hG4bKsp");
  ExpectAgreesWithParser(Response("Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKv6\r\n"),
                         "z9hG4bKv6");
}

TEST(ViaScanTest, FoldedLines) {
  ExpectAgreesWithParser(Response("Via: SIP/2.0/UDP 10.0.0.1:5060\r\n ;branch=z9hG4bKfolded\r\n"),
                         "z9hG4bKfolded");
  ExpectAgreesWithParser(Response("Via:\r\n\tSIP/2.0/UDP 10.0.0.1;branch=z9hG4bKfold2\r\n"),
                         "z9hG4bKfold2");
  ExpectAgreesWithParser(
      Response("Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa,\r\n SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKb\r\n"),
      "z9hG4bKa");
}

TEST(ViaScanTest, ViaAfterOtherHeaders) {
  ExpectAgreesWithParser(
      "SIP/2.0 200 OK\r\nFrom: <sip:a@b>;tag=1\r\nVary: x\r\nTo: <sip:c@d>;tag=2\r\n"
      "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKlate\r\nCall-ID: v@x\r\nCSeq: 1 INVITE\r\n"
      "Content-Length: 0\r\n\r\n",
      "z9hG4bKlate");
}

TEST(ViaScanTest, NoBranchOrNoVia) {
  EXPECT_EQ(FindTopViaBranch(Response("Via: SIP/2.0/UDP 10.0.0.1;rport\r\n")), "");
  EXPECT_EQ(FindTopViaBranch(Response("Via: SIP/2.0/UDP 10.0.0.1\r\n")), "");
  EXPECT_EQ(FindTopViaBranch(Response("")), "");
  EXPECT_EQ(FindTopViaBranch(""), "");
  EXPECT_EQ(FindTopViaBranch("\r\n\r\n"), "");
  EXPECT_EQ(FindTopViaBranch("SIP/2.0 200 OK"), "");
  EXPECT_EQ(FindTopViaBranch("SIP/2.0 200 OK\r\nVia"), "");
  EXPECT_EQ(FindTopViaBranch("SIP/2.0 200 OK\r\nv"), "");
  EXPECT_EQ(FindTopViaBranch("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKend"), "z9hG4bKend");
}

TEST(ViaScanTest, HeadersThatOnlyLookLikeVia) {
  EXPECT_EQ(FindTopViaBranch(Response("Vias: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKno\r\n")), "");
  EXPECT_EQ(FindTopViaBranch(Response("X-Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKno\r\n")), "");
  EXPECT_EQ(FindTopViaBranch(Response("Vi: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKno\r\n")), "");
}

TEST(ViaScanTest, TheStartLineAndTheBodyAreNotHeaders) {
  EXPECT_EQ(FindTopViaBranch("Via: SIP/2.0/UDP h;branch=z9hG4bKstart\r\n\r\n"), "");
  const std::string body_via =
      "MESSAGE sip:b@c SIP/2.0\r\nContent-Length: 40\r\n\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKbody\r\n";
  EXPECT_EQ(FindTopViaBranch(body_via), "");
}

}  // namespace
}  // namespace sipshard::sip

#include "sipshard/sip/parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sipshard/sip/call_id_scan.h"
#include "sipshard/sip/text.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::sip {
namespace {

using ::sipshard::testing::Crlf;

class ParserTest : public ::testing::Test {
 protected:
  // Keeps a copy of the bytes: the Message's views point into it.
  ParseError Parse(const std::string& bytes) {
    bytes_ = bytes;
    return ParseMessage(bytes_, limits_, &msg_);
  }
  ParseLimits limits_;
  std::string bytes_;
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

std::string Minimal(std::string_view extra = "", std::string_view method = "OPTIONS") {
  return Crlf(std::string(method) + " sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
              "From: <sip:x@y>;tag=1\nTo: <sip:a@b>\nCall-ID: c1\nCSeq: 1 " + std::string(method) +
              "\n" + std::string(extra) + "\n");
}

TEST_F(ParserTest, EveryCompactFormMapsToItsHeader) {
  const struct {
    char compact;
    HeaderId id;
    std::string_view long_name;
  } kForms[] = {
      {'a', HeaderId::kAcceptContact, "Accept-Contact"},
      {'b', HeaderId::kReferredBy, "Referred-By"},
      {'c', HeaderId::kContentType, "Content-Type"},
      {'d', HeaderId::kRequestDisposition, "Request-Disposition"},
      {'e', HeaderId::kContentEncoding, "Content-Encoding"},
      {'f', HeaderId::kFrom, "From"},
      {'i', HeaderId::kCallId, "Call-ID"},
      {'j', HeaderId::kRejectContact, "Reject-Contact"},
      {'k', HeaderId::kSupported, "Supported"},
      {'l', HeaderId::kContentLength, "Content-Length"},
      {'m', HeaderId::kContact, "Contact"},
      {'n', HeaderId::kIdentityInfo, "Identity-Info"},
      {'o', HeaderId::kEvent, "Event"},
      {'r', HeaderId::kReferTo, "Refer-To"},
      {'s', HeaderId::kSubject, "Subject"},
      {'t', HeaderId::kTo, "To"},
      {'u', HeaderId::kAllowEvents, "Allow-Events"},
      {'v', HeaderId::kVia, "Via"},
      {'x', HeaderId::kSessionExpires, "Session-Expires"},
      {'y', HeaderId::kIdentity, "Identity"},
  };
  for (const auto& form : kForms) {
    const char lower[] = {form.compact, '\0'};
    const char upper[] = {static_cast<char>(form.compact - 'a' + 'A'), '\0'};
    EXPECT_EQ(LookupHeaderId(lower), form.id) << lower;
    EXPECT_EQ(LookupHeaderId(upper), form.id) << upper;
    EXPECT_EQ(LookupHeaderId(form.long_name), form.id) << form.long_name;
    EXPECT_EQ(HeaderName(form.id), form.long_name);
  }
  for (std::string_view unknown : {"g", "h", "p", "q", "w", "z", "1", "-", "", "Vias", "Fro",
                                   "Call_ID", "Content-Lengthx", "X-Call-ID",
                                   "Proxy-Authorization-Extra"}) {
    EXPECT_EQ(LookupHeaderId(unknown), HeaderId::kOther) << unknown;
  }
}

TEST_F(ParserTest, LongNamesAreCaseInsensitive) {
  EXPECT_EQ(LookupHeaderId("max-forwards"), HeaderId::kMaxForwards);
  EXPECT_EQ(LookupHeaderId("RECORD-ROUTE"), HeaderId::kRecordRoute);
  EXPECT_EQ(LookupHeaderId("pRoXy-ReQuIrE"), HeaderId::kProxyRequire);
  EXPECT_EQ(LookupHeaderId("www-authenticate"), HeaderId::kWwwAuthenticate);
  EXPECT_EQ(LookupHeaderId("Call\rID"), HeaderId::kOther);  // '-' is not case-folded
}

TEST_F(ParserTest, MessageInCompactFormOnly) {
  const std::string m = Crlf(
      "INVITE sip:bob@biloxi.com SIP/2.0\nv: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8\n"
      "t: Bob <sip:bob@biloxi.com>\nf: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
      "i: a84b4c76e66710\nCSeq: 314159 INVITE\nm: <sip:alice@pc33.atlanta.com>\n"
      "c: application/sdp\nk: 100rel\ns: lunch\nl: 4\n\nv=0\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_.top_via.host, "pc33.atlanta.com");
  EXPECT_EQ(msg_.to.display_name, "Bob");
  EXPECT_EQ(msg_.from.tag, "1928301774");
  EXPECT_EQ(msg_.call_id, "a84b4c76e66710");
  EXPECT_EQ(msg_.Find(HeaderId::kContentType)->value, "application/sdp");
  EXPECT_EQ(msg_.Find(HeaderId::kContentType)->name, "c");
  EXPECT_EQ(msg_.Find(HeaderId::kSupported)->value, "100rel");
  EXPECT_EQ(msg_.content_length, 4);
  EXPECT_EQ(msg_.body, "v=0\r");  // Content-Length cuts the datagram's rest
}

TEST_F(ParserTest, RepeatedAndCommaSeparatedHeaders) {
  const std::string m = Minimal(
      "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n"
      "Route: <sip:p3.example.com;lr>\n"
      "Record-Route: <sip:rr1.example.com;lr>,<sip:rr2.example.com;lr>\n"
      "Require: 100rel\nProxy-Require: foo, bar\nExpires: 3600\nContact: *\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_.Count(HeaderId::kRoute), 2);
  EXPECT_EQ(msg_.Find(HeaderId::kRoute)->value, "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>");
  EXPECT_TRUE(IsListHeader(HeaderId::kRoute));
  EXPECT_FALSE(IsListHeader(HeaderId::kCallId));
  // Walk every Route element across both header fields, in order.
  std::vector<std::string> hosts;
  for (size_t i = 0; i < msg_.header_count; ++i) {
    if (msg_.header_fields[i].id != HeaderId::kRoute) continue;
    ListSplitter split(msg_.header_fields[i].value);
    std::string_view element;
    while (split.Next(&element)) {
      NameAddr route;
      ASSERT_TRUE(ParseNameAddr(element, &route));
      const std::optional<Uri> uri = ParseUri(route.uri);
      ASSERT_TRUE(uri.has_value());
      EXPECT_TRUE(uri->loose_route());
      hosts.emplace_back(uri->host);
    }
  }
  EXPECT_EQ(hosts, (std::vector<std::string>{"p1.example.com", "p2.example.com", "p3.example.com"}));
  EXPECT_EQ(msg_.Find(HeaderId::kExpires)->value, "3600");
  EXPECT_EQ(msg_.Find(HeaderId::kRequire)->value, "100rel");
  EXPECT_EQ(msg_.Find(HeaderId::kProxyRequire)->value, "foo, bar");
  NameAddr contact;
  ASSERT_TRUE(ParseNameAddr(msg_.Find(HeaderId::kContact)->value, &contact));
  EXPECT_TRUE(contact.is_wildcard);
}

TEST_F(ParserTest, FoldedValuesKeepTheirLineBreaksInPlace) {
  const std::string m = Minimal("Subject: I know you're there,\n pick up the phone\n\tand talk to me!\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  const HeaderField* subject = msg_.Find(HeaderId::kSubject);
  ASSERT_NE(subject, nullptr);
  EXPECT_EQ(subject->value, "I know you're there,\r\n pick up the phone\r\n\tand talk to me!");
  EXPECT_EQ(subject->line.substr(0, 8), "Subject:");
  EXPECT_EQ(subject->line.substr(subject->line.size() - 2), "\r\n");
}

TEST_F(ParserTest, EachMissingMandatoryHeaderIs400) {
  const struct {
    std::string_view line;
    ParseError error;
    std::string_view reason;
  } kCases[] = {
      {"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n", ParseError::kMissingVia, "Missing Via Header"},
      {"From: <sip:x@y>;tag=1\r\n", ParseError::kMissingFrom, "Missing From Header"},
      {"To: <sip:a@b>\r\n", ParseError::kMissingTo, "Missing To Header"},
      {"Call-ID: c1\r\n", ParseError::kMissingCallId, "Missing Call-ID Header"},
      {"CSeq: 1 OPTIONS\r\n", ParseError::kMissingCSeq, "Missing CSeq Header"},
  };
  for (const auto& c : kCases) {
    std::string m = Minimal();
    m.erase(m.find(c.line), c.line.size());
    const ParseError e = Parse(m);
    EXPECT_EQ(e, c.error) << c.line;
    EXPECT_TRUE(IsAnswerable(msg_, e));
    EXPECT_EQ(Describe(e).status_code, 400);
    EXPECT_EQ(Describe(e).reason, c.reason);
  }
}

TEST_F(ParserTest, MaxForwardsAbsentIsFine) {
  ASSERT_EQ(Parse(Minimal()), ParseError::kNone);
  EXPECT_EQ(msg_.max_forwards, -1);
  const ParseError e = Parse(Minimal("Max-Forwards: ten\n"));
  EXPECT_EQ(e, ParseError::kBadMaxForwards);
}

TEST_F(ParserTest, BadValuesOfKeyHeaders) {
  const struct {
    std::string_view extra;
    ParseError error;
    std::string_view reason;
  } kCases[] = {
      {"Call-ID: c2\n", ParseError::kDuplicateHeader, "Duplicate Header"},
      {"CSeq: 1 OPTIONS\n", ParseError::kDuplicateHeader, "Duplicate Header"},
      {"Max-Forwards: 1\nMax-Forwards: 1\n", ParseError::kDuplicateHeader, "Duplicate Header"},
      {"Content-Length: 0\nl: 0\n", ParseError::kBadContentLength, "Bad Content-Length"},
      {"Content-Length: 1x\n", ParseError::kBadContentLength, "Bad Content-Length"},
      {"Bad Header: x\n", ParseError::kBadHeaderLine, "Malformed Header Line"},
      {"NoColonHere\n", ParseError::kBadHeaderLine, "Malformed Header Line"},
      {": no name\n", ParseError::kBadHeaderLine, "Malformed Header Line"},
      {"X\"y: z\n", ParseError::kBadHeaderLine, "Malformed Header Line"},
  };
  for (const auto& c : kCases) {
    const ParseError e = Parse(Minimal(c.extra));
    EXPECT_EQ(e, c.error) << c.extra;
    EXPECT_EQ(Describe(e).reason, c.reason) << c.extra;
  }
  std::string m = Minimal();
  m.replace(m.find("Call-ID: c1"), 11, "Call-ID: c 1");
  EXPECT_EQ(Parse(m), ParseError::kBadCallId);
  m = Minimal();
  m.replace(m.find("Call-ID: c1"), 11, std::string("Call-ID: c\x01", 11));
  EXPECT_EQ(Parse(m), ParseError::kBadCallId);
  m = Minimal();
  m.replace(m.find("CSeq: 1 OPTIONS"), 15, "CSeq: OPTIONS");
  EXPECT_EQ(Parse(m), ParseError::kBadCSeq);
  m = Minimal();
  m.replace(m.find("From: <sip:x@y>;tag=1"), 21, "From: *");
  EXPECT_EQ(Parse(m), ParseError::kBadFrom);
}

TEST_F(ParserTest, HeaderNameWithWhiteSpaceBeforeColon) {
  ASSERT_EQ(Parse(Minimal("Subject \t : hi\n")), ParseError::kNone);
  EXPECT_EQ(msg_.Find(HeaderId::kSubject)->name, "Subject");
  EXPECT_EQ(msg_.Find(HeaderId::kSubject)->value, "hi");
}

TEST_F(ParserTest, DatagramFraming) {
  // Without Content-Length the body is the rest of the datagram.
  ASSERT_EQ(Parse(Minimal() + "body bytes"), ParseError::kNone);
  EXPECT_EQ(msg_.body, "body bytes");
  EXPECT_EQ(msg_.content_length, -1);
  // Content-Length shorter than the rest: the rest is not part of the message.
  ASSERT_EQ(Parse(Minimal("Content-Length: 4\n") + "body bytes"), ParseError::kNone);
  EXPECT_EQ(msg_.body, "body");
  EXPECT_EQ(msg_.data.size(), msg_.headers_end + 2 + 4);
  // Larger than the datagram: 400.
  const ParseError e = Parse(Minimal("Content-Length: 40\n") + "body bytes");
  EXPECT_EQ(e, ParseError::kBodyTruncated);
  EXPECT_EQ(Describe(e).status_code, 400);
}

TEST_F(ParserTest, StreamFramingWithoutContentLengthHasNoBody) {
  const std::string m = Minimal() + "next message";
  ASSERT_EQ(ParseMessage(m, limits_, &msg_, Framing::kStream), ParseError::kNone);
  EXPECT_TRUE(msg_.body.empty());
  EXPECT_EQ(msg_.data.size(), m.size() - 12);
}

TEST_F(ParserTest, StartLines) {
  EXPECT_EQ(Parse(Crlf("garbage\n\n")), ParseError::kBadStartLine);
  EXPECT_FALSE(IsAnswerable(msg_, ParseError::kBadStartLine));
  EXPECT_EQ(Parse(Crlf("INVITE\n\n")), ParseError::kBadStartLine);
  EXPECT_EQ(Parse(Crlf("INV@TE sip:a@b SIP/2.0\n\n")), ParseError::kBadStartLine);
  EXPECT_EQ(Parse(Crlf("INVITE sip:a@b HTTP/1.1\n\n")), ParseError::kBadStartLine);
  EXPECT_EQ(Parse(Crlf("SIP/2.0 99 Too Low\n\n")), ParseError::kBadStartLine);
  EXPECT_EQ(Parse(Crlf("SIP/2.0 700 Too High\n\n")), ParseError::kBadStartLine);
  EXPECT_EQ(Parse(Crlf("SIP/2.0 2x0 OK\n\n")), ParseError::kBadStartLine);
  EXPECT_EQ(Parse(Crlf("SIP/2 200 OK\n\n")), ParseError::kBadStartLine);
  // The version is case-insensitive; leading CRLFs are keep-alive noise.
  std::string m = Minimal();
  m.replace(m.find("SIP/2.0\r"), 7, "sip/2.0");
  ASSERT_EQ(Parse("\r\n\r\n" + m), ParseError::kNone);
  EXPECT_EQ(msg_.start_line, "OPTIONS sip:a@b sip/2.0");
  ASSERT_EQ(Parse(Crlf("SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
                       "From: <sip:x@y>;tag=1\nTo: <sip:a@b>;tag=2\nCall-ID: c1\nCSeq: 1 INVITE\n\n")),
            ParseError::kNone);
  EXPECT_EQ(msg_.status_code, 180);
  EXPECT_EQ(msg_.reason_phrase, "Ringing");
}

TEST_F(ParserTest, MalformedResponsesAreDropped) {
  const std::string ok = sipshard::testing::Typical200Ok();
  std::string m = ok;
  m.erase(m.find("Via:"), m.find("From:") - m.find("Via:"));
  const ParseError e = Parse(m);
  EXPECT_EQ(e, ParseError::kMissingVia);
  EXPECT_FALSE(IsAnswerable(msg_, e));
  // A response's CSeq method is not compared with anything.
  ASSERT_EQ(Parse(ok), ParseError::kNone);
}

TEST_F(ParserTest, MessageIsReusable) {
  ASSERT_EQ(Parse(sipshard::testing::TypicalInvite()), ParseError::kNone);
  ASSERT_EQ(Parse(Minimal()), ParseError::kNone);
  EXPECT_EQ(msg_.Count(HeaderId::kVia), 1);
  EXPECT_EQ(msg_.Find(HeaderId::kRecordRoute), nullptr);
  EXPECT_EQ(msg_.max_forwards, -1);
  EXPECT_EQ(msg_.content_length, -1);
  EXPECT_EQ(msg_.from.display_name, "");
}

}  // namespace
}  // namespace sipshard::sip

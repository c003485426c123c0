#include "sipshard/sip/message_builder.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "sipshard/sip/parser.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::sip {
namespace {

using ::sipshard::testing::Crlf;
using ::sipshard::testing::TypicalInvite;

class MessageBuilderTest : public ::testing::Test {
 protected:
  // Parses `bytes` (kept alive by the fixture) into *msg.
  ParseError Load(std::string bytes, Message* msg, std::string* storage) {
    *storage = std::move(bytes);
    return ParseMessage(*storage, limits_, msg);
  }

  // Turns a builder result into a string and parses it into out_.
  std::string Take(const WriteResult& r, ParseError expect = ParseError::kNone) {
    EXPECT_TRUE(r.ok()) << WriteErrorName(r.error);
    std::string s(buffer_, r.ok() ? r.size : 0);
    output_ = s;
    EXPECT_EQ(ParseMessage(output_, limits_, &out_), expect) << output_;
    return s;
  }

  ParseLimits limits_;
  std::string request_bytes_;
  std::string response_bytes_;
  std::string output_;
  Message request_;
  Message response_;
  Message out_;
  char buffer_[4096];
};

TEST_F(MessageBuilderTest, TryingCopiesTheTransactionHeadersWithoutToTag) {
  ASSERT_EQ(Load(TypicalInvite(), &request_, &request_bytes_), ParseError::kNone);
  ResponseOptions options;
  options.to_tag = "lb-7f3a";  // must not be used for a 100
  options.source_ip = "192.0.2.10";
  options.source_port = 5060;
  const std::string trying = Take(BuildResponse(request_, 100, "", options, buffer_));
  EXPECT_EQ(trying,
            Crlf("SIP/2.0 100 Trying\n"
                 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060;"
                 "received=192.0.2.10\n"
                 "Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;branch=z9hG4bKnashds8\n"
                 "From: \"Alice Caller\" <sip:+15557654321@carrier.example.net>;tag=1928301774\n"
                 "To: <sip:+15551234567@pbx.example.com;user=phone>\n"
                 "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n"
                 "CSeq: 314159 INVITE\n"
                 "Content-Length: 0\n"
                 "\n"));
  EXPECT_EQ(out_.status_code, 100);
  EXPECT_EQ(out_.to.tag, "");
}

TEST_F(MessageBuilderTest, TryingCopiesTimestampOthersDoNot) {
  ASSERT_EQ(Load(Crlf("OPTIONS sip:b@example.com SIP/2.0\n"
                      "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
                      "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\n"
                      "Call-ID: c@h\nCSeq: 1 OPTIONS\nTimestamp: 54.2 0.1\nContent-Length: 0\n\n"),
                 &request_, &request_bytes_),
            ParseError::kNone);
  Take(BuildResponse(request_, 100, "", {}, buffer_));
  ASSERT_NE(out_.Find(HeaderId::kTimestamp), nullptr);
  EXPECT_EQ(out_.Find(HeaderId::kTimestamp)->value, "54.2 0.1");
  Take(BuildResponse(request_, 200, "", {}, buffer_));
  EXPECT_EQ(out_.Find(HeaderId::kTimestamp), nullptr);
}

TEST_F(MessageBuilderTest, FinalResponseGetsToTagOnlyWhenAbsent) {
  ASSERT_EQ(Load(TypicalInvite(), &request_, &request_bytes_), ParseError::kNone);
  ResponseOptions options;
  options.to_tag = "lb-7f3a";
  const std::string_view extra[] = {"Retry-After: 30", "Warning: 399 sipshard \"no capacity\"",
                                    "Server: sipshard"};
  options.extra_headers = extra;
  const std::string busy = Take(BuildResponse(request_, 503, "", options, buffer_));
  EXPECT_EQ(busy,
            Crlf("SIP/2.0 503 Service Unavailable\n"
                 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\n"
                 "Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;branch=z9hG4bKnashds8\n"
                 "From: \"Alice Caller\" <sip:+15557654321@carrier.example.net>;tag=1928301774\n"
                 "To: <sip:+15551234567@pbx.example.com;user=phone>;tag=lb-7f3a\n"
                 "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n"
                 "CSeq: 314159 INVITE\n"
                 "Retry-After: 30\n"
                 "Warning: 399 sipshard \"no capacity\"\n"
                 "Server: sipshard\n"
                 "Content-Length: 0\n"
                 "\n"));
  EXPECT_EQ(out_.to.tag, "lb-7f3a");

  // An in-dialog request already has a To tag: it is kept, none added.
  const std::string bye = Crlf(
      "BYE sip:b@192.0.2.99 SIP/2.0\n"
      "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
      "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>;tag=uas-1\n"
      "Call-ID: c@h\nCSeq: 2 BYE\nContent-Length: 0\n\n");
  ASSERT_EQ(Load(bye, &request_, &request_bytes_), ParseError::kNone);
  Take(BuildResponse(request_, 481, "", options, buffer_));
  EXPECT_EQ(out_.to.tag, "uas-1");
  EXPECT_EQ(out_.Find(HeaderId::kTo)->line, "To: <sip:b@example.com>;tag=uas-1\r\n");
  EXPECT_EQ(out_.reason_phrase, "Call/Transaction Does Not Exist");
}

TEST_F(MessageBuilderTest, CompactHeadersAreCopiedAsWritten) {
  ASSERT_EQ(
      Load(
          Crlf("OPTIONS sip:b@example.com SIP/2.0\n"
               "v: SIP/2.0/UDP a.example.com;rport;branch=z9hG4bK1, SIP/2.0/UDP x;branch=z9hG4bK0\n"
               "f: <sip:a@example.com>;tag=1\nt: sip:b@example.com\n"
               "i: c@h\nCSeq: 1 OPTIONS\nl: 0\n\n"),
          &request_, &request_bytes_),
      ParseError::kNone);
  ResponseOptions options;
  options.to_tag = "9";
  options.source_ip = "192.0.2.10";
  options.source_port = 5062;
  EXPECT_EQ(Take(BuildResponse(request_, 200, "Fine", options, buffer_)),
            Crlf("SIP/2.0 200 Fine\n"
                 "v: SIP/2.0/UDP a.example.com;rport=5062;branch=z9hG4bK1;received=192.0.2.10, "
                 "SIP/2.0/UDP x;branch=z9hG4bK0\n"
                 "f: <sip:a@example.com>;tag=1\nt: sip:b@example.com;tag=9\n"
                 "i: c@h\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n"));
  EXPECT_EQ(out_.to.tag, "9");
}

TEST_F(MessageBuilderTest, BadRequestFromARequestMissingFrom) {
  const ParseError error = Load(Crlf("OPTIONS sip:b@example.com SIP/2.0\n"
                                     "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
                                     "To: <sip:b@example.com>\n"
                                     "Call-ID: c@h\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n"),
                                &request_, &request_bytes_);
  ASSERT_EQ(error, ParseError::kMissingFrom);
  ASSERT_TRUE(IsAnswerable(request_, error));
  ResponseOptions options;
  options.to_tag = "t1";
  options.source_ip = "192.0.2.10";
  options.source_port = 5060;
  const std::string bad = Take(BuildResponse(request_, Describe(error).status_code,
                                             Describe(error).reason, options, buffer_),
                               ParseError::kMissingFrom);
  EXPECT_EQ(bad, Crlf("SIP/2.0 400 Missing From Header\n"
                      "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;received=192.0.2.10\n"
                      "To: <sip:b@example.com>;tag=t1\n"
                      "Call-ID: c@h\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n"));
}

TEST_F(MessageBuilderTest, BadRequestFromARequestWithABrokenViaAndTo) {
  const ParseError error = Load(Crlf("OPTIONS sip:b@example.com SIP/2.0\n"
                                     "Via: SIP/2.0/UDP\n"
                                     "From: <sip:a@example.com>;tag=1\n"
                                     "To: <sip:b@example.com\n"
                                     "Call-ID: c@h\nCSeq: 1 OPTIONS\n\n"),
                                &request_, &request_bytes_);
  ASSERT_EQ(error, ParseError::kBadVia);
  ResponseOptions options;
  options.to_tag = "t1";
  options.source_ip = "192.0.2.10";
  options.source_port = 5060;
  const WriteResult r = BuildResponse(request_, 400, "Bad Via", options, buffer_);
  ASSERT_TRUE(r.ok());
  // Copied as they were: nothing sensible can be added to them.
  EXPECT_EQ(std::string(buffer_, r.size),
            Crlf("SIP/2.0 400 Bad Via\n"
                 "Via: SIP/2.0/UDP\n"
                 "From: <sip:a@example.com>;tag=1\n"
                 "To: <sip:b@example.com\n"
                 "Call-ID: c@h\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n"));
}

TEST_F(MessageBuilderTest, BadRequestFromARequestWithABadRportValue) {
  // The Via failed late (rport=abc): what the parser read is still used, so
  // the 400 can find its way back to the source.
  const ParseError error = Load(Crlf("OPTIONS sip:b@example.com SIP/2.0\n"
                                     "Via: SIP/2.0/UDP a.example.com;rport=abc;branch=z9hG4bK1\n"
                                     "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\n"
                                     "Call-ID: c@h\nCSeq: 1 OPTIONS\n\n"),
                                &request_, &request_bytes_);
  ASSERT_EQ(error, ParseError::kBadVia);
  ResponseOptions options;
  options.source_ip = "192.0.2.10";
  options.source_port = 5060;
  Take(BuildResponse(request_, 400, "Bad Via", options, buffer_));
  EXPECT_EQ(out_.Find(HeaderId::kVia)->line,
            "Via: SIP/2.0/UDP a.example.com;rport=5060;branch=z9hG4bK1;received=192.0.2.10\r\n");
}

TEST_F(MessageBuilderTest, ResponseRejectsBadCodesAndSmallBuffers) {
  ASSERT_EQ(Load(TypicalInvite(), &request_, &request_bytes_), ParseError::kNone);
  EXPECT_EQ(BuildResponse(request_, 99, "", {}, buffer_).error, WriteError::kInvalidArgument);
  EXPECT_EQ(BuildResponse(request_, 700, "", {}, buffer_).error, WriteError::kInvalidArgument);
  const WriteResult full = BuildResponse(request_, 500, "", {}, buffer_);
  ASSERT_TRUE(full.ok());
  for (size_t size = 0; size < full.size; ++size) {
    std::unique_ptr<char[]> small(new char[size + 1]);
    small[size] = '#';
    ASSERT_EQ(BuildResponse(request_, 500, "", {}, std::span<char>(small.get(), size)).error,
              WriteError::kBufferTooSmall);
    ASSERT_EQ(small[size], '#');
  }
  // An unknown code has no default phrase; the Status-Line stays valid.
  Take(BuildResponse(request_, 599, "", {}, buffer_));
  EXPECT_EQ(out_.status_code, 599);
  EXPECT_EQ(out_.start_line, "SIP/2.0 599 ");
}

// What we sent to a branch: our Via on top of a two-element line, Route set
// (with a Record-Route between the Route lines), SDP body.
std::string OutgoingInvite() {
  return Crlf(
      "INVITE sip:+15551234567@192.0.2.99:5060 SIP/2.0\n"
      "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKlb1;rport, SIP/2.0/UDP "
      "192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.10\n"
      "Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;branch=z9hG4bKnashds8\n"
      "Max-Forwards: 68\n"
      "Route: <sip:10.0.0.9;lr>\n"
      "Record-Route: <sip:10.0.0.1;lr>\n"
      "Route: <sip:192.0.2.98;lr>\n"
      "From: \"Alice Caller\" <sip:+15557654321@carrier.example.net>;tag=1928301774\n"
      "To: <sip:+15551234567@pbx.example.com;user=phone>\n"
      "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n"
      "CSeq: 314159 INVITE\n"
      "Contact: <sip:+15557654321@192.0.2.10:5060;transport=udp>\n"
      "Content-Type: application/sdp\n"
      "Content-Length: 5\n"
      "\n"
      "v=0\n");
}

TEST_F(MessageBuilderTest, CancelIsBuiltFromTheOutgoingInvite) {
  ASSERT_EQ(Load(OutgoingInvite(), &request_, &request_bytes_), ParseError::kNone);
  EXPECT_EQ(Take(BuildCancel(request_, buffer_)),
            Crlf("CANCEL sip:+15551234567@192.0.2.99:5060 SIP/2.0\n"
                 "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKlb1;rport\n"
                 "Route: <sip:10.0.0.9;lr>\n"
                 "Route: <sip:192.0.2.98;lr>\n"
                 "Max-Forwards: 70\n"
                 "From: \"Alice Caller\" <sip:+15557654321@carrier.example.net>;tag=1928301774\n"
                 "To: <sip:+15551234567@pbx.example.com;user=phone>\n"
                 "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n"
                 "CSeq: 314159 CANCEL\n"
                 "Content-Length: 0\n"
                 "\n"));
  EXPECT_EQ(out_.method, Method::kCancel);
  EXPECT_EQ(out_.top_via.branch, request_.top_via.branch);
}

TEST_F(MessageBuilderTest, Non2xxAckTakesToFromTheResponse) {
  ASSERT_EQ(Load(OutgoingInvite(), &request_, &request_bytes_), ParseError::kNone);
  ASSERT_EQ(Load(Crlf("SIP/2.0 486 Busy Here\n"
                      "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKlb1;rport=5060, SIP/2.0/UDP "
                      "192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.10\n"
                      "Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;"
                      "branch=z9hG4bKnashds8\n"
                      "From: \"Alice Caller\" <sip:+15557654321@carrier.example.net>;"
                      "tag=1928301774\n"
                      "To: <sip:+15551234567@pbx.example.com;user=phone>;tag=uas-99\n"
                      "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n"
                      "CSeq: 314159 INVITE\n"
                      "Content-Length: 0\n\n"),
                 &response_, &response_bytes_),
            ParseError::kNone);
  EXPECT_EQ(Take(BuildNon2xxAck(request_, response_, buffer_)),
            Crlf("ACK sip:+15551234567@192.0.2.99:5060 SIP/2.0\n"
                 "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKlb1;rport\n"
                 "Route: <sip:10.0.0.9;lr>\n"
                 "Route: <sip:192.0.2.98;lr>\n"
                 "Max-Forwards: 70\n"
                 "From: \"Alice Caller\" <sip:+15557654321@carrier.example.net>;tag=1928301774\n"
                 "To: <sip:+15551234567@pbx.example.com;user=phone>;tag=uas-99\n"
                 "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n"
                 "CSeq: 314159 ACK\n"
                 "Content-Length: 0\n"
                 "\n"));
  EXPECT_EQ(out_.method, Method::kAck);
  EXPECT_EQ(out_.cseq.method, Method::kAck);
}

TEST_F(MessageBuilderTest, CancelNeedsTheTransactionHeaders) {
  ASSERT_EQ(Load(Crlf("INVITE sip:b@example.com SIP/2.0\n"
                      "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
                      "To: <sip:b@example.com>\n"
                      "Call-ID: c@h\nCSeq: 1 INVITE\nContent-Length: 0\n\n"),
                 &request_, &request_bytes_),
            ParseError::kMissingFrom);
  EXPECT_EQ(BuildCancel(request_, buffer_).error, WriteError::kMissingHeader);
  ASSERT_EQ(Load(OutgoingInvite(), &request_, &request_bytes_), ParseError::kNone);
  EXPECT_EQ(BuildCancel(request_, std::span<char>(buffer_, 100)).error,
            WriteError::kBufferTooSmall);
}

TEST_F(MessageBuilderTest, OptionsProbe) {
  ViaValue via;
  ASSERT_TRUE(via.Format("UDP", "10.0.0.1", 5060, "z9hG4bKprobe1", true));
  const std::string_view extra[] = {"User-Agent: sipshard"};
  OptionsProbe probe;
  probe.request_uri = "sip:192.0.2.99:5060";
  probe.via_value = via.view();
  probe.from_uri = "sip:sipshard@10.0.0.1";
  probe.from_tag = "p1";
  probe.call_id = "probe-1-3@10.0.0.1";
  probe.cseq = 7;
  probe.extra_headers = extra;
  EXPECT_EQ(Take(BuildOptions(probe, buffer_)),
            Crlf("OPTIONS sip:192.0.2.99:5060 SIP/2.0\n"
                 "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKprobe1;rport\n"
                 "Max-Forwards: 70\n"
                 "From: <sip:sipshard@10.0.0.1>;tag=p1\n"
                 "To: <sip:192.0.2.99:5060>\n"
                 "Call-ID: probe-1-3@10.0.0.1\n"
                 "CSeq: 7 OPTIONS\n"
                 "User-Agent: sipshard\n"
                 "Content-Length: 0\n"
                 "\n"));
  EXPECT_EQ(out_.from.tag, "p1");
  EXPECT_EQ(out_.max_forwards, 70);
  probe.call_id = "";
  EXPECT_EQ(BuildOptions(probe, buffer_).error, WriteError::kInvalidArgument);
}

TEST(DefaultReasonPhraseTest, KnownAndUnknownCodes) {
  EXPECT_EQ(DefaultReasonPhrase(100), "Trying");
  EXPECT_EQ(DefaultReasonPhrase(200), "OK");
  EXPECT_EQ(DefaultReasonPhrase(408), "Request Timeout");
  EXPECT_EQ(DefaultReasonPhrase(482), "Loop Detected");
  EXPECT_EQ(DefaultReasonPhrase(483), "Too Many Hops");
  EXPECT_EQ(DefaultReasonPhrase(487), "Request Terminated");
  EXPECT_EQ(DefaultReasonPhrase(503), "Service Unavailable");
  EXPECT_EQ(DefaultReasonPhrase(603), "Decline");
  EXPECT_EQ(DefaultReasonPhrase(299), "");
}

}  // namespace
}  // namespace sipshard::sip

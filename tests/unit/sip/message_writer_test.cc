#include "sipshard/sip/message_writer.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sipshard/sip/message_builder.h"
#include "sipshard/sip/parser.h"
#include "sipshard/sip/text.h"
#include "sipshard/sip/via.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::sip {
namespace {

using ::sipshard::testing::Crlf;
using ::sipshard::testing::TypicalInvite;

// Header lines of a parsed message without their line ending, in order.
std::vector<std::string> HeaderLines(const Message& msg) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < msg.header_count; ++i) {
    std::string_view line = msg.header_fields[i].line;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    lines.emplace_back(line);
  }
  return lines;
}

class MessageWriterTest : public ::testing::Test {
 protected:
  // Parses `bytes` (kept alive by the fixture) into msg_ and resets writer_.
  void Load(std::string bytes) {
    input_ = std::move(bytes);
    ASSERT_EQ(ParseMessage(input_, limits_, &msg_), ParseError::kNone);
    writer_.Reset(msg_);
  }

  // Serializes writer_ three ways (size, copy, iovec), checks they agree
  // and parses the result into out_.
  std::string Write(ParseError expect = ParseError::kNone) {
    const size_t size = writer_.SerializedSize();
    // Exactly sized heap buffer: ASan flags any write past the end.
    std::unique_ptr<char[]> buffer(new char[size]);
    const WriteResult result = writer_.Serialize(std::span<char>(buffer.get(), size));
    EXPECT_TRUE(result.ok()) << WriteErrorName(result.error);
    EXPECT_EQ(result.size, size);
    output_.assign(buffer.get(), result.size);

    std::array<iovec, 64> iov;
    const size_t n = writer_.ToIovec(iov);
    EXPECT_GT(n, 0u);
    std::string gathered;
    for (size_t i = 0; i < n; ++i) {
      gathered.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    }
    EXPECT_EQ(gathered, output_);

    EXPECT_EQ(ParseMessage(output_, limits_, &out_), expect) << output_;
    return output_;
  }

  ParseLimits limits_;
  std::string input_;
  std::string output_;
  Message msg_;
  Message out_;
  MessageWriter writer_;
};

constexpr std::string_view kOurVia = "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKlb1;rport";

TEST_F(MessageWriterTest, NoEditsReproducesTheMessage) {
  Load(TypicalInvite());
  EXPECT_EQ(Write(), input_);
}

TEST_F(MessageWriterTest, LeadingKeepAliveCrlfsAreDropped) {
  Load("\r\n\r\n" + TypicalInvite());
  EXPECT_EQ(Write(), TypicalInvite());
}

TEST_F(MessageWriterTest, PushViaGoesAboveTheTopVia) {
  Load(TypicalInvite());
  ASSERT_EQ(writer_.PushVia(kOurVia), WriteError::kNone);
  Write();
  const std::vector<std::string> lines = HeaderLines(out_);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[0], "Via: " + std::string(kOurVia));
  EXPECT_EQ(lines[1], "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport");
  EXPECT_EQ(lines[2],
            "Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;branch=z9hG4bKnashds8");
  EXPECT_EQ(out_.top_via.branch, "z9hG4bKlb1");
  EXPECT_EQ(out_.Count(HeaderId::kVia), 3);
  EXPECT_EQ(out_.body, msg_.body);
  EXPECT_EQ(output_.size(), input_.size() + 5 + kOurVia.size() + 2);
}

TEST_F(MessageWriterTest, SecondPushViaReplacesTheFirst) {
  // A forking proxy serializes branch after branch with one writer.
  Load(TypicalInvite());
  writer_.PushVia("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKbranch1");
  writer_.PushVia("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKbranch2");
  Write();
  EXPECT_EQ(out_.top_via.branch, "z9hG4bKbranch2");
  EXPECT_EQ(out_.Count(HeaderId::kVia), 3);
}

TEST_F(MessageWriterTest, PushThenPopIsSymmetric) {
  // Forward the INVITE with our Via; the UAS answers (to what we sent); we
  // pop our Via from the answer: the result is exactly what the UAS would
  // have sent had the caller talked to it directly.
  const std::string invite = TypicalInvite();
  Message original;
  ASSERT_EQ(ParseMessage(invite, limits_, &original), ParseError::kNone);
  Load(invite);
  writer_.PushVia(kOurVia);
  writer_.SetMaxForwards(68);
  const std::string forwarded = Write();

  const std::string_view extra[] = {"Contact: <sip:uas@192.0.2.99>", "Server: UAS/1.0"};
  ResponseOptions uas;
  uas.to_tag = "uas-tag-1";
  uas.extra_headers = extra;
  char buffer[2048];
  WriteResult r = BuildResponse(out_, 486, "Busy Here", uas, buffer);
  ASSERT_TRUE(r.ok());
  const std::string response(buffer, r.size);

  r = BuildResponse(original, 486, "Busy Here", uas, buffer);
  ASSERT_TRUE(r.ok());
  const std::string direct(buffer, r.size);
  ASSERT_NE(response, direct);

  Load(response);
  EXPECT_EQ(msg_.top_via.branch, "z9hG4bKlb1");
  ASSERT_EQ(writer_.PopTopVia(), WriteError::kNone);
  EXPECT_EQ(Write(), direct);
}

TEST_F(MessageWriterTest, PopTopViaRemovesTheWholeLineOfASingleElement) {
  const std::string response = Crlf(
      "SIP/2.0 180 Ringing\n"
      "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKlb1;rport\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.10\n"
      "From: <sip:a@example.com>;tag=1\n"
      "To: <sip:b@example.com>;tag=2\n"
      "Call-ID: c@h\n"
      "CSeq: 1 INVITE\n"
      "Content-Length: 0\n"
      "\n");
  Load(response);
  writer_.PopTopVia();
  const std::string expected = Crlf(
      "SIP/2.0 180 Ringing\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.10\n"
      "From: <sip:a@example.com>;tag=1\n"
      "To: <sip:b@example.com>;tag=2\n"
      "Call-ID: c@h\n"
      "CSeq: 1 INVITE\n"
      "Content-Length: 0\n"
      "\n");
  EXPECT_EQ(Write(), expected);
  EXPECT_EQ(out_.top_via.branch, "z9hG4bK776asdhds");
}

TEST_F(MessageWriterTest, PopTopViaKeepsTheRestOfAMultiElementLine) {
  Load(Crlf(
      "SIP/2.0 200 OK\n"
      "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKlb1 , SIP/2.0/TCP b.example.com;branch=z9hG4bK2\n"
      "Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\n"
      "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>;tag=2\n"
      "Call-ID: c@h\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n"));
  writer_.PopTopVia();
  Write();
  const std::vector<std::string> lines = HeaderLines(out_);
  EXPECT_EQ(lines[0], "Via: SIP/2.0/TCP b.example.com;branch=z9hG4bK2");
  EXPECT_EQ(lines[1], "Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK3");
  EXPECT_EQ(out_.top_via.transport, "TCP");
}

TEST_F(MessageWriterTest, PopTopViaAcrossAFoldedLine) {
  Load(
      Crlf("SIP/2.0 200 OK\n"
           "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKlb1,\n"
           "  SIP/2.0/UDP b.example.com;branch=z9hG4bK2\n"
           "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>;tag=2\n"
           "Call-ID: c@h\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n"));
  writer_.PopTopVia();
  Write();
  EXPECT_EQ(HeaderLines(out_)[0], "Via: SIP/2.0/UDP b.example.com;branch=z9hG4bK2");
}

TEST_F(MessageWriterTest, CompactFormHeaders) {
  Load(
      Crlf("SIP/2.0 200 OK\n"
           "v: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKlb1, SIP/2.0/UDP b.example.com;branch=z9hG4bK2\n"
           "f: <sip:a@example.com>;tag=1\nt: <sip:b@example.com>;tag=2\n"
           "i: c@h\nCSeq: 1 MESSAGE\nc: text/plain\nl: 5\n\nhello"));
  writer_.PopTopVia();
  writer_.SetBody("hello, world");
  Write();
  const std::vector<std::string> lines = HeaderLines(out_);
  EXPECT_EQ(lines[0], "v: SIP/2.0/UDP b.example.com;branch=z9hG4bK2");
  EXPECT_EQ(lines.back(), "l: 12");  // corrected in place, compact name kept
  EXPECT_EQ(out_.body, "hello, world");
  EXPECT_EQ(out_.Count(HeaderId::kContentLength), 1);

  // A Via pushed above a compact top Via.
  writer_.Reset(msg_);
  writer_.PushVia(kOurVia);
  Write();
  EXPECT_EQ(HeaderLines(out_)[0], "Via: " + std::string(kOurVia));
  EXPECT_EQ(HeaderLines(out_)[1], HeaderLines(msg_)[0]);
}

TEST_F(MessageWriterTest, MaxForwardsIsReplaced) {
  Load(TypicalInvite());
  writer_.SetMaxForwards(70);  // replaced by the second call
  writer_.SetMaxForwards(68);
  Write();
  EXPECT_EQ(out_.max_forwards, 68);
  EXPECT_EQ(out_.Count(HeaderId::kMaxForwards), 1);
  EXPECT_EQ(HeaderLines(out_)[2], "Max-Forwards: 68");
  EXPECT_EQ(output_.size(), input_.size());
}

TEST_F(MessageWriterTest, MaxForwardsIsInsertedWhenAbsent) {
  Load(
      Crlf("OPTIONS sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
           "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\n"
           "Call-ID: c@h\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n"));
  ASSERT_EQ(msg_.max_forwards, -1);
  writer_.SetMaxForwards(69);
  Write();
  EXPECT_EQ(out_.max_forwards, 69);
  EXPECT_EQ(HeaderLines(out_).back(), "Max-Forwards: 69");
}

TEST_F(MessageWriterTest, RecordRouteGoesAboveTheFirstRecordRoute) {
  Load(TypicalInvite());
  writer_.AddRecordRoute("sip:10.0.0.1;lr");
  writer_.AddRecordRoute("<sip:10.0.0.1;transport=tcp;lr>");
  Write();
  const std::vector<std::string> lines = HeaderLines(out_);
  ASSERT_EQ(out_.Count(HeaderId::kRecordRoute), 3);
  const size_t rr = out_.first_index[static_cast<size_t>(HeaderId::kRecordRoute)];
  EXPECT_EQ(rr, 3u);  // after the two Vias and Max-Forwards
  EXPECT_EQ(lines[rr], "Record-Route: <sip:10.0.0.1;lr>");
  EXPECT_EQ(lines[rr + 1], "Record-Route: <sip:10.0.0.1;transport=tcp;lr>");
  EXPECT_EQ(lines[rr + 2], "Record-Route: <sip:198.51.100.7;lr>");
}

TEST_F(MessageWriterTest, RecordRouteGoesBeforeTheEmptyLineWhenThereIsNone) {
  Load(sipshard::testing::Typical200Ok());
  writer_.AddRecordRoute("sip:10.0.0.1;lr");
  Write();
  EXPECT_EQ(HeaderLines(out_).back(), "Record-Route: <sip:10.0.0.1;lr>");
}

TEST_F(MessageWriterTest, ProxyForwardingRewrite) {
  // §16.6: Max-Forwards, Record-Route and our Via together, exact result.
  Load(TypicalInvite());
  writer_.SetMaxForwards(68);
  writer_.AddRecordRoute("sip:10.0.0.1;lr");
  writer_.PushVia(kOurVia);
  Write();
  const std::vector<std::string> expected = {
      "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKlb1;rport",
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport",
      "Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;branch=z9hG4bKnashds8",
      "Max-Forwards: 68",
      "Record-Route: <sip:10.0.0.1;lr>",
      "Record-Route: <sip:198.51.100.7;lr>",
      "From: \"Alice Caller\" <sip:+15557654321@carrier.example.net>;tag=1928301774",
      "To: <sip:+15551234567@pbx.example.com;user=phone>",
      "Call-ID: a84b4c76e66710@pc33.atlanta.example.com",
      "CSeq: 314159 INVITE",
      "Contact: <sip:+15557654321@192.0.2.10:5060;transport=udp>",
      "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE",
      "Supported: 100rel, timer",
      "User-Agent: CarrierSBC/4.2",
      "Content-Type: application/sdp",
      "Content-Length: " + std::to_string(msg_.body.size()),
  };
  EXPECT_EQ(HeaderLines(out_), expected);
  EXPECT_EQ(out_.start_line, msg_.start_line);
  EXPECT_EQ(out_.body, msg_.body);
}

TEST_F(MessageWriterTest, PopTopRoute) {
  const std::string request = Crlf(
      "BYE sip:uas@192.0.2.99 SIP/2.0\n"
      "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
      "Route: <sip:10.0.0.1;lr>, <sip:b.example.com;lr;x=\"a,b\">\n"
      "Route: <sip:c.example.com;lr>\n"
      "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>;tag=2\n"
      "Call-ID: c@h\nCSeq: 2 BYE\nContent-Length: 0\n\n");
  Load(request);
  ASSERT_EQ(writer_.PopTopRoute(), WriteError::kNone);
  Write();
  std::vector<std::string> lines = HeaderLines(out_);
  EXPECT_EQ(lines[1], "Route: <sip:b.example.com;lr;x=\"a,b\">");
  EXPECT_EQ(lines[2], "Route: <sip:c.example.com;lr>");

  // Popping from a single-element line removes the line.
  Load(
      Crlf("BYE sip:uas@192.0.2.99 SIP/2.0\n"
           "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
           "Route: <sip:10.0.0.1;lr>\n"
           "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>;tag=2\n"
           "Call-ID: c@h\nCSeq: 2 BYE\nContent-Length: 0\n\n"));
  writer_.PopTopRoute();
  Write();
  EXPECT_EQ(out_.Count(HeaderId::kRoute), 0);
  EXPECT_EQ(HeaderLines(out_)[1], "From: <sip:a@example.com>;tag=1");

  // Nothing to pop.
  Load(TypicalInvite());
  EXPECT_EQ(writer_.PopTopRoute(), WriteError::kNotFound);
  EXPECT_EQ(writer_.error(), WriteError::kNone);
  EXPECT_EQ(Write(), input_);
}

TEST_F(MessageWriterTest, PopLastRouteWithNewRequestUri) {
  // §16.4 strict-router compatibility: the last Route element becomes the
  // Request-URI and leaves the Route set.
  Load(Crlf(
      "BYE sip:10.0.0.1;lr SIP/2.0\n"
      "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
      "Route: <sip:b.example.com;lr>\n"
      "Route: <sip:c.example.com;lr>, <sip:uas@192.0.2.99>\n"
      "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>;tag=2\n"
      "Call-ID: c@h\nCSeq: 2 BYE\nContent-Length: 0\n\n"));
  ASSERT_EQ(writer_.PopLastRoute(), WriteError::kNone);
  ASSERT_EQ(writer_.SetRequestUri("sip:uas@192.0.2.99"), WriteError::kNone);
  Write();
  std::vector<std::string> lines = HeaderLines(out_);
  EXPECT_EQ(out_.request_uri_text, "sip:uas@192.0.2.99");
  EXPECT_EQ(lines[1], "Route: <sip:b.example.com;lr>");
  EXPECT_EQ(lines[2], "Route: <sip:c.example.com;lr>");

  // A single-element last line goes away entirely.
  Load(Crlf(
      "BYE sip:10.0.0.1;lr SIP/2.0\n"
      "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
      "Route: <sip:uas@192.0.2.99>\n"
      "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>;tag=2\n"
      "Call-ID: c@h\nCSeq: 2 BYE\nContent-Length: 0\n\n"));
  ASSERT_EQ(writer_.PopLastRoute(), WriteError::kNone);
  Write();
  EXPECT_EQ(out_.Count(HeaderId::kRoute), 0);

  Load(TypicalInvite());
  EXPECT_EQ(writer_.PopLastRoute(), WriteError::kNotFound);
}

TEST_F(MessageWriterTest, UnsplittableListIsRefused) {
  Load(
      Crlf("BYE sip:uas@192.0.2.99 SIP/2.0\n"
           "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
           "Route: \"unterminated <sip:10.0.0.1;lr>, <sip:b;lr>\n"
           "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>;tag=2\n"
           "Call-ID: c@h\nCSeq: 2 BYE\nContent-Length: 0\n\n"));
  EXPECT_EQ(writer_.PopTopRoute(), WriteError::kBadValue);
  EXPECT_EQ(Write(), input_);
}

TEST_F(MessageWriterTest, SetRequestUri) {
  Load(TypicalInvite());
  writer_.SetRequestUri("sip:other@192.0.2.50:5080");
  writer_.SetRequestUri("sip:+15551234567@192.0.2.99:5060");
  Write();
  EXPECT_EQ(out_.start_line, "INVITE sip:+15551234567@192.0.2.99:5060 SIP/2.0");
  EXPECT_EQ(out_.request_uri.port, 5060);

  Load(sipshard::testing::Typical200Ok());
  EXPECT_EQ(writer_.SetRequestUri("sip:x@y"), WriteError::kInvalidArgument);
}

TEST_F(MessageWriterTest, RemoveHeaders) {
  Load(
      Crlf("OPTIONS sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
           "Supported: timer\nFrom: <sip:a@example.com>;tag=1\nk: 100rel\nTo: <sip:b@example.com>\n"
           "Call-ID: c@h\nCSeq: 1 OPTIONS\nX-Secret: 1\nContent-Length: 0\n\n"));
  EXPECT_EQ(writer_.RemoveHeader(HeaderId::kSupported), WriteError::kNone);
  EXPECT_EQ(writer_.RemoveHeaderField(7), WriteError::kNone);  // X-Secret
  EXPECT_EQ(writer_.RemoveHeader(HeaderId::kOther), WriteError::kInvalidArgument);
  EXPECT_EQ(writer_.RemoveHeader(HeaderId::kRoute), WriteError::kNotFound);
  EXPECT_EQ(writer_.RemoveHeaderField(99), WriteError::kInvalidArgument);
  Write();
  const std::vector<std::string> expected = {"Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1",
                                             "From: <sip:a@example.com>;tag=1",
                                             "To: <sip:b@example.com>",
                                             "Call-ID: c@h",
                                             "CSeq: 1 OPTIONS",
                                             "Content-Length: 0"};
  EXPECT_EQ(HeaderLines(out_), expected);
}

TEST_F(MessageWriterTest, RemovalWinsOverEditsInsideTheRemovedLine) {
  Load(TypicalInvite());
  writer_.AddViaParamsToTop("203.0.113.5", 40000);
  writer_.RemoveHeaderField(0);  // the top Via
  writer_.PushVia(kOurVia);      // inserted above the removed line: kept
  Write();
  const std::vector<std::string> lines = HeaderLines(out_);
  EXPECT_EQ(lines[0], "Via: " + std::string(kOurVia));
  EXPECT_EQ(lines[1],
            "Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;branch=z9hG4bKnashds8");
  EXPECT_EQ(output_.find("203.0.113.5"), std::string::npos);
}

TEST_F(MessageWriterTest, AddHeaderGoesBeforeTheEmptyLineInOrder) {
  Load(TypicalInvite());
  writer_.AddHeader("X-LB", "shard=3");
  writer_.AddHeader("P-Asserted-Identity", "<sip:+15557654321@carrier.example.net>");
  Write();
  const std::vector<std::string> lines = HeaderLines(out_);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[lines.size() - 2], "X-LB: shard=3");
  EXPECT_EQ(lines.back(), "P-Asserted-Identity: <sip:+15557654321@carrier.example.net>");
  EXPECT_EQ(out_.body, msg_.body);
}

TEST_F(MessageWriterTest, ViaSourceParamsForRport) {
  // RFC 3581 §4: a bare rport gets the source port, and received follows.
  Load(TypicalInvite());
  writer_.AddViaParamsToTop("203.0.113.5", 40000);
  Write();
  EXPECT_EQ(HeaderLines(out_)[0],
            "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=40000;"
            "received=203.0.113.5");
  EXPECT_EQ(out_.top_via.rport, 40000);
  EXPECT_EQ(out_.top_via.received, "203.0.113.5");
}

TEST_F(MessageWriterTest, ViaSourceParamsReceivedOnlyWhenNeeded) {
  const std::string head = "OPTIONS sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP ";
  const std::string rest = Crlf(
      "\nFrom: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\n"
      "Call-ID: c@h\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n");
  struct Case {
    std::string via;
    std::string expected;
  };
  const Case cases[] = {
      // Same host, no rport: nothing to add (§18.2.1).
      {"192.0.2.10:5060;branch=z9hG4bK1", "192.0.2.10:5060;branch=z9hG4bK1"},
      // Host name: received added; no rport requested: none added.
      {"a.example.com;branch=z9hG4bK1", "a.example.com;branch=z9hG4bK1;received=192.0.2.10"},
      // rport requested, same host: received is still added (RFC 3581 §4).
      {"192.0.2.10;rport;branch=z9hG4bK1",
       "192.0.2.10;rport=5070;branch=z9hG4bK1;received=192.0.2.10"},
      // Empty and stale rport values are replaced; an old received too.
      {"a.example.com;rport=;received=198.51.100.1;branch=z9hG4bK1",
       "a.example.com;rport=5070;received=192.0.2.10;branch=z9hG4bK1"},
      // No parameters at all, and a trailing comment.
      {"a.example.com (comment)", "a.example.com;received=192.0.2.10 (comment)"},
      // IPv6 sent-by equal to the source.
      {"[2001:db8::1]:5060;branch=z9hG4bK1", "[2001:db8::1]:5060;branch=z9hG4bK1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.via);
    const std::string source = c.via.front() == '[' ? "2001:db8::1" : "192.0.2.10";
    Load(Crlf(head + c.via) + rest);
    writer_.AddViaParamsToTop(source, 5070);
    Write();
    EXPECT_EQ(HeaderLines(out_)[0], "Via: SIP/2.0/UDP " + c.expected);
  }
}

TEST_F(MessageWriterTest, ContentLengthAddedWhenMissing) {
  // On a datagram a missing Content-Length means "the rest" (§18.3); the
  // forwarded copy always states it.
  Load(
      Crlf("MESSAGE sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
           "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\n"
           "Call-ID: c@h\nCSeq: 1 MESSAGE\nContent-Type: text/plain\n\nhello"));
  ASSERT_EQ(msg_.content_length, -1);
  Write();
  EXPECT_EQ(HeaderLines(out_).back(), "Content-Length: 5");
  EXPECT_EQ(out_.body, "hello");
  EXPECT_EQ(ParseMessage(output_, limits_, &out_, Framing::kStream), ParseError::kNone);
  EXPECT_EQ(out_.body, "hello");
}

TEST_F(MessageWriterTest, ContentLengthFollowsTheBody) {
  Load(TypicalInvite());
  writer_.SetBody("v=0\r\n");
  Write();
  EXPECT_EQ(out_.content_length, 5);
  EXPECT_EQ(out_.body, "v=0\r\n");
  EXPECT_EQ(HeaderLines(out_).back(), "Content-Length: 5");

  // Removing the header does not remove it: the writer puts it back.
  writer_.Reset(msg_);
  writer_.RemoveHeader(HeaderId::kContentLength);
  Write();
  EXPECT_EQ(out_.content_length, static_cast<int64_t>(msg_.body.size()));
  EXPECT_EQ(out_.Count(HeaderId::kContentLength), 1);
}

TEST_F(MessageWriterTest, BytesBeyondContentLengthAreNotForwarded) {
  Load(
      Crlf("MESSAGE sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\n"
           "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\n"
           "Call-ID: c@h\nCSeq: 1 MESSAGE\nContent-Length: 5\n\nhelloGARBAGE"));
  const std::string out = Write();
  EXPECT_EQ(out.substr(out.size() - 9), "\r\n\r\nhello");
}

TEST_F(MessageWriterTest, MessageWithoutEmptyLineGetsOne) {
  Load(
      "OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
      "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\n"
      "Call-ID: c@h\r\nCSeq: 1 OPTIONS");
  writer_.SetMaxForwards(70);
  const std::string out = Write();
  const std::string tail = "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
  ASSERT_GT(out.size(), tail.size());
  EXPECT_EQ(out.substr(out.size() - tail.size()), tail);
}

TEST_F(MessageWriterTest, BufferTooSmallNeverOverflows) {
  Load(TypicalInvite());
  writer_.PushVia(kOurVia);
  writer_.AddRecordRoute("sip:10.0.0.1;lr");
  writer_.SetMaxForwards(68);
  const size_t needed = writer_.SerializedSize();
  for (size_t size = 0; size < needed; ++size) {
    // Exactly sized heap buffers: under ASan any write past `size` aborts.
    std::unique_ptr<char[]> buffer(new char[size + 1]);
    buffer[size] = '#';
    const WriteResult r = writer_.Serialize(std::span<char>(buffer.get(), size));
    ASSERT_EQ(r.error, WriteError::kBufferTooSmall) << size;
    ASSERT_EQ(buffer[size], '#') << size;
  }
  std::array<iovec, 3> iov;
  EXPECT_EQ(writer_.ToIovec(iov), 0u);
}

TEST_F(MessageWriterTest, TooManyEditsIsSticky) {
  Load(TypicalInvite());
  for (size_t i = 0; i < MessageWriter::kMaxEdits; ++i) {
    ASSERT_EQ(writer_.AddHeader("X-N", "1"), WriteError::kNone);
  }
  EXPECT_EQ(writer_.AddHeader("X-N", "1"), WriteError::kTooManyEdits);
  EXPECT_EQ(writer_.SetMaxForwards(1), WriteError::kTooManyEdits);
  char buffer[4096];
  EXPECT_EQ(writer_.Serialize(buffer).error, WriteError::kTooManyEdits);
  writer_.Reset(msg_);
  EXPECT_TRUE(writer_.Serialize(buffer).ok());
}

TEST_F(MessageWriterTest, ProxyRewriteOfOddButValidMessages) {
  // Each message parses; the full forwarding rewrite must keep it parseable
  // and leave everything it does not touch as it was.
  const std::string messages[] = {
      // Folded headers, LWS around ':' and ';', tabs.
      Crlf("OPTIONS sip:b@example.com SIP/2.0\n"
           "Via  :\tSIP / 2.0 / UDP a.example.com ; branch = z9hG4bK1 ; rport\n"
           "Max-Forwards:   10  \n"
           "From: <sip:a@example.com>\n ;tag=1\n"
           "To: <sip:b@example.com>\n"
           "Call-ID: folded@h\nCSeq: 1\n  OPTIONS\nContent-Length: 0\n\n"),
      // Compact forms only, several Vias on one line, IPv6.
      Crlf("MESSAGE sip:b@[2001:db8::9] SIP/2.0\n"
           "v: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK2;rport, SIP/2.0/TCP "
           "c.example.com;branch=z9hG4bK3\n"
           "f: <sip:a@example.com>;tag=2\nt: sip:b@example.com\ni: compact@h\n"
           "CSeq: 2 MESSAGE\nc: text/plain\nl: 2\n\nhi"),
      // Bare LF line endings.
      "INFO sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK4\n"
      "From: <sip:a@example.com>;tag=3\nTo: <sip:b@example.com>;tag=9\nCall-ID: lf@h\n"
      "CSeq: 3 INFO\nContent-Length: 3\n\nabc",
      TypicalInvite(),
  };
  for (const std::string& m : messages) {
    SCOPED_TRACE(m);
    Load(m);
    writer_.AddViaParamsToTop(msg_.top_via.host_is_ipv6 ? "2001:db8::1" : "203.0.113.5", 40000);
    writer_.SetMaxForwards(msg_.max_forwards < 0 ? 70
                                                 : static_cast<uint32_t>(msg_.max_forwards) - 1);
    writer_.AddRecordRoute("sip:10.0.0.1;lr");
    writer_.PushVia(kOurVia);
    Write();
    EXPECT_EQ(out_.Count(HeaderId::kVia), msg_.Count(HeaderId::kVia) + 1);
    EXPECT_EQ(out_.top_via.branch, "z9hG4bKlb1");
    EXPECT_EQ(out_.call_id, msg_.call_id);
    EXPECT_EQ(out_.cseq.number, msg_.cseq.number);
    EXPECT_EQ(out_.from.tag, msg_.from.tag);
    EXPECT_EQ(out_.to.tag, msg_.to.tag);
    EXPECT_EQ(out_.body, msg_.body);
    EXPECT_EQ(out_.content_length, static_cast<int64_t>(msg_.body.size()));
    EXPECT_EQ(out_.max_forwards, msg_.max_forwards < 0 ? 70 : msg_.max_forwards - 1);
    // The Via we received, now second, names where it came from.
    ListSplitter second_line(out_.header_fields[1].value);
    std::string_view element;
    ASSERT_TRUE(second_line.Next(&element));
    Via received;
    ASSERT_TRUE(ParseVia(element, &received));
    EXPECT_EQ(received.branch, msg_.top_via.branch);
    if (msg_.top_via.has_rport) {
      EXPECT_EQ(received.rport, 40000);
    }
  }
}

// The writer keeps the plan of its edits between SerializedSize(),
// Serialize() and ToIovec(); every later edit, Reset() and SetBody() must
// be serialized all the same.
TEST_F(MessageWriterTest, EditsAfterASerializationAreSerializedToo) {
  Load(TypicalInvite());
  writer_.SetMaxForwards(10);
  Write();
  EXPECT_EQ(out_.max_forwards, 10);
  EXPECT_EQ(out_.Count(HeaderId::kVia), 2);

  writer_.PushVia(kOurVia);
  writer_.SetMaxForwards(5);  // replaces the edit made before the first Write
  Write();
  EXPECT_EQ(out_.max_forwards, 5);
  EXPECT_EQ(out_.top_via.branch, "z9hG4bKlb1");
  EXPECT_EQ(out_.Count(HeaderId::kVia), 3);

  writer_.AddViaParamsToTop("192.0.2.99", 5070);
  writer_.AddRecordRoute("sip:10.0.0.1;lr");
  writer_.SetBody("v=0\r\n");
  Write();
  EXPECT_EQ(out_.Count(HeaderId::kRecordRoute), 2);
  EXPECT_EQ(out_.body, "v=0\r\n");
  EXPECT_EQ(out_.content_length, 5);
  EXPECT_NE(output_.find("received=192.0.2.99"), std::string::npos) << output_;

  // Reset: the old plan must not leak into the fresh writer.
  writer_.Reset(msg_);
  Write();
  EXPECT_EQ(output_, std::string_view(input_));

  // Edits that fail stay failed, whatever was serialized before.
  for (size_t i = 0; i < MessageWriter::kMaxEdits + 1; ++i) writer_.AddHeader("X-A", "b");
  std::array<char, 4096> slot;
  EXPECT_EQ(writer_.Serialize(slot).error, WriteError::kTooManyEdits);
}

TEST(WriteUtilTest, FormatDecimalMatchesToString) {
  char buf[internal::kMaxDecimalDigits];
  auto check = [&buf](uint64_t v) {
    const size_t n = internal::FormatDecimal(v, buf);
    ASSERT_EQ(std::string(buf, n), std::to_string(v)) << v;
  };
  for (uint64_t v = 0; v < 100000; ++v) check(v);
  for (uint64_t p = 10; p <= 10000000000000000000ULL; p *= 10) {
    check(p - 1);
    check(p);
    check(p + 1);
    if (p > UINT64_MAX / 10) break;
  }
  check(UINT64_MAX);
  check(UINT64_MAX - 1);
}

TEST(ViaValueTest, Formats) {
  ViaValue via;
  ASSERT_TRUE(via.Format("UDP", "10.0.0.1", 5060, "z9hG4bKabc", true));
  EXPECT_EQ(via.view(), "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc;rport");
  ASSERT_TRUE(via.Format("TCP", "2001:db8::1", 0, "z9hG4bKabc", false));
  EXPECT_EQ(via.view(), "SIP/2.0/TCP [2001:db8::1];branch=z9hG4bKabc");
  ASSERT_TRUE(via.Format("TLS", "[2001:db8::1]", 5061, "z9hG4bKabc", false));
  EXPECT_EQ(via.view(), "SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bKabc");
  // The longest host a config accepts, with a branch as long as ours get.
  const std::string longest_host(253, 'h');
  const std::string longest_branch = "z9hG4bK" + std::string(41, 'a');
  ASSERT_TRUE(via.Format("UDP", longest_host, 65535, longest_branch, true));
  EXPECT_EQ(via.view(), "SIP/2.0/UDP " + longest_host + ":65535;branch=" + longest_branch + ";rport");
  EXPECT_FALSE(via.Format("UDP", std::string(400, 'h'), 5060, "z9hG4bKabc", false));
  EXPECT_EQ(via.view(), "");
}

}  // namespace
}  // namespace sipshard::sip

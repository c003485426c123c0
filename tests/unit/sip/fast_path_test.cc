// The parser's fast paths (known "Name:" prefixes, "SIP/2.0/" in Via, IPv4
// hosts, ";tag=" in From/To, Clear() skipping the key fields) must give
// exactly what the general code gives. Differential test: every message of
// a corpus, and every single-byte mutation of it, is parsed with the fast
// paths on and off, into a fresh and into a reused Message, and every
// field (views compared by position, not just content) must agree.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sipshard/sip/parser.h"
#include "sipshard/sip/text.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::sip {
namespace {

using ::sipshard::testing::Crlf;

// Same view: same bytes of the same buffer (or both empty).
::testing::AssertionResult SameView(std::string_view a, std::string_view b) {
  if (a.size() == b.size() && (a.empty() || a.data() == b.data())) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "\"" << a << "\" vs \"" << b << "\"";
}

void ExpectSameUri(const Uri& a, const Uri& b) {
  EXPECT_EQ(a.scheme, b.scheme);
  EXPECT_TRUE(SameView(a.scheme_text, b.scheme_text));
  EXPECT_TRUE(SameView(a.user, b.user));
  EXPECT_TRUE(SameView(a.password, b.password));
  EXPECT_TRUE(SameView(a.host, b.host));
  EXPECT_EQ(a.host_is_ipv6, b.host_is_ipv6);
  EXPECT_EQ(a.has_port, b.has_port);
  EXPECT_EQ(a.port, b.port);
  EXPECT_TRUE(SameView(a.params, b.params));
  EXPECT_TRUE(SameView(a.headers, b.headers));
  EXPECT_TRUE(SameView(a.raw, b.raw));
}

void ExpectSameNameAddr(const NameAddr& a, const NameAddr& b) {
  EXPECT_TRUE(SameView(a.display_name, b.display_name));
  EXPECT_TRUE(SameView(a.uri, b.uri));
  EXPECT_EQ(a.has_angle_brackets, b.has_angle_brackets);
  EXPECT_TRUE(SameView(a.params, b.params));
  EXPECT_TRUE(SameView(a.tag, b.tag));
  EXPECT_EQ(a.is_wildcard, b.is_wildcard);
  EXPECT_TRUE(SameView(a.raw, b.raw));
}

void ExpectSameVia(const Via& a, const Via& b) {
  EXPECT_TRUE(SameView(a.protocol_name, b.protocol_name));
  EXPECT_TRUE(SameView(a.protocol_version, b.protocol_version));
  EXPECT_TRUE(SameView(a.transport, b.transport));
  EXPECT_TRUE(SameView(a.host, b.host));
  EXPECT_EQ(a.host_is_ipv6, b.host_is_ipv6);
  EXPECT_EQ(a.has_port, b.has_port);
  EXPECT_EQ(a.port, b.port);
  EXPECT_TRUE(SameView(a.params, b.params));
  EXPECT_TRUE(SameView(a.branch, b.branch));
  EXPECT_TRUE(SameView(a.received, b.received));
  EXPECT_TRUE(SameView(a.maddr, b.maddr));
  EXPECT_EQ(a.has_rport, b.has_rport);
  EXPECT_EQ(a.rport, b.rport);
  EXPECT_EQ(a.ttl, b.ttl);
  EXPECT_TRUE(SameView(a.raw, b.raw));
}

void ExpectSameMessage(const Message& a, const Message& b) {
  EXPECT_TRUE(SameView(a.data, b.data));
  EXPECT_EQ(a.is_request, b.is_request);
  EXPECT_TRUE(SameView(a.start_line, b.start_line));
  EXPECT_EQ(a.method, b.method);
  EXPECT_TRUE(SameView(a.method_text, b.method_text));
  EXPECT_TRUE(SameView(a.request_uri_text, b.request_uri_text));
  ExpectSameUri(a.request_uri, b.request_uri);
  EXPECT_EQ(a.status_code, b.status_code);
  EXPECT_TRUE(SameView(a.reason_phrase, b.reason_phrase));
  ASSERT_EQ(a.header_count, b.header_count);
  for (size_t i = 0; i < a.header_count; ++i) {
    EXPECT_EQ(a.header_fields[i].id, b.header_fields[i].id) << i;
    EXPECT_TRUE(SameView(a.header_fields[i].name, b.header_fields[i].name)) << i;
    EXPECT_TRUE(SameView(a.header_fields[i].value, b.header_fields[i].value)) << i;
    EXPECT_TRUE(SameView(a.header_fields[i].line, b.header_fields[i].line)) << i;
  }
  EXPECT_EQ(a.first_index, b.first_index);
  EXPECT_EQ(a.counts, b.counts);
  EXPECT_EQ(a.headers_end, b.headers_end);
  EXPECT_TRUE(SameView(a.body, b.body));
  ExpectSameVia(a.top_via, b.top_via);
  EXPECT_EQ(a.top_via_field, b.top_via_field);
  EXPECT_TRUE(SameView(a.call_id, b.call_id));
  EXPECT_EQ(a.cseq.number, b.cseq.number);
  EXPECT_EQ(a.cseq.method, b.cseq.method);
  EXPECT_TRUE(SameView(a.cseq.method_text, b.cseq.method_text));
  ExpectSameNameAddr(a.from, b.from);
  ExpectSameNameAddr(a.to, b.to);
  EXPECT_EQ(a.max_forwards, b.max_forwards);
  EXPECT_EQ(a.content_length, b.content_length);
}

class FastPathTest : public ::testing::Test {
 protected:
  ~FastPathTest() override { internal::force_general_paths = false; }

  // Parses `bytes` four ways and expects the same error and fields:
  // general path into a cleared Message (the reference), fast path into a
  // cleared Message, and both into a Message that just held `dirty_`.
  void CheckEquivalent(const std::string& bytes) {
    SCOPED_TRACE(bytes);
    internal::force_general_paths = true;
    reference_->Clear();
    const ParseError want = ParseMessage(bytes, limits_, reference_.get());
    for (const bool general : {false, true}) {
      for (const bool reused : {false, true}) {
        internal::force_general_paths = general;
        if (reused) {
          ParseMessage(dirty_, limits_, msg_.get());
        } else {
          msg_->Clear();
        }
        const ParseError got = ParseMessage(bytes, limits_, msg_.get());
        EXPECT_EQ(got, want) << "general=" << general << " reused=" << reused;
        ExpectSameMessage(*msg_, *reference_);
        if (::testing::Test::HasFailure()) return;
      }
    }
    internal::force_general_paths = false;
  }

  const ParseLimits limits_{};
  const std::string dirty_ = testing::TypicalInvite();
  std::unique_ptr<Message> reference_ = std::make_unique<Message>();
  std::unique_ptr<Message> msg_ = std::make_unique<Message>();
};

std::vector<std::string> Corpus() {
  return {
      testing::TypicalInvite(),
      testing::Typical200Ok(),
      // Compact and odd-case names, space before the colon, unknown names.
      Crlf("INVITE sip:bob@example.com SIP/2.0\n"
           "v: SIP/2.0/TCP client.example.com:5060;branch=z9hG4bK74b\n"
           "VIA : SIP/2.0/UDP [2001:db8::9:1]:5070;received=192.0.2.1;rport=5070;ttl=3\n"
           "f: Bob <sip:bob@example.com>;TAG=abc;x=\"q;r\"\n"
           "t: sip:bob@example.com;tag=123\n"
           "i: a84b4c76e66710@pc33.example.com\n"
           "CSEQ: 1 INVITE\n"
           "max-forwards: 70\n"
           "X-Custom: hello\n"
           "Content-Length : 0\n"
           "\n"),
      // Via with LWS inside sent-protocol and a comment; quoted tag.
      Crlf("OPTIONS sips:[2001:db8::10]:5061;transport=tls SIP/2.0\n"
           "Via: SIP / 2.0 / TLS host.example.com ; branch = z9hG4bK1 (comment)\n"
           "Via: sip/2.0/UDP 10.0.0.1,SIP/2.0/UDP 10.0.0.2\n"
           "From: \"A \\\"q\\\" B\" <sip:a@x.org>;tag=\"quoted\"\n"
           "To: <tel:+1-555-0100>;tag= spaced\n"
           "Call-ID: x\n"
           "CSeq: 0009 OPTIONS\n"
           "Content-Length: 0\n"
           "\n"),
      // Folded lines and IPv4-like hosts that are not IPv4.
      Crlf("REGISTER sip:256.1.1.1 SIP/2.0\n"
           "Via: SIP/2.0/UDP 1.2.3.4.5:5060\n"
           " ;branch=z9hG4bKfold\n"
           "From: <sip:u@1.2.3>;tag=t;tag=u\n"
           "To: sip:u@01.002.3.4\n"
           "Call-ID: fold\n"
           "CSeq: 2 REGISTER\n"
           "Contact: *\n"
           "Expires: 0\n"
           "\n"),
      Crlf("SIP/2.0 180 Ringing\n"
           "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx;received=1.2.3.4\n"
           "From: sip:a@example.com;tag=1\n"
           "To: \"B\"<sip:b@example.com>;tag=\n"
           "Call-ID: r\n"
           "CSeq: 3 INVITE\n"
           "\n"),
  };
}

TEST_F(FastPathTest, CorpusParsesTheSameBothWays) {
  for (const std::string& message : Corpus()) CheckEquivalent(message);
}

// Every single-byte substitution, deletion and insertion in the start line
// and headers of each corpus message: reaches the edges of each fast path
// (a name one letter off, a missing colon, a quote inside a tag, a fourth
// IPv4 digit, ...) without hand-writing them.
TEST_F(FastPathTest, MutationsParseTheSameBothWays) {
  static constexpr char kBytesArray[] = " \t\r\n:;=,\"<>\\(@?%.-0A9za[]\x7f\x80";
  const std::string_view kBytes(kBytesArray, sizeof(kBytesArray) - 1);
  for (const std::string& message : Corpus()) {
    const size_t end = std::min(message.size(), message.find("\r\n\r\n") + 4);
    for (size_t i = 0; i < end; ++i) {
      for (char c : kBytes) {
        std::string m = message;
        m[i] = c;
        CheckEquivalent(m);
        CheckEquivalent(message.substr(0, i) + c + message.substr(i));
      }
      CheckEquivalent(message.substr(0, i) + message.substr(i + 1));
      if (HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace sipshard::sip

// RFC 5118 "SIP Torture Test Messages for IPv6", one test per category, with
// our own short messages exercising the same tricks.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "sipshard/sip/call_id_scan.h"
#include "sipshard/sip/parser.h"
#include "sipshard/sip/text.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::sip {
namespace {

using ::sipshard::testing::Crlf;

class Ipv6Test : public ::testing::Test {
 protected:
  ParseError Parse(const std::string& bytes) {
    bytes_ = bytes;
    const ParseError e = ParseMessage(bytes_, limits_, msg_.get());
    if (e == ParseError::kNone) {
      EXPECT_EQ(FindCallId(bytes_), msg_->call_id);
    }
    return e;
  }
  static std::string Register(std::string_view request_uri, std::string_view via_sent_by,
                              std::string_view contact_host) {
    return Crlf("REGISTER " + std::string(request_uri) + " SIP/2.0\n" +
                "To: sip:user@example.com\n"
                "From: sip:user@example.com;tag=81x2\n"
                "Via: SIP/2.0/UDP " + std::string(via_sent_by) + ";branch=z9hG4bKas3-111\n"
                "Call-ID: SSG9559905523997077@hlau_4100\n"
                "Max-Forwards: 70\n"
                "Contact: \"Caller\" <sip:caller@" + std::string(contact_host) + ">\n"
                "CSeq: 98176 REGISTER\n"
                "Content-Length: 0\n"
                "\n");
  }
  ParseLimits limits_;
  std::string bytes_;
  std::unique_ptr<Message> msg_ = std::make_unique<Message>();
};

// 4.1 ipv6-good: IPv6 references in Request-URI, Via and Contact.
TEST_F(Ipv6Test, ValidIpv6References) {
  ASSERT_EQ(Parse(Register("sip:[2001:db8::10]", "[2001:db8::9:1]", "[2001:db8::1]")),
            ParseError::kNone);
  EXPECT_TRUE(msg_->request_uri.host_is_ipv6);
  EXPECT_EQ(msg_->request_uri.host, "[2001:db8::10]");
  EXPECT_EQ(msg_->request_uri.HostAddress(), "2001:db8::10");
  EXPECT_FALSE(msg_->request_uri.has_port);
  EXPECT_TRUE(msg_->top_via.host_is_ipv6);
  EXPECT_EQ(msg_->top_via.host, "[2001:db8::9:1]");
  EXPECT_EQ(msg_->top_via.HostAddress(), "2001:db8::9:1");
  EXPECT_EQ(msg_->top_via.PortOrDefault(), 5060);
  NameAddr contact;
  ASSERT_TRUE(ParseNameAddr(msg_->Find(HeaderId::kContact)->value, &contact));
  const std::optional<Uri> uri = ParseUri(contact.uri);
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->host, "[2001:db8::1]");
}

// 4.2 ipv6-bad: an IPv6 address without brackets in the Request-URI.
TEST_F(Ipv6Test, UnbracketedIpv6InRequestUriIsRejected) {
  const ParseError e = Parse(Register("sip:2001:db8::10", "[2001:db8::9:1]", "[2001:db8::1]"));
  EXPECT_EQ(e, ParseError::kBadRequestUri);
  EXPECT_TRUE(IsAnswerable(*msg_, e));
  EXPECT_EQ(Describe(e).status_code, 400);
  EXPECT_EQ(Describe(e).reason, "Bad Request-URI");
}

TEST_F(Ipv6Test, UnbracketedIpv6InViaIsRejected) {
  const ParseError e = Parse(Register("sip:[2001:db8::10]", "2001:db8::9:1", "[2001:db8::1]"));
  EXPECT_EQ(e, ParseError::kBadVia);
  EXPECT_EQ(Describe(e).reason, "Bad Via");
}

// 4.3 port-ambiguous: the last group looks like a port but is inside [].
TEST_F(Ipv6Test, PortLookalikeInsideBrackets) {
  ASSERT_EQ(Parse(Register("sip:[2001:db8::10:5070]", "[2001:db8::9:1]", "[2001:db8::1]")),
            ParseError::kNone);
  EXPECT_EQ(msg_->request_uri.host, "[2001:db8::10:5070]");
  EXPECT_FALSE(msg_->request_uri.has_port);
  EXPECT_EQ(msg_->request_uri.PortOrDefault(), 5060);
}

// 4.4 port-unambiguous: the port after the brackets.
TEST_F(Ipv6Test, PortAfterBrackets) {
  ASSERT_EQ(Parse(Register("sip:[2001:db8::10]:5070", "[2001:db8::9:1]:5061", "[2001:db8::1]:5070")),
            ParseError::kNone);
  EXPECT_EQ(msg_->request_uri.host, "[2001:db8::10]");
  EXPECT_TRUE(msg_->request_uri.has_port);
  EXPECT_EQ(msg_->request_uri.port, 5070);
  EXPECT_EQ(msg_->top_via.host, "[2001:db8::9:1]");
  EXPECT_EQ(msg_->top_via.port, 5061);
}

// 4.5 via-received-param-with-delim / without-delim: received with and
// without brackets; both forms are in use and both are accepted as written.
TEST_F(Ipv6Test, ReceivedParameterWithAndWithoutBrackets) {
  Via via;
  ASSERT_TRUE(ParseVia("SIP/2.0/UDP [2001:db8::9:1]:6050;received=[2001:db8::9:255];branch=z9hG4bKas3",
                       &via));
  EXPECT_EQ(via.received, "[2001:db8::9:255]");
  EXPECT_EQ(via.port, 6050);
  EXPECT_EQ(via.branch, "z9hG4bKas3");
  ASSERT_TRUE(ParseVia("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3",
                       &via));
  EXPECT_EQ(via.received, "2001:db8::9:255");
  EXPECT_FALSE(via.has_port);
}

// 4.6 ipv4-mapped: IPv4-mapped IPv6 addresses.
TEST_F(Ipv6Test, Ipv4MappedAddresses) {
  ASSERT_EQ(Parse(Register("sip:[::ffff:192.0.2.10]", "[::ffff:192.0.2.2]", "[::ffff:192.0.2.2]")),
            ParseError::kNone);
  EXPECT_EQ(msg_->request_uri.HostAddress(), "::ffff:192.0.2.10");
  EXPECT_EQ(msg_->top_via.HostAddress(), "::ffff:192.0.2.2");
}

// 4.7 mult-ip-in-header: IPv4 and IPv6 elements in one Via header.
TEST_F(Ipv6Test, MixedAddressFamiliesInOneVia) {
  const std::string m = Crlf(
      "BYE sip:[2001:db8::10] SIP/2.0\n"
      "To: sip:user@example.com;tag=bd76ya\n"
      "From: sip:user@example.com;tag=81x2\n"
      "Via: SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111,\n"
      " SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKjhja8781hjuaij65144\n"
      "Via: SIP/2.0/TCP [2001:db8::9:255];branch=z9hG4bK451jj;received=192.0.2.200\n"
      "Call-ID: 997077@lau_4100\n"
      "Max-Forwards: 70\n"
      "CSeq: 89187 BYE\n"
      "Content-Length: 0\n"
      "\n");
  ASSERT_EQ(Parse(m), ParseError::kNone);
  EXPECT_EQ(msg_->top_via.host, "[2001:db8::9:1]");
  EXPECT_EQ(msg_->top_via.port, 6050);
  EXPECT_EQ(msg_->top_via.branch, "z9hG4bKas3-111");
  ListSplitter split(msg_->Find(HeaderId::kVia)->value);
  std::string_view element;
  ASSERT_TRUE(split.Next(&element));
  ASSERT_TRUE(split.Next(&element));
  Via second;
  ASSERT_TRUE(ParseVia(element, &second));
  EXPECT_EQ(second.host, "192.0.2.1");
  EXPECT_FALSE(second.host_is_ipv6);
}

// 4.8 ipv6-in-sdp-body: the body is opaque to the parser; c=IN IP6 is fine.
TEST_F(Ipv6Test, Ipv6InSdpBody) {
  const std::string sdp = Crlf("v=0\no=assistant 971731711378798081 0 IN IP6 2001:db8::20\n"
                               "c=IN IP6 2001:db8::20\nm=audio 32452 RTP/AVP 0\n");
  std::string m = Register("sip:[2001:db8::10]", "[2001:db8::9:1]", "[2001:db8::1]");
  m.replace(m.find("Content-Length: 0"), 17, "Content-Length: " + std::to_string(sdp.size()));
  ASSERT_EQ(Parse(m + sdp), ParseError::kNone);
  EXPECT_EQ(msg_->body, sdp);
}

// 4.10 ipv6-bug-abnf-3-colons / ipv6-correct-abnf-2-colons: the RFC 3261
// ABNF allowed ":::" before an embedded IPv4 address; it is not valid.
TEST_F(Ipv6Test, ThreeColonsBeforeEmbeddedIpv4IsRejected) {
  EXPECT_EQ(Parse(Register("sip:[2001:db8:::192.0.2.1]", "[2001:db8::9:1]", "[2001:db8::1]")),
            ParseError::kBadRequestUri);
  ASSERT_EQ(Parse(Register("sip:[2001:db8::192.0.2.1]", "[2001:db8::9:1]", "[2001:db8::1]")),
            ParseError::kNone);
  EXPECT_EQ(msg_->request_uri.HostAddress(), "2001:db8::192.0.2.1");
}

TEST_F(Ipv6Test, Ipv6ReferenceSyntax) {
  // Valid forms.
  for (std::string_view host : {"[::]", "[::1]", "[1::]", "[2001:db8::10]", "[fe80::1:2:3:4:5]",
                                "[1:2:3:4:5:6:7:8]", "[1:2:3:4:5:6:7::]", "[::2:3:4:5:6:7:8]",
                                "[1:2:3:4:5:6:192.0.2.1]", "[::ffff:192.0.2.10]",
                                "[ABCD:ef01::0]"}) {
    EXPECT_TRUE(IsValidHost(host)) << host;
  }
  // Invalid forms.
  for (std::string_view host :
       {"[]", "[:]", "[:::]", "[1:2]", "[1:2:3:4:5:6:7]", "[1:2:3:4:5:6:7:8:9]", "[1::2::3]",
        "[12345::1]", "[:1:2:3:4:5:6:7]", "[1:2:3:4:5:6:7:]", "[::g]", "[::192.0.2.1.5]",
        "[::256.0.2.1]", "[1:2:3:4:5:6:7:192.0.2.1]", "[192.0.2.1::]", "[2001:db8::10",
        "2001:db8::10]", "[2001:db8::10]x", "[1:2:3:4:5:6:7:8::]"}) {
    EXPECT_FALSE(IsValidHost(host)) << host;
  }
}

TEST_F(Ipv6Test, UnterminatedIpv6ReferenceInVia) {
  Via via;
  EXPECT_FALSE(ParseVia("SIP/2.0/UDP [2001:db8::1;branch=z9hG4bK1", &via));
  EXPECT_FALSE(ParseUri("sip:[2001:db8::1").has_value());
  EXPECT_FALSE(ParseUri("sip:user@[2001:db8::1]junk").has_value());
}

}  // namespace
}  // namespace sipshard::sip

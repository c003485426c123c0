// Via header elements (RFC 3261 §20.42, §18.2.2; RFC 3581 rport).
#include "sipshard/sip/via.h"

#include "gtest/gtest.h"

namespace sipshard::sip {
namespace {

TEST(ViaTest, TypicalElement) {
  Via via;
  ASSERT_TRUE(ParseVia("SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;ttl=16;"
                       "maddr=224.2.0.1;received=192.0.2.1;x-unknown=1;flag",
                       &via));
  EXPECT_EQ(via.protocol_name, "SIP");
  EXPECT_EQ(via.protocol_version, "2.0");
  EXPECT_EQ(via.transport, "UDP");
  EXPECT_EQ(via.host, "pc33.atlanta.com");
  EXPECT_TRUE(via.has_port);
  EXPECT_EQ(via.port, 5066);
  EXPECT_EQ(via.PortOrDefault(), 5066);
  EXPECT_EQ(via.branch, "z9hG4bK776asdhds");
  EXPECT_TRUE(via.has_magic_cookie());
  EXPECT_EQ(via.ttl, 16);
  EXPECT_EQ(via.maddr, "224.2.0.1");
  EXPECT_EQ(via.received, "192.0.2.1");
  EXPECT_FALSE(via.has_rport);
  EXPECT_EQ(via.rport, -1);
  EXPECT_EQ(via.params,
            ";branch=z9hG4bK776asdhds;ttl=16;maddr=224.2.0.1;received=192.0.2.1;x-unknown=1;flag");
}

TEST(ViaTest, RportWithAndWithoutValue) {
  Via via;
  ASSERT_TRUE(ParseVia("SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bK1", &via));
  EXPECT_TRUE(via.has_rport);
  EXPECT_EQ(via.rport, -1);
  ASSERT_TRUE(ParseVia("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;rport=5062", &via));
  EXPECT_TRUE(via.has_rport);
  EXPECT_EQ(via.rport, 5062);
  EXPECT_FALSE(ParseVia("SIP/2.0/UDP 192.0.2.1;rport=65536", &via));
  EXPECT_FALSE(ParseVia("SIP/2.0/UDP 192.0.2.1;rport=x", &via));
}

TEST(ViaTest, DefaultPortsByTransport) {
  Via via;
  ASSERT_TRUE(ParseVia("SIP/2.0/TLS example.com;branch=z9hG4bK1", &via));
  EXPECT_FALSE(via.has_port);
  EXPECT_EQ(via.PortOrDefault(), 5061);
  ASSERT_TRUE(ParseVia("SIP/2.0/tls example.com", &via));
  EXPECT_EQ(via.PortOrDefault(), 5061);
  ASSERT_TRUE(ParseVia("SIP/2.0/TCP example.com", &via));
  EXPECT_EQ(via.PortOrDefault(), 5060);
  EXPECT_EQ(via.branch, "");
}

TEST(ViaTest, WhiteSpaceAndFoldingAroundSeparators) {
  Via via;
  ASSERT_TRUE(ParseVia(" SIP  /\r\n 2.0 /\tTCP   host.example.com  :\r\n 5070 ;\r\n  branch ="
                       " z9hG4bK9 ; rport ",
                       &via));
  EXPECT_EQ(via.transport, "TCP");
  EXPECT_EQ(via.host, "host.example.com");
  EXPECT_EQ(via.port, 5070);
  EXPECT_EQ(via.branch, "z9hG4bK9");
  EXPECT_TRUE(via.has_rport);
}

TEST(ViaTest, ParamNamesAreCaseInsensitive) {
  Via via;
  ASSERT_TRUE(ParseVia("SIP/2.0/UDP h;BRANCH=z9hG4bKx;Received=1.2.3.4;RPORT=9", &via));
  EXPECT_EQ(via.branch, "z9hG4bKx");
  EXPECT_EQ(via.received, "1.2.3.4");
  EXPECT_EQ(via.rport, 9);
}

TEST(ViaTest, Ipv6SentBy) {
  Via via;
  ASSERT_TRUE(ParseVia("SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3", &via));
  EXPECT_TRUE(via.host_is_ipv6);
  EXPECT_EQ(via.host, "[2001:db8::9:1]");
  EXPECT_EQ(via.HostAddress(), "2001:db8::9:1");
  EXPECT_EQ(via.port, 6050);
}

TEST(ViaTest, TrailingCommentIsTolerated) {
  Via via;
  ASSERT_TRUE(ParseVia("SIP/2.0/UDP host.example.com;branch=z9hG4bK1 (a (nested) comment)", &via));
  EXPECT_EQ(via.branch, "z9hG4bK1");
  EXPECT_EQ(via.params, ";branch=z9hG4bK1");
  ASSERT_TRUE(ParseVia("SIP/2.0/UDP host.example.com(comment)", &via));
  EXPECT_EQ(via.host, "host.example.com");
  EXPECT_FALSE(ParseVia("SIP/2.0/UDP host.example.com (unterminated", &via));
  EXPECT_FALSE(ParseVia("SIP/2.0/UDP host.example.com (c);branch=z9hG4bK1", &via));
}

TEST(ViaTest, ParenthesisInQuotedValueIsNotAComment) {
  Via via;
  ASSERT_TRUE(ParseVia("SIP/2.0/UDP h.example.com;x=\"a(b\";branch=z9hG4bK7", &via));
  EXPECT_EQ(via.branch, "z9hG4bK7");
  EXPECT_FALSE(ParseVia("SIP/2.0/UDP h.example.com;x=\"a(b", &via));
}

TEST(ViaTest, Malformed) {
  Via via;
  for (std::string_view text :
       {"", "SIP", "SIP/2.0", "SIP/2.0/", "SIP/2.0/UDP", "SIP/2.0/UDP ", "SIP/2.0/UDP :5060",
        "SIP//UDP host", "/2.0/UDP host", "SIP/2.0/UDP host:", "SIP/2.0/UDP host:70000",
        "SIP/2.0/UDP host:port", "SIP/2.0/UDP host;branch", "SIP/2.0/UDP host;branch=",
        "SIP/2.0/UDP host;;branch=z9hG4bK1", "SIP/2.0/UDP host;ttl=256", "SIP/2.0/UDP host;ttl",
        "SIP/2.0/UDP host junk", "SIP/2.0/UDP ho_st", "SIP/2.0/UDP [::1",
        "SIP/2.0/UDP host;x=\"open"}) {
    EXPECT_FALSE(ParseVia(text, &via)) << text;
  }
}

}  // namespace
}  // namespace sipshard::sip

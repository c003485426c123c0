// SIP, SIPS and TEL URI parsing (RFC 3261 §19.1, §25.1; RFC 3966).
#include "sipshard/sip/uri.h"

#include "gtest/gtest.h"

namespace sipshard::sip {
namespace {

TEST(UriTest, FullSipUri) {
  const std::optional<Uri> uri =
      ParseUri("sip:alice:secretword@atlanta.com:5070;transport=tcp;lr;maddr=239.255.255.1;"
               "user=phone?subject=project%20x&priority=urgent");
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->scheme, UriScheme::kSip);
  EXPECT_EQ(uri->scheme_text, "sip");
  EXPECT_EQ(uri->user, "alice");
  EXPECT_EQ(uri->password, "secretword");
  EXPECT_EQ(uri->host, "atlanta.com");
  EXPECT_FALSE(uri->host_is_ipv6);
  EXPECT_TRUE(uri->has_port);
  EXPECT_EQ(uri->port, 5070);
  EXPECT_EQ(uri->params, ";transport=tcp;lr;maddr=239.255.255.1;user=phone");
  EXPECT_EQ(uri->Param("transport"), "tcp");
  EXPECT_TRUE(uri->loose_route());
  EXPECT_EQ(uri->Param("lr"), "");
  EXPECT_EQ(uri->Param("maddr"), "239.255.255.1");
  EXPECT_EQ(uri->Param("user"), "phone");
  EXPECT_FALSE(uri->HasParam("ttl"));
  EXPECT_EQ(uri->headers, "subject=project%20x&priority=urgent");
}

TEST(UriTest, MinimalUrisAndDefaults) {
  std::optional<Uri> uri = ParseUri("sip:example.com");
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->user, "");
  EXPECT_EQ(uri->host, "example.com");
  EXPECT_EQ(uri->PortOrDefault(), 5060);
  EXPECT_FALSE(uri->loose_route());

  uri = ParseUri("SIPS:Bob@Biloxi.Example.COM");
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->scheme, UriScheme::kSips);
  EXPECT_EQ(uri->scheme_text, "SIPS");
  EXPECT_EQ(uri->PortOrDefault(), 5061);
  EXPECT_EQ(uri->raw, "SIPS:Bob@Biloxi.Example.COM");

  uri = ParseUri("sip:192.0.2.4:0");
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->host, "192.0.2.4");
  EXPECT_TRUE(uri->has_port);
  EXPECT_EQ(uri->port, 0);
}

TEST(UriTest, ParamNamesAreCaseInsensitive) {
  const std::optional<Uri> uri = ParseUri("sip:host;TRANSPORT=UDP;Lr");
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->Param("transport"), "UDP");
  EXPECT_TRUE(uri->loose_route());
}

TEST(UriTest, EscapesInUserPasswordParamsAndHeaders) {
  const std::optional<Uri> uri =
      ParseUri("sip:%61lice%40home:p%61ss@example.com;n%61me=v%25;x?h%41=v%20");
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->user, "%61lice%40home");
  EXPECT_EQ(uri->password, "p%61ss");
  EXPECT_EQ(uri->Param("n%61me"), "v%25");
  EXPECT_EQ(uri->headers, "h%41=v%20");
  // A '%' that does not start %HH is invalid in every part.
  EXPECT_FALSE(ParseUri("sip:al%6@example.com").has_value());
  EXPECT_FALSE(ParseUri("sip:alice:p%zz@example.com").has_value());
  EXPECT_FALSE(ParseUri("sip:example.com;p=%4").has_value());
  EXPECT_FALSE(ParseUri("sip:example.com?h=%").has_value());
}

TEST(UriTest, UserMayHoldSemicolonsAndQuestionMarks) {
  const std::optional<Uri> uri = ParseUri("sip:user;par=u%40example.net?x@example.com;lr");
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->user, "user;par=u%40example.net?x");
  EXPECT_EQ(uri->host, "example.com");
  EXPECT_EQ(uri->params, ";lr");
}

TEST(UriTest, Ipv6Hosts) {
  std::optional<Uri> uri = ParseUri("sip:alice@[2001:db8::1]:5080;transport=tcp");
  ASSERT_TRUE(uri.has_value());
  EXPECT_TRUE(uri->host_is_ipv6);
  EXPECT_EQ(uri->host, "[2001:db8::1]");
  EXPECT_EQ(uri->HostAddress(), "2001:db8::1");
  EXPECT_EQ(uri->port, 5080);
  EXPECT_EQ(uri->Param("transport"), "tcp");
  uri = ParseUri("sip:[::1]");
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->HostAddress(), "::1");
}

TEST(UriTest, TelUri) {
  std::optional<Uri> uri = ParseUri("tel:+1-201-555-0123;phone-context=example.com");
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->scheme, UriScheme::kTel);
  EXPECT_EQ(uri->user, "+1-201-555-0123");
  EXPECT_EQ(uri->params, ";phone-context=example.com");
  EXPECT_EQ(uri->Param("phone-context"), "example.com");
  EXPECT_EQ(uri->host, "");
  uri = ParseUri("tel:7042");
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->user, "7042");
  EXPECT_FALSE(ParseUri("tel:").has_value());
  EXPECT_FALSE(ParseUri("tel:;x=y").has_value());
  EXPECT_FALSE(ParseUri("tel:12%G4").has_value());
}

TEST(UriTest, OtherSchemesKeepOnlySchemeAndRaw) {
  const std::optional<Uri> uri = ParseUri("urn:service:sos");
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->scheme, UriScheme::kOther);
  EXPECT_EQ(uri->scheme_text, "urn");
  EXPECT_EQ(uri->raw, "urn:service:sos");
  EXPECT_EQ(uri->host, "");
  EXPECT_FALSE(ParseUri("http://a b").has_value());
  EXPECT_FALSE(ParseUri("ht tp:x").has_value());
}

TEST(UriTest, MalformedUris) {
  for (std::string_view text :
       {"", ":", "sip", "sip:", "sipexample.com", ":example.com", "sip:@example.com",
        "sip:user@", "sip:user@:5060", "sip:host:", "sip:host:abc", "sip:host:65536",
        "sip:host:5060x", "sip:host;", "sip:host;;lr", "sip:host;=v", "sip:ho st",
        "sip:host\t", "sip:ho\x01st", "sip:host\x7f", "sip:-host.com", "sip:host-.com",
        "sip:a..b", "sip:.", "sip:host_name.com", "sip:1.2.3", "sip:1.2.3.4.5",
        "sip:256.1.1.1", "sip:host.123", "sip:[2001:db8::1", "sip:[2001:db8::1]:",
        "sip:[2001:db8:::1]", "sip:user@host@other", "sip:ho%41st"}) {
    EXPECT_FALSE(ParseUri(text).has_value()) << text;
  }
}

TEST(UriTest, HostSyntax) {
  for (std::string_view host : {"example.com", "example.com.", "a", "a-b.c-d.example",
                                "x1.example", "192.0.2.1", "0.0.0.0", "255.255.255.255",
                                "host9.x", "EXAMPLE.COM"}) {
    EXPECT_TRUE(IsValidHost(host)) << host;
  }
  for (std::string_view host : {"", ".", "..", "a..b", ".a", "a.b..", "-a", "a-", "a_b",
                                "1.2.3.4.", "01234.1.1.1", "1.2.3.999", "12", "a.1b",
                                "host name"}) {
    EXPECT_FALSE(IsValidHost(host)) << host;
  }
}

TEST(UriTest, HasValidEscapes) {
  EXPECT_TRUE(HasValidEscapes(""));
  EXPECT_TRUE(HasValidEscapes("abc"));
  EXPECT_TRUE(HasValidEscapes("%41%4a%4A"));
  EXPECT_FALSE(HasValidEscapes("%"));
  EXPECT_FALSE(HasValidEscapes("%4"));
  EXPECT_FALSE(HasValidEscapes("a%4g"));
  EXPECT_FALSE(HasValidEscapes("%%41"));
}

}  // namespace
}  // namespace sipshard::sip

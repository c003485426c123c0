// name-addr / addr-spec values (RFC 3261 §20.10, §25.1).
#include "sipshard/sip/name_addr.h"

#include "gtest/gtest.h"

namespace sipshard::sip {
namespace {

TEST(NameAddrTest, QuotedDisplayName) {
  NameAddr na;
  ASSERT_TRUE(ParseNameAddr(" \"Alice \\\"A\\\" Liddell\" <sip:alice@atlanta.com>;tag=88sja8x ", &na));
  EXPECT_EQ(na.display_name, "\"Alice \\\"A\\\" Liddell\"");
  EXPECT_EQ(na.uri, "sip:alice@atlanta.com");
  EXPECT_TRUE(na.has_angle_brackets);
  EXPECT_EQ(na.params, ";tag=88sja8x");
  EXPECT_EQ(na.tag, "88sja8x");
  EXPECT_FALSE(na.is_wildcard);
  EXPECT_EQ(na.raw, "\"Alice \\\"A\\\" Liddell\" <sip:alice@atlanta.com>;tag=88sja8x");
}

TEST(NameAddrTest, TokenDisplayNames) {
  NameAddr na;
  ASSERT_TRUE(ParseNameAddr("Bob Smith <sips:bob@biloxi.com>", &na));
  EXPECT_EQ(na.display_name, "Bob Smith");
  EXPECT_EQ(na.uri, "sips:bob@biloxi.com");
  ASSERT_TRUE(ParseNameAddr("caller<sip:caller@example.com>", &na));
  EXPECT_EQ(na.display_name, "caller");
  ASSERT_TRUE(ParseNameAddr("<sip:x@y>", &na));
  EXPECT_EQ(na.display_name, "");
}

TEST(NameAddrTest, AddrSpecParamsBelongToTheHeader) {
  NameAddr na;
  ASSERT_TRUE(ParseNameAddr("sip:+16505552222@ss1.example.net;user=phone;tag=1", &na));
  EXPECT_FALSE(na.has_angle_brackets);
  EXPECT_EQ(na.uri, "sip:+16505552222@ss1.example.net");
  EXPECT_EQ(na.params, ";user=phone;tag=1");
  EXPECT_EQ(na.tag, "1");
  ASSERT_TRUE(ParseNameAddr("<sip:+1@h;user=phone>;tag=2", &na));
  EXPECT_EQ(na.uri, "sip:+1@h;user=phone");
  EXPECT_EQ(na.tag, "2");
}

TEST(NameAddrTest, ParamsWithWhiteSpaceAndQuotedValues) {
  NameAddr na;
  ASSERT_TRUE(ParseNameAddr("<sip:a@b> ;\r\n tag = x1 ; q=0.7; reason=\"a;b\"", &na));
  EXPECT_EQ(na.tag, "x1");
  ASSERT_TRUE(ParseNameAddr("<sip:a@b>;TAG=Up", &na));
  EXPECT_EQ(na.tag, "Up");
}

TEST(NameAddrTest, Wildcard) {
  NameAddr na;
  ASSERT_TRUE(ParseNameAddr("*", &na));
  EXPECT_TRUE(na.is_wildcard);
  EXPECT_EQ(na.uri, "");
  ASSERT_TRUE(ParseNameAddr(" * ;expires=0", &na));
  EXPECT_TRUE(na.is_wildcard);
  EXPECT_EQ(na.params, ";expires=0");
}

TEST(NameAddrTest, UnknownSchemesAreKept) {
  NameAddr na;
  ASSERT_TRUE(ParseNameAddr("<http://www.example.com>;tag=3234233", &na));
  EXPECT_EQ(na.uri, "http://www.example.com");
  ASSERT_TRUE(ParseNameAddr("isbn:2983792873", &na));
  EXPECT_EQ(na.uri, "isbn:2983792873");
}

TEST(NameAddrTest, Malformed) {
  NameAddr na;
  for (std::string_view text :
       {"", "   ", "<>", "< >", "<sip:a@b", "\"unterminated <sip:a@b>", "\"q\" sip:a@b",
        "Bell, Alexander <sip:a@b>", "Joe \"x\" <sip:a@b>", "< sip:a@b >", "<sip:a @b>",
        "<sip:<a@b>", "<sip:a@b> junk", "<sip:a@b>;", "<sip:a@b>;;tag=1", "sip:a@b?x=1",
        "sip:a,b@c", "sip:a@b <sip:c@d>", "sip:a\"@b", "*junk"}) {
    EXPECT_FALSE(ParseNameAddr(text, &na)) << text;
  }
}

}  // namespace
}  // namespace sipshard::sip

// Lexical helpers (RFC 3261 §25.1): trimming, numbers, quoted strings,
// comments, list splitting and parameters.
#include "sipshard/sip/text.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sipshard::sip {
namespace {

std::vector<std::string> Split(std::string_view value, bool* ok = nullptr) {
  ListSplitter split(value);
  std::vector<std::string> out;
  std::string_view element;
  while (split.Next(&element)) out.emplace_back(element);
  if (ok != nullptr) *ok = split.ok();
  return out;
}

TEST(TextTest, EqualsIgnoreCase) {
  EXPECT_TRUE(EqualsIgnoreCase("Call-ID", "call-id"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("Call-ID", "Call-IDs"));
  EXPECT_FALSE(EqualsIgnoreCase("a-b", "a_b"));
  EXPECT_FALSE(EqualsIgnoreCase("@", "`"));  // differ by 0x20 but are not letters
}

TEST(TextTest, TrimLwsIncludesFoldedLineBreaks) {
  EXPECT_EQ(TrimLws(" \t\r\n value \r\n "), "value");
  EXPECT_EQ(TrimLws("a \r\n b"), "a \r\n b");
  EXPECT_EQ(TrimLws(""), "");
  EXPECT_EQ(TrimLws(" \r\n"), "");
  EXPECT_EQ(TrimLeadingLws("  x "), "x ");
  EXPECT_EQ(TrimTrailingLws("  x "), "  x");
}

TEST(TextTest, ParseDecimal) {
  EXPECT_EQ(ParseDecimal("0", 10), 0u);
  EXPECT_EQ(ParseDecimal("0068", 255), 68u);
  EXPECT_EQ(ParseDecimal("255", 255), 255u);
  EXPECT_EQ(ParseDecimal("256", 255), std::nullopt);
  EXPECT_EQ(ParseDecimal("9999999999999999999", UINT64_MAX), 9999999999999999999u);
  EXPECT_EQ(ParseDecimal("36893488147419103232", UINT64_MAX), std::nullopt);  // > 19 digits
  EXPECT_EQ(ParseDecimal("", 10), std::nullopt);
  EXPECT_EQ(ParseDecimal("-1", 10), std::nullopt);
  EXPECT_EQ(ParseDecimal("+1", 10), std::nullopt);
  EXPECT_EQ(ParseDecimal(" 1", 10), std::nullopt);
  EXPECT_EQ(ParseDecimal("1a", 10), std::nullopt);
}

TEST(TextTest, SkipQuotedString) {
  EXPECT_EQ(SkipQuotedString("\"abc\" x", 0), 5u);
  EXPECT_EQ(SkipQuotedString("x\"\"", 1), 3u);
  EXPECT_EQ(SkipQuotedString("\"a\\\"b\"", 0), 6u);  // "a\"b"
  EXPECT_EQ(SkipQuotedString("\"a\\\\\"b", 0), 5u);  // "a\\" then b
  EXPECT_EQ(SkipQuotedString("\"abc", 0), std::string_view::npos);
  EXPECT_EQ(SkipQuotedString("\"abc\\\"", 0), std::string_view::npos);
  EXPECT_EQ(SkipQuotedString("\"abc\\", 0), std::string_view::npos);
}

TEST(TextTest, SkipComment) {
  EXPECT_EQ(SkipComment("(a) b", 0), 3u);
  EXPECT_EQ(SkipComment("(a (nested (deep)) b)x", 0), 21u);
  EXPECT_EQ(SkipComment("(a \\) b)", 0), 8u);
  EXPECT_EQ(SkipComment("(a (b)", 0), std::string_view::npos);
  EXPECT_EQ(SkipComment("(\\", 0), std::string_view::npos);
}

TEST(TextTest, ListSplitterTopLevelCommasOnly) {
  EXPECT_EQ(Split("a, b ,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Split("\"Doe, John\" <sip:j@d>, <sip:x,y@z>;p=\"1,2\""),
            (std::vector<std::string>{"\"Doe, John\" <sip:j@d>", "<sip:x,y@z>;p=\"1,2\""}));
  EXPECT_EQ(Split(" ,, a ,\r\n b,, "), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Split(""), std::vector<std::string>{});
  EXPECT_EQ(Split("\"a\\\",b\",c"), (std::vector<std::string>{"\"a\\\",b\"", "c"}));
}

TEST(TextTest, ListSplitterReportsUnterminatedElements) {
  bool ok = true;
  Split("a, \"b, c", &ok);
  EXPECT_FALSE(ok);
  Split("<sip:a, b", &ok);
  EXPECT_FALSE(ok);
  Split("<a>, b", &ok);
  EXPECT_TRUE(ok);
}

TEST(TextTest, ParamIterator) {
  ParamIterator it(" ;a=1 ; B ;\r\n c = \"x;y\" ;d=");
  std::string_view name, value;
  ASSERT_TRUE(it.Next(&name, &value));
  EXPECT_EQ(name, "a");
  EXPECT_EQ(value, "1");
  ASSERT_TRUE(it.Next(&name, &value));
  EXPECT_EQ(name, "B");
  EXPECT_EQ(value, "");
  ASSERT_TRUE(it.Next(&name, &value));
  EXPECT_EQ(name, "c");
  EXPECT_EQ(value, "\"x;y\"");
  ASSERT_TRUE(it.Next(&name, &value));
  EXPECT_EQ(name, "d");
  EXPECT_EQ(value, "");
  EXPECT_FALSE(it.Next(&name, &value));
  EXPECT_TRUE(it.ok());
}

TEST(TextTest, ParamIteratorErrors) {
  std::string_view name, value;
  for (std::string_view params : {";", ";;a", ";=v", "junk", ";a junk", ";a=\"open", ";a=1 x"}) {
    ParamIterator it(params);
    while (it.Next(&name, &value)) {
    }
    EXPECT_FALSE(it.ok()) << params;
  }
  ParamIterator empty("");
  EXPECT_FALSE(empty.Next(&name, &value));
  EXPECT_TRUE(empty.ok());
}

TEST(TextTest, FindParam) {
  std::string_view value;
  EXPECT_TRUE(FindParam(";lr;Transport=TCP", "transport", &value));
  EXPECT_EQ(value, "TCP");
  EXPECT_TRUE(FindParam(";lr;Transport=TCP", "LR", &value));
  EXPECT_EQ(value, "");
  EXPECT_FALSE(FindParam(";lr;Transport=TCP", "maddr", &value));
  EXPECT_FALSE(FindParam(";lrx", "lr", &value));
}

}  // namespace
}  // namespace sipshard::sip

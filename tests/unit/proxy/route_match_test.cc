// Router tests for the Request-URI regex and header conditions of
// [routes.match] (first match wins; compact header names count).
#include <string>

#include "gtest/gtest.h"
#include "sipshard/config/loader.h"
#include "sipshard/proxy/router.h"
#include "sipshard/sip/parser.h"

namespace sipshard::proxy {
namespace {

constexpr char kConfig[] = R"toml(
[[routes]]
name = "regex-user"
action = "drop"
  [routes.match]
  ruri_user_regex = "^\\+49[0-9]+$"
[[routes]]
name = "regex-host"
action = "drop"
  [routes.match]
  ruri_host_regex = "(^|\\.)example\\.org$"
[[routes]]
name = "pai"
action = "drop"
  [routes.match]
  headers = [{ name = "P-Asserted-Identity", present = true }]
[[routes]]
name = "no-subject"
action = "drop"
  [routes.match]
  headers = [{ name = "Subject", present = false }, { name = "X-Foo", value = "bar" }]
[[routes]]
name = "default"
action = "drop"
)toml";

class RouteMatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<config::Config> loaded = config::LoadConfigString(kConfig);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    config_ = std::move(*loaded);
  }

  std::string Match(const std::string& ruri, const std::string& extra = "") {
    text_ = "OPTIONS " + ruri + " SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa\r\n"
            "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n" +
            extra + "Content-Length: 0\r\n\r\n";
    sip::Message msg;
    EXPECT_EQ(sip::ParseMessage(text_, sip::ParseLimits{}, &msg), sip::ParseError::kNone);
    Router router(config_);
    const config::RouteConfig* route =
        router.Match(msg, *transport::SocketAddress::Parse("10.0.0.1", 5060));
    return route == nullptr ? "" : route->name;
  }

  config::Config config_;
  std::string text_;
};

TEST_F(RouteMatchTest, RegexesSearchUserAndHost) {
  EXPECT_EQ(Match("sip:+4930123@x.net"), "regex-user");
  EXPECT_EQ(Match("sip:+4430123@x.net", "Subject: s\r\n"), "default");
  EXPECT_EQ(Match("sip:bob@sip.example.org", "Subject: s\r\n"), "regex-host");
  EXPECT_EQ(Match("sip:bob@example.org.evil", "Subject: s\r\n"), "default");
}

TEST_F(RouteMatchTest, HeaderPresenceAndValue) {
  EXPECT_EQ(Match("sip:bob@x.net", "P-Asserted-Identity: <sip:a@b>\r\n"), "pai");
  EXPECT_EQ(Match("sip:bob@x.net", "p-asserted-identity: <sip:a@b>\r\n"), "pai");
  EXPECT_EQ(Match("sip:bob@x.net", "x-foo: bar\r\n"), "no-subject");
  EXPECT_EQ(Match("sip:bob@x.net", "X-Foo: baz\r\n"), "default");
  // "s" is the compact form of Subject: present, so no-subject fails.
  EXPECT_EQ(Match("sip:bob@x.net", "s: hi\r\nX-Foo: bar\r\n"), "default");
}

}  // namespace
}  // namespace sipshard::proxy

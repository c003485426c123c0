// Unit tests of the route table: first match wins, every condition of a
// route must hold, an empty match catches everything.
#include "sipshard/proxy/router.h"

#include <string>

#include "gtest/gtest.h"
#include "sipshard/config/loader.h"
#include "sipshard/sip/parser.h"

namespace sipshard::proxy {
namespace {

using transport::SocketAddress;

constexpr char kConfig[] = R"toml(
[[sets]]
name = "farm"
  [[sets.destinations]]
  uri = "sip:10.0.0.1"

[[routes]]
name = "first-invite"
action = "forward"
set = "farm"
  [routes.match]
  methods = ["INVITE"]
  ruri_user_prefix = "+49"

[[routes]]
name = "second-invite"
action = "forward"
set = "farm"
  [routes.match]
  methods = ["INVITE", "MESSAGE"]

[[routes]]
name = "host"
action = "drop"
  [routes.match]
  ruri_host = "PBX.Example.COM"

[[routes]]
name = "host-v6"
action = "drop"
  [routes.match]
  ruri_host = "[2001:DB8::A]"

[[routes]]
name = "trusted"
action = "reply"
reply_code = 403
  [routes.match]
  source_cidrs = ["10.0.0.0/8", "2001:db8:1::/48", "192.0.2.7"]

[[routes]]
name = "user-and-source"
action = "drop"
  [routes.match]
  ruri_user_prefix = "svc"
  source_cidrs = ["198.51.100.0/24"]
)toml";

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override { Load(std::string(kConfig)); }

  void Load(const std::string& toml) {
    absl::StatusOr<config::Config> loaded = config::LoadConfigString(toml);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    config_ = std::move(*loaded);
  }

  // Returns the name of the route `method ruri` from `source` takes, or
  // "<none>".
  std::string Match(const std::string& method, const std::string& ruri,
                    const char* source = "203.0.113.1") {
    text_ = method + " " + ruri +
            " SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKr\r\n"
            "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: r@test\r\nCSeq: 1 " +
            method + "\r\nContent-Length: 0\r\n\r\n";
    EXPECT_EQ(sip::ParseMessage(text_, sip::ParseLimits(), &msg_), sip::ParseError::kNone)
        << text_;
    std::optional<SocketAddress> from = SocketAddress::Parse(source, 5060);
    EXPECT_TRUE(from.has_value()) << source;
    const Router router(config_);
    const config::RouteConfig* route = router.Match(msg_, from.value_or(SocketAddress()));
    return route == nullptr ? "<none>" : route->name;
  }

  config::Config config_;
  std::string text_;
  sip::Message msg_;
};

TEST_F(RouterTest, FirstMatchingRouteWins) {
  EXPECT_EQ(Match("INVITE", "sip:+4930123@x.example"), "first-invite");
  // Also matched by "trusted" further down: order decides.
  EXPECT_EQ(Match("INVITE", "sip:+4930123@x.example", "10.1.2.3"), "first-invite");
  EXPECT_EQ(Match("INVITE", "sip:+3312345@x.example"), "second-invite");
}

TEST_F(RouterTest, MethodsAreExactTokens) {
  EXPECT_EQ(Match("MESSAGE", "sip:bob@x.example"), "second-invite");
  EXPECT_EQ(Match("BYE", "sip:bob@x.example"), "<none>");
  // A method that merely starts like a listed one does not match.
  EXPECT_EQ(Match("INVITEX", "sip:bob@x.example"), "<none>");
}

TEST_F(RouterTest, UserPrefixIsByteExact) {
  EXPECT_EQ(Match("INVITE", "sip:+49@x.example"), "first-invite");
  EXPECT_EQ(Match("INVITE", "sip:+4@x.example"), "second-invite");  // shorter than prefix
  EXPECT_EQ(Match("INVITE", "sip:x.example"), "second-invite");     // no user at all
  EXPECT_EQ(Match("INVITE", "sip:%2B49@x.example"), "second-invite");  // still escaped
  EXPECT_EQ(Match("BYE", "sip:svc-1@x.example", "198.51.100.9"), "user-and-source");
  EXPECT_EQ(Match("BYE", "sip:SVC-1@x.example", "198.51.100.9"), "<none>");
}

TEST_F(RouterTest, HostIsCaseInsensitive) {
  EXPECT_EQ(config_.FindRoute("host")->match.ruri_host, "pbx.example.com");
  EXPECT_EQ(Match("BYE", "sip:bob@pbx.example.com"), "host");
  EXPECT_EQ(Match("BYE", "sip:bob@PBX.EXAMPLE.com:5080;transport=udp"), "host");
  EXPECT_EQ(Match("BYE", "sip:bob@pbx.example.co"), "<none>");
  EXPECT_EQ(Match("BYE", "sip:bob@xpbx.example.com"), "<none>");
}

TEST_F(RouterTest, Ipv6HostMatchesWithoutBrackets) {
  EXPECT_EQ(config_.FindRoute("host-v6")->match.ruri_host, "2001:db8::a");
  EXPECT_EQ(Match("BYE", "sip:bob@[2001:db8::a]"), "host-v6");
  EXPECT_EQ(Match("BYE", "sip:bob@[2001:DB8::A]:5060"), "host-v6");
  EXPECT_EQ(Match("BYE", "sip:bob@[2001:db8::b]"), "<none>");
}

TEST_F(RouterTest, SourceCidrsIpv4AndIpv6) {
  EXPECT_EQ(Match("BYE", "sip:bob@x.example", "10.0.0.0"), "trusted");
  EXPECT_EQ(Match("BYE", "sip:bob@x.example", "10.255.255.255"), "trusted");
  EXPECT_EQ(Match("BYE", "sip:bob@x.example", "11.0.0.0"), "<none>");
  EXPECT_EQ(Match("BYE", "sip:bob@x.example", "192.0.2.7"), "trusted");
  EXPECT_EQ(Match("BYE", "sip:bob@x.example", "192.0.2.8"), "<none>");
  EXPECT_EQ(Match("BYE", "sip:bob@x.example", "2001:db8:1:ffff::1"), "trusted");
  EXPECT_EQ(Match("BYE", "sip:bob@x.example", "2001:db8:2::1"), "<none>");
  // An IPv4 block never matches an IPv6 source, even a mapped one.
  EXPECT_EQ(Match("BYE", "sip:bob@x.example", "::ffff:10.0.0.1"), "<none>");
}

TEST_F(RouterTest, AllConditionsOfARouteMustHold) {
  EXPECT_EQ(Match("BYE", "sip:svc-1@x.example", "198.51.100.9"), "user-and-source");
  EXPECT_EQ(Match("BYE", "sip:svc-1@x.example", "198.51.101.9"), "<none>");
  EXPECT_EQ(Match("BYE", "sip:other@x.example", "198.51.100.9"), "<none>");
}

TEST_F(RouterTest, CatchAllTakesEverythingLeft) {
  Load(std::string(kConfig) +
       "\n[[routes]]\nname = \"rest\"\naction = \"drop\"\n");
  EXPECT_EQ(Match("BYE", "sip:bob@x.example"), "rest");
  EXPECT_EQ(Match("REGISTER", "sip:registrar.example"), "rest");
  EXPECT_EQ(Match("INVITE", "sip:+49@x.example"), "first-invite");
}

}  // namespace
}  // namespace sipshard::proxy

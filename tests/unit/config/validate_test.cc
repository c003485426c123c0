#include "sipshard/config/validate.h"

#include <sys/socket.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sipshard/config/config.h"

namespace sipshard::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

DestinationSetConfig Set(std::string name, std::vector<std::string> uris) {
  DestinationSetConfig set;
  set.name = std::move(name);
  for (std::string& uri : uris) {
    DestinationConfig destination;
    destination.uri = std::move(uri);
    set.destinations.push_back(std::move(destination));
  }
  return set;
}

RouteConfig Forward(std::string name, std::string set) {
  RouteConfig route;
  route.name = std::move(name);
  route.action = RouteAction::kForward;
  route.set = std::move(set);
  return route;
}

TEST(FinalizeConfigTest, ResolvesSetIndexesAndDefaultIds) {
  Config config;
  config.sets.push_back(Set("a", {"sip:10.0.0.1"}));
  config.sets.push_back(Set("b", {"sip:10.0.0.2"}));
  config.sets[0].id = 7;
  RouteConfig reply;
  reply.name = "ping";
  reply.action = RouteAction::kReply;
  reply.reply_code = 200;
  reply.match.methods = {"OPTIONS"};
  config.routes.push_back(reply);
  config.routes.push_back(Forward("to-b", "b"));

  EXPECT_THAT(FinalizeConfig(config), IsEmpty());
  EXPECT_EQ(config.sets[0].id, 7);
  EXPECT_EQ(config.sets[1].id, 2);
  EXPECT_EQ(config.routes[0].set_index, RouteConfig::kNoSet);
  EXPECT_EQ(config.routes[1].set_index, 1);
  EXPECT_EQ(config.FindSet("b"), &config.sets[1]);
  EXPECT_EQ(config.FindSet("c"), nullptr);
  EXPECT_EQ(config.FindRoute("to-b"), &config.routes[1]);
}

TEST(FinalizeConfigTest, ReportsEveryCrossKeyIssueByPath) {
  Config config;
  config.server.listen.push_back(config.server.listen[0]);
  config.server.cpu_affinity = {true, {0}};
  config.timers.fr_inv_timeout_ms = 1000;
  config.sets.push_back(Set("a", {}));
  config.routes.push_back(Forward("r", "missing"));
  config.routes.push_back(Forward("r", ""));

  EXPECT_THAT(
      FinalizeConfig(config),
      ElementsAre(
          ConfigIssue{"server.listen[1]",
                      "duplicate listen address \"udp:127.0.0.1:5060\" (also server.listen[0])"},
          ConfigIssue{"server.cpu_affinity",
                      "lists 1 CPU ids but server.shards is 2; give exactly one CPU id per "
                      "shard"},
          ConfigIssue{"timers.fr_inv_timeout_ms",
                      "must be >= timers.fr_timeout_ms (5000), got 1000"},
          ConfigIssue{"sets[0].destinations", "at least one destination is required"},
          ConfigIssue{"routes[0].set", "unknown destination set \"missing\""},
          ConfigIssue{"routes[1].name", "duplicate route name \"r\" (also routes[0])"},
          ConfigIssue{"routes[1].set", "a forward route needs a destination set"},
          ConfigIssue{"routes[1]",
                      "unreachable: routes[0] (\"r\") has no [routes.match] and takes every "
                      "request; move the catch-all route last"}));
}

TEST(FinalizeConfigTest, SerialGroupsNeedsThePriorityAlgorithm) {
  Config config;
  config.sets.push_back(Set("a", {"sip:10.0.0.1"}));
  config.sets.push_back(Set("b", {"sip:10.0.0.2"}));
  config.sets[0].mode = ForwardMode::kSerialGroups;
  config.sets[0].algorithm = Algorithm::kPriority;
  config.sets[1].mode = ForwardMode::kSerialGroups;
  config.sets[1].algorithm = Algorithm::kRoundRobin;
  config.routes.push_back(Forward("r", "a"));
  EXPECT_THAT(FinalizeConfig(config),
              ElementsAre(ConfigIssue{"sets[1].mode",
                                      "\"serial-groups\" needs algorithm = \"priority\" (it "
                                      "forks one priority group at a time), got algorithm = "
                                      "\"round-robin\""}));
}

TEST(FinalizeConfigTest, RequiresARoute) {
  Config config;
  EXPECT_THAT(FinalizeConfig(config),
              ElementsAre(ConfigIssue{"routes", "at least one [[routes]] entry is required"}));
}

TEST(ConfigTypesTest, EnumSpellings) {
  EXPECT_EQ(ToString(Algorithm::kLeastLoaded), "least-loaded");
  EXPECT_EQ(ToString(Algorithm::kHashRuriUser), "hash-ruri-user");
  EXPECT_EQ(ToString(ForwardMode::kParallel), "parallel");
  EXPECT_EQ(ToString(ForwardMode::kSerialGroups), "serial-groups");
  EXPECT_EQ(ToString(RouteAction::kDrop), "drop");
  EXPECT_EQ(ToString(DestinationState::kDraining), "draining");
  EXPECT_EQ(ToString(LogLevel::kWarning), "warning");
  EXPECT_EQ(ToString(Transport::kUdp), "udp");
}

TEST(ConfigTypesTest, StatusCodeSetIgnoresCodesOutsideFailureRange) {
  StatusCodeSet codes = {200, 300, 699, 700};
  EXPECT_EQ(codes.Codes(), (std::vector<int>{300, 699}));
  codes.AddClass(4);
  EXPECT_EQ(codes.size(), 102u);
  EXPECT_FALSE(codes.Contains(700));
  EXPECT_FALSE(codes.Contains(-1));
}

TEST(ConfigTypesTest, CidrContainsHandlesPartialBytes) {
  CidrBlock block;
  block.family = AF_INET;
  block.address = {192, 168, 0, 0};
  block.prefix_length = 20;  // 192.168.0.0 - 192.168.15.255
  const uint8_t last[4] = {192, 168, 15, 255};
  const uint8_t next[4] = {192, 168, 16, 0};
  EXPECT_TRUE(block.Contains(AF_INET, last));
  EXPECT_FALSE(block.Contains(AF_INET, next));
  EXPECT_FALSE(block.Contains(AF_INET6, last));
  block.prefix_length = 0;
  EXPECT_TRUE(block.Contains(AF_INET, next));
}

}  // namespace
}  // namespace sipshard::config

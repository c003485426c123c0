// Loader tests for the destination health keys of a set: [sets.probing],
// failure_reply_*, passive_* and retry_after_max_ms.
#include <initializer_list>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "sipshard/config/loader.h"

namespace sipshard::config {
namespace {

std::string Doc(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (std::string_view line : lines) {
    out.append(line);
    out.push_back('\n');
  }
  return out;
}

constexpr std::string_view kDropRoute = "[[routes]]\nname = \"r\"\naction = \"drop\"\n";

std::string ErrorOf(std::string_view toml) {
  absl::StatusOr<Config> result = LoadConfigString(toml, "t.toml");
  EXPECT_FALSE(result.ok()) << "loaded without error";
  if (result.ok()) return "";
  return std::string(result.status().message());
}

Config LoadOk(std::string_view toml) {
  absl::StatusOr<Config> result = LoadConfigString(toml, "t.toml");
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : Config{};
}

TEST(HealthConfigTest, Defaults) {
  Config config = LoadOk(Doc({"[[sets]]", "name = \"a\"", "  [[sets.destinations]]",
                              "  uri = \"sip:10.0.0.1\""}) +
                         std::string(kDropRoute));
  const DestinationSetConfig& set = config.sets[0];
  EXPECT_FALSE(set.probing.enabled);
  EXPECT_EQ(set.probing.interval_ms, 5000);
  EXPECT_EQ(set.probing.timeout_ms, 2000);
  EXPECT_EQ(set.probing.fall, 3);
  EXPECT_EQ(set.probing.rise, 2);
  EXPECT_TRUE(set.probing.accepted_codes.Contains(404));
  EXPECT_TRUE(set.probing.accepted_codes.Contains(486));
  EXPECT_TRUE(set.probing.accepted_codes.Contains(302));
  EXPECT_TRUE(set.probing.accepted_codes.Contains(603));
  EXPECT_FALSE(set.probing.accepted_codes.Contains(408));
  EXPECT_FALSE(set.probing.accepted_codes.Contains(500));
  EXPECT_FALSE(set.probing.accepted_codes.Contains(503));
  EXPECT_EQ(set.failure_reply_code, 0);
  EXPECT_EQ(set.passive_fall, 0);
  EXPECT_EQ(set.passive_hold_ms, 30000);
  EXPECT_EQ(set.retry_after_max_ms, 300000);
}

TEST(HealthConfigTest, AllKeys) {
  Config config = LoadOk(Doc({
                             "[[sets]]",
                             "name = \"a\"",
                             "failure_reply_code = 500",
                             "failure_reply_reason = \"All destinations failed\"",
                             "passive_fall = 4",
                             "passive_hold_ms = 2000",
                             "retry_after_max_ms = 60000",
                             "  [sets.probing]",
                             "  enabled = true",
                             "  interval_ms = 50",
                             "  timeout_ms = 40",
                             "  fall = 2",
                             "  rise = 1",
                             "  accepted_codes = [404, \"4xx\"]",
                             "  [[sets.destinations]]",
                             "  uri = \"sip:10.0.0.1\"",
                         }) +
                         std::string(kDropRoute));
  const DestinationSetConfig& set = config.sets[0];
  EXPECT_TRUE(set.probing.enabled);
  EXPECT_EQ(set.probing.interval_ms, 50);
  EXPECT_EQ(set.probing.timeout_ms, 40);
  EXPECT_EQ(set.probing.fall, 2);
  EXPECT_EQ(set.probing.rise, 1);
  EXPECT_TRUE(set.probing.accepted_codes.Contains(486));
  EXPECT_FALSE(set.probing.accepted_codes.Contains(302));
  EXPECT_EQ(set.failure_reply_code, 500);
  EXPECT_EQ(set.failure_reply_reason, "All destinations failed");
  EXPECT_EQ(set.passive_fall, 4);
  EXPECT_EQ(set.passive_hold_ms, 2000);
  EXPECT_EQ(set.retry_after_max_ms, 60000);
}

TEST(HealthConfigTest, ShortIntervalShrinksTheDefaultTimeout) {
  Config config = LoadOk(Doc({"[[sets]]", "name = \"a\"", "  [sets.probing]",
                              "  interval_ms = 50", "  [[sets.destinations]]",
                              "  uri = \"sip:10.0.0.1\""}) +
                         std::string(kDropRoute));
  EXPECT_EQ(config.sets[0].probing.timeout_ms, 50);
}

TEST(HealthConfigTest, FailureReasonDefaultsToTheStandardPhrase) {
  Config config = LoadOk(Doc({"[[sets]]", "name = \"a\"", "failure_reply_code = 480",
                              "  [[sets.destinations]]", "  uri = \"sip:10.0.0.1\""}) +
                         std::string(kDropRoute));
  EXPECT_EQ(config.sets[0].failure_reply_reason, "Temporarily Unavailable");
}

TEST(HealthConfigErrorTest, KeyPathAndLine) {
  EXPECT_EQ(ErrorOf(Doc({"[[sets]]", "name = \"a\"", "  [sets.probing]", "  intervall_ms = 50",
                         "  [[sets.destinations]]", "  uri = \"sip:10.0.0.1\""}) +
                    std::string(kDropRoute)),
            "t.toml:4:3: sets[0].probing.intervall_ms: unknown key (did you mean "
            "\"interval_ms\"?)");
  EXPECT_EQ(ErrorOf(Doc({"[[sets]]", "name = \"a\"", "  [sets.probing]", "  fall = 0",
                         "  [[sets.destinations]]", "  uri = \"sip:10.0.0.1\""}) +
                    std::string(kDropRoute)),
            "t.toml:4:3: sets[0].probing.fall: expected an integer in 1..100, got 0");
  EXPECT_EQ(ErrorOf(Doc({"[[sets]]", "name = \"a\"", "  [sets.probing]", "  interval_ms = 100",
                         "  timeout_ms = 200", "  [[sets.destinations]]",
                         "  uri = \"sip:10.0.0.1\""}) +
                    std::string(kDropRoute)),
            "t.toml:5:3: sets[0].probing.timeout_ms: timeout_ms (200) must not exceed "
            "interval_ms (100): one probe per destination is in flight at a time");
  EXPECT_EQ(ErrorOf(Doc({"[[sets]]", "name = \"a\"", "  [sets.probing]",
                         "  accepted_codes = [200]", "  [[sets.destinations]]",
                         "  uri = \"sip:10.0.0.1\""}) +
                    std::string(kDropRoute)),
            "t.toml:4:21: sets[0].probing.accepted_codes[0]: expected a status code in "
            "300..699 or a class \"3xx\"..\"6xx\", got 200");
  EXPECT_EQ(ErrorOf(Doc({"[[sets]]", "name = \"a\"", "failure_reply_code = 200",
                         "  [[sets.destinations]]", "  uri = \"sip:10.0.0.1\""}) +
                    std::string(kDropRoute)),
            "t.toml:3:1: sets[0].failure_reply_code: expected an integer in 300..699, got 200");
  EXPECT_EQ(ErrorOf(Doc({"[[sets]]", "name = \"a\"", "failure_reply_reason = \"x\"",
                         "  [[sets.destinations]]", "  uri = \"sip:10.0.0.1\""}) +
                    std::string(kDropRoute)),
            "t.toml:3:1: sets[0].failure_reply_reason: needs failure_reply_code");
  EXPECT_EQ(ErrorOf(Doc({"[[sets]]", "name = \"a\"", "probing = true",
                         "  [[sets.destinations]]", "  uri = \"sip:10.0.0.1\""}) +
                    std::string(kDropRoute)),
            "t.toml:3:1: sets[0].probing: expected a table ([sets.probing]), got true");
}

}  // namespace
}  // namespace sipshard::config

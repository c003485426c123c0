#include "sipshard/config/loader.h"

#include <sys/socket.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sipshard::config {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;

// Joins lines with "\n" so that a test reads its own line numbers: the
// n-th string is line n of the document.
std::string Doc(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (std::string_view line : lines) {
    out.append(line);
    out.push_back('\n');
  }
  return out;
}

// The smallest route section that makes a document valid; appended after
// the lines under test so that it never shifts their line numbers.
constexpr std::string_view kDropRoute = "[[routes]]\nname = \"r\"\naction = \"drop\"\n";

std::string ErrorOf(std::string_view toml, std::string_view source = "t.toml") {
  absl::StatusOr<Config> result = LoadConfigString(toml, source);
  EXPECT_FALSE(result.ok()) << "loaded without error";
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(result.status().message());
}

Config LoadOk(std::string_view toml) {
  absl::StatusOr<Config> result = LoadConfigString(toml, "t.toml");
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : Config{};
}

// ---- the bundled configuration and defaults -------------------------------

TEST(LoaderTest, BundledConfigLoads) {
  absl::StatusOr<Config> result = LoadConfigFile("deploy/sipshard.toml");
  ASSERT_TRUE(result.ok()) << result.status();
  const Config& config = *result;
  EXPECT_EQ(config.source_name, "deploy/sipshard.toml");
  ASSERT_EQ(config.server.listen.size(), 1u);
  EXPECT_EQ(config.server.listen[0].ToString(), "udp:127.0.0.1:5060");
  EXPECT_EQ(config.server.receive_threads, 1);
  EXPECT_EQ(config.server.shards, 2);

  const DestinationSetConfig* farm = config.FindSet("farm");
  ASSERT_NE(farm, nullptr);
  ASSERT_EQ(farm->destinations.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const DestinationConfig& d = farm->destinations[static_cast<size_t>(i)];
    EXPECT_EQ(d.uri, "sip:127.0.0.1:" + std::to_string(5071 + i));
    EXPECT_EQ(d.host, "127.0.0.1");
    EXPECT_EQ(d.port, 5071 + i);
    EXPECT_EQ(d.state, DestinationState::kActive);
  }

  ASSERT_EQ(config.routes.size(), 2u);
  const RouteConfig& reg = config.routes[0];
  EXPECT_EQ(reg.name, "register");
  EXPECT_EQ(reg.action, RouteAction::kReply);
  EXPECT_EQ(reg.reply_code, 200);
  EXPECT_EQ(reg.reply_reason, "OK");
  EXPECT_THAT(reg.match.methods, ElementsAre("REGISTER"));
  EXPECT_EQ(reg.set_index, RouteConfig::kNoSet);

  const RouteConfig& def = config.routes[1];
  EXPECT_EQ(def.action, RouteAction::kForward);
  EXPECT_EQ(def.set, "farm");
  EXPECT_EQ(def.set_index, 0);
  EXPECT_TRUE(def.stateful);  // serial failover for the Quickstart demo
  EXPECT_TRUE(def.record_route);
  EXPECT_TRUE(def.match.IsCatchAll());
}

TEST(LoaderTest, BundledConfigSpellsOutTheDefaults) {
  // The sample doubles as documentation: its values must be the defaults.
  absl::StatusOr<Config> result = LoadConfigFile("deploy/sipshard.toml");
  ASSERT_TRUE(result.ok()) << result.status();
  Config defaults = DefaultConfig();
  EXPECT_EQ(result->server, defaults.server);
  EXPECT_EQ(result->limits, defaults.limits);
  EXPECT_EQ(result->timers, defaults.timers);
  DestinationSetConfig farm_defaults;
  const DestinationSetConfig& farm = result->sets[0];
  EXPECT_EQ(farm.algorithm, farm_defaults.algorithm);
  EXPECT_EQ(farm.mode, farm_defaults.mode);
  EXPECT_EQ(farm.max_attempts, farm_defaults.max_attempts);
  EXPECT_EQ(farm.failover_codes, farm_defaults.failover_codes);
}

TEST(LoaderTest, DefaultsApplyWhenKeysAreAbsent) {
  Config config = LoadOk(kDropRoute);
  Config defaults = DefaultConfig();
  EXPECT_EQ(config.server, defaults.server);
  EXPECT_EQ(config.limits, defaults.limits);
  EXPECT_EQ(config.timers, defaults.timers);
  EXPECT_TRUE(config.sets.empty());
  EXPECT_EQ(config.source_name, "t.toml");

  EXPECT_EQ(defaults.server.listen[0].ToString(), "udp:127.0.0.1:5060");
  EXPECT_EQ(defaults.server.inbox_capacity, 16384u);
  EXPECT_EQ(defaults.server.recv_buffers, 1024u);
  EXPECT_EQ(defaults.server.log_level, LogLevel::kInfo);
  EXPECT_EQ(defaults.limits.max_message_size, 65535);
  EXPECT_EQ(defaults.timers.fr_inv_timeout_ms, 180000);
}

TEST(LoaderTest, SetAndDestinationDefaults) {
  Config config = LoadOk(Doc({
      "[[sets]]",
      "name = \"a\"",
      "  [[sets.destinations]]",
      "  uri = \"sip:10.0.0.1\"",
      "[[sets]]",
      "name = \"b\"",
      "  [[sets.destinations]]",
      "  uri = \"sip:10.0.0.2\"",
  }) + std::string(kDropRoute));
  ASSERT_EQ(config.sets.size(), 2u);
  const DestinationSetConfig& b = config.sets[1];
  EXPECT_EQ(b.id, 2);  // 1-based position
  EXPECT_EQ(b.algorithm, Algorithm::kHashCallId);
  EXPECT_EQ(b.mode, ForwardMode::kSerial);
  EXPECT_EQ(b.max_attempts, 3);
  EXPECT_EQ(b.failover_codes.Codes(), (std::vector<int>{408, 500, 502, 503, 504}));
  const DestinationConfig& d = b.destinations[0];
  EXPECT_EQ(d.weight, 1);
  EXPECT_EQ(d.priority, 0);
  EXPECT_EQ(d.max_calls, 0);
  EXPECT_EQ(d.timeout_ms, 0);
  EXPECT_TRUE(d.attrs.empty());
}

// ---- error reporting: one test per class, exact text -----------------------

TEST(LoaderErrorTest, SyntaxErrorNamesLineAndColumn) {
  std::string error = ErrorOf(Doc({
      "[server]",
      "shards = [1,",
      "busy_poll = true",
  }));
  EXPECT_THAT(error, StartsWith("t.toml:3:1: TOML syntax error: "));
  EXPECT_GT(error.size(), std::string("t.toml:3:1: TOML syntax error: ").size());
}

TEST(LoaderErrorTest, WrongTypeMatchesTheDocumentedExample) {
  std::string doc = Doc({
      "# 1", "# 2", "# 3", "# 4", "# 5", "# 6", "# 7", "# 8", "# 9", "# 10",
      "[server]",        // line 11
      "shards = \"two\"",  // line 12
  });
  EXPECT_EQ(ErrorOf(doc + std::string(kDropRoute), "sipshard.toml"),
            "sipshard.toml:12:1: server.shards: expected an integer in 1..256, got \"two\"");
}

TEST(LoaderErrorTest, OutOfRangeAndFloatIntegers) {
  EXPECT_EQ(ErrorOf(Doc({"[server]", "receive_threads = 65"}) + std::string(kDropRoute)),
            "t.toml:2:1: server.receive_threads: expected an integer in 0..64, got 65");
  EXPECT_EQ(ErrorOf(Doc({"[limits]", "  max_headers = 2.0"}) + std::string(kDropRoute)),
            "t.toml:2:3: limits.max_headers: expected an integer in 8..256, got 2.0");
  EXPECT_EQ(ErrorOf(Doc({"[timers]", "t1_ms = -1"}) + std::string(kDropRoute)),
            "t.toml:2:1: timers.t1_ms: expected an integer in 10..10000, got -1");
}

TEST(LoaderErrorTest, WrongTypeForBoolAndString) {
  EXPECT_EQ(ErrorOf(Doc({"[server]", "busy_poll = \"yes\""}) + std::string(kDropRoute)),
            "t.toml:2:1: server.busy_poll: expected true or false, got \"yes\"");
  EXPECT_EQ(ErrorOf(Doc({"[server]", "advertised_host = 5"}) + std::string(kDropRoute)),
            "t.toml:2:1: server.advertised_host: expected a string, got 5");
}

TEST(LoaderErrorTest, UnknownTopLevelKeySuggestsTheNearestKey) {
  EXPECT_EQ(ErrorOf(Doc({"[sever]", "shards = 2"}) + std::string(kDropRoute)),
            "t.toml:1:1: sever: unknown key (did you mean \"server\"?)");
}

TEST(LoaderErrorTest, UnknownKeyInSection) {
  EXPECT_EQ(ErrorOf(Doc({"[server]", "shard = 4", "colour = \"red\""}) + std::string(kDropRoute)),
            "t.toml:2:1: server.shard: unknown key (did you mean \"shards\"?)\n"
            "t.toml:3:1: server.colour: unknown key");
}

TEST(LoaderErrorTest, UnknownKeyInsideArrayOfTablesEntry) {
  EXPECT_EQ(ErrorOf(Doc({
                        "[[sets]]",
                        "name = \"farm\"",
                        "  [[sets.destinations]]",
                        "  uri = \"sip:10.0.0.1\"",
                        "  [[sets.destinations]]",
                        "  uri = \"sip:10.0.0.2\"",
                        "  wieght = 2",
                    }) +
                    std::string(kDropRoute)),
            "t.toml:7:3: sets[0].destinations[1].wieght: unknown key (did you mean \"weight\"?)");
}

TEST(LoaderErrorTest, UnknownKeyInRouteMatchAndQuotedKeys) {
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"r\"",
                "action = \"drop\"",
                "  [routes.match]",
                "  method = [\"INVITE\"]",
                "  \"odd key\" = 1",
            })),
            "t.toml:5:3: routes[0].match.method: unknown key (did you mean \"methods\"?)\n"
            "t.toml:6:3: routes[0].match.\"odd key\": unknown key");
}

TEST(LoaderErrorTest, BadEnumListsAcceptedValues) {
  EXPECT_EQ(ErrorOf(Doc({"[server]", "log_level = \"verbose\""}) + std::string(kDropRoute)),
            "t.toml:2:1: server.log_level: expected one of \"debug\", \"info\", \"warning\", "
            "\"error\", got \"verbose\"");
  EXPECT_EQ(ErrorOf(Doc({
                "[[sets]]",
                "name = \"farm\"",
                "algorithm = \"hash\"",
                "mode = \"fork\"",
                "  [[sets.destinations]]",
                "  uri = \"sip:10.0.0.1\"",
                "  state = \"down\"",
                "[[routes]]",
                "name = \"r\"",
                "action = \"relay\"",
            })),
            "t.toml:3:1: sets[0].algorithm: expected one of \"hash-callid\", \"hash-from-uri\", "
            "\"hash-from-user\", \"hash-to-uri\", \"hash-ruri-user\", \"round-robin\", "
            "\"weighted\", \"priority\", \"least-loaded\", \"random\", got \"hash\"\n"
            "t.toml:4:1: sets[0].mode: expected one of \"serial\", \"parallel\", "
            "\"serial-groups\", got \"fork\"\n"
            "t.toml:7:3: sets[0].destinations[0].state: expected one of \"active\", "
            "\"inactive\", \"draining\", got \"down\"\n"
            "t.toml:10:1: routes[0].action: expected one of \"reply\", \"forward\", \"drop\", "
            "got \"relay\"");
}

TEST(LoaderErrorTest, MissingRequiredKeysNameTheTableAndItsLine) {
  EXPECT_EQ(ErrorOf(Doc({
                "[[sets]]",
                "id = 4",
                "[[sets]]",
                "name = \"b\"",
                "  [[sets.destinations]]",
                "  weight = 2",
                "[[routes]]",
                "name = \"r\"",
            })),
            "t.toml:1:1: sets[0]: missing required key \"name\"\n"
            "t.toml:1:1: sets[0]: missing required key \"destinations\" (add "
            "[[sets.destinations]] entries)\n"
            "t.toml:5:3: sets[1].destinations[0]: missing required key \"uri\"\n"
            "t.toml:7:1: routes[0]: missing required key \"action\"");
}

TEST(LoaderErrorTest, ActionSpecificKeysAreRequiredAndExclusive) {
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"a\"",
                "action = \"reply\"",
                "set = \"farm\"",
                "[[routes]]",
                "name = \"b\"",
                "action = \"forward\"",
                "reply_reason = \"Nope\"",
                "[[routes]]",
                "name = \"c\"",
                "action = \"drop\"",
                "stateful = true",
            })),
            "t.toml:1:1: routes[0]: missing required key \"reply_code\" (action \"reply\" "
            "needs a status code)\n"
            "t.toml:4:1: routes[0].set: only valid with action = \"forward\", this route's "
            "action is \"reply\"\n"
            "t.toml:5:1: routes[1]: missing required key \"set\" (action \"forward\" needs a "
            "destination set)\n"
            "t.toml:8:1: routes[1].reply_reason: only valid with action = \"reply\", this "
            "route's action is \"forward\"\n"
            "t.toml:12:1: routes[2].stateful: only valid with action = \"forward\", this "
            "route's action is \"drop\"");
}

TEST(LoaderErrorTest, InvalidNames) {
  EXPECT_EQ(ErrorOf(Doc({"[[routes]]", "name = \"my route\"", "action = \"drop\""})),
            "t.toml:2:1: routes[0].name: expected a name of letters, digits, \"_\", \".\" and "
            "\"-\", got \"my route\"");
}

TEST(LoaderErrorTest, DuplicateSetAndRouteNames) {
  EXPECT_EQ(ErrorOf(Doc({
                "[[sets]]",
                "name = \"farm\"",
                "  [[sets.destinations]]",
                "  uri = \"sip:10.0.0.1\"",
                "[[sets]]",
                "name = \"farm\"",
                "  [[sets.destinations]]",
                "  uri = \"sip:10.0.0.2\"",
                "[[routes]]",
                "name = \"r\"",
                "action = \"drop\"",
                "match = { methods = [\"PUBLISH\"] }",
                "[[routes]]",
                "name = \"r\"",
                "action = \"drop\"",
            })),
            "t.toml:6:1: sets[1].name: duplicate set name \"farm\" (also sets[0])\n"
            "t.toml:14:1: routes[1].name: duplicate route name \"r\" (also routes[0])");
}

TEST(LoaderErrorTest, DuplicateSetIdIncludingDefaultedOnes) {
  // The second set has no id: it defaults to its position, 2, which the
  // first set claimed; the error sits on the second set's header.
  EXPECT_EQ(ErrorOf(Doc({
                        "[[sets]]",
                        "name = \"a\"",
                        "id = 2",
                        "  [[sets.destinations]]",
                        "  uri = \"sip:10.0.0.1\"",
                        "[[sets]]",
                        "name = \"b\"",
                        "  [[sets.destinations]]",
                        "  uri = \"sip:10.0.0.2\"",
                    }) +
                    std::string(kDropRoute)),
            "t.toml:6:1: sets[1].id: duplicate set id 2 (also sets[0]); a set without an id "
            "gets its 1-based position");
}

TEST(LoaderErrorTest, UnknownSetMatchesTheDocumentedExample) {
  std::string doc = Doc({
      "[[sets]]",                    // 1
      "name = \"farm\"",             // 2
      "  [[sets.destinations]]",     // 3
      "  uri = \"sip:10.0.0.1\"",    // 4
      "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",  // 5..20
      "[[routes]]",                  // 21
      "name = \"local\"",            // 22
      "action = \"forward\"",        // 23
      "set = \"farm\"",              // 24
      "  [routes.match]",            // 25
      "  methods = [\"OPTIONS\"]",   // 26
      "[[routes]]",                  // 27
      "  name = \"pbx\"",            // 28
      "  action = \"forward\"",      // 29
      "  set = \"pbx2\"",            // 30
  });
  EXPECT_EQ(ErrorOf(doc, "sipshard.toml"),
            "sipshard.toml:30:3: routes[1].set: unknown destination set \"pbx2\"");
}

TEST(LoaderErrorTest, ReportsAllKeyErrorsSortedByPosition) {
  // toml++ hands tables over in key order; messages come back in file order.
  EXPECT_EQ(ErrorOf(Doc({
                "[timers]",
                "t1_ms = \"fast\"",
                "[server]",
                "shards = 0",
                "listen = [\"udp:localhost:5060\"]",
                "[limits]",
                "max_headers = 1000",
                "[[routes]]",
                "name = \"r\"",
                "action = \"drop\"",
            })),
            "t.toml:2:1: timers.t1_ms: expected an integer in 10..10000, got \"fast\"\n"
            "t.toml:4:1: server.shards: expected an integer in 1..256, got 0\n"
            "t.toml:5:11: server.listen[0]: invalid listen address \"udp:localhost:5060\": host "
            "must be an IP address (IPv6 in brackets)\n"
            "t.toml:7:1: limits.max_headers: expected an integer in 8..256, got 1000");
}

TEST(LoaderErrorTest, CrossKeyRulesWaitUntilEveryKeyIsValid) {
  // The unknown set is only reported once the type error is fixed, so a
  // broken set definition never shows up as a spurious reference error.
  std::string doc = Doc({
      "[server]",
      "shards = \"two\"",
      "[[routes]]",
      "name = \"r\"",
      "action = \"forward\"",
      "set = \"nowhere\"",
  });
  EXPECT_EQ(ErrorOf(doc),
            "t.toml:2:1: server.shards: expected an integer in 1..256, got \"two\"");
}

TEST(LoaderErrorTest, RoutesAreRequired) {
  EXPECT_EQ(ErrorOf(""), "t.toml: routes: at least one [[routes]] entry is required");
  EXPECT_EQ(ErrorOf(Doc({"# none", "routes = []"})),
            "t.toml:2:1: routes: at least one [[routes]] entry is required");
}

TEST(LoaderErrorTest, SectionsOfTheWrongShape) {
  EXPECT_EQ(ErrorOf(Doc({"server = 1", "[sets]", "name = \"x\""}) + std::string(kDropRoute)),
            "t.toml:1:1: server: expected a table, got 1\n"
            "t.toml:2:1: sets: expected an array of tables ([[sets]]), got a table");
}

TEST(LoaderErrorTest, UnreachableRouteAfterCatchAll) {
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"all\"",
                "action = \"drop\"",
                "[[routes]]",
                "name = \"reg\"",
                "action = \"reply\"",
                "reply_code = 200",
                "  [routes.match]",
                "  methods = [\"REGISTER\"]",
            })),
            "t.toml:4:1: routes[1]: unreachable: routes[0] (\"all\") has no [routes.match] and "
            "takes every request; move the catch-all route last");
}

TEST(LoaderErrorTest, TimerOrdering) {
  EXPECT_EQ(ErrorOf(Doc({"[timers]", "t1_ms = 1000", "t2_ms = 500"}) + std::string(kDropRoute)),
            "t.toml:3:1: timers.t2_ms: must be >= timers.t1_ms (1000), got 500");
}

TEST(LoaderErrorTest, FileThatCannotBeOpened) {
  absl::StatusOr<Config> result = LoadConfigFile("deploy/no-such-file.toml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(result.status().message()),
              StartsWith("deploy/no-such-file.toml: cannot open"));
}

// ---- [server] ---------------------------------------------------------------

TEST(ServerConfigTest, ParsesIpv6AndWildcardListenAddresses) {
  Config config = LoadOk(Doc({
                             "[server]",
                             "listen = [\"udp:[::1]:5070\", \"udp:[::]:5060\", "
                             "\"udp:0.0.0.0:5080\", \"udp:[0:0::1]:5090\"]",
                         }) +
                         std::string(kDropRoute));
  const auto& listen = config.server.listen;
  ASSERT_EQ(listen.size(), 4u);
  EXPECT_EQ(listen[0].family, AF_INET6);
  EXPECT_EQ(listen[0].host, "::1");
  EXPECT_EQ(listen[0].port, 5070);
  EXPECT_EQ(listen[0].transport, Transport::kUdp);
  EXPECT_EQ(listen[0].ToString(), "udp:[::1]:5070");
  EXPECT_FALSE(listen[0].IsWildcard());
  EXPECT_TRUE(listen[1].IsWildcard());
  EXPECT_EQ(listen[2].family, AF_INET);
  EXPECT_TRUE(listen[2].IsWildcard());
  EXPECT_EQ(listen[3].host, "::1");  // canonical form
}

TEST(ServerConfigTest, RejectsMalformedListenAddresses) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"tcp:127.0.0.1:5060", "transport \"tcp\" is not supported (accepted: \"udp\")"},
      {"udp:::1:5060", "IPv6 addresses need brackets, as in \"udp:[::1]:5060\""},
      {"udp:[::1:5060", "unterminated \"[\" in IPv6 address"},
      {"udp:[127.0.0.1]:5060", "not an IPv6 address inside \"[...]\""},
      {"udp:127.0.0.1", "missing port (expected \"udp:HOST:PORT\")"},
      {"udp:127.0.0.1:65536", "port must be an integer in 1..65535"},
      {"127.0.0.1", "expected \"udp:HOST:PORT\""},
  };
  for (const auto& [address, why] : cases) {
    std::string doc = Doc({"[server]"}) + "listen = [\"" + std::string(address) + "\"]\n" +
                      std::string(kDropRoute);
    EXPECT_EQ(ErrorOf(doc), "t.toml:2:11: server.listen[0]: invalid listen address \"" +
                                std::string(address) + "\": " + std::string(why));
  }
  EXPECT_EQ(ErrorOf(Doc({"[server]", "listen = \"udp:127.0.0.1:5060\""}) +
                    std::string(kDropRoute)),
            "t.toml:2:1: server.listen: expected an array of strings like "
            "[\"udp:127.0.0.1:5060\"], got \"udp:127.0.0.1:5060\"");
  EXPECT_EQ(ErrorOf(Doc({"[server]", "listen = []"}) + std::string(kDropRoute)),
            "t.toml:2:1: server.listen: at least one listen address is required");
  EXPECT_EQ(ErrorOf(Doc({"[server]", "listen = [\"udp:[::1]:5060\", \"udp:[0::1]:5060\"]"}) +
                    std::string(kDropRoute)),
            "t.toml:2:29: server.listen[1]: duplicate listen address \"udp:[::1]:5060\" (also "
            "server.listen[0])");
}

TEST(ServerConfigTest, InboxCapacityRoundsUpToPowerOfTwo) {
  auto inbox = [](int slots) {
    return LoadOk(Doc({"[server]"}) + "inbox_capacity = " + std::to_string(slots) + "\n" +
                  std::string(kDropRoute))
        .server.inbox_capacity;
  };
  EXPECT_EQ(inbox(64), 64u);
  EXPECT_EQ(inbox(65), 128u);
  EXPECT_EQ(inbox(1000), 1024u);
  EXPECT_EQ(inbox(16384), 16384u);
  EXPECT_EQ(inbox(1048576), 1048576u);
  EXPECT_EQ(ErrorOf(Doc({"[server]", "inbox_capacity = 63"}) + std::string(kDropRoute)),
            "t.toml:2:1: server.inbox_capacity: expected an integer in 64..1048576, got 63");
}

TEST(ServerConfigTest, RecvBuffersMustBeAPowerOfTwo) {
  EXPECT_EQ(LoadOk(Doc({"[server]", "recv_buffers = 32768"}) + std::string(kDropRoute))
                .server.recv_buffers,
            32768u);
  EXPECT_EQ(ErrorOf(Doc({"[server]", "recv_buffers = 1000"}) + std::string(kDropRoute)),
            "t.toml:2:1: server.recv_buffers: expected a power of two in 16..32768, got 1000");
}

TEST(ServerConfigTest, CpuAffinityIsABoolOrOneCpuPerShard) {
  EXPECT_EQ(LoadOk(Doc({"[server]", "cpu_affinity = true"}) + std::string(kDropRoute))
                .server.cpu_affinity,
            (CpuAffinity{true, {}}));
  EXPECT_EQ(LoadOk(Doc({"[server]", "shards = 2", "cpu_affinity = [4, 6]"}) +
                   std::string(kDropRoute))
                .server.cpu_affinity,
            (CpuAffinity{true, {4, 6}}));
  EXPECT_EQ(ErrorOf(Doc({"[server]", "shards = 2", "cpu_affinity = [1, 2, 3]"}) +
                    std::string(kDropRoute)),
            "t.toml:3:1: server.cpu_affinity: lists 3 CPU ids but server.shards is 2; give "
            "exactly one CPU id per shard");
  EXPECT_EQ(ErrorOf(Doc({"[server]", "cpu_affinity = [1, \"2\"]"}) + std::string(kDropRoute)),
            "t.toml:2:20: server.cpu_affinity[1]: expected an integer in 0..1023, got \"2\" "
            "(a CPU id)");
  EXPECT_EQ(ErrorOf(Doc({"[server]", "cpu_affinity = \"yes\""}) + std::string(kDropRoute)),
            "t.toml:2:1: server.cpu_affinity: expected true, false or an array of CPU ids, got "
            "\"yes\"");
}

TEST(ServerConfigTest, AdvertisedHostIsNormalized) {
  EXPECT_EQ(LoadOk(Doc({"[server]", "advertised_host = \"[2001:DB8::1]\""}) +
                   std::string(kDropRoute))
                .server.advertised_host,
            "2001:db8::1");
  EXPECT_EQ(LoadOk(Doc({"[server]", "advertised_host = \"LB.Example.com\""}) +
                   std::string(kDropRoute))
                .server.advertised_host,
            "lb.example.com");
  EXPECT_EQ(ErrorOf(Doc({"[server]", "advertised_host = \"lb example\""}) +
                    std::string(kDropRoute)),
            "t.toml:2:1: server.advertised_host: expected a host name or IP address, got "
            "\"lb example\"");
}

TEST(ServerConfigTest, LoopDetectionIsOnByDefaultAndCanBeTurnedOff) {
  EXPECT_TRUE(DefaultConfig().server.loop_detection);
  EXPECT_TRUE(LoadOk(kDropRoute).server.loop_detection);
  EXPECT_FALSE(LoadOk(Doc({"[server]", "loop_detection = false"}) + std::string(kDropRoute))
                   .server.loop_detection);
  EXPECT_EQ(ErrorOf(Doc({"[server]", "loop_detection = 1"}) + std::string(kDropRoute)),
            "t.toml:2:1: server.loop_detection: expected true or false, got 1");
}

// ---- [[sets]] ---------------------------------------------------------------

std::string SetWith(std::initializer_list<std::string_view> set_lines,
                    std::string_view destination_lines = "  uri = \"sip:10.0.0.1\"") {
  std::string doc = "[[sets]]\nname = \"farm\"\n";
  for (std::string_view line : set_lines) {
    doc.append(line);
    doc.push_back('\n');
  }
  doc += "  [[sets.destinations]]\n";
  doc.append(destination_lines);
  doc += "\n";
  return doc + std::string(kDropRoute);
}

TEST(SetConfigTest, FailoverCodesAcceptCodesAndClasses) {
  Config config = LoadOk(SetWith({"failover_codes = [408, \"5xx\", \"6XX\"]"}));
  const StatusCodeSet& codes = config.sets[0].failover_codes;
  EXPECT_TRUE(codes.Contains(408));
  EXPECT_FALSE(codes.Contains(404));
  EXPECT_TRUE(codes.Contains(500));
  EXPECT_TRUE(codes.Contains(599));
  EXPECT_TRUE(codes.Contains(699));
  EXPECT_FALSE(codes.Contains(200));
  EXPECT_EQ(codes.size(), 201u);
  EXPECT_TRUE(LoadOk(SetWith({"failover_codes = []"})).sets[0].failover_codes.empty());
}

TEST(SetConfigTest, FailoverCodesRejectNonFailureCodes) {
  EXPECT_EQ(ErrorOf(SetWith({"failover_codes = [200, \"7xx\", 503]"})),
            "t.toml:3:19: sets[0].failover_codes[0]: expected a status code in 300..699 or a "
            "class \"3xx\"..\"6xx\", got 200\n"
            "t.toml:3:24: sets[0].failover_codes[1]: expected a status code in 300..699 or a "
            "class \"3xx\"..\"6xx\", got \"7xx\"");
  EXPECT_EQ(ErrorOf(SetWith({"failover_codes = 503"})),
            "t.toml:3:1: sets[0].failover_codes: expected an array of status codes and classes "
            "like [408, \"5xx\"], got 503");
}

TEST(SetConfigTest, SerialGroupsWithThePriorityAlgorithm) {
  Config config = LoadOk(SetWith({"algorithm = \"priority\"", "mode = \"serial-groups\""}));
  EXPECT_EQ(config.sets.at(0).mode, ForwardMode::kSerialGroups);
  EXPECT_EQ(ToString(ForwardMode::kSerialGroups), "serial-groups");
}

TEST(SetConfigTest, SerialGroupsNeedsThePriorityAlgorithm) {
  // Reported on the mode key's line, once every key is valid.
  EXPECT_EQ(ErrorOf(SetWith({"algorithm = \"weighted\"", "mode = \"serial-groups\""})),
            "t.toml:4:1: sets[0].mode: \"serial-groups\" needs algorithm = \"priority\" (it "
            "forks one priority group at a time), got algorithm = \"weighted\"");
  // The default algorithm (hash-callid) has no groups either.
  EXPECT_EQ(ErrorOf(SetWith({"id = 5", "mode = \"serial-groups\""})),
            "t.toml:4:1: sets[0].mode: \"serial-groups\" needs algorithm = \"priority\" (it "
            "forks one priority group at a time), got algorithm = \"hash-callid\"");
}

TEST(SetConfigTest, MaxAttemptsAndIdRanges) {
  EXPECT_EQ(ErrorOf(SetWith({"max_attempts = 0", "id = 0"})),
            "t.toml:3:1: sets[0].max_attempts: expected an integer in 1..16, got 0\n"
            "t.toml:4:1: sets[0].id: expected an integer in 1..2147483647, got 0");
}

TEST(SetConfigTest, ParsesDestinationUris) {
  Config config = LoadOk(Doc({
      "[[sets]]",
      "name = \"farm\"",
      "  [[sets.destinations]]",
      "  uri = \"sip:alice@10.0.0.1:5080;transport=UDP;lr\"",
      "  [[sets.destinations]]",
      "  uri = \"sip:[2001:db8::1]\"",
      "  [[sets.destinations]]",
      "  uri = \"SIP:PBX.example.com:5062\"",
  }) + std::string(kDropRoute));
  const auto& d = config.sets[0].destinations;
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].uri, "sip:alice@10.0.0.1:5080;transport=UDP;lr");
  EXPECT_EQ(d[0].user, "alice");
  EXPECT_EQ(d[0].host, "10.0.0.1");
  EXPECT_EQ(d[0].port, 5080);
  EXPECT_TRUE(d[0].has_port);
  EXPECT_EQ(d[0].family, AF_INET);
  EXPECT_EQ(d[0].transport, Transport::kUdp);
  EXPECT_EQ(d[1].host, "2001:db8::1");
  EXPECT_EQ(d[1].family, AF_INET6);
  EXPECT_EQ(d[1].port, 5060);
  EXPECT_FALSE(d[1].has_port);
  EXPECT_EQ(d[2].host, "pbx.example.com");
  EXPECT_EQ(d[2].family, AF_UNSPEC);
  EXPECT_EQ(d[2].port, 5062);
}

TEST(SetConfigTest, RejectsUnusableDestinationUris) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"sip:10.0.0.1;transport=tcp", "transport \"tcp\" is not supported (accepted: \"udp\")"},
      {"sips:10.0.0.1", "\"sips:\" needs TLS; transport \"tls\" is not supported (accepted: "
                        "\"udp\")"},
      {"http://10.0.0.1", "expected a \"sip:\" URI such as \"sip:10.0.0.5:5060\""},
      {"sip:10.0.0.1:99999", "port must be an integer in 1..65535"},
      {"sip:10.0.0.1?subject=x", "URI headers (\"?...\") are not allowed"},
      {"sip:@10.0.0.1", "empty user part before \"@\""},
      {"sip:[2001:db8::1", "unterminated \"[\" in IPv6 reference"},
      {"sip:bad_host", "invalid host \"bad_host\""},
      {"sip:1.2.3.999", "invalid host \"1.2.3.999\""},
  };
  for (const auto& [uri, why] : cases) {
    std::string line = "  uri = \"" + std::string(uri) + "\"";
    EXPECT_EQ(ErrorOf(SetWith({}, line)),
              "t.toml:4:3: sets[0].destinations[0].uri: invalid SIP URI \"" + std::string(uri) +
                  "\": " + std::string(why));
  }
}

TEST(SetConfigTest, ZeroWeightPointsAtInactiveState) {
  EXPECT_EQ(ErrorOf(SetWith({}, "  uri = \"sip:10.0.0.1\"\n  weight = 0")),
            "t.toml:5:3: sets[0].destinations[0].weight: expected an integer in 1..10000, got 0 "
            "(to take a destination out of rotation, set state = \"inactive\")");
}

TEST(SetConfigTest, DestinationFieldsAndAttributes) {
  Config config = LoadOk(SetWith({}, "  uri = \"sip:10.0.0.1\"\n"
                                     "  weight = 30\n"
                                     "  priority = 2\n"
                                     "  state = \"draining\"\n"
                                     "  max_calls = 500\n"
                                     "  timeout_ms = 1500\n"
                                     "  attrs = { zone = \"a\", \"rack id\" = \"r7\" }"));
  const DestinationConfig& d = config.sets[0].destinations[0];
  EXPECT_EQ(d.weight, 30);
  EXPECT_EQ(d.priority, 2);
  EXPECT_EQ(d.state, DestinationState::kDraining);
  EXPECT_EQ(d.max_calls, 500);
  EXPECT_EQ(d.timeout_ms, 1500);
  EXPECT_EQ(d.attrs.at("zone"), "a");
  EXPECT_EQ(d.attrs.at("rack id"), "r7");

  EXPECT_EQ(ErrorOf(SetWith({}, "  uri = \"sip:10.0.0.1\"\n  attrs = { zone = \"a\", rack = 7 }")),
            "t.toml:5:25: sets[0].destinations[0].attrs.rack: expected a string, got 7");
}

TEST(SetConfigTest, DuplicateDestinations) {
  EXPECT_EQ(ErrorOf(SetWith({}, "  uri = \"sip:10.0.0.1\"\n"
                                "  [[sets.destinations]]\n"
                                "  uri = \"sip:10.0.0.1\"")),
            "t.toml:6:3: sets[0].destinations[1].uri: duplicate destination \"sip:10.0.0.1\" "
            "(also sets[0].destinations[0])");
}

// ---- [[routes]] -------------------------------------------------------------

TEST(RouteConfigTest, ReplyReasonDefaultsToTheStandardPhrase) {
  Config config = LoadOk(Doc({
      "[[routes]]",
      "name = \"busy\"",
      "action = \"reply\"",
      "reply_code = 486",
      "  [routes.match]",
      "  methods = [\"INVITE\"]",
      "[[routes]]",
      "name = \"odd\"",
      "action = \"reply\"",
      "reply_code = 599",
      "  [routes.match]",
      "  methods = [\"MESSAGE\"]",
      "[[routes]]",
      "name = \"own\"",
      "action = \"reply\"",
      "reply_code = 404",
      "reply_reason = \"No Route\"",
  }));
  EXPECT_EQ(config.routes[0].reply_reason, "Busy Here");
  EXPECT_EQ(config.routes[1].reply_reason, "Server Internal Error");
  EXPECT_EQ(config.routes[2].reply_reason, "No Route");
  EXPECT_EQ(StandardReasonPhrase(100), "Trying");
  EXPECT_EQ(StandardReasonPhrase(181), "Call Is Being Forwarded");
  EXPECT_EQ(StandardReasonPhrase(487), "Request Terminated");
  EXPECT_EQ(StandardReasonPhrase(499), "Bad Request");
  EXPECT_EQ(StandardReasonPhrase(603), "Decline");
  EXPECT_EQ(ErrorOf(Doc({"[[routes]]", "name = \"r\"", "action = \"reply\"", "reply_code = 99"})),
            "t.toml:4:1: routes[0].reply_code: expected an integer in 100..699, got 99");
}

TEST(RouteConfigTest, ParsesMatchConditions) {
  Config config = LoadOk(Doc({
      "[[routes]]",
      "name = \"internal\"",
      "action = \"drop\"",
      "  [routes.match]",
      "  methods = [\"INVITE\", \"OPTIONS\", \"INVITE\"]",
      "  ruri_user_prefix = \"+49\"",
      "  ruri_host = \"Example.COM\"",
      "  source_cidrs = [\"10.1.2.3/8\", \"::1/128\", \"192.0.2.7\"]",
      "[[routes]]",
      "name = \"v6\"",
      "action = \"drop\"",
      "  [routes.match]",
      "  ruri_host = \"[2001:db8::a]\"",
      "[[routes]]",
      "name = \"rest\"",
      "action = \"drop\"",
      "  [routes.match]",
  }));
  const RouteMatch& match = config.routes[0].match;
  EXPECT_THAT(match.methods, ElementsAre("INVITE", "OPTIONS"));
  EXPECT_EQ(match.ruri_user_prefix, "+49");
  EXPECT_EQ(match.ruri_host, "example.com");
  ASSERT_EQ(match.source_cidrs.size(), 3u);
  const CidrBlock& ten = match.source_cidrs[0];
  EXPECT_EQ(ten.text, "10.1.2.3/8");
  EXPECT_EQ(ten.prefix_length, 8);
  const uint8_t inside[4] = {10, 200, 0, 1};
  const uint8_t outside[4] = {11, 0, 0, 1};
  EXPECT_TRUE(ten.Contains(AF_INET, inside));
  EXPECT_FALSE(ten.Contains(AF_INET, outside));
  EXPECT_EQ(ten.address[1], 0);  // host bits cleared
  EXPECT_EQ(match.source_cidrs[1].family, AF_INET6);
  EXPECT_EQ(match.source_cidrs[2].prefix_length, 32);
  EXPECT_FALSE(match.IsCatchAll());
  EXPECT_EQ(config.routes[1].match.ruri_host, "2001:db8::a");
  // An empty [routes.match] has no conditions: a catch-all, allowed last.
  EXPECT_TRUE(config.routes[2].match.IsCatchAll());
}

TEST(RouteConfigTest, RejectsBadMatchConditions) {
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"r\"",
                "action = \"drop\"",
                "  [routes.match]",
                "  methods = [\"invite\"]",
                "  source_cidrs = [\"10.0.0.0/33\", \"fe80::/64\"]",
                "  ruri_host = \"a..b\"",
                "  match = 1",
            })),
            "t.toml:5:14: routes[0].match.methods[0]: expected an uppercase SIP method token, "
            "got \"invite\"\n"
            "t.toml:6:19: routes[0].match.source_cidrs[0]: expected an address block like "
            "\"10.0.0.0/8\" or \"::1/128\", got \"10.0.0.0/33\"\n"
            "t.toml:7:3: routes[0].match.ruri_host: expected a host name or IP address, got "
            "\"a..b\"\n"
            "t.toml:8:3: routes[0].match.match: unknown key");
}

TEST(RouteConfigTest, NoMatchingRouteIsAllowed) {
  // Without a catch-all, unmatched requests get "404 No Route" at runtime.
  Config config = LoadOk(Doc({
      "[[routes]]",
      "name = \"only-options\"",
      "action = \"reply\"",
      "reply_code = 200",
      "  [routes.match]",
      "  methods = [\"OPTIONS\"]",
  }));
  ASSERT_EQ(config.routes.size(), 1u);
  EXPECT_FALSE(config.routes[0].match.IsCatchAll());
}

TEST(RouteConfigTest, ForwardRouteToAllInactiveSetIsAllowed) {
  Config config = LoadOk(Doc({
      "[[sets]]",
      "name = \"spare\"",
      "  [[sets.destinations]]",
      "  uri = \"sip:10.0.0.1\"",
      "  state = \"inactive\"",
      "[[routes]]",
      "name = \"r\"",
      "action = \"forward\"",
      "set = \"spare\"",
      "stateful = true",
      "record_route = false",
  }));
  EXPECT_EQ(config.routes[0].set_index, 0);
  EXPECT_TRUE(config.routes[0].stateful);
  EXPECT_FALSE(config.routes[0].record_route);
}

TEST(LoaderTest, TransactionsSection) {
  const Config defaults = LoadOk(kDropRoute);
  EXPECT_EQ(defaults.transactions.max_per_shard, 65536);
  EXPECT_EQ(defaults.transactions.max_inv_lifetime_ms, 300000);
  EXPECT_EQ(defaults.transactions.max_noninv_lifetime_ms, 32000);
  const Config set = LoadOk(
      "[transactions]\nmax_per_shard = 10\nmax_inv_lifetime_ms = 60000\n"
      "max_noninv_lifetime_ms = 5000\n" + std::string(kDropRoute));
  EXPECT_EQ(set.transactions.max_per_shard, 10);
  EXPECT_EQ(set.transactions.max_inv_lifetime_ms, 60000);
  EXPECT_EQ(set.transactions.max_noninv_lifetime_ms, 5000);
  EXPECT_FALSE(ErrorOf("[transactions]\nmax_per_shard = 0\n" + std::string(kDropRoute)).empty());
  EXPECT_FALSE(ErrorOf("[transactions]\nbogus = 1\n" + std::string(kDropRoute)).empty());
  EXPECT_EQ(defaults.transactions.wait_ms, 0);
  EXPECT_EQ(LoadOk("[transactions]\nwait_ms = 5000\n" + std::string(kDropRoute)).transactions.wait_ms,
            5000);
  EXPECT_EQ(ErrorOf("[transactions]\nwait_ms = 70000\n" + std::string(kDropRoute)),
            "t.toml:2:1: transactions.wait_ms: expected an integer in 0..64000, got 70000");
}

}  // namespace
}  // namespace sipshard::config

// Loader tests for the routing-rule keys ([routes.match] regexes and
// headers, header actions, attrs, on_reply, on_failure), the template
// compiler, and a check that every shipped config loads.
#include "sipshard/config/route_rules.h"

#include <dirent.h>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
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

constexpr std::string_view kSet =
    "[[sets]]\nname = \"farm\"\n[[sets.destinations]]\nuri = \"sip:127.0.0.1:5071\"\n";

std::string ErrorOf(std::string_view toml) {
  absl::StatusOr<Config> result = LoadConfigString(toml, "t.toml");
  EXPECT_FALSE(result.ok()) << "loaded without error";
  return result.ok() ? "" : std::string(result.status().message());
}

Config LoadOk(std::string_view toml) {
  absl::StatusOr<Config> result = LoadConfigString(toml, "t.toml");
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : Config{};
}

TEST(RouteRulesLoaderTest, EveryNewKeyLoads) {
  Config config = LoadOk(Doc({
      "[[routes]]",
      "name = \"r\"",
      "action = \"forward\"",
      "set = \"farm\"",
      "stateful = true",
      "add_headers = [\"X-A: ${route.name}/${attr.k}\"]",
      "remove_headers = [\"user-agent\", \"X-Secret\"]",
      "attrs = { k = \"v\" }",
      "  [routes.match]",
      "  ruri_user_regex = \"^\\\\+49\"",
      "  ruri_host_regex = \"example\\\\.com$\"",
      "  headers = [{ name = \"X-Foo\", value = \"bar\" }, { name = \"i\", present = true }]",
      "  [routes.on_reply]",
      "  add_headers = [\"X-Dst: ${dst.uri}\"]",
      "  remove_headers = [\"Server\"]",
      "  [routes.on_failure]",
      "  action = \"reply\"",
      "  reply_code = 503",
  }) + std::string(kSet));
  ASSERT_EQ(config.routes.size(), 1u);
  const RouteConfig& r = config.routes[0];
  EXPECT_EQ(r.match.ruri_user_regex.pattern(), "^\\+49");
  EXPECT_TRUE(r.match.ruri_user_regex.Search("+4930123"));
  EXPECT_FALSE(r.match.ruri_user_regex.Search("4930123"));
  EXPECT_TRUE(r.match.ruri_host_regex.Search("sip.example.com"));
  ASSERT_EQ(r.match.headers.size(), 2u);
  EXPECT_EQ(r.match.headers[0].header.id, sip::HeaderId::kOther);
  EXPECT_TRUE(r.match.headers[0].has_value);
  EXPECT_EQ(r.match.headers[0].value, "bar");
  EXPECT_EQ(r.match.headers[1].header.id, sip::HeaderId::kCallId);  // compact "i"
  EXPECT_FALSE(r.match.IsCatchAll());
  ASSERT_EQ(r.add_headers.size(), 1u);
  EXPECT_EQ(r.add_headers[0].header.name, "X-A");
  ASSERT_EQ(r.add_headers[0].value.size(), 3u);
  EXPECT_EQ(r.add_headers[0].value[0].var, TemplateVar::kRouteName);
  EXPECT_EQ(r.add_headers[0].value[1].text, "/");
  EXPECT_EQ(r.add_headers[0].value[2].var, TemplateVar::kAttr);
  EXPECT_EQ(r.add_headers[0].value[2].text, "k");
  ASSERT_EQ(r.remove_headers.size(), 2u);
  EXPECT_EQ(r.remove_headers[0].id, sip::HeaderId::kUserAgent);
  EXPECT_EQ(r.Attr("k"), "v");
  EXPECT_EQ(r.on_reply.add_headers.size(), 1u);
  EXPECT_EQ(r.on_reply.remove_headers[0].id, sip::HeaderId::kServer);
  EXPECT_TRUE(r.on_failure.configured);
  EXPECT_EQ(r.on_failure.action, FailureReaction::kReply);
  EXPECT_EQ(r.on_failure.reply_code, 503);
  EXPECT_EQ(r.on_failure.reply_reason, "Service Unavailable");
}

TEST(RouteRulesLoaderTest, ReplyHeaders) {
  Config config = LoadOk(Doc({
      "[[routes]]",
      "name = \"reg\"",
      "action = \"reply\"",
      "reply_code = 200",
      "reply_headers = [\"Contact: <sip:${request.from_user}@10.0.0.1>\", \"Expires: 60\"]",
  }));
  ASSERT_EQ(config.routes[0].reply_headers.size(), 2u);
  EXPECT_EQ(config.routes[0].reply_headers[1].text, "Expires: 60");
}

TEST(RouteRulesLoaderTest, BadRegexNamesKeyAndLine) {
  std::string error = ErrorOf(Doc({
      "[[routes]]",
      "name = \"r\"",
      "action = \"drop\"",
      "  [routes.match]",
      "  ruri_user_regex = \"([0-9\"",
  }));
  EXPECT_THAT(error, ::testing::StartsWith(
                         "t.toml:5:3: routes[0].match.ruri_user_regex: invalid regular expression: "));
}

TEST(RouteRulesLoaderTest, HeaderConditionErrors) {
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"r\"",
                "action = \"drop\"",
                "  [routes.match]",
                "  headers = [{ name = \"X-Foo\" }]",
            })),
            "t.toml:5:14: routes[0].match.headers[0]: needs \"value\" (a field equals it) or "
            "\"present\" (true/false)");
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"r\"",
                "action = \"drop\"",
                "  [routes.match]",
                "  headers = [{ name = \"X Foo\", present = true, colour = 1 }]",
            })),
            "t.toml:5:16: routes[0].match.headers[0].name: a header name must be a token "
            "(letters, digits and -.!%*_+`'~)\n"
            "t.toml:5:48: routes[0].match.headers[0].colour: unknown key");
}

TEST(RouteRulesLoaderTest, TemplateErrors) {
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"r\"",
                "action = \"reply\"",
                "reply_code = 200",
                "reply_headers = [\"Expires: 60\", \"X-A: ${request.to}\"]",
            })),
            "t.toml:5:33: routes[0].reply_headers[1]: unknown variable \"${request.to}\" (known: "
            "${request.callid}, ${request.ruri}, ${request.method}, ${request.from_user}, "
            "${route.name}, ${dst.uri}, ${attr.NAME})");
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"r\"",
                "action = \"reply\"",
                "reply_code = 200",
                "reply_headers = [\"X-A: ${route.name\", \"NoColon\"]",
            })),
            "t.toml:5:18: routes[0].reply_headers[0]: unterminated \"${\" (expected \"}\")\n"
            "t.toml:5:39: routes[0].reply_headers[1]: expected \"Name: value\"");
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"r\"",
                "action = \"forward\"",
                "set = \"farm\"",
                "remove_headers = [\"v\"]",
            }) + std::string(kSet)),
            "t.toml:5:19: routes[0].remove_headers[0]: Via is managed by sipshard (routing and "
            "transaction matching) and cannot be added or removed by a rule");
}

TEST(RouteRulesLoaderTest, StatelessRoutesRejectOnReplyAndOnFailure) {
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"r\"",
                "action = \"forward\"",
                "set = \"farm\"",
                "  [routes.on_reply]",
                "  remove_headers = [\"Server\"]",
                "  [routes.on_failure]",
                "  action = \"relay_best\"",
            }) + std::string(kSet)),
            "t.toml:5:3: routes[0].on_reply: needs stateful = true (a stateless route keeps no "
            "transaction, so nothing sees its replies or failures)\n"
            "t.toml:7:3: routes[0].on_failure: needs stateful = true (a stateless route keeps no "
            "transaction, so nothing sees its replies or failures)");
}

TEST(RouteRulesLoaderTest, OnFailureErrors) {
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"r\"",
                "action = \"forward\"",
                "set = \"farm\"",
                "stateful = true",
                "  [routes.on_failure]",
                "  action = \"relay_best\"",
                "  reply_code = 500",
            }) + std::string(kSet)),
            "t.toml:8:3: routes[0].on_failure.reply_code: only valid with action = \"reply\", "
            "this on_failure's action is \"relay_best\"");
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"r\"",
                "action = \"forward\"",
                "set = \"farm\"",
                "stateful = true",
                "  [routes.on_failure]",
                "  action = \"reply\"",
            }) + std::string(kSet)),
            "t.toml:6:3: routes[0].on_failure: missing required key \"reply_code\" (action "
            "\"reply\" needs a status code)");
}

TEST(RouteRulesLoaderTest, ActionKeysBelongToTheirAction) {
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"r\"",
                "action = \"reply\"",
                "reply_code = 200",
                "add_headers = [\"X-A: b\"]",
            })),
            "t.toml:5:1: routes[0].add_headers: only valid with action = \"forward\", this "
            "route's action is \"reply\"");
}

TEST(RouteRulesLoaderTest, AttrLimits) {
  EXPECT_EQ(ErrorOf(Doc({
                "[[routes]]",
                "name = \"r\"",
                "action = \"drop\"",
                "attrs = { a = 1, this_name_is_far_too_long_x = \"v\" }",
            })),
            "t.toml:4:11: routes[0].attrs.a: expected a string, got 1\n"
            "t.toml:4:18: routes[0].attrs.this_name_is_far_too_long_x: attribute names are "
            "1..23 letters, digits, \"_\", \".\" and \"-\"");
}

TEST(HeaderTemplateTest, ExpandsIntoAFixedBuffer) {
  HeaderTemplate t;
  ASSERT_EQ(CompileHeaderTemplate(
                "X-Info : ${request.method} ${request.ruri} from ${request.from_user} "
                "id=${request.callid} via ${route.name}->${dst.uri} [${attr.zone}${attr.none}]",
                t),
            "");
  EXPECT_EQ(t.header.name, "X-Info");
  TemplateValues v;
  v.request_method = "INVITE";
  v.request_ruri = "sip:bob@b.example";
  v.request_from_user = "alice";
  v.request_callid = "c1";
  v.route_name = "default";
  v.dst_uri = "sip:10.0.0.1";
  v.attr = [](const void*, std::string_view name) -> std::string_view {
    return name == "zone" ? "eu" : "";
  };
  std::array<char, 256> out;
  const size_t n = ExpandTemplate(t.value, v, out);
  ASSERT_NE(n, std::string_view::npos);
  EXPECT_EQ(std::string_view(out.data(), n),
            "INVITE sip:bob@b.example from alice id=c1 via default->sip:10.0.0.1 [eu]");
  std::array<char, 10> small;
  EXPECT_EQ(ExpandTemplate(t.value, v, small), std::string_view::npos);
}

// Every shipped configuration must load: the bundled one and the examples.
TEST(ShippedConfigsTest, BundledAndExamplesLoad) {
  std::vector<std::string> files = {"deploy/sipshard.toml"};
  DIR* dir = opendir("deploy/examples");
  ASSERT_NE(dir, nullptr);
  while (const dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".toml") {
      files.push_back("deploy/examples/" + name);
    }
  }
  closedir(dir);
  EXPECT_GE(files.size(), 6u);
  for (const std::string& file : files) {
    absl::StatusOr<Config> config = LoadConfigFile(file);
    EXPECT_TRUE(config.ok()) << file << ": " << config.status();
  }
}

}  // namespace
}  // namespace sipshard::config

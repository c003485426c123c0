// Unit tests of the stats JSON: exact shape, totals, parse error names.
#include "sipshard/metrics/stats_report.h"

#include <cctype>
#include <functional>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sipshard/sip/parse_error.h"

namespace sipshard::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A minimal strict JSON validator (objects, arrays, strings without
// escapes, non-negative integers): enough for the stats dump, which must
// stay parseable by jq and by operators' scripts.
class JsonChecker {
 public:
  explicit JsonChecker(std::string_view s) : s_(s) {}
  bool Valid() {
    if (!Value()) return false;
    return pos_ == s_.size();
  }

 private:
  bool Value() {
    if (pos_ >= s_.size()) return false;
    const char c = s_[pos_];
    if (c == '{') return Composite('}', true);
    if (c == '[') return Composite(']', false);
    if (c == '"') return String();
    return Number();
  }
  bool Composite(char close, bool object) {
    ++pos_;
    if (pos_ < s_.size() && s_[pos_] == close) {
      ++pos_;
      return true;
    }
    while (true) {
      if (object) {
        if (!String() || pos_ >= s_.size() || s_[pos_] != ':') return false;
        ++pos_;
      }
      if (!Value() || pos_ >= s_.size()) return false;
      if (s_[pos_] == close) {
        ++pos_;
        return true;
      }
      if (s_[pos_] != ',') return false;
      ++pos_;
    }
  }
  bool String() {
    if (pos_ >= s_.size() || s_[pos_] != '"') return false;
    const size_t end = s_.find('"', pos_ + 1);
    if (end == std::string_view::npos) return false;
    for (size_t i = pos_ + 1; i < end; ++i) {
      if (s_[i] == '\\' || static_cast<unsigned char>(s_[i]) < 0x20) return false;
    }
    pos_ = end + 1;
    return true;
  }
  bool Number() {
    const size_t start = pos_;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    return pos_ > start && (s_[start] != '0' || pos_ == start + 1);
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// The dump's field names and order are an interface (operators' scripts,
// the integration tests): spelled out here on purpose.
struct ShardField {
  const char* name;
  Counter ShardCounters::*member;
};
const ShardField kShardFields[] = {
    {"datagrams", &ShardCounters::datagrams},
    {"requests", &ShardCounters::requests},
    {"responses", &ShardCounters::responses},
    {"bad_requests_answered", &ShardCounters::bad_requests_answered},
    {"dropped_malformed", &ShardCounters::dropped_malformed},
    {"keepalives", &ShardCounters::keepalives},
    {"requests_forwarded", &ShardCounters::requests_forwarded},
    {"responses_forwarded", &ShardCounters::responses_forwarded},
    {"local_replies", &ShardCounters::local_replies},
    {"too_many_hops", &ShardCounters::too_many_hops},
    {"no_route", &ShardCounters::no_route},
    {"no_destination", &ShardCounters::no_destination},
    {"route_drops", &ShardCounters::route_drops},
    {"responses_not_ours", &ShardCounters::responses_not_ours},
    {"responses_unroutable", &ShardCounters::responses_unroutable},
    {"send_failures", &ShardCounters::send_failures},
    {"shutdown_drained", &ShardCounters::shutdown_drained},
    {"transactions_created", &ShardCounters::transactions_created},
    {"transactions_freed", &ShardCounters::transactions_freed},
    {"transactions_overflow", &ShardCounters::transactions_overflow},
    {"retransmissions_absorbed", &ShardCounters::retransmissions_absorbed},
    {"responses_retransmitted", &ShardCounters::responses_retransmitted},
    {"requests_retransmitted", &ShardCounters::requests_retransmitted},
    {"branches_started", &ShardCounters::branches_started},
    {"branch_timeouts", &ShardCounters::branch_timeouts},
    {"failovers", &ShardCounters::failovers},
    {"timeouts_408", &ShardCounters::timeouts_408},
    {"cancels_received", &ShardCounters::cancels_received},
    {"cancels_sent", &ShardCounters::cancels_sent},
    {"early_cancels", &ShardCounters::early_cancels},
    {"acks_absorbed", &ShardCounters::acks_absorbed},
    {"acks_sent", &ShardCounters::acks_sent},
    {"ack_timeouts", &ShardCounters::ack_timeouts},
    {"late_2xx_relayed", &ShardCounters::late_2xx_relayed},
    {"in_dialog_stateful", &ShardCounters::in_dialog_stateful},
    {"loops_detected", &ShardCounters::loops_detected},
    {"bad_extensions", &ShardCounters::bad_extensions},
    {"lifetime_expired", &ShardCounters::lifetime_expired},
    {"probes_sent", &ShardCounters::probes_sent},
    {"probes_ok", &ShardCounters::probes_ok},
    {"probes_failed", &ShardCounters::probes_failed},
    {"health_state_changes", &ShardCounters::health_state_changes},
    {"passive_failures", &ShardCounters::passive_failures},
    {"retry_after_holds", &ShardCounters::retry_after_holds},
    {"control_messages", &ShardCounters::control_messages},
    {"control_overflow", &ShardCounters::control_overflow},
};
struct ReceiveField {
  const char* name;
  Counter ReceiveCounters::*member;
};
const ReceiveField kReceiveFields[] = {
    {"datagrams", &ReceiveCounters::datagrams},
    {"inbox_full", &ReceiveCounters::inbox_full},
    {"pool_exhausted", &ReceiveCounters::pool_exhausted},
    {"no_call_id", &ReceiveCounters::no_call_id},
    {"routed_by_branch", &ReceiveCounters::routed_by_branch},
    {"wakeups_sent", &ReceiveCounters::wakeups_sent},
    {"shutdown_discarded", &ReceiveCounters::shutdown_discarded},
};

// Formats `"<prefix><name>":<value>` for every field, comma-separated.
template <typename Field>
std::string Fields(std::span<const Field> fields, const std::function<uint64_t(size_t)>& value,
                   const std::string& prefix = "") {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ",";
    out += "\"" + prefix + fields[i].name + "\":" + std::to_string(value(i));
  }
  return out;
}
std::string ShardFields(const std::function<uint64_t(size_t)>& value) {
  return Fields<ShardField>(kShardFields, value);
}
std::string ReceiveFields(const std::function<uint64_t(size_t)>& value,
                          const std::string& prefix = "") {
  return Fields<ReceiveField>(kReceiveFields, value, prefix);
}
uint64_t Zero(size_t) { return 0; }

TEST(StatsReportTest, EmptyDumpIsValidWithZeroTotals) {
  const std::string json = FormatStatsJson({}, {});
  EXPECT_EQ(json, "{\"shards\":[],\"receive_threads\":[],\"totals\":{" + ShardFields(Zero) + "," +
                      ReceiveFields(Zero, "rx_") + "}}");
  EXPECT_TRUE(JsonChecker(json).Valid()) << json;
}

TEST(StatsReportTest, ExactShapeWithTotalsSummingEveryThread) {
  auto a = std::make_unique<ShardCounters>();
  auto b = std::make_unique<ShardCounters>();
  auto r1 = std::make_unique<ReceiveCounters>();
  auto r2 = std::make_unique<ReceiveCounters>();
  // Every field gets a distinct value, so that a swapped field shows.
  auto a_value = [](size_t i) -> uint64_t { return i + 1; };
  auto b_value = [](size_t i) -> uint64_t { return 100 * (i + 1); };
  auto r1_value = [](size_t i) -> uint64_t { return 10000 * (i + 1); };
  auto r2_value = [](size_t) -> uint64_t { return 7; };
  for (size_t i = 0; i < std::size(kShardFields); ++i) {
    ((*a).*kShardFields[i].member).Add(a_value(i));
    ((*b).*kShardFields[i].member).Add(b_value(i));
  }
  for (size_t i = 0; i < std::size(kReceiveFields); ++i) {
    ((*r1).*kReceiveFields[i].member).Add(r1_value(i));
    ((*r2).*kReceiveFields[i].member).Add(r2_value(i));
  }
  a->parse_errors[static_cast<size_t>(sip::ParseError::kBadCSeq)].Add(3);
  a->parse_errors[static_cast<size_t>(sip::ParseError::kBadStartLine)].Add(1);
  b->parse_errors[static_cast<size_t>(sip::ParseError::kBadCSeq)].Add(5);

  const ShardCounters* shards[] = {a.get(), b.get()};
  const ReceiveCounters* receivers[] = {r1.get(), r2.get()};
  const std::string json = FormatStatsJson(shards, receivers);

  const std::string expected =
      "{\"shards\":[{" + ShardFields(a_value) +
      ",\"parse_errors\":{\"bad_start_line\":1,\"bad_cseq\":3}},{" + ShardFields(b_value) +
      ",\"parse_errors\":{\"bad_cseq\":5}}]," + "\"receive_threads\":[{" + ReceiveFields(r1_value) +
      "},{" + ReceiveFields(r2_value) + "}]," + "\"totals\":{" +
      ShardFields([&](size_t i) { return a_value(i) + b_value(i); }) + "," +
      ReceiveFields([&](size_t i) { return r1_value(i) + r2_value(i); }, "rx_") + "}}";
  EXPECT_EQ(json, expected);
  EXPECT_TRUE(JsonChecker(json).Valid()) << json;
}

TEST(StatsReportTest, ParseErrorsAreNamedAndOnlyNonZeroOnesListed) {
  auto shard = std::make_unique<ShardCounters>();
  const ShardCounters* shards[] = {shard.get()};
  EXPECT_THAT(FormatStatsJson(shards, {}), HasSubstr("\"parse_errors\":{}"));

  // Every error except kNone/kEmpty appears under its Describe() name.
  for (int e = 2; e < sip::kParseErrorCount; ++e) shard->parse_errors[static_cast<size_t>(e)].Add(e);
  const std::string json = FormatStatsJson(shards, {});
  EXPECT_TRUE(JsonChecker(json).Valid()) << json;
  for (int e = 2; e < sip::kParseErrorCount; ++e) {
    const std::string_view name = sip::Describe(static_cast<sip::ParseError>(e)).name;
    EXPECT_THAT(json, HasSubstr("\"" + std::string(name) + "\":" + std::to_string(e)));
  }
  EXPECT_THAT(json, Not(HasSubstr("\"none\"")));
}

TEST(StatsReportTest, ParseErrorNamesAreDistinctIdentifiers) {
  std::vector<std::string> names;
  for (int e = 0; e < sip::kParseErrorCount; ++e) {
    const std::string name(sip::Describe(static_cast<sip::ParseError>(e)).name);
    ASSERT_FALSE(name.empty()) << e;
    for (char c : name) EXPECT_TRUE(std::islower(static_cast<unsigned char>(c)) || c == '_') << name;
    for (const std::string& other : names) EXPECT_NE(name, other);
    names.push_back(name);
  }
}

TEST(StatsReportTest, LargeValuesArePrintedExactly) {
  auto shard = std::make_unique<ShardCounters>();
  shard->datagrams.Add(18446744073709551615ULL);
  const ShardCounters* shards[] = {shard.get()};
  EXPECT_THAT(FormatStatsJson(shards, {}), HasSubstr("{\"datagrams\":18446744073709551615,"));
}

}  // namespace
}  // namespace sipshard::metrics

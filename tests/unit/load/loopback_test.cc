// The threaded generator against the threaded farm over 127.0.0.1: exact
// counts on both sides, retransmission under forced loss, timeouts against
// a silent farm. Bounded: small call counts, small T1, ports chosen by the
// kernel; no timing assertions.
#include <memory>

#include "gtest/gtest.h"
#include "sipshard/load/runner.h"

namespace sipshard::load {
namespace {

using transport::SocketAddress;

std::unique_ptr<UasFarm> StartFarm(const char* spec, int threads = 1, base::Millis t1_ms = 500) {
  FarmOptions options;
  std::string with_port = std::string("127.0.0.1:0") + spec;
  options.endpoints.push_back(*ParseEndpointSpec(with_port));
  options.threads = threads;
  options.t1_ms = t1_ms;
  absl::StatusOr<std::unique_ptr<UasFarm>> farm = UasFarm::Start(options);
  EXPECT_TRUE(farm.ok()) << farm.status();
  return farm.ok() ? std::move(*farm) : nullptr;
}

UacRunOptions Options(const UasFarm& farm, uint64_t calls) {
  UacRunOptions options;
  options.config.target = farm.endpoints()[0].address;
  options.config.max_calls = calls;
  options.config.max_inflight = 10;
  options.local = *SocketAddress::Parse("127.0.0.1", 0);
  options.duration_s = 60;  // a bound, never reached
  return options;
}

TEST(LoopbackTest, AnsweredCallsAreCountedExactlyOnBothSides) {
  std::unique_ptr<UasFarm> farm = StartFarm("");
  ASSERT_NE(farm, nullptr);
  UacRunOptions options = Options(*farm, 200);
  options.threads = 2;
  absl::StatusOr<UacResult> result = RunUac(options);
  ASSERT_TRUE(result.ok()) << result.status();
  farm->Stop();
  const UacStats& s = result->stats;
  EXPECT_EQ(s.attempted, 200u);
  EXPECT_EQ(s.succeeded, 200u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.final_codes[200], 200u);
  EXPECT_EQ(s.unexpected, 0u);
  EXPECT_EQ(s.invite_200.count(), 200u);
  EXPECT_GT(result->cpu_seconds, 0);
  const FarmResult farm_result = farm->Result();
  const EndpointCounters& c = farm_result.counters[0];
  EXPECT_EQ(c.invites, 200u);
  EXPECT_EQ(c.acks, 200u);
  EXPECT_EQ(c.byes, 200u);
  EXPECT_EQ(c.finals[200], 200u);
  const std::string json = FormatUacJson(*result);
  for (const char* key :
       {"\"offered_cps\"", "\"achieved_cps\"", "\"attempted\":200", "\"succeeded\":200",
        "\"failed\":0", "\"final_codes\":{\"200\":200}", "\"retransmissions\"", "\"timeouts\"",
        "\"unexpected\"", "\"latency_ms\":{\"invite_final\":{\"p50\"", "\"invite_200\":{\"p50\"",
        "\"p90\"", "\"p99\"", "\"p999\"", "\"cpu_seconds\"", "\"cpu_us_per_call\"",
        "\"duration_s\""}) {
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
  }
  const std::string farm_json = FormatFarmJson(farm_result);
  EXPECT_NE(farm_json.find("\"behavior\":\"answer\",\"invites\":200,\"acks\":200,\"byes\":200,"
                           "\"options\":0,\"cancels\":0,\"other\":0,\"responses_sent\":800,"
                           "\"dropped\":0"),
            std::string::npos)
      << farm_json;
}

TEST(LoopbackTest, BusyFarmFailsEveryCallWithItsCode) {
  std::unique_ptr<UasFarm> farm = StartFarm(",behavior=busy", 2);
  ASSERT_NE(farm, nullptr);
  absl::StatusOr<UacResult> result = RunUac(Options(*farm, 100));
  ASSERT_TRUE(result.ok()) << result.status();
  farm->Stop();
  EXPECT_EQ(result->stats.attempted, 100u);
  EXPECT_EQ(result->stats.failed, 100u);
  EXPECT_EQ(result->stats.final_codes[486], 100u);
  EXPECT_EQ(result->stats.invite_200.count(), 0u);
  const EndpointCounters c = farm->Result().counters[0];
  EXPECT_EQ(c.invites, 100u);
  EXPECT_EQ(c.acks, 100u);
  EXPECT_EQ(c.byes, 0u);
}

TEST(LoopbackTest, DroppedFirstCopiesAreRetransmitted) {
  std::unique_ptr<UasFarm> farm = StartFarm(",drop_first=1");
  ASSERT_NE(farm, nullptr);
  UacRunOptions options = Options(*farm, 30);
  options.config.t1_ms = 50;
  absl::StatusOr<UacResult> result = RunUac(options);
  ASSERT_TRUE(result.ok()) << result.status();
  farm->Stop();
  EXPECT_EQ(result->stats.succeeded, 30u);
  // One forced retransmission per INVITE and per BYE; a loaded machine may
  // add more (a late answer), never fewer.
  EXPECT_GE(result->stats.retransmissions, 60u);
  const EndpointCounters c = farm->Result().counters[0];
  EXPECT_EQ(c.invites, 30u);
  EXPECT_EQ(c.byes, 30u);
  EXPECT_EQ(c.dropped, 60u);
}

TEST(LoopbackTest, SilentFarmTimesOut) {
  std::unique_ptr<UasFarm> farm = StartFarm(",behavior=silent");
  ASSERT_NE(farm, nullptr);
  UacRunOptions options = Options(*farm, 5);
  options.config.t1_ms = 10;  // Timer B = 640 ms
  absl::StatusOr<UacResult> result = RunUac(options);
  ASSERT_TRUE(result.ok()) << result.status();
  farm->Stop();
  EXPECT_EQ(result->stats.attempted, 5u);
  EXPECT_EQ(result->stats.timeouts, 5u);
  EXPECT_EQ(result->stats.failed, 5u);
  // 6 per INVITE on time (the exact schedule is tested on a manual clock);
  // a stalled thread may reach Timer B before the last one.
  EXPECT_LE(result->stats.retransmissions, 30u);
  EXPECT_GE(result->stats.retransmissions, 5u);
  EXPECT_EQ(farm->Result().counters[0].invites, 5u);
}

TEST(LoopbackTest, PacedOptionsRun) {
  std::unique_ptr<UasFarm> farm = StartFarm("");
  ASSERT_NE(farm, nullptr);
  UacRunOptions options = Options(*farm, 50);
  options.config.scenario = Scenario::kOptions;
  options.config.max_inflight = 0;
  options.config.rate = 500;
  absl::StatusOr<UacResult> result = RunUac(options);
  ASSERT_TRUE(result.ok()) << result.status();
  farm->Stop();
  EXPECT_EQ(result->stats.succeeded, 50u);
  EXPECT_EQ(farm->Result().counters[0].options, 50u);
  EXPECT_GT(result->offered_cps, 0);
}

TEST(LoopbackTest, DurationBoundsTheRun) {
  std::unique_ptr<UasFarm> farm = StartFarm("");
  ASSERT_NE(farm, nullptr);
  UacRunOptions options = Options(*farm, 0);
  options.config.max_inflight = 0;
  options.config.rate = 200;
  options.duration_s = 0.5;
  absl::StatusOr<UacResult> result = RunUac(options);
  ASSERT_TRUE(result.ok()) << result.status();
  farm->Stop();
  const UacStats& s = result->stats;
  EXPECT_EQ(s.attempted, s.succeeded + s.failed);
  EXPECT_GE(s.attempted, 90u);
  EXPECT_LE(s.attempted, 101u);
  EXPECT_EQ(farm->Result().counters[0].invites, s.attempted);
}

}  // namespace
}  // namespace sipshard::load

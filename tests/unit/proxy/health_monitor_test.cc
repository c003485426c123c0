// HealthMonitor (proxy/health_monitor.h): OPTIONS probing with rise/fall on
// a timer wheel, passive health and Retry-After reports, owner routing and
// state broadcasts, with a FakeSender and a recording ControlBus.
#include "sipshard/proxy/health_monitor.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sipshard/base/timer_wheel.h"
#include "sipshard/proxy/proxy_core.h"
#include "sipshard/sip/parser.h"
#include "sipshard/txn/branch_id.h"
#include "tests/testing/fake_sender.h"

namespace sipshard::proxy {
namespace {

using dispatch::ControlKind;
using dispatch::ControlMessage;
using dispatch::DestinationState;

class RecordingBus : public ControlBus {
 public:
  bool Post(uint16_t shard, const ControlMessage& message) override {
    posts.push_back({shard, message});
    return true;
  }
  struct Post_ {
    uint16_t shard;
    ControlMessage message;
  };
  std::vector<Post_> posts;
};

class HealthMonitorTest : public ::testing::Test {
 protected:
  void Build(uint16_t shard, uint16_t shards, int destinations,
             void (*tweak)(config::DestinationSetConfig&)) {
    config_ = std::make_shared<config::Config>();
    config::DestinationSetConfig set;
    set.name = "farm";
    for (int i = 0; i < destinations; ++i) {
      config::DestinationConfig d;
      d.uri = "sip:127.0.0.1:" + std::to_string(5071 + i);
      d.host = "127.0.0.1";
      d.port = static_cast<uint16_t>(5071 + i);
      d.has_port = true;
      d.family = AF_INET;
      set.destinations.push_back(d);
    }
    tweak(set);
    config_->sets.push_back(set);
    for (const auto& s : config_->sets) {
      sets_.push_back(*dispatch::DestinationSet::Create(s));
    }
    ListenIdentity listen;
    listen.host = "127.0.0.1";
    listen.port = 5060;
    listen.address = *transport::SocketAddress::Parse("127.0.0.1", 5060);
    listens_.push_back(listen);
    HealthMonitorOptions options;
    options.shard = shard;
    options.shard_count = shards;
    options.config = config_.get();
    options.sets = &sets_;
    options.listens = &listens_;
    options.sender = &sender_;
    options.wheel = &wheel_;
    options.counters = &counters_;
    options.bus = shards > 1 ? &bus_ : nullptr;
    monitor_ = std::make_unique<HealthMonitor>(options);
  }

  void AdvanceTo(base::Millis t) {
    now_ = t;
    wheel_.Advance(now_);
  }

  // Answers the last probe sent with `code`.
  void Answer(int code) {
    ASSERT_FALSE(sender_.sent().empty());
    sip::Message probe;
    ASSERT_EQ(sip::ParseMessage(sender_.last().bytes, sip::ParseLimits{}, &probe),
              sip::ParseError::kNone);
    response_text_ = "SIP/2.0 " + std::to_string(code) + " X\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=" +
                     std::string(probe.top_via.branch) +
                     "\r\nFrom: <sip:sipshard@127.0.0.1>;tag=x\r\nTo: <sip:a@b>;tag=y\r\n"
                     "Call-ID: " + std::string(probe.call_id) + "\r\nCSeq: " +
                     std::to_string(probe.cseq.number) + " OPTIONS\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(sip::ParseMessage(response_text_, sip::ParseLimits{}, &response_),
              sip::ParseError::kNone);
    EXPECT_TRUE(monitor_->HandleProbeResponse(response_));
  }

  DestinationState StateOf(size_t d) const { return sets_[0].destinations()[d].state; }

  base::Millis now_ = 1000;
  base::TimerWheel wheel_{1000};
  std::shared_ptr<config::Config> config_;
  std::vector<dispatch::DestinationSet> sets_;
  std::vector<ListenIdentity> listens_;
  testing::FakeSender sender_;
  metrics::ShardCounters counters_;
  RecordingBus bus_;
  std::unique_ptr<HealthMonitor> monitor_;
  std::string response_text_;
  sip::Message response_;
};

TEST_F(HealthMonitorTest, ProbesEveryIntervalWithARoutableBranch) {
  Build(0, 1, 1, [](config::DestinationSetConfig& s) {
    s.probing.enabled = true;
    s.probing.interval_ms = 100;
    s.probing.timeout_ms = 50;
  });
  AdvanceTo(1001);
  ASSERT_EQ(sender_.sent().size(), 1u);
  const std::string& bytes = sender_.last().bytes;
  EXPECT_EQ(bytes.substr(0, bytes.find("\r\n")), "OPTIONS sip:127.0.0.1:5071 SIP/2.0");
  EXPECT_EQ(sender_.last().path.destination.port(), 5071);
  sip::Message probe;
  ASSERT_EQ(sip::ParseMessage(bytes, sip::ParseLimits{}, &probe), sip::ParseError::kNone);
  std::optional<txn::ProbeBranch> id = txn::ParseProbeBranch(probe.top_via.branch);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->shard, 0);
  EXPECT_EQ(id->destination, 0);
  EXPECT_EQ(txn::ShardFromBranch(probe.top_via.branch), 0);
  Answer(200);
  EXPECT_EQ(counters_.probes_ok.value(), 1u);
  AdvanceTo(1101);
  EXPECT_EQ(sender_.sent().size(), 2u);
  EXPECT_EQ(counters_.probes_sent.value(), 2u);
}

TEST_F(HealthMonitorTest, FallAndRise) {
  Build(0, 1, 2, [](config::DestinationSetConfig& s) {
    s.probing.enabled = true;
    s.probing.interval_ms = 100;
    s.probing.timeout_ms = 50;
    s.probing.fall = 2;
    s.probing.rise = 2;
  });
  // Destination 1 answers 503 (refused), destination 0 is silent.
  for (int round = 0; round < 2; ++round) {
    const base::Millis base = 1000 + round * 100;
    AdvanceTo(base + 40);
    // Answer the newest probe to 5072 with 503.
    for (auto it = sender_.sent().rbegin(); it != sender_.sent().rend(); ++it) {
      if (it->path.destination.port() != 5072) continue;
      sip::Message probe;
      ASSERT_EQ(sip::ParseMessage(it->bytes, sip::ParseLimits{}, &probe), sip::ParseError::kNone);
      response_text_ = "SIP/2.0 503 X\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=" +
                       std::string(probe.top_via.branch) +
                       "\r\nFrom: <sip:a@b>;tag=x\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 "
                       "OPTIONS\r\nContent-Length: 0\r\n\r\n";
      ASSERT_EQ(sip::ParseMessage(response_text_, sip::ParseLimits{}, &response_),
                sip::ParseError::kNone);
      EXPECT_TRUE(monitor_->HandleProbeResponse(response_));
      break;
    }
    AdvanceTo(base + 99);
  }
  EXPECT_EQ(StateOf(0), DestinationState::kProbing);  // two timeouts
  EXPECT_EQ(StateOf(1), DestinationState::kProbing);  // two 503s
  EXPECT_EQ(counters_.probes_failed.value(), 4u);
  EXPECT_EQ(counters_.health_state_changes.value(), 2u);
  // Destination 0 comes back after two answered probes.
  for (int round = 2; round < 4; ++round) {
    AdvanceTo(1000 + round * 100 + 10);
    for (auto it = sender_.sent().rbegin(); it != sender_.sent().rend(); ++it) {
      if (it->path.destination.port() != 5071) continue;
      sip::Message probe;
      ASSERT_EQ(sip::ParseMessage(it->bytes, sip::ParseLimits{}, &probe), sip::ParseError::kNone);
      response_text_ = "SIP/2.0 404 X\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=" +
                       std::string(probe.top_via.branch) +
                       "\r\nFrom: <sip:a@b>;tag=x\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 "
                       "OPTIONS\r\nContent-Length: 0\r\n\r\n";
      ASSERT_EQ(sip::ParseMessage(response_text_, sip::ParseLimits{}, &response_),
                sip::ParseError::kNone);
      EXPECT_TRUE(monitor_->HandleProbeResponse(response_));
      break;
    }
    if (round == 2) {
      EXPECT_EQ(StateOf(0), DestinationState::kProbing);
    }
  }
  EXPECT_EQ(StateOf(0), DestinationState::kActive);  // 404 is an accepted answer
}

TEST_F(HealthMonitorTest, RetryAfterTakesTheDestinationOutHereAndTellsTheOwner) {
  // Two shards: destination 1 is owned by shard 1; this is shard 0.
  Build(0, 2, 2, [](config::DestinationSetConfig& s) { s.retry_after_max_ms = 60'000; });
  monitor_->OnBranchOutcome(0, 1, 503, false, 3600);
  EXPECT_EQ(StateOf(1), DestinationState::kProbing);
  ASSERT_EQ(bus_.posts.size(), 1u);
  EXPECT_EQ(bus_.posts[0].shard, 1);
  EXPECT_EQ(bus_.posts[0].message.kind, ControlKind::kRetryAfter);
  EXPECT_EQ(bus_.posts[0].message.until_ms, 1000 + 60'000);  // capped
  EXPECT_EQ(counters_.retry_after_holds.value(), 1u);
  // A state change from the owner is applied.
  ControlMessage back;
  back.kind = ControlKind::kSetState;
  back.state = DestinationState::kActive;
  back.destination_index = 1;
  monitor_->Apply(back);
  EXPECT_EQ(StateOf(1), DestinationState::kActive);
}

TEST_F(HealthMonitorTest, OwnerHoldsForRetryAfterAndBroadcastsBothChanges) {
  Build(0, 2, 1, [](config::DestinationSetConfig& /*s*/) {});
  ControlMessage m;
  m.kind = ControlKind::kRetryAfter;
  m.destination_index = 0;
  m.from_shard = 1;
  m.until_ms = 1500;
  monitor_->Apply(m);
  EXPECT_EQ(StateOf(0), DestinationState::kProbing);
  ASSERT_EQ(bus_.posts.size(), 1u);
  EXPECT_EQ(bus_.posts[0].shard, 1);
  EXPECT_EQ(bus_.posts[0].message.kind, ControlKind::kSetState);
  EXPECT_EQ(bus_.posts[0].message.state, DestinationState::kProbing);
  AdvanceTo(1499);
  EXPECT_EQ(StateOf(0), DestinationState::kProbing);
  AdvanceTo(1500);
  EXPECT_EQ(StateOf(0), DestinationState::kActive);
  ASSERT_EQ(bus_.posts.size(), 2u);
  EXPECT_EQ(bus_.posts[1].message.state, DestinationState::kActive);
}

TEST_F(HealthMonitorTest, PassiveFailuresFromAnyShardMarkDown) {
  Build(0, 2, 1, [](config::DestinationSetConfig& s) {
    s.passive_fall = 3;
    s.passive_hold_ms = 1000;
  });
  // Two from shard 1 by message, one seen here.
  ControlMessage m;
  m.kind = ControlKind::kPassiveFailure;
  m.from_shard = 1;
  monitor_->Apply(m);
  monitor_->Apply(m);
  EXPECT_EQ(StateOf(0), DestinationState::kActive);
  monitor_->OnBranchOutcome(0, 0, 408, true, -1);
  EXPECT_EQ(StateOf(0), DestinationState::kProbing);
  EXPECT_EQ(counters_.passive_failures.value(), 1u);
  AdvanceTo(2000);
  EXPECT_EQ(StateOf(0), DestinationState::kActive);
}

TEST_F(HealthMonitorTest, DefiniteAnswersAreNotFailures) {
  Build(0, 1, 1, [](config::DestinationSetConfig& s) { s.passive_fall = 1; });
  monitor_->OnBranchOutcome(0, 0, 486, false, -1);
  monitor_->OnBranchOutcome(0, 0, 404, false, -1);
  monitor_->OnBranchOutcome(0, 0, 603, false, -1);
  EXPECT_EQ(StateOf(0), DestinationState::kActive);
  monitor_->OnBranchOutcome(0, 0, 500, false, -1);
  EXPECT_EQ(StateOf(0), DestinationState::kProbing);
}

TEST_F(HealthMonitorTest, IgnoresNonProbeBranches) {
  Build(0, 1, 1, [](config::DestinationSetConfig& /*s*/) {});
  response_text_ =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-sx0000-a0123456789abcdef\r\n"
      "From: <sip:a@b>;tag=x\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
      "Content-Length: 0\r\n\r\n";
  ASSERT_EQ(sip::ParseMessage(response_text_, sip::ParseLimits{}, &response_),
            sip::ParseError::kNone);
  EXPECT_FALSE(monitor_->HandleProbeResponse(response_));
}

}  // namespace
}  // namespace sipshard::proxy

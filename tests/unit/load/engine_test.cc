// UAC and UAS engines wired together in process on a manual clock: exact
// call accounting, RFC 3261 timer schedules, loss, Record-Route handling.
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"
#include "sipshard/base/clock.h"
#include "sipshard/load/uac.h"
#include "sipshard/load/uas.h"
#include "sipshard/sip/call_id_scan.h"

namespace sipshard::load {
namespace {

using transport::SocketAddress;

constexpr base::Nanos kMs = 1'000'000;

SocketAddress Addr(const char* ip, uint16_t port) { return *SocketAddress::Parse(ip, port); }

struct Packet {
  std::string bytes;
  SocketAddress from;
  SocketAddress to;
};

// A tiny in-process network: one UAC engine, N UAS engines. Datagrams to
// the "proxy" address are spread over the endpoints by Call-ID (first seen
// → next endpoint in turn), like a stateless balancer.
class Network {
 public:
  class Port : public PacketSink {
   public:
    Port(Network* net, SocketAddress self) : net_(net), self_(self) {}
    void Send(std::string_view bytes, const SocketAddress& to) override {
      net_->queue_.push_back({std::string(bytes), self_, to});
      ++net_->sent_;
    }

   private:
    Network* net_;
    SocketAddress self_;
  };

  Network() : uac_address_(Addr("127.0.0.1", 40000)), proxy_(Addr("127.0.0.2", 5060)) {}

  void AddEndpoint(EndpointConfig config, base::Millis t1_ms = 500) {
    ports_.push_back(std::make_unique<Port>(this, config.address));
    uas_.push_back(std::make_unique<UasEngine>(config, t1_ms, uas_.size() + 1, ports_.back().get()));
  }
  UacEngine* MakeUac(UacConfig config) {
    config.local = uac_address_;
    if (!config.target.valid()) config.target = proxy_;
    uac_port_ = std::make_unique<Port>(this, uac_address_);
    uac_ = std::make_unique<UacEngine>(config, uac_port_.get());
    uac_->Start(clock_.NowNanos());
    return uac_.get();
  }

  // Delivers everything queued (and what that produces) at the current time.
  void Deliver() {
    for (int guard = 0; guard < 100000 && !queue_.empty(); ++guard) {
      Packet packet = std::move(queue_.front());
      queue_.pop_front();
      if (drop_ && drop_(packet)) continue;
      delivered_.push_back(packet);
      const base::Nanos now = clock_.NowNanos();
      if (packet.to == uac_address_) {
        uac_->OnDatagram(packet.bytes, packet.from, now);
        continue;
      }
      if (UasEngine* uas = Route(packet)) uas->OnDatagram(packet.bytes, packet.from, now);
    }
  }
  // Advances time in `step` increments up to `total`, polling everyone.
  void Run(base::Millis total, base::Millis step = 1) {
    for (base::Millis t = 0; t <= total; t += step) {
      const base::Nanos now = clock_.NowNanos();
      uac_->Poll(now);
      Deliver();
      for (auto& uas : uas_) uas->Poll(now);
      Deliver();
      uac_->Poll(now);
      Deliver();
      if (uac_->Done() && t > 0) return;
      clock_.AdvanceMillis(step);
    }
  }

  UasEngine& uas(size_t i) { return *uas_[i]; }
  base::ManualClock& clock() { return clock_; }
  const std::vector<Packet>& delivered() const { return delivered_; }
  void set_drop(std::function<bool(const Packet&)> drop) { drop_ = std::move(drop); }
  const SocketAddress& proxy() const { return proxy_; }

 private:
  UasEngine* Route(const Packet& packet) {
    if (packet.to == proxy_) {
      const std::string call_id(sip::FindCallId(packet.bytes));
      auto [it, inserted] = assignment_.try_emplace(call_id, next_);
      if (inserted) next_ = (next_ + 1) % uas_.size();
      return uas_[it->second].get();
    }
    for (auto& uas : uas_) {
      if (uas->config().address == packet.to) return uas.get();
    }
    return nullptr;
  }

  base::ManualClock clock_;
  SocketAddress uac_address_;
  SocketAddress proxy_;
  std::unique_ptr<Port> uac_port_;
  std::unique_ptr<UacEngine> uac_;
  std::vector<std::unique_ptr<Port>> ports_;
  std::vector<std::unique_ptr<UasEngine>> uas_;
  std::deque<Packet> queue_;
  std::vector<Packet> delivered_;
  std::function<bool(const Packet&)> drop_;
  absl::flat_hash_map<std::string, size_t> assignment_;
  size_t next_ = 0;
  uint64_t sent_ = 0;
};

EndpointConfig Endpoint(const char* spec) { return *ParseEndpointSpec(spec); }

int CountRequests(const std::vector<Packet>& packets, std::string_view method) {
  int n = 0;
  for (const Packet& p : packets) n += p.bytes.rfind(std::string(method) + " ", 0) == 0;
  return n;
}

TEST(EndpointSpecTest, ParsesEveryOption) {
  EndpointConfig c = Endpoint(
      "127.0.0.1:5071,behavior=fail,ring_ms=10,answer_ms=20,retry_after=30,drop_percent=2.5,"
      "drop_first=1");
  EXPECT_EQ(c.address, Addr("127.0.0.1", 5071));
  EXPECT_EQ(c.behavior, Behavior::kFail);
  EXPECT_EQ(c.ring_ms, 10);
  EXPECT_EQ(c.answer_ms, 20);
  EXPECT_EQ(c.retry_after_s, 30);
  EXPECT_DOUBLE_EQ(c.drop_percent, 2.5);
  EXPECT_EQ(c.drop_first, 1u);
  EndpointConfig mix = Endpoint("[::1]:5072,mix=answer:90/busy:10");
  EXPECT_EQ(mix.behavior, Behavior::kMix);
  ASSERT_EQ(mix.mix.size(), 2u);
  EXPECT_EQ(mix.mix[1].behavior, Behavior::kBusy);
  EXPECT_EQ(mix.mix[1].percent, 10u);
  EXPECT_FALSE(ParseEndpointSpec("127.0.0.1").ok());
  EXPECT_FALSE(ParseEndpointSpec("127.0.0.1:5071,behavior=odd").ok());
  EXPECT_FALSE(ParseEndpointSpec("127.0.0.1:5071,mix=answer:90/busy:5").ok());
  EXPECT_FALSE(ParseEndpointSpec("127.0.0.1:5071,bogus=1").ok());
}

// 100 calls through a balancer that alternates: endpoint 1 answers,
// endpoint 2 is busy. Every count is exact.
TEST(UacEngineTest, ExactAccountingAgainstScriptedFarm) {
  Network net;
  net.AddEndpoint(Endpoint("127.0.0.11:5071,behavior=answer"));
  net.AddEndpoint(Endpoint("127.0.0.12:5071,behavior=busy"));
  UacConfig config;
  config.max_inflight = 7;
  config.max_calls = 100;
  config.hold_ms = 20;
  UacEngine* uac = net.MakeUac(config);
  net.Run(60'000);
  ASSERT_TRUE(uac->Done());
  const UacStats& s = uac->stats();
  EXPECT_EQ(s.attempted, 100u);
  EXPECT_EQ(s.succeeded, 50u);
  EXPECT_EQ(s.failed, 50u);
  EXPECT_EQ(s.final_codes[200], 50u);
  EXPECT_EQ(s.final_codes[486], 50u);
  EXPECT_EQ(s.retransmissions, 0u);
  EXPECT_EQ(s.timeouts, 0u);
  EXPECT_EQ(s.unexpected, 0u);
  EXPECT_EQ(s.late_responses, 0u);
  EXPECT_EQ(s.invite_final.count(), 100u);
  EXPECT_EQ(s.invite_200.count(), 50u);
  const EndpointCounters& answer = net.uas(0).counters();
  EXPECT_EQ(answer.invites, 50u);
  EXPECT_EQ(answer.acks, 50u);
  EXPECT_EQ(answer.byes, 50u);
  EXPECT_EQ(answer.finals[200], 50u);
  EXPECT_EQ(answer.responses_sent, 200u);  // 100, 180, 200, 200 for BYE
  const EndpointCounters& busy = net.uas(1).counters();
  EXPECT_EQ(busy.invites, 50u);
  EXPECT_EQ(busy.acks, 50u);  // the non-2xx ACK goes hop by hop
  EXPECT_EQ(busy.byes, 0u);
  EXPECT_EQ(busy.finals[486], 50u);
  EXPECT_EQ(net.uas(0).transaction_count() + net.uas(1).transaction_count(), 50u)
      << "only the BYE transactions (Timer J) remain";
}

TEST(UacEngineTest, RequestsAreWellFormed) {
  Network net;
  net.AddEndpoint(Endpoint("127.0.0.11:5071"));
  UacConfig config;
  config.max_inflight = 1;
  config.max_calls = 1;
  net.MakeUac(config);
  net.Run(1000);
  ASSERT_EQ(CountRequests(net.delivered(), "INVITE"), 1);
  const std::string& invite = net.delivered()[0].bytes;
  EXPECT_NE(invite.find("Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK"), std::string::npos);
  EXPECT_NE(invite.find(";rport\r\n"), std::string::npos);
  EXPECT_NE(invite.find("Max-Forwards: 70\r\n"), std::string::npos);
  EXPECT_NE(invite.find("Contact: <sip:load@127.0.0.1:40000>\r\n"), std::string::npos);
  EXPECT_NE(invite.find("Content-Type: application/sdp\r\n"), std::string::npos);
  const size_t body = invite.find("\r\n\r\n") + 4;
  EXPECT_NE(invite.find("Content-Length: " + std::to_string(invite.size() - body) + "\r\n"),
            std::string::npos);
  // ACK and BYE go to the Contact of the 200 (no Record-Route here).
  for (const Packet& p : net.delivered()) {
    if (p.bytes.rfind("ACK ", 0) == 0 || p.bytes.rfind("BYE ", 0) == 0) {
      EXPECT_EQ(p.to, Addr("127.0.0.11", 5071));
      EXPECT_EQ(p.bytes.find("Route:"), std::string::npos);
      EXPECT_NE(p.bytes.find(";tag="), p.bytes.rfind(";tag=")) << "From and To tagged";
    }
  }
}

// Timer A/B (§17.1.1.2): sends at 0, 1, 3, 7, 15, 31, 63 T1; timeout at 64 T1.
TEST(UacEngineTest, InviteRetransmissionScheduleAndTimeout) {
  Network net;
  net.AddEndpoint(Endpoint("127.0.0.11:5071,behavior=silent"));
  UacConfig config;
  config.max_inflight = 1;
  config.max_calls = 1;
  config.t1_ms = 500;
  UacEngine* uac = net.MakeUac(config);
  const base::Nanos start = net.clock().NowNanos();
  std::vector<base::Millis> send_times;
  net.set_drop([&](const Packet& p) {
    if (p.bytes.rfind("INVITE ", 0) == 0) {
      send_times.push_back((net.clock().NowNanos() - start) / kMs);
    }
    return false;
  });
  net.Run(40'000, 1);
  EXPECT_EQ(send_times, (std::vector<base::Millis>{0, 500, 1500, 3500, 7500, 15500, 31500}));
  ASSERT_TRUE(uac->Done());
  EXPECT_EQ((net.clock().NowNanos() - start) / kMs, 32'000);
  const UacStats& s = uac->stats();
  EXPECT_EQ(s.retransmissions, 6u);
  EXPECT_EQ(s.timeouts, 1u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.succeeded, 0u);
  EXPECT_EQ(net.uas(0).counters().invites, 1u);
  EXPECT_EQ(net.uas(0).counters().absorbed, 6u);
  EXPECT_EQ(net.uas(0).counters().responses_sent, 0u);
}

// Timer E/F (§17.1.2.2): the interval doubles up to T2 (8 T1 by default).
TEST(UacEngineTest, NonInviteRetransmissionScheduleAndTimeout) {
  Network net;
  net.AddEndpoint(Endpoint("127.0.0.11:5071,behavior=silent"));
  UacConfig config;
  config.scenario = Scenario::kOptions;
  config.max_inflight = 1;
  config.max_calls = 1;
  config.t1_ms = 20;
  UacEngine* uac = net.MakeUac(config);
  const base::Nanos start = net.clock().NowNanos();
  std::vector<base::Millis> send_times;
  net.set_drop([&](const Packet& p) {
    if (p.bytes.rfind("OPTIONS ", 0) == 0) {
      send_times.push_back((net.clock().NowNanos() - start) / kMs);
    }
    return false;
  });
  net.Run(5'000, 1);
  EXPECT_EQ(send_times, (std::vector<base::Millis>{0, 20, 60, 140, 300, 460, 620, 780, 940, 1100,
                                                   1260}));
  ASSERT_TRUE(uac->Done());
  EXPECT_EQ(uac->stats().retransmissions, 10u);
  EXPECT_EQ(uac->stats().timeouts, 1u);
  EXPECT_EQ(uac->stats().failed, 1u);
}

// The farm drops the first copy of every request: each INVITE and each BYE
// is retransmitted exactly once and every call still succeeds.
TEST(UacEngineTest, DropFirstForcesExactlyOneRetransmissionPerTransaction) {
  Network net;
  net.AddEndpoint(Endpoint("127.0.0.11:5071,drop_first=1"));
  UacConfig config;
  config.max_inflight = 10;
  config.max_calls = 100;
  config.t1_ms = 50;
  UacEngine* uac = net.MakeUac(config);
  net.Run(60'000);
  ASSERT_TRUE(uac->Done());
  const UacStats& s = uac->stats();
  EXPECT_EQ(s.attempted, 100u);
  EXPECT_EQ(s.succeeded, 100u);
  EXPECT_EQ(s.retransmissions, 200u);
  EXPECT_EQ(s.timeouts, 0u);
  const EndpointCounters& c = net.uas(0).counters();
  EXPECT_EQ(c.invites, 100u);
  EXPECT_EQ(c.byes, 100u);
  EXPECT_EQ(c.acks, 100u);
  EXPECT_EQ(c.dropped, 200u);
  EXPECT_EQ(c.absorbed, 0u);
  // Latency includes the retransmission: at least T1.
  EXPECT_GE(s.invite_200.Percentile(50), 50'000);
}

// Random loss on both directions: nothing hangs, every call is accounted.
TEST(UacEngineTest, RandomLossIsAccountedNeverHangs) {
  Network net;
  net.AddEndpoint(Endpoint("127.0.0.11:5071,drop_percent=20"));
  UacConfig config;
  config.max_inflight = 20;
  config.max_calls = 300;
  config.t1_ms = 20;
  UacEngine* uac = net.MakeUac(config);
  uint64_t rng = 12345;
  net.set_drop([&](const Packet& p) {
    if (p.to != Addr("127.0.0.1", 40000)) return false;  // the farm drops its own share
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (rng >> 33) % 10 == 0;  // 10 % of responses
  });
  net.Run(120'000);
  ASSERT_TRUE(uac->Done());
  const UacStats& s = uac->stats();
  EXPECT_EQ(s.attempted, 300u);
  EXPECT_EQ(s.succeeded + s.failed, 300u);
  EXPECT_GT(s.retransmissions, 50u);
  EXPECT_GE(s.succeeded, 270u);  // deterministic seeds; loss is recovered by retransmission
  EXPECT_EQ(s.unfinished, 0u);
}

// Timer G: the ACK of a 2xx is lost once; the UAS retransmits the 200, the
// UAC ACKs again and the call completes.
TEST(UacEngineTest, LostAckIsRepairedByTimerG) {
  Network net;
  net.AddEndpoint(Endpoint("127.0.0.11:5071"), /*t1_ms=*/100);
  UacConfig config;
  config.max_inflight = 1;
  config.max_calls = 1;
  config.hold_ms = 1000;
  UacEngine* uac = net.MakeUac(config);
  int acks = 0;
  net.set_drop([&](const Packet& p) { return p.bytes.rfind("ACK ", 0) == 0 && ++acks == 1; });
  net.Run(10'000);
  ASSERT_TRUE(uac->Done());
  EXPECT_EQ(uac->stats().succeeded, 1u);
  EXPECT_EQ(uac->stats().peer_retransmissions, 1u);
  EXPECT_EQ(net.uas(0).counters().timer_g_retransmissions, 1u);
  EXPECT_EQ(net.uas(0).counters().acks, 1u);
  EXPECT_EQ(net.uas(0).transaction_count(), 1u) << "only the BYE, for Timer J";
}

// A record-routing proxy: ACK and BYE carry the reversed Record-Route list
// as Route and go to its first element.
TEST(UacEngineTest, FollowsRecordRoute) {
  Network net;
  net.AddEndpoint(Endpoint("127.0.0.11:5071"));
  // The farm sees an INVITE that two proxies record-routed (3 entries).
  UacConfig config;
  config.max_inflight = 1;
  config.max_calls = 1;
  UacEngine* uac = net.MakeUac(config);
  std::vector<Packet> seen_at_proxy;
  net.set_drop([&](const Packet& p) {
    if (p.bytes.rfind("INVITE ", 0) == 0) {
      std::string rewritten = p.bytes;
      const size_t line_end = rewritten.find("\r\n") + 2;
      rewritten.insert(line_end,
                       "Record-Route: <sip:127.0.0.2:5060;lr>\r\n"
                       "Record-Route: <sip:127.0.0.3:5070;lr>, <sip:127.0.0.4:5080;lr>\r\n");
      net.uas(0).OnDatagram(rewritten, p.from, net.clock().NowNanos());
      return true;
    }
    if (p.to == Addr("127.0.0.4", 5080)) {  // the first proxy passes it on
      seen_at_proxy.push_back(p);
      net.uas(0).OnDatagram(p.bytes, p.from, net.clock().NowNanos());
      return true;
    }
    return false;
  });
  net.Run(5'000);
  ASSERT_TRUE(uac->Done());
  EXPECT_EQ(uac->stats().succeeded, 1u);
  int checked = 0;
  for (const Packet& p : seen_at_proxy) {
    if (p.bytes.rfind("ACK ", 0) == 0 || p.bytes.rfind("BYE ", 0) == 0) {
      EXPECT_NE(p.bytes.find("Route: <sip:127.0.0.4:5080;lr>, <sip:127.0.0.3:5070;lr>, "
                             "<sip:127.0.0.2:5060;lr>\r\n"),
                std::string::npos)
          << p.bytes;
      EXPECT_NE(p.bytes.find(" sip:farm@127.0.0.11:5071 SIP/2.0\r\n"), std::string::npos);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2);
}

TEST(UacEngineTest, PacingStartsCallsOnSchedule) {
  Network net;
  net.AddEndpoint(Endpoint("127.0.0.11:5071"));
  UacConfig config;
  config.rate = 100;  // one call every 10 ms
  UacEngine* uac = net.MakeUac(config);
  net.clock().AdvanceMillis(995);
  uac->Poll(net.clock().NowNanos());
  EXPECT_EQ(uac->started(), 100u);  // due at 0, 10, ..., 990 ms
  EXPECT_EQ(uac->NextDeadline() - net.clock().NowNanos(), 5 * kMs);
}

TEST(UacEngineTest, InflightBoundHolds) {
  Network net;
  net.AddEndpoint(Endpoint("127.0.0.11:5071,behavior=silent"));
  UacConfig config;
  config.max_inflight = 5;
  config.t1_ms = 10;
  UacEngine* uac = net.MakeUac(config);
  net.Run(100);
  EXPECT_EQ(uac->started(), 5u);
  EXPECT_EQ(uac->inflight(), 5u);
  uac->StopOffering();
  net.Run(2'000);
  EXPECT_TRUE(uac->Done());
  EXPECT_EQ(uac->stats().timeouts, 5u);
}

TEST(UacEngineTest, WarmupCallsAreLeftOut) {
  Network net;
  net.AddEndpoint(Endpoint("127.0.0.11:5071"));
  UacConfig config;
  config.rate = 100;
  config.max_calls = 30;
  config.measure_from = net.clock().NowNanos() + 95 * kMs;  // calls at 0..90 ms: warm-up
  UacEngine* uac = net.MakeUac(config);
  net.Run(5'000);
  ASSERT_TRUE(uac->Done());
  EXPECT_EQ(uac->stats().warmup_calls, 10u);
  EXPECT_EQ(uac->stats().attempted, 20u);
  EXPECT_EQ(uac->stats().succeeded, 20u);
  EXPECT_EQ(uac->stats().invite_final.count(), 20u);
}

TEST(UacEngineTest, AbortCountsUnfinished) {
  Network net;
  net.AddEndpoint(Endpoint("127.0.0.11:5071"));
  UacConfig config;
  config.max_inflight = 4;
  config.hold_ms = 100'000;
  UacEngine* uac = net.MakeUac(config);
  net.Run(50);
  ASSERT_EQ(uac->inflight(), 4u);
  uac->Abort(net.clock().NowNanos());
  EXPECT_TRUE(uac->Done());
  EXPECT_EQ(uac->stats().attempted, 4u);
  EXPECT_EQ(uac->stats().unfinished, 4u);
  EXPECT_EQ(uac->stats().failed, 4u);
  EXPECT_EQ(uac->stats().final_codes[200], 4u);
}

TEST(UacEngineTest, NonInviteScenarios) {
  for (Scenario scenario : {Scenario::kOptions, Scenario::kRegister, Scenario::kMessage}) {
    Network net;
    net.AddEndpoint(Endpoint("127.0.0.11:5071"));
    UacConfig config;
    config.scenario = scenario;
    config.max_inflight = 3;
    config.max_calls = 10;
    UacEngine* uac = net.MakeUac(config);
    net.Run(5'000);
    ASSERT_TRUE(uac->Done());
    EXPECT_EQ(uac->stats().succeeded, 10u) << ScenarioName(scenario);
    EXPECT_EQ(uac->stats().final_codes[200], 10u);
    const EndpointCounters& c = net.uas(0).counters();
    EXPECT_EQ(scenario == Scenario::kOptions ? c.options : c.other, 10u);
  }
}

// --- UAS engine alone ----------------------------------------------------

class CaptureSink : public PacketSink {
 public:
  void Send(std::string_view bytes, const SocketAddress& to) override {
    sent.push_back({std::string(bytes), SocketAddress(), to});
  }
  std::vector<Packet> sent;
};

const char kInvite[] =
    "INVITE sip:svc@127.0.0.11:5071 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKproxy1\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKuac1;received=10.0.0.1;rport=6000\r\n"
    "Record-Route: <sip:127.0.0.2:5060;lr>\r\n"
    "Max-Forwards: 69\r\n"
    "From: <sip:a@x>;tag=abc\r\n"
    "To: <sip:svc@x>\r\n"
    "Call-ID: uas-test-1\r\n"
    "CSeq: 7 INVITE\r\n"
    "Content-Length: 0\r\n\r\n";

TEST(UasEngineTest, AbsorbsInviteRetransmissions) {
  CaptureSink sink;
  UasEngine uas(Endpoint("127.0.0.11:5071,ring_ms=100,answer_ms=200"), 500, 1, &sink);
  const SocketAddress proxy = Addr("127.0.0.2", 5060);
  base::Nanos now = 1'000'000'000;
  uas.OnDatagram(kInvite, proxy, now);
  ASSERT_EQ(sink.sent.size(), 1u);
  EXPECT_EQ(sink.sent[0].bytes.rfind("SIP/2.0 100 ", 0), 0u);
  EXPECT_EQ(sink.sent[0].to, proxy) << "answered to the source: the top Via has no rport";
  uas.OnDatagram(kInvite, proxy, now + 10 * kMs);
  ASSERT_EQ(sink.sent.size(), 2u);
  EXPECT_EQ(sink.sent[1].bytes, sink.sent[0].bytes) << "the last response again";
  uas.Poll(now + 100 * kMs);
  ASSERT_EQ(sink.sent.size(), 3u);
  EXPECT_EQ(sink.sent[2].bytes.rfind("SIP/2.0 180 ", 0), 0u);
  uas.Poll(now + 200 * kMs);
  ASSERT_EQ(sink.sent.size(), 4u);
  const std::string ok = sink.sent[3].bytes;
  EXPECT_EQ(ok.rfind("SIP/2.0 200 OK\r\n", 0), 0u);
  // Both Vias, in order; Record-Route kept; To tagged; our Contact; SDP.
  const size_t via1 = ok.find("Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKproxy1\r\n");
  const size_t via2 = ok.find("Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKuac1");
  EXPECT_NE(via1, std::string::npos);
  EXPECT_NE(via2, std::string::npos);
  EXPECT_LT(via1, via2);
  EXPECT_NE(ok.find("Record-Route: <sip:127.0.0.2:5060;lr>\r\n"), std::string::npos);
  EXPECT_NE(ok.find("To: <sip:svc@x>;tag="), std::string::npos);
  EXPECT_NE(ok.find("Contact: <sip:farm@127.0.0.11:5071>\r\n"), std::string::npos);
  EXPECT_NE(ok.find("CSeq: 7 INVITE\r\n"), std::string::npos);
  EXPECT_NE(ok.find("Content-Type: application/sdp\r\n"), std::string::npos);
  // Timer G until the ACK, then nothing more.
  uas.Poll(now + 700 * kMs);
  ASSERT_EQ(sink.sent.size(), 5u);
  EXPECT_EQ(sink.sent[4].bytes, ok);
  std::string ack = std::string(kInvite);
  ack.replace(0, 6, "ACK");
  ack.replace(ack.find("CSeq: 7 INVITE"), 14, "CSeq: 7 ACK");
  uas.OnDatagram(ack, proxy, now + 710 * kMs);
  uas.Poll(now + 10'000 * kMs);
  EXPECT_EQ(sink.sent.size(), 5u);
  EXPECT_EQ(uas.counters().invites, 1u);
  EXPECT_EQ(uas.counters().absorbed, 1u);
  EXPECT_EQ(uas.counters().acks, 1u);
  EXPECT_EQ(uas.counters().timer_g_retransmissions, 1u);
  EXPECT_EQ(uas.transaction_count(), 0u);
}

TEST(UasEngineTest, RepliesToViaReceivedAndRport) {
  CaptureSink sink;
  UasEngine uas(Endpoint("127.0.0.11:5071"), 500, 1, &sink);
  std::string invite = kInvite;
  invite.erase(invite.find("Via: SIP/2.0/UDP 127.0.0.2"), 54);  // only the client's Via
  uas.OnDatagram(invite, Addr("127.0.0.2", 5060), 1'000'000'000);
  ASSERT_FALSE(sink.sent.empty());
  EXPECT_EQ(sink.sent[0].to, Addr("10.0.0.1", 6000));
}

TEST(UasEngineTest, CancelGets200AndInviteGets487) {
  CaptureSink sink;
  UasEngine uas(Endpoint("127.0.0.11:5071,behavior=slow"), 500, 1, &sink);
  const SocketAddress proxy = Addr("127.0.0.2", 5060);
  uas.OnDatagram(kInvite, proxy, 1'000'000'000);
  std::string cancel = kInvite;
  cancel.replace(0, 6, "CANCEL");
  cancel.replace(cancel.find("CSeq: 7 INVITE"), 14, "CSeq: 7 CANCEL");
  uas.OnDatagram(cancel, proxy, 1'100'000'000);
  ASSERT_EQ(sink.sent.size(), 3u);  // 100, 200 (CANCEL), 487
  EXPECT_EQ(sink.sent[1].bytes.rfind("SIP/2.0 200 ", 0), 0u);
  EXPECT_NE(sink.sent[1].bytes.find("CSeq: 7 CANCEL"), std::string::npos);
  EXPECT_EQ(sink.sent[2].bytes.rfind("SIP/2.0 487 ", 0), 0u);
  EXPECT_NE(sink.sent[2].bytes.find("CSeq: 7 INVITE"), std::string::npos);
  EXPECT_EQ(uas.counters().cancels, 1u);
  EXPECT_EQ(uas.counters().finals[487], 1u);
  uas.Poll(5'000'000'000);  // the slow answer never comes after the 487
  for (const Packet& p : sink.sent) EXPECT_EQ(p.bytes.rfind("SIP/2.0 200 OK\r\nVia", 0) == 0 &&
                                               p.bytes.find("INVITE") != std::string::npos,
                                               false);
}

TEST(UasEngineTest, FailAddsRetryAfterAndOptionsAreAnswered) {
  CaptureSink sink;
  UasEngine uas(Endpoint("127.0.0.11:5071,behavior=fail,retry_after=30"), 500, 1, &sink);
  uas.OnDatagram(kInvite, Addr("127.0.0.2", 5060), 1'000'000'000);
  ASSERT_EQ(sink.sent.size(), 2u);
  EXPECT_EQ(sink.sent[1].bytes.rfind("SIP/2.0 503 ", 0), 0u);
  EXPECT_NE(sink.sent[1].bytes.find("Retry-After: 30\r\n"), std::string::npos);
  std::string options = kInvite;
  options.replace(0, 6, "OPTIONS");
  options.replace(options.find("CSeq: 7 INVITE"), 14, "CSeq: 1 OPTIONS");
  uas.OnDatagram(options, Addr("127.0.0.2", 5060), 1'000'000'000);
  ASSERT_EQ(sink.sent.size(), 3u);
  EXPECT_EQ(sink.sent[2].bytes.rfind("SIP/2.0 200 ", 0), 0u);
  EXPECT_EQ(uas.counters().options, 1u);
}

}  // namespace
}  // namespace sipshard::load

// Unit tests of transaction-stateful proxying: ProxyCore with a stateful
// route, a FakeSender and a TimerWheel driven by hand (no sleeping). They
// cover the server and client state machines through the proxy (100
// Trying, absorption, timers A/G/H, fr_timeout, Timer C), §16.7 best
// response, failover, forking, CANCEL rules, late 2xx, 6xx, 503→500 and
// capacity, plus the hooks and attributes.
#include "sipshard/proxy/stateful_proxy.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sipshard/config/loader.h"
#include "sipshard/proxy/proxy_core.h"
#include "tests/testing/fake_sender.h"
#include "tests/testing/udp_peer.h"

namespace sipshard::proxy {
namespace {

using ::sipshard::testing::FakeSender;
using ::sipshard::testing::FirstLine;
using ::sipshard::testing::HeaderValue;
using ::sipshard::testing::HeaderValues;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr uint16_t kClientPort = 5090;

std::string Config(const std::string& mode, int attempts, int backends,
                   const std::string& extra = "") {
  std::string c = "[server]\nlisten = [\"udp:127.0.0.1:5060\"]\n"
                  "[timers]\nfr_timeout_ms = 1000\nfr_inv_timeout_ms = 10000\n" +
                  extra + "\n[[sets]]\nname = \"farm\"\nmode = \"" + mode +
                  "\"\nmax_attempts = " + std::to_string(attempts) + "\n";
  for (int i = 0; i < backends; ++i) {
    c += "  [[sets.destinations]]\n  uri = \"sip:127.0.0.1:" + std::to_string(5071 + i) + "\"\n";
  }
  c += "\n[[routes]]\nname = \"default\"\naction = \"forward\"\nset = \"farm\"\n"
       "stateful = true\nrecord_route = true\n";
  return c;
}

// A serial-groups set on the priority algorithm: destination i (port
// 5071 + i) has priorities[i].
std::string GroupsConfig(int attempts, const std::vector<int>& priorities) {
  std::string c = "[server]\nlisten = [\"udp:127.0.0.1:5060\"]\n"
                  "[timers]\nfr_timeout_ms = 1000\nfr_inv_timeout_ms = 10000\n"
                  "\n[[sets]]\nname = \"farm\"\nalgorithm = \"priority\"\n"
                  "mode = \"serial-groups\"\nmax_attempts = " + std::to_string(attempts) + "\n";
  for (size_t i = 0; i < priorities.size(); ++i) {
    c += "  [[sets.destinations]]\n  uri = \"sip:127.0.0.1:" + std::to_string(5071 + i) +
         "\"\n  priority = " + std::to_string(priorities[i]) + "\n";
  }
  c += "\n[[routes]]\nname = \"default\"\naction = \"forward\"\nset = \"farm\"\n"
       "stateful = true\nrecord_route = true\n";
  return c;
}

std::string Invite(const std::string& branch = "z9hG4bKc1", const std::string& method = "INVITE",
                   const std::string& call_id = "call-1@test") {
  return "" + method + " sip:bob@example.com SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:5090;branch=" + branch + ";rport\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a1\r\n"
         "To: <sip:bob@example.com>\r\nCall-ID: " + call_id + "\r\n"
         "CSeq: 1 " + method + "\r\nContact: <sip:alice@127.0.0.1:5090>\r\n"
         "Content-Length: 0\r\n\r\n";
}

// The UAS's answer to a forwarded request (§8.2.6).
std::string Answer(const std::string& request, int code, const std::string& reason,
                   const std::string& tag = "uas1", const std::string& extra = "") {
  std::string out = "SIP/2.0 " + std::to_string(code) + " " + reason + "\r\n";
  for (const std::string& via : HeaderValues(request, "Via")) out += "Via: " + via + "\r\n";
  out += "From: " + HeaderValue(request, "From") + "\r\n";
  out += "To: " + HeaderValue(request, "To") + ";tag=" + tag + "\r\n";
  out += "Call-ID: " + HeaderValue(request, "Call-ID") + "\r\n";
  out += "CSeq: " + HeaderValue(request, "CSeq") + "\r\n" + extra;
  out += "Content-Length: 0\r\n\r\n";
  return out;
}

class RecordingHooks : public StatefulHooks {
 public:
  void OnRequest(RequestHookContext& ctx) override {
    ctx.attributes.Set("carrier", "acme");
  }
  void OnReply(ReplyHookContext& ctx) override {
    replies.push_back(ctx.response.status_code);
    std::optional<std::string_view> carrier = ctx.attributes.Get("carrier");
    if (carrier) ctx.writer.AddHeader("X-Carrier", *carrier);
  }
  FailureAction OnFailure(FailureHookContext& ctx) override {
    failures.push_back(ctx.best_code);
    if (reply_code != 0) {
      ctx.reply_code = reply_code;
      ctx.reply_reason = "Hook Says No";
      return FailureAction::kReply;
    }
    return FailureAction::kDefault;
  }
  std::vector<int> replies;
  std::vector<int> failures;
  int reply_code = 0;
};

class StatefulProxyTest : public ::testing::Test {
 protected:
  void Start(const std::string& toml, StatefulHooks* hooks = nullptr) {
    absl::StatusOr<config::Config> config = config::LoadConfigString(toml);
    ASSERT_TRUE(config.ok()) << config.status();
    ProxyEnvironment env;
    env.config = std::make_shared<config::Config>(*config);
    ListenIdentity listen;
    listen.host = "127.0.0.1";
    listen.port = 5060;
    listen.address = *transport::SocketAddress::Parse("127.0.0.1", 5060);
    env.listens.push_back(listen);
    env.sender = &sender_;
    env.counters = &counters_;
    env.timers = &wheel_;
    env.hooks = hooks;
    absl::StatusOr<std::unique_ptr<ProxyCore>> core = ProxyCore::Create(env);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }
  void FromClient(const std::string& bytes) {
    core_->Handle({bytes, *transport::SocketAddress::Parse("127.0.0.1", kClientPort), 0});
  }
  void FromBackend(int i, const std::string& bytes) {
    core_->Handle({bytes, *transport::SocketAddress::Parse("127.0.0.1", 5071 + i), 0});
  }
  void Advance(base::Millis ms) {
    now_ += ms;
    wheel_.Advance(now_);
  }
  // Datagrams sent to a port since the last Take().
  std::vector<std::string> Take(uint16_t port) {
    std::vector<std::string> out;
    for (size_t i = taken_; i < sender_.sent().size(); ++i) {
      if (sender_.sent()[i].path.destination.port() == port) out.push_back(sender_.sent()[i].bytes);
    }
    return out;
  }
  void Consume() { taken_ = sender_.sent().size(); }
  std::vector<std::string> Lines(const std::vector<std::string>& messages) {
    std::vector<std::string> out;
    for (const std::string& m : messages) out.push_back(FirstLine(m));
    return out;
  }
  // Sends the INVITE and returns what reached backend `i`.
  std::string InviteTo(int i, const std::string& invite = Invite()) {
    FromClient(invite);
    std::vector<std::string> at = Take(static_cast<uint16_t>(5071 + i));
    EXPECT_EQ(at.size(), 1u);
    return at.empty() ? std::string() : at[0];
  }
  int BackendOf(const std::string&) { return 0; }
  // The one datagram sent to backend `i` since the last Consume().
  std::string OneAt(int i) {
    std::vector<std::string> at = Take(static_cast<uint16_t>(5071 + i));
    EXPECT_EQ(at.size(), 1u) << "backend " << i;
    return at.size() == 1 ? at[0] : std::string();
  }

  FakeSender sender_;
  metrics::ShardCounters counters_;
  base::Millis now_ = 1000;
  base::TimerWheel wheel_{1000};
  std::unique_ptr<ProxyCore> core_;
  size_t taken_ = 0;
};

TEST_F(StatefulProxyTest, WholeCallWithTryingRingingOkAndHopByHopRules) {
  Start(Config("serial", 1, 1));
  const std::string fwd = InviteTo(0);
  ASSERT_FALSE(fwd.empty());
  // 100 Trying at once, hop by hop (§16.2).
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 100 Trying"});
  EXPECT_THAT(HeaderValues(fwd, "Via")[0], StartsWith("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-sx0000-b"));
  EXPECT_EQ(HeaderValue(fwd, "Record-Route"), "<sip:127.0.0.1:5060;lr;sx=t>");
  EXPECT_EQ(HeaderValue(fwd, "Max-Forwards"), "69");
  Consume();
  FromBackend(0, Answer(fwd, 100, "Trying"));
  EXPECT_TRUE(Take(kClientPort).empty());  // pitfall 13: 100 is not relayed
  FromBackend(0, Answer(fwd, 180, "Ringing"));
  std::vector<std::string> up = Take(kClientPort);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(FirstLine(up[0]), "SIP/2.0 180 Ringing");
  EXPECT_EQ(HeaderValues(up[0], "Via").size(), 1u);
  Consume();
  FromBackend(0, Answer(fwd, 200, "OK"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 200 OK"});
  Consume();
  // 2xx retransmission from the UAS is relayed too (pitfall 5, RFC 6026).
  FromBackend(0, Answer(fwd, 200, "OK"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 200 OK"});
  Consume();
  // INVITE retransmission in Accepted: absorbed, nothing sent anywhere.
  FromClient(Invite());
  EXPECT_TRUE(Take(kClientPort).empty());
  EXPECT_TRUE(Take(5071).empty());
  EXPECT_EQ(counters_.transactions_created.value(), 1u);
  // Everything ends on timers: L on the server, M on the branch.
  Advance(64 * 500 + 1);
  EXPECT_EQ(counters_.transactions_freed.value(), 1u);
}

TEST_F(StatefulProxyTest, RetransmittedInviteIsAbsorbedAndAnsweredWithLastResponse) {
  Start(Config("serial", 1, 1));
  const std::string fwd = InviteTo(0);
  Consume();
  FromClient(Invite());
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 100 Trying"});
  EXPECT_TRUE(Take(5071).empty());  // never re-routed
  FromBackend(0, Answer(fwd, 180, "Ringing"));
  Consume();
  FromClient(Invite());
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 180 Ringing"});
  EXPECT_EQ(counters_.retransmissions_absorbed.value(), 2u);
}

TEST_F(StatefulProxyTest, TimerARetransmitsUntilTheNoResponseTimeout) {
  Start(Config("serial", 1, 1));
  InviteTo(0);
  Consume();
  Advance(500);  // A = T1
  EXPECT_EQ(Take(5071).size(), 1u);
  Consume();
  // The next one would be due 2*T1 later, but fr_timeout (1000 ms) ends
  // the branch first: no more retransmissions, 408 upstream.
  Advance(999);  // up to just before Timer G would resend the 408
  EXPECT_TRUE(Take(5071).empty());
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 408 Request Timeout"});
}

TEST_F(StatefulProxyTest, SilentBackendFailsOverThenLocal408) {
  RecordingHooks hooks;
  Start(Config("serial", 2, 2), &hooks);
  FromClient(Invite());
  const size_t first_port = Take(5071).empty() ? 5072 : 5071;
  Consume();
  Advance(1000);  // fr_timeout: no response at all
  const uint16_t second_port = first_port == 5071 ? 5072 : 5071;
  std::vector<std::string> second = Take(second_port);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_TRUE(Take(kClientPort).empty());  // failover happens before anything goes up
  EXPECT_EQ(counters_.failovers.value(), 1u);
  Consume();
  Advance(1000);
  std::vector<std::string> up = Take(kClientPort);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(FirstLine(up[0]), "SIP/2.0 408 Request Timeout");
  EXPECT_THAT(HeaderValue(up[0], "To"), HasSubstr(";tag=st"));
  EXPECT_EQ(hooks.failures, (std::vector<int>{408, 408}));
  EXPECT_EQ(counters_.timeouts_408.value(), 1u);
  // Timer G retransmits the 408 until the ACK comes (§17.2.1).
  Consume();
  Advance(500);
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 408 Request Timeout"});
  std::string ack = Invite("z9hG4bKc1", "ACK");
  FromClient(ack);
  EXPECT_EQ(counters_.acks_absorbed.value(), 1u);
  Consume();
  Advance(4000);
  EXPECT_TRUE(Take(kClientPort).empty());
}

TEST_F(StatefulProxyTest, Non2xxIsAckedDownstreamAndRelayed) {
  Start(Config("serial", 2, 2));
  FromClient(Invite());
  std::vector<std::string> a = Take(5071), b = Take(5072);
  const int backend = a.empty() ? 1 : 0;
  const std::string fwd = a.empty() ? b[0] : a[0];
  Consume();
  FromBackend(backend, Answer(fwd, 486, "Busy Here"));
  std::vector<std::string> down = Take(static_cast<uint16_t>(5071 + backend));
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(FirstLine(down[0]), "ACK sip:bob@example.com SIP/2.0");  // pitfall 2
  EXPECT_EQ(HeaderValue(down[0], "Via"), HeaderValues(fwd, "Via")[0]);
  EXPECT_THAT(HeaderValue(down[0], "To"), HasSubstr("tag=uas1"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 486 Busy Here"});
  Consume();
  // A retransmitted 486 is absorbed and re-ACKed.
  FromBackend(backend, Answer(fwd, 486, "Busy Here"));
  EXPECT_TRUE(Take(kClientPort).empty());
  EXPECT_EQ(Take(static_cast<uint16_t>(5071 + backend)).size(), 1u);
}

TEST_F(StatefulProxyTest, FailoverOn503AndFinal503BecomesA500) {
  Start(Config("serial", 2, 2));
  FromClient(Invite());
  std::vector<std::string> a = Take(5071);
  const int first = a.empty() ? 1 : 0;
  const std::string fwd1 = a.empty() ? Take(5072)[0] : a[0];
  Consume();
  FromBackend(first, Answer(fwd1, 503, "Overloaded"));
  const int second = 1 - first;
  std::vector<std::string> s = Take(static_cast<uint16_t>(5071 + second));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(Take(kClientPort).empty());
  Consume();
  FromBackend(second, Answer(s[0], 503, "Overloaded"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 500 Service Unavailable Downstream"});
}

TEST_F(StatefulProxyTest, SixHundredStopsFailover) {
  Start(Config("serial", 3, 3, "") + "");
  FromClient(Invite());
  std::string fwd;
  int backend = 0;
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> at = Take(static_cast<uint16_t>(5071 + i));
    if (!at.empty()) { fwd = at[0]; backend = i; }
  }
  Consume();
  FromBackend(backend, Answer(fwd, 603, "Decline"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 603 Decline"});
  EXPECT_EQ(counters_.failovers.value(), 0u);
}

TEST_F(StatefulProxyTest, CancelAfterProvisionalIsSentAnd487Relayed) {
  Start(Config("serial", 1, 1));
  const std::string fwd = InviteTo(0);
  FromBackend(0, Answer(fwd, 180, "Ringing"));
  Consume();
  FromClient(Invite("z9hG4bKc1", "CANCEL"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 200 OK"});
  std::vector<std::string> down = Take(5071);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(FirstLine(down[0]), "CANCEL sip:bob@example.com SIP/2.0");
  EXPECT_EQ(HeaderValue(down[0], "Via"), HeaderValues(fwd, "Via")[0]);
  Consume();
  FromBackend(0, Answer(down[0], 200, "OK"));
  FromBackend(0, Answer(fwd, 487, "Request Terminated"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 487 Request Terminated"});
  EXPECT_EQ(Lines(Take(5071)), std::vector<std::string>{"ACK sip:bob@example.com SIP/2.0"});
}

TEST_F(StatefulProxyTest, CancelWaitsForTheFirstProvisional) {
  Start(Config("serial", 1, 1));
  const std::string fwd = InviteTo(0);
  Consume();
  FromClient(Invite("z9hG4bKc1", "CANCEL"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 200 OK"});
  EXPECT_TRUE(Take(5071).empty());  // pitfall 1: not before a provisional
  Consume();
  FromBackend(0, Answer(fwd, 180, "Ringing"));
  std::vector<std::string> down = Take(5071);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_THAT(FirstLine(down[0]), StartsWith("CANCEL "));
}

TEST_F(StatefulProxyTest, CanceledBranchThatNeverAnswersEndsWith487) {
  Start(Config("serial", 2, 2));
  FromClient(Invite());
  Consume();
  FromClient(Invite("z9hG4bKc1", "CANCEL"));
  Consume();
  Advance(1000);
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 487 Request Terminated"});
  EXPECT_EQ(counters_.failovers.value(), 0u);  // canceled: no failover
}

TEST_F(StatefulProxyTest, CancelBeforeInviteGets487ForTheLateInvite) {
  Start(Config("serial", 1, 1));
  FromClient(Invite("z9hG4bKc1", "CANCEL"));
  EXPECT_TRUE(Take(kClientPort).empty());
  FromClient(Invite());
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 487 Request Terminated"});
  EXPECT_TRUE(Take(5071).empty());
}

TEST_F(StatefulProxyTest, ParallelForkRelaysEvery2xxAndCancelsTheRest) {
  Start(Config("parallel", 3, 3));
  FromClient(Invite());
  std::vector<std::string> fwd;
  for (int i = 0; i < 3; ++i) fwd.push_back(Take(static_cast<uint16_t>(5071 + i)).at(0));
  FromBackend(1, Answer(fwd[1], 180, "Ringing", "b1"));
  FromBackend(2, Answer(fwd[2], 180, "Ringing", "b2"));
  Consume();
  FromBackend(0, Answer(fwd[0], 200, "OK", "b0"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 200 OK"});
  EXPECT_EQ(Lines(Take(5072)), std::vector<std::string>{"CANCEL sip:bob@example.com SIP/2.0"});
  EXPECT_EQ(Lines(Take(5073)), std::vector<std::string>{"CANCEL sip:bob@example.com SIP/2.0"});
  EXPECT_TRUE(Take(5071).empty());
  Consume();
  // A second 2xx from another fork crosses the CANCEL: relayed as well.
  FromBackend(1, Answer(fwd[1], 200, "OK", "b1"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 200 OK"});
}

TEST_F(StatefulProxyTest, Late2xxAfterLocalTimeoutIsRelayed) {
  Start(Config("serial", 1, 1));
  const std::string fwd = InviteTo(0);
  Advance(1000);
  EXPECT_EQ(Lines(Take(kClientPort)).back(), "SIP/2.0 408 Request Timeout");
  Consume();
  FromBackend(0, Answer(fwd, 200, "OK"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 200 OK"});
  EXPECT_EQ(counters_.late_2xx_relayed.value(), 1u);
  Consume();
  // A late 487 after our own 408 is absorbed (pitfall 9).
  FromBackend(0, Answer(fwd, 487, "Request Terminated"));
  EXPECT_TRUE(Take(kClientPort).empty());
}

TEST_F(StatefulProxyTest, TimerCCancelsARingingBranch) {
  Start(Config("serial", 1, 1));
  const std::string fwd = InviteTo(0);
  FromBackend(0, Answer(fwd, 180, "Ringing"));
  Consume();
  Advance(10000);  // fr_inv_timeout
  EXPECT_EQ(Lines(Take(5071)), std::vector<std::string>{"CANCEL sip:bob@example.com SIP/2.0"});
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 408 Request Timeout"});
}

TEST_F(StatefulProxyTest, ChallengesFromForksAreMerged) {
  Start(Config("parallel", 2, 2));
  FromClient(Invite());
  const std::string f0 = Take(5071).at(0), f1 = Take(5072).at(0);
  Consume();
  FromBackend(0, Answer(f0, 401, "Unauthorized", "t0", "WWW-Authenticate: Digest realm=\"a\"\r\n"));
  EXPECT_TRUE(Take(kClientPort).empty());
  FromBackend(1, Answer(f1, 407, "Proxy Authentication Required", "t1",
                        "Proxy-Authenticate: Digest realm=\"b\"\r\n"));
  std::vector<std::string> up = Take(kClientPort);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(HeaderValue(up[0], "WWW-Authenticate"), "Digest realm=\"a\"");
  EXPECT_EQ(HeaderValue(up[0], "Proxy-Authenticate"), "Digest realm=\"b\"");
}

TEST_F(StatefulProxyTest, FullTableAnswers503WithRetryAfter) {
  Start(Config("serial", 1, 1, "[transactions]\nmax_per_shard = 1\n"));
  InviteTo(0);
  Consume();
  FromClient(Invite("z9hG4bKc2", "INVITE", "call-2@test"));
  std::vector<std::string> up = Take(kClientPort);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(FirstLine(up[0]), "SIP/2.0 503 Service Unavailable");
  EXPECT_EQ(HeaderValue(up[0], "Retry-After"), "5");
  EXPECT_EQ(counters_.transactions_overflow.value(), 1u);
}

TEST_F(StatefulProxyTest, HooksSeeAttributesAndMayChooseTheReply) {
  RecordingHooks hooks;
  hooks.reply_code = 480;
  Start(Config("serial", 2, 2), &hooks);
  FromClient(Invite());
  std::vector<std::string> a = Take(5071);
  const int backend = a.empty() ? 1 : 0;
  const std::string fwd = a.empty() ? Take(5072)[0] : a[0];
  FromBackend(backend, Answer(fwd, 180, "Ringing"));
  std::vector<std::string> up = Take(kClientPort);
  ASSERT_FALSE(up.empty());
  EXPECT_EQ(HeaderValue(up.back(), "X-Carrier"), "acme");
  Consume();
  FromBackend(backend, Answer(fwd, 500, "Oops"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 480 Hook Says No"});
  EXPECT_EQ(hooks.failures, std::vector<int>{500});
}

TEST_F(StatefulProxyTest, NonInviteTransactionCompletesAndAbsorbs) {
  Start(Config("serial", 1, 1));
  FromClient(Invite("z9hG4bKo1", "OPTIONS"));
  std::vector<std::string> fwd = Take(5071);
  ASSERT_EQ(fwd.size(), 1u);
  EXPECT_TRUE(Take(kClientPort).empty());  // no 100 for non-INVITE
  Consume();
  Advance(500);  // Timer E
  EXPECT_EQ(Take(5071).size(), 1u);
  FromBackend(0, Answer(fwd[0], 200, "OK"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 200 OK"});
  Consume();
  FromClient(Invite("z9hG4bKo1", "OPTIONS"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 200 OK"});
  Advance(64 * 500 + txn::TimerValues::WaitSlack(64 * 500));  // Timer J / K, with slack
  EXPECT_EQ(counters_.transactions_freed.value(), 1u);
}

// An in-dialog request from the caller: `ruri` and `route` as given.
std::string InDialog(const std::string& method, const std::string& branch,
                     const std::string& ruri, const std::string& route) {
  return method + " " + ruri + " SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:5090;branch=" + branch + ";rport\r\n" + route +
         "Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a1\r\n"
         "To: <sip:bob@example.com>;tag=uas1\r\nCall-ID: call-1@test\r\n"
         "CSeq: 2 " + method + "\r\nContent-Length: 0\r\n\r\n";
}

TEST_F(StatefulProxyTest, InDialogRequestThroughStatefulRecordRouteIsATransaction) {
  Start(Config("serial", 1, 2));
  const std::string bye = InDialog("BYE", "z9hG4bKd1", "sip:bob@127.0.0.1:5072",
                                   "Route: <sip:127.0.0.1:5060;lr;sx=t>\r\n");
  FromClient(bye);
  std::vector<std::string> fwd = Take(5072);
  ASSERT_EQ(fwd.size(), 1u);
  EXPECT_EQ(HeaderValue(fwd[0], "Route"), "");
  EXPECT_THAT(HeaderValue(fwd[0], "Via"), HasSubstr("branch=z9hG4bK-sx"));
  EXPECT_EQ(counters_.transactions_created.value(), 1u);
  EXPECT_EQ(counters_.in_dialog_stateful.value(), 1u);
  Consume();
  FromClient(bye);  // retransmission: absorbed, not relayed again
  EXPECT_TRUE(Take(5072).empty());
  EXPECT_EQ(counters_.retransmissions_absorbed.value(), 1u);
  // The peer stays silent: our Timer E retransmits, fr_timeout ends in 408.
  Advance(1000);
  std::vector<std::string> up = Take(kClientPort);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(FirstLine(up[0]), "SIP/2.0 408 Request Timeout");
}

TEST_F(StatefulProxyTest, InDialogRequestThroughPlainRecordRouteStaysStateless) {
  Start(Config("serial", 1, 2));
  FromClient(InDialog("BYE", "z9hG4bKd2", "sip:bob@127.0.0.1:5072",
                      "Route: <sip:127.0.0.1:5060;lr>\r\n"));
  std::vector<std::string> fwd = Take(5072);
  ASSERT_EQ(fwd.size(), 1u);
  EXPECT_EQ(counters_.transactions_created.value(), 0u);
  EXPECT_THAT(HeaderValue(fwd[0], "Via"), HasSubstr("branch=z9hG4bK-sx"));
}

TEST_F(StatefulProxyTest, StrictRouterRequestUriIsReplacedByTheLastRoute) {
  // §16.4: the previous hop put our Record-Route URI into the Request-URI
  // and the remote target at the end of the Route set.
  Start(Config("serial", 1, 2));
  FromClient(InDialog("BYE", "z9hG4bKd3", "sip:127.0.0.1:5060;lr;sx=t",
                      "Route: <sip:bob@127.0.0.1:5072>\r\n"));
  std::vector<std::string> fwd = Take(5072);
  ASSERT_EQ(fwd.size(), 1u);
  EXPECT_EQ(FirstLine(fwd[0]), "BYE sip:bob@127.0.0.1:5072 SIP/2.0");
  EXPECT_EQ(HeaderValue(fwd[0], "Route"), "");
  EXPECT_EQ(counters_.in_dialog_stateful.value(), 1u);
  // With more Route values, the next hop is the first that remains.
  Consume();
  FromClient(InDialog("BYE", "z9hG4bKd4", "sip:127.0.0.1:5060;lr",
                      "Route: <sip:127.0.0.1:5071;lr>, <sip:bob@127.0.0.1:5072>\r\n"));
  fwd = Take(5071);
  ASSERT_EQ(fwd.size(), 1u);
  EXPECT_EQ(FirstLine(fwd[0]), "BYE sip:bob@127.0.0.1:5072 SIP/2.0");
  EXPECT_EQ(HeaderValues(fwd[0], "Route"), std::vector<std::string>{"<sip:127.0.0.1:5071;lr>"});
  EXPECT_EQ(counters_.in_dialog_stateful.value(), 1u);  // no sx=t: stateless
}

TEST_F(StatefulProxyTest, ProxyRequireIsAnswered420WithUnsupported) {
  Start(Config("serial", 1, 1));
  std::string invite = Invite("z9hG4bKx1");
  invite.insert(invite.find("Content-Length"), "Proxy-Require: foo, bar\r\nProxy-Require: baz\r\n");
  FromClient(invite);
  EXPECT_TRUE(Take(5071).empty());
  std::vector<std::string> up = Take(kClientPort);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(FirstLine(up[0]), "SIP/2.0 420 Bad Extension");
  EXPECT_EQ(HeaderValue(up[0], "Unsupported"), "foo, bar, baz");
  EXPECT_EQ(counters_.bad_extensions.value(), 1u);
  EXPECT_EQ(counters_.transactions_created.value(), 0u);
}

TEST_F(StatefulProxyTest, RequestThatComesBackUnchangedIsALoop) {
  Start(Config("serial", 1, 1));
  const std::string fwd = InviteTo(0);
  Consume();
  // The backend routes it straight back to us: same Request-URI → 482.
  FromBackend(0, fwd);
  std::vector<std::string> back = Take(5071);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(FirstLine(back[0]), "SIP/2.0 482 Loop Detected");
  EXPECT_EQ(counters_.loops_detected.value(), 1u);
  // A spiral (the Request-URI changed) is forwarded as a new transaction.
  std::string spiral = fwd;
  spiral.replace(spiral.find("sip:bob@example.com"), 19, "sip:carol@example.com");
  Consume();
  FromBackend(0, spiral);
  EXPECT_EQ(counters_.loops_detected.value(), 1u);
  EXPECT_EQ(counters_.transactions_created.value(), 2u);
}

// ---- serial forking by priority group (mode "serial-groups") -------------------

TEST_F(StatefulProxyTest, SerialGroupsForksAGroupAtOnceAndTheNextWhenAllOfItFailed) {
  Start(GroupsConfig(4, {1, 1, 2, 2}));
  FromClient(Invite());
  // Group 1 (priority 1): both at once; group 2 not yet.
  const std::string a = OneAt(0), b = OneAt(1);
  ASSERT_FALSE(a.empty() || b.empty());
  EXPECT_THAT(FirstLine(a), StartsWith("INVITE "));
  EXPECT_THAT(FirstLine(b), StartsWith("INVITE "));
  EXPECT_NE(HeaderValues(a, "Via")[0], HeaderValues(b, "Via")[0]);
  EXPECT_TRUE(Take(5073).empty());
  EXPECT_TRUE(Take(5074).empty());
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 100 Trying"});
  Consume();
  // One failure of the group: wait for the other branch.
  FromBackend(0, Answer(a, 503, "Service Unavailable", "t0"));
  EXPECT_EQ(Lines(Take(5071)), std::vector<std::string>{"ACK sip:bob@example.com SIP/2.0"});
  EXPECT_TRUE(Take(5073).empty());
  EXPECT_TRUE(Take(5074).empty());
  EXPECT_TRUE(Take(kClientPort).empty());
  Consume();
  // The whole group failed over: group 2, both at once.
  FromBackend(1, Answer(b, 503, "Service Unavailable", "t1"));
  EXPECT_EQ(Lines(Take(5072)), std::vector<std::string>{"ACK sip:bob@example.com SIP/2.0"});
  const std::string c = OneAt(2), d = OneAt(3);
  ASSERT_FALSE(c.empty() || d.empty());
  EXPECT_THAT(FirstLine(c), StartsWith("INVITE "));
  EXPECT_THAT(FirstLine(d), StartsWith("INVITE "));
  EXPECT_TRUE(Take(kClientPort).empty());
  EXPECT_EQ(counters_.failovers.value(), 1u);
  Consume();
  FromBackend(3, Answer(d, 200, "OK", "t3"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 200 OK"});
  EXPECT_EQ(counters_.requests_forwarded.value(), 4u);
  EXPECT_EQ(counters_.transactions_created.value(), 1u);
}

TEST_F(StatefulProxyTest, SerialGroups2xxInTheFirstGroupCancelsItsPeerAndEndsIt) {
  Start(GroupsConfig(4, {1, 1, 2, 2}));
  FromClient(Invite());
  const std::string a = OneAt(0), b = OneAt(1);
  ASSERT_FALSE(a.empty() || b.empty());
  FromBackend(1, Answer(b, 180, "Ringing", "t1"));
  Consume();
  FromBackend(0, Answer(a, 200, "OK", "t0"));
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 200 OK"});
  EXPECT_EQ(Lines(Take(5072)), std::vector<std::string>{"CANCEL sip:bob@example.com SIP/2.0"});
  Consume();
  FromBackend(1, Answer(b, 487, "Request Terminated", "t1"));
  EXPECT_EQ(Lines(Take(5072)), std::vector<std::string>{"ACK sip:bob@example.com SIP/2.0"});
  EXPECT_TRUE(Take(kClientPort).empty());
  Advance(20000);  // every timer of the transaction
  EXPECT_TRUE(Take(5073).empty());
  EXPECT_TRUE(Take(5074).empty());
  EXPECT_EQ(counters_.failovers.value(), 0u);
  EXPECT_EQ(counters_.requests_forwarded.value(), 2u);
}

TEST_F(StatefulProxyTest, SerialGroupsRelaysADefiniteAnswerWithoutTheNextGroup) {
  Start(GroupsConfig(4, {1, 1, 2, 2}));
  FromClient(Invite());
  const std::string a = OneAt(0), b = OneAt(1);
  ASSERT_FALSE(a.empty() || b.empty());
  Consume();
  FromBackend(0, Answer(a, 486, "Busy Here", "t0"));
  EXPECT_TRUE(Take(kClientPort).empty());  // §16.7: the group's other branch is pending
  FromBackend(1, Answer(b, 503, "Service Unavailable", "t1"));
  // 486 ranks before 503 and is no failover code: relayed, group 2 untouched.
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 486 Busy Here"});
  EXPECT_TRUE(Take(5073).empty());
  EXPECT_TRUE(Take(5074).empty());
  EXPECT_EQ(counters_.failovers.value(), 0u);
}

TEST_F(StatefulProxyTest, SerialGroupsMovesOnWhenTheWholeGroupTimesOut) {
  Start(GroupsConfig(4, {1, 1, 2, 2}));
  FromClient(Invite());
  OneAt(0);
  OneAt(1);
  Consume();
  Advance(999);
  EXPECT_TRUE(Take(5073).empty());
  Advance(1);  // fr_timeout of both branches: local 408s, a failover code
  EXPECT_EQ(OneAt(2).substr(0, 7), "INVITE ");
  EXPECT_EQ(OneAt(3).substr(0, 7), "INVITE ");
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{});
  EXPECT_EQ(counters_.failovers.value(), 1u);
  Consume();
  Advance(1000);  // group 2 silent too: nothing left, 408 upstream
  EXPECT_EQ(Lines(Take(kClientPort)), std::vector<std::string>{"SIP/2.0 408 Request Timeout"});
  EXPECT_EQ(counters_.failovers.value(), 1u);
}

TEST_F(StatefulProxyTest, SerialGroupsMaxAttemptsCapsTheBranchesOfTheLastGroup) {
  Start(GroupsConfig(3, {1, 1, 2, 2}));
  FromClient(Invite());
  const std::string a = OneAt(0), b = OneAt(1);
  ASSERT_FALSE(a.empty() || b.empty());
  Consume();
  FromBackend(0, Answer(a, 503, "Service Unavailable", "t0"));
  FromBackend(1, Answer(b, 503, "Service Unavailable", "t1"));
  // Three attempts in all: one destination of group 2.
  std::vector<std::string> c = Take(5073), d = Take(5074);
  ASSERT_EQ(c.size() + d.size(), 1u);
  const int backend = c.empty() ? 3 : 2;
  const std::string fwd = c.empty() ? d[0] : c[0];
  Consume();
  FromBackend(backend, Answer(fwd, 503, "Service Unavailable", "t2"));
  EXPECT_EQ(Lines(Take(kClientPort)),
            std::vector<std::string>{"SIP/2.0 500 Service Unavailable Downstream"});
  EXPECT_EQ(counters_.requests_forwarded.value(), 3u);
}

TEST(ResponseRankTest, FollowsSection16_7Step6) {
  struct Case {
    int better;
    bool better_local;
    int worse;
    bool worse_local;
  };
  const Case cases[] = {
      {603, false, 302, false}, {302, false, 404, false}, {404, false, 500, false},
      {401, false, 404, false}, {407, false, 486, false}, {484, false, 480, false},
      {408, false, 408, true},  {600, false, 401, false}, {486, true, 503, false},
  };
  for (const Case& c : cases) {
    EXPECT_LT(ResponseRank(c.better, c.better_local), ResponseRank(c.worse, c.worse_local))
        << c.better << " vs " << c.worse;
  }
  EXPECT_EQ(UpstreamCode(503), 500);
  EXPECT_EQ(UpstreamCode(486), 486);
  config::StatusCodeSet codes = {408, 503, 603};
  EXPECT_TRUE(IsFailoverCode(codes, 503));
  EXPECT_FALSE(IsFailoverCode(codes, 603));  // 6xx never fails over
  EXPECT_FALSE(IsFailoverCode(codes, 486));
}

}  // namespace
}  // namespace sipshard::proxy

// End-to-end tests of the dispatcher through the real binary: serial
// failover and its triggers, definite answers relayed, exhaustion replies,
// Retry-After, OPTIONS probing with rise/fall, passive health, draining
// and parallel forking, with scripted UDP backends on loopback.
//
// Each backend runs a thread that answers OPTIONS probes (while told to)
// and queues every other datagram for the test, so probes never get in a
// test's way. Every wait is bounded.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/sipshard_process.h"
#include "tests/testing/udp_peer.h"

namespace sipshard::testing {
namespace {

using ::testing::StartsWith;

std::string HostPort(const transport::SocketAddress& a) {
  return a.HostString() + ":" + std::to_string(a.port());
}

std::string Request(const std::string& method, const transport::SocketAddress& client,
                    const std::string& branch, const std::string& call_id,
                    const std::string& ruri = "sip:bob@example.com", const std::string& extra = "",
                    const std::string& to_tag = "", int cseq = 1) {
  return method + " " + ruri + " SIP/2.0\r\nVia: SIP/2.0/UDP " + HostPort(client) +
         ";branch=" + branch + ";rport\r\nMax-Forwards: 70\r\n"
         "From: <sip:alice@example.net>;tag=a1\r\nTo: <sip:bob@example.com>" +
         (to_tag.empty() ? "" : ";tag=" + to_tag) + "\r\nCall-ID: " + call_id + "\r\nCSeq: " +
         std::to_string(cseq) + " " + method + "\r\n" + extra + "Content-Length: 0\r\n\r\n";
}

std::string Answer(const std::string& request, int code, const std::string& reason,
                   const std::string& extra = "") {
  std::string out = "SIP/2.0 " + std::to_string(code) + " " + reason + "\r\n";
  for (const std::string& via : HeaderValues(request, "Via")) out += "Via: " + via + "\r\n";
  out += "From: " + HeaderValue(request, "From") + "\r\n";
  std::string to = HeaderValue(request, "To");
  if (to.find("tag=") == std::string::npos) to += ";tag=uas1";
  out += "To: " + to + "\r\nCall-ID: " + HeaderValue(request, "Call-ID") + "\r\n";
  out += "CSeq: " + HeaderValue(request, "CSeq") + "\r\n" + extra + "Content-Length: 0\r\n\r\n";
  return out;
}

// A backend: answers OPTIONS 200 while answer_options, queues the rest.
class Backend {
 public:
  Backend() : peer_("127.0.0.1", 0), thread_([this] { Run(); }) {}
  ~Backend() {
    stop_ = true;
    thread_.join();
  }
  const transport::SocketAddress& address() const { return peer_.address(); }
  void set_answer_options(bool answer) { answer_options_ = answer; }
  int options_seen() const { return options_seen_; }
  void SendTo(const std::string& bytes, const transport::SocketAddress& to) {
    peer_.SendTo(bytes, to);
  }
  // Waits up to `timeout_ms` for a non-OPTIONS datagram.
  std::optional<ReceivedMessage> Receive(int timeout_ms = 2000) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !queue_.empty(); })) {
      return std::nullopt;
    }
    ReceivedMessage m = std::move(queue_.front());
    queue_.pop_front();
    return m;
  }
  // Receives until one starts with `prefix` (skipping others), bounded.
  std::optional<ReceivedMessage> ReceiveStarting(const std::string& prefix, int timeout_ms = 2000) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < end) {
      auto m = Receive(50);
      if (m && FirstLine(m->bytes).rfind(prefix, 0) == 0) return m;
    }
    return std::nullopt;
  }

 private:
  void Run() {
    while (!stop_) {
      auto m = peer_.Receive(20);
      if (!m) continue;
      if (FirstLine(m->bytes).rfind("OPTIONS ", 0) == 0) {
        ++options_seen_;
        if (answer_options_) peer_.SendTo(Answer(m->bytes, 200, "OK"), m->from);
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(*m));
      cv_.notify_all();
    }
  }

  UdpPeer peer_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> answer_options_{true};
  std::atomic<int> options_seen_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ReceivedMessage> queue_;
  std::thread thread_;
};

class DispatcherTest : public ::testing::Test {
 protected:
  // `set_extra` goes into the [[sets]] table; `dest_extra[i]` into
  // destination i. Priority ordering makes backends_[0] the first choice:
  // backend i has priority i + 1 unless `priorities` gives it one.
  void StartProxy(int backends, const std::string& set_extra,
                  const std::vector<std::string>& dest_extra = {},
                  const std::string& leading_destination = "", bool stateful = true,
                  const std::vector<int>& priorities = {}) {
    for (int i = 0; i < backends; ++i) backends_.push_back(std::make_unique<Backend>());
    listen_ = *transport::SocketAddress::Parse("127.0.0.1", FreeUdpPort());
    std::string config = "[server]\nlisten = [\"udp:" + HostPort(listen_) +
                         "\"]\nreceive_threads = 1\nshards = 2\n"
                         "[timers]\nfr_timeout_ms = 300\n"
                         "\n[[sets]]\nname = \"farm\"\nalgorithm = \"priority\"\n" + set_extra;
    if (!leading_destination.empty()) {
      config += "  [[sets.destinations]]\n  uri = \"" + leading_destination + "\"\n  priority = 0\n";
    }
    for (size_t i = 0; i < backends_.size(); ++i) {
      config += "  [[sets.destinations]]\n  uri = \"sip:" + HostPort(backends_[i]->address()) +
                "\"\n  priority = " +
                std::to_string(i < priorities.size() ? priorities[i] : static_cast<int>(i) + 1) +
                "\n";
      if (i < dest_extra.size()) config += dest_extra[i];
    }
    config += "\n[[routes]]\nname = \"default\"\naction = \"forward\"\nset = \"farm\"\n"
              "stateful = " + std::string(stateful ? "true" : "false") + "\nrecord_route = true\n";
    proxy_ = SipshardProcess::Start(config, listen_);
    ASSERT_NE(proxy_, nullptr);
  }

  // The next final (or non-100) response at the client.
  static std::optional<ReceivedMessage> NextNot100(UdpPeer& peer, int timeout_ms = 3000) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < end) {
      auto m = peer.Receive(100);
      if (m && FirstLine(m->bytes) != "SIP/2.0 100 Trying") return m;
    }
    return std::nullopt;
  }

  // Polls the stats until counter `name` reaches `at_least` (bounded).
  bool WaitForCounter(const std::string& name, uint64_t at_least, int timeout_ms = 3000) {
    return sipshard::testing::WaitForCounter(*proxy_, name, at_least, timeout_ms);
  }

  transport::SocketAddress listen_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::unique_ptr<SipshardProcess> proxy_;
};

TEST_F(DispatcherTest, FailsOverOn503And408ThenRelaysThe200) {
  StartProxy(3, "max_attempts = 3\n");
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKf1", "fo-1@test"), listen_);
  auto first = backends_[0]->ReceiveStarting("INVITE ");
  ASSERT_TRUE(first);
  backends_[0]->SendTo(Answer(first->bytes, 503, "Service Unavailable"), first->from);
  auto second = backends_[1]->ReceiveStarting("INVITE ");
  ASSERT_TRUE(second);
  backends_[1]->SendTo(Answer(second->bytes, 408, "Request Timeout"), second->from);
  auto third = backends_[2]->ReceiveStarting("INVITE ");
  ASSERT_TRUE(third);
  backends_[2]->SendTo(Answer(third->bytes, 200, "OK"), third->from);
  auto ok = NextNot100(client);
  ASSERT_TRUE(ok);
  EXPECT_EQ(FirstLine(ok->bytes), "SIP/2.0 200 OK");
  // Our hop-by-hop ACKs for the failed branches.
  EXPECT_TRUE(backends_[0]->ReceiveStarting("ACK "));
  EXPECT_TRUE(backends_[1]->ReceiveStarting("ACK "));
  EXPECT_EQ(TotalCounter(proxy_->DumpStats(), "failovers"), 2u);
}

TEST_F(DispatcherTest, SilentDestinationFailsOverAfterItsTimeout) {
  StartProxy(2, "max_attempts = 2\n");
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKt1", "to-1@test"), listen_);
  ASSERT_TRUE(backends_[0]->ReceiveStarting("INVITE "));
  auto second = backends_[1]->ReceiveStarting("INVITE ", 3000);
  ASSERT_TRUE(second);
  backends_[1]->SendTo(Answer(second->bytes, 200, "OK"), second->from);
  auto ok = NextNot100(client);
  ASSERT_TRUE(ok);
  EXPECT_EQ(FirstLine(ok->bytes), "SIP/2.0 200 OK");
}

TEST_F(DispatcherTest, TransportErrorFailsOver) {
  // The first destination is IPv6 but sipshard listens on IPv4 only: the
  // branch cannot be sent (a transport error, §16.9 → 503) and the next
  // destination gets the request.
  StartProxy(1, "max_attempts = 2\n", {}, "sip:[::1]:5999");
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKe1", "te-1@test"), listen_);
  auto invite = backends_[0]->ReceiveStarting("INVITE ");
  ASSERT_TRUE(invite);
  backends_[0]->SendTo(Answer(invite->bytes, 200, "OK"), invite->from);
  auto ok = NextNot100(client);
  ASSERT_TRUE(ok);
  EXPECT_EQ(FirstLine(ok->bytes), "SIP/2.0 200 OK");
}

TEST_F(DispatcherTest, DefiniteAnswersAreRelayedNotFailedOver) {
  StartProxy(2, "max_attempts = 2\n");
  UdpPeer client("127.0.0.1", 0);
  int n = 0;
  for (int code : {486, 404}) {
    const std::string call = "def-" + std::to_string(++n) + "@test";
    client.SendTo(Request("INVITE", client.address(), "z9hG4bKd" + std::to_string(n), call),
                  listen_);
    auto invite = backends_[0]->ReceiveStarting("INVITE ");
    ASSERT_TRUE(invite);
    backends_[0]->SendTo(Answer(invite->bytes, code, code == 486 ? "Busy Here" : "Not Found"),
                         invite->from);
    auto reply = NextNot100(client);
    ASSERT_TRUE(reply);
    EXPECT_THAT(FirstLine(reply->bytes), StartsWith("SIP/2.0 " + std::to_string(code)));
    EXPECT_FALSE(backends_[1]->ReceiveStarting("INVITE ", 300));
  }
}

TEST_F(DispatcherTest, ExhaustionGivesTheConfiguredReply) {
  StartProxy(2,
             "max_attempts = 2\nfailure_reply_code = 500\n"
             "failure_reply_reason = \"All destinations failed\"\n");
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKx1", "ex-1@test"), listen_);
  for (int i = 0; i < 2; ++i) {
    auto invite = backends_[static_cast<size_t>(i)]->ReceiveStarting("INVITE ");
    ASSERT_TRUE(invite);
    backends_[static_cast<size_t>(i)]->SendTo(Answer(invite->bytes, 502, "Bad Gateway"),
                                              invite->from);
  }
  auto reply = NextNot100(client);
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 500 All destinations failed");
}

TEST_F(DispatcherTest, ExhaustionWithoutAConfiguredReplyNeverRelays503) {
  StartProxy(1, "max_attempts = 1\n");
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKy1", "ex-2@test"), listen_);
  auto invite = backends_[0]->ReceiveStarting("INVITE ");
  ASSERT_TRUE(invite);
  backends_[0]->SendTo(Answer(invite->bytes, 503, "Service Unavailable"), invite->from);
  auto reply = NextNot100(client);
  ASSERT_TRUE(reply);
  EXPECT_THAT(FirstLine(reply->bytes), StartsWith("SIP/2.0 500"));
}

TEST_F(DispatcherTest, RetryAfterTakesTheDestinationOut) {
  StartProxy(2, "max_attempts = 2\n");
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKr1", "ra-1@test"), listen_);
  auto first = backends_[0]->ReceiveStarting("INVITE ");
  ASSERT_TRUE(first);
  backends_[0]->SendTo(Answer(first->bytes, 503, "Service Unavailable", "Retry-After: 30\r\n"),
                       first->from);
  auto second = backends_[1]->ReceiveStarting("INVITE ");
  ASSERT_TRUE(second);
  backends_[1]->SendTo(Answer(second->bytes, 200, "OK"), second->from);
  ASSERT_TRUE(NextNot100(client));
  ASSERT_TRUE(WaitForCounter("health_state_changes", 1));
  EXPECT_EQ(TotalCounter(proxy_->DumpStats(), "retry_after_holds"), 1u);
  // Later calls, whatever their shard, skip the held destination.
  for (int i = 2; i <= 5; ++i) {
    const std::string call = "ra-" + std::to_string(i) + "@test";
    client.SendTo(Request("INVITE", client.address(), "z9hG4bKr" + std::to_string(i), call),
                  listen_);
    auto invite = backends_[1]->ReceiveStarting("INVITE ");
    ASSERT_TRUE(invite) << call;
    backends_[1]->SendTo(Answer(invite->bytes, 200, "OK"), invite->from);
    ASSERT_TRUE(NextNot100(client));
  }
  EXPECT_FALSE(backends_[0]->ReceiveStarting("INVITE ", 200));
}

TEST_F(DispatcherTest, ProbesTakeADestinationOutAndBringItBack) {
  StartProxy(2,
             "max_attempts = 1\n  [sets.probing]\n  enabled = true\n  interval_ms = 100\n"
             "  timeout_ms = 100\n  fall = 2\n  rise = 2\n");
  ASSERT_TRUE(WaitForCounter("probes_ok", 4));
  backends_[0]->set_answer_options(false);
  ASSERT_TRUE(WaitForCounter("health_state_changes", 1));
  UdpPeer client("127.0.0.1", 0);
  for (int i = 1; i <= 3; ++i) {
    const std::string call = "pr-" + std::to_string(i) + "@test";
    client.SendTo(Request("INVITE", client.address(), "z9hG4bKp" + std::to_string(i), call),
                  listen_);
    auto invite = backends_[1]->ReceiveStarting("INVITE ");
    ASSERT_TRUE(invite) << call << "\n" << proxy_->DumpStats();
    backends_[1]->SendTo(Answer(invite->bytes, 200, "OK"), invite->from);
    ASSERT_TRUE(NextNot100(client));
  }
  EXPECT_FALSE(backends_[0]->ReceiveStarting("INVITE ", 100));
  backends_[0]->set_answer_options(true);
  ASSERT_TRUE(WaitForCounter("health_state_changes", 2));
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKp9", "pr-9@test"), listen_);
  auto back = backends_[0]->ReceiveStarting("INVITE ");
  ASSERT_TRUE(back);
  backends_[0]->SendTo(Answer(back->bytes, 200, "OK"), back->from);
  ASSERT_TRUE(NextNot100(client));
  const std::string stats = proxy_->DumpStats();
  EXPECT_GE(TotalCounter(stats, "probes_failed"), 2u);
  EXPECT_GT(backends_[1]->options_seen(), 0);
}

TEST_F(DispatcherTest, PassiveHealthMarksADestinationDownAfterTimeouts) {
  StartProxy(2, "max_attempts = 2\npassive_fall = 2\npassive_hold_ms = 60000\n");
  UdpPeer client("127.0.0.1", 0);
  for (int i = 1; i <= 2; ++i) {
    const std::string call = "pa-" + std::to_string(i) + "@test";
    client.SendTo(Request("INVITE", client.address(), "z9hG4bKa" + std::to_string(i), call),
                  listen_);
    ASSERT_TRUE(backends_[0]->ReceiveStarting("INVITE "));  // silent
    auto invite = backends_[1]->ReceiveStarting("INVITE ", 3000);
    ASSERT_TRUE(invite) << call;
    backends_[1]->SendTo(Answer(invite->bytes, 200, "OK"), invite->from);
    ASSERT_TRUE(NextNot100(client));
  }
  ASSERT_TRUE(WaitForCounter("health_state_changes", 1));
  EXPECT_EQ(TotalCounter(proxy_->DumpStats(), "passive_failures"), 2u);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKa3", "pa-3@test"), listen_);
  auto invite = backends_[1]->ReceiveStarting("INVITE ", 1000);  // at once, no timeout first
  ASSERT_TRUE(invite);
  backends_[1]->SendTo(Answer(invite->bytes, 200, "OK"), invite->from);
  EXPECT_FALSE(backends_[0]->ReceiveStarting("INVITE ", 100));
}

TEST_F(DispatcherTest, DrainingGetsNoNewCallsButKeepsItsDialogs) {
  StartProxy(2, "max_attempts = 2\n", {"  state = \"draining\"\n"});
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKg1", "dr-1@test"), listen_);
  auto invite = backends_[1]->ReceiveStarting("INVITE ");
  ASSERT_TRUE(invite);
  backends_[1]->SendTo(Answer(invite->bytes, 200, "OK"), invite->from);
  ASSERT_TRUE(NextNot100(client));
  EXPECT_FALSE(backends_[0]->ReceiveStarting("INVITE ", 100));
  // An established dialog with the draining backend: its BYE follows the
  // Route set to the backend's Contact.
  const std::string route = "Route: <sip:" + HostPort(listen_) + ";lr>\r\n";
  const std::string target = "sip:bob@" + HostPort(backends_[0]->address());
  client.SendTo(Request("BYE", client.address(), "z9hG4bKg2", "dr-old@test", target, route,
                        "uas1", 2),
                listen_);
  auto bye = backends_[0]->ReceiveStarting("BYE ");
  ASSERT_TRUE(bye);
  EXPECT_THAT(FirstLine(bye->bytes), StartsWith("BYE " + target));
  backends_[0]->SendTo(Answer(bye->bytes, 200, "OK"), bye->from);
  auto ok = NextNot100(client);
  ASSERT_TRUE(ok);
  EXPECT_EQ(FirstLine(ok->bytes), "SIP/2.0 200 OK");
}

TEST_F(DispatcherTest, ParallelForkCancelsTheLosers) {
  StartProxy(3, "mode = \"parallel\"\nmax_attempts = 3\n");
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKq1", "pf-1@test"), listen_);
  std::vector<ReceivedMessage> invites;
  for (auto& b : backends_) {
    auto m = b->ReceiveStarting("INVITE ");
    ASSERT_TRUE(m);
    invites.push_back(*m);
  }
  backends_[0]->SendTo(Answer(invites[0].bytes, 180, "Ringing"), invites[0].from);
  backends_[2]->SendTo(Answer(invites[2].bytes, 180, "Ringing"), invites[2].from);
  backends_[1]->SendTo(Answer(invites[1].bytes, 200, "OK"), invites[1].from);
  std::optional<ReceivedMessage> ok;
  for (int i = 0; i < 5; ++i) {
    ok = NextNot100(client);
    if (!ok || FirstLine(ok->bytes) == "SIP/2.0 200 OK") break;
  }
  ASSERT_TRUE(ok);
  EXPECT_EQ(FirstLine(ok->bytes), "SIP/2.0 200 OK");
  for (size_t loser : {size_t{0}, size_t{2}}) {
    auto cancel = backends_[loser]->ReceiveStarting("CANCEL ");
    ASSERT_TRUE(cancel) << loser;
    backends_[loser]->SendTo(Answer(cancel->bytes, 200, "OK"), cancel->from);
    backends_[loser]->SendTo(Answer(invites[loser].bytes, 487, "Request Terminated"),
                             invites[loser].from);
  }
  EXPECT_FALSE(backends_[1]->ReceiveStarting("CANCEL ", 200));
}

TEST_F(DispatcherTest, SerialGroupsRingsAPriorityGroupAtOnceThenTheNext) {
  StartProxy(3, "mode = \"serial-groups\"\nmax_attempts = 3\n", {}, "", true, {1, 1, 2});
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKg1", "sg-1@test"), listen_);
  // Group 1: both destinations of priority 1 get the INVITE and ring (a
  // provisional stops fr_timeout_ms); the third waits.
  auto first = backends_[0]->ReceiveStarting("INVITE ");
  auto second = backends_[1]->ReceiveStarting("INVITE ");
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  backends_[0]->SendTo(Answer(first->bytes, 180, "Ringing"), first->from);
  backends_[1]->SendTo(Answer(second->bytes, 180, "Ringing"), second->from);
  EXPECT_FALSE(backends_[2]->ReceiveStarting("INVITE ", 300));
  backends_[0]->SendTo(Answer(first->bytes, 503, "Service Unavailable"), first->from);
  EXPECT_FALSE(backends_[2]->ReceiveStarting("INVITE ", 300));  // group 1 not over yet
  backends_[1]->SendTo(Answer(second->bytes, 503, "Service Unavailable"), second->from);
  // The whole group failed: group 2.
  auto third = backends_[2]->ReceiveStarting("INVITE ");
  ASSERT_TRUE(third);
  backends_[2]->SendTo(Answer(third->bytes, 200, "OK"), third->from);
  std::optional<ReceivedMessage> ok;
  for (int i = 0; i < 4; ++i) {  // the relayed 180s first
    ok = NextNot100(client);
    if (!ok || FirstLine(ok->bytes) != "SIP/2.0 180 Ringing") break;
  }
  ASSERT_TRUE(ok);
  EXPECT_EQ(FirstLine(ok->bytes), "SIP/2.0 200 OK");
  EXPECT_TRUE(backends_[0]->ReceiveStarting("ACK "));
  EXPECT_TRUE(backends_[1]->ReceiveStarting("ACK "));
  const std::string stats = proxy_->DumpStats();
  EXPECT_EQ(TotalCounter(stats, "failovers"), 1u);
  EXPECT_EQ(TotalCounter(stats, "requests_forwarded"), 3u);
}

TEST_F(DispatcherTest, StatelessHashFromUserKeepsACallerOnOneDestination) {
  for (int i = 0; i < 3; ++i) backends_.push_back(std::make_unique<Backend>());
  listen_ = *transport::SocketAddress::Parse("127.0.0.1", FreeUdpPort());
  std::string config = "[server]\nlisten = [\"udp:" + HostPort(listen_) +
                       "\"]\nreceive_threads = 1\nshards = 2\n"
                       "\n[[sets]]\nname = \"farm\"\nalgorithm = \"hash-from-user\"\n";
  for (auto& b : backends_) {
    config += "  [[sets.destinations]]\n  uri = \"sip:" + HostPort(b->address()) + "\"\n";
  }
  config += "\n[[routes]]\nname = \"default\"\naction = \"forward\"\nset = \"farm\"\n";
  proxy_ = SipshardProcess::Start(config, listen_);
  ASSERT_NE(proxy_, nullptr);
  UdpPeer client("127.0.0.1", 0);
  int hit = -1;
  for (int i = 0; i < 6; ++i) {
    // Same caller (From user alice), different calls.
    client.SendTo(Request("INVITE", client.address(), "z9hG4bKh" + std::to_string(i),
                          "hu-" + std::to_string(i) + "@test"),
                  listen_);
    int got = -1;
    for (size_t b = 0; b < backends_.size() && got < 0; ++b) {
      if (backends_[b]->ReceiveStarting("INVITE ", b + 1 == backends_.size() ? 1000 : 200)) {
        got = static_cast<int>(b);
      }
    }
    ASSERT_GE(got, 0);
    if (hit < 0) hit = got;
    EXPECT_EQ(got, hit);
  }
}

}  // namespace
}  // namespace sipshard::testing

// End-to-end tests of transaction-stateful proxying through the real
// binary: a UAC and scripted backends on loopback, sipshard in between
// with a stateful route.
#include <memory>
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
                    const std::string& branch, const std::string& ruri = "sip:bob@example.com",
                    const std::string& extra = "", const std::string& to_tag = "",
                    int cseq = 1) {
  return method + " " + ruri + " SIP/2.0\r\nVia: SIP/2.0/UDP " + HostPort(client) +
         ";branch=" + branch + ";rport\r\nMax-Forwards: 70\r\n"
         "From: <sip:alice@example.net>;tag=a1\r\nTo: <sip:bob@example.com>" +
         (to_tag.empty() ? "" : ";tag=" + to_tag) + "\r\nCall-ID: sf-call@test\r\nCSeq: " +
         std::to_string(cseq) + " " + method + "\r\n" + extra + "Content-Length: 0\r\n\r\n";
}

std::string Answer(const std::string& request, int code, const std::string& reason,
                   const std::string& extra = "") {
  std::string out = "SIP/2.0 " + std::to_string(code) + " " + reason + "\r\n";
  for (const std::string& via : HeaderValues(request, "Via")) out += "Via: " + via + "\r\n";
  for (const std::string& rr : HeaderValues(request, "Record-Route")) {
    out += "Record-Route: " + rr + "\r\n";
  }
  out += "From: " + HeaderValue(request, "From") + "\r\n";
  std::string to = HeaderValue(request, "To");
  if (to.find("tag=") == std::string::npos) to += ";tag=uas1";
  out += "To: " + to + "\r\nCall-ID: " + HeaderValue(request, "Call-ID") + "\r\n";
  out += "CSeq: " + HeaderValue(request, "CSeq") + "\r\n" + extra + "Content-Length: 0\r\n\r\n";
  return out;
}

class StatefulProxyTest : public ::testing::Test {
 protected:
  // `extra` goes after [timers] (e.g. a [transactions] table).
  void StartProxy(int backends, const std::string& mode, int attempts,
                  const std::string& extra = "", int shards = 2) {
    for (int i = 0; i < backends; ++i) backends_.push_back(std::make_unique<UdpPeer>("127.0.0.1", 0));
    listen_ = *transport::SocketAddress::Parse("127.0.0.1", FreeUdpPort());
    std::string config = "[server]\nlisten = [\"udp:" + HostPort(listen_) +
                         "\"]\nreceive_threads = 1\nshards = " + std::to_string(shards) + "\n"
                         "[timers]\nfr_timeout_ms = 500\n" + extra +
                         "\n[[sets]]\nname = \"farm\"\nmode = \"" + mode +
                         "\"\nmax_attempts = " + std::to_string(attempts) + "\n";
    for (const auto& b : backends_) {
      config += "  [[sets.destinations]]\n  uri = \"sip:" + HostPort(b->address()) + "\"\n";
    }
    config += "\n[[routes]]\nname = \"default\"\naction = \"forward\"\nset = \"farm\"\n"
              "stateful = true\nrecord_route = true\n";
    proxy_ = SipshardProcess::Start(config, listen_);
    ASSERT_NE(proxy_, nullptr);
  }
  // Waits for a request at any backend.
  std::optional<ReceivedMessage> AtBackend(UdpPeer** which, int timeout_ms = 2000) {
    return ReceiveAtAny(backends_, which, timeout_ms);
  }
  std::optional<ReceivedMessage> NextNot100(UdpPeer& peer) { return ReceiveSkipping100(peer); }

  transport::SocketAddress listen_;
  std::vector<std::unique_ptr<UdpPeer>> backends_;
  std::unique_ptr<SipshardProcess> proxy_;
};

TEST_F(StatefulProxyTest, WholeCallWithRecordRouteAckAndByeTraverse) {
  StartProxy(1, "serial", 1);
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKi1"), listen_);
  auto trying = client.Receive();
  ASSERT_TRUE(trying);
  EXPECT_EQ(FirstLine(trying->bytes), "SIP/2.0 100 Trying");
  UdpPeer* backend = nullptr;
  auto invite = AtBackend(&backend);
  ASSERT_TRUE(invite);
  EXPECT_EQ(HeaderValue(invite->bytes, "Record-Route"), "<sip:" + HostPort(listen_) + ";lr;sx=t>");
  const std::string contact = "Contact: <sip:bob@" + HostPort(backend->address()) + ">\r\n";
  backend->SendTo(Answer(invite->bytes, 180, "Ringing"), invite->from);
  auto ringing = NextNot100(client);
  ASSERT_TRUE(ringing);
  EXPECT_EQ(FirstLine(ringing->bytes), "SIP/2.0 180 Ringing");
  backend->SendTo(Answer(invite->bytes, 200, "OK", contact), invite->from);
  auto ok = client.Receive();
  ASSERT_TRUE(ok);
  EXPECT_EQ(FirstLine(ok->bytes), "SIP/2.0 200 OK");
  // 2xx retransmission from the UAS is relayed as well.
  backend->SendTo(Answer(invite->bytes, 200, "OK", contact), invite->from);
  auto ok2 = client.Receive();
  ASSERT_TRUE(ok2);
  EXPECT_EQ(FirstLine(ok2->bytes), "SIP/2.0 200 OK");

  // ACK and BYE follow the Route set (our Record-Route) to the Contact.
  const std::string route = "Route: " + HeaderValue(invite->bytes, "Record-Route") + "\r\n";
  const std::string target = "sip:bob@" + HostPort(backend->address());
  client.SendTo(Request("ACK", client.address(), "z9hG4bKa2", target, route, "uas1"), listen_);
  auto ack = backend->Receive();
  ASSERT_TRUE(ack);
  EXPECT_THAT(FirstLine(ack->bytes), StartsWith("ACK " + target));
  EXPECT_EQ(HeaderValue(ack->bytes, "Route"), "");
  client.SendTo(Request("BYE", client.address(), "z9hG4bKb3", target, route, "uas1", 2), listen_);
  auto bye = backend->Receive();
  ASSERT_TRUE(bye);
  EXPECT_THAT(FirstLine(bye->bytes), StartsWith("BYE " + target));
  backend->SendTo(Answer(bye->bytes, 200, "OK"), bye->from);
  auto bye_ok = client.Receive();
  ASSERT_TRUE(bye_ok);
  EXPECT_EQ(FirstLine(bye_ok->bytes), "SIP/2.0 200 OK");
  const std::string stats = proxy_->DumpStats();
  // The INVITE and the BYE (stateful dialog); the 2xx ACK is end to end.
  EXPECT_EQ(TotalCounter(stats, "transactions_created"), 2u);
  EXPECT_EQ(TotalCounter(stats, "in_dialog_stateful"), 1u);
}

TEST_F(StatefulProxyTest, RetransmittedInviteReachesTheBackendOnce) {
  StartProxy(1, "serial", 1);
  UdpPeer client("127.0.0.1", 0);
  const std::string invite = Request("INVITE", client.address(), "z9hG4bKr1");
  client.SendTo(invite, listen_);
  UdpPeer* backend = nullptr;
  auto forwarded = AtBackend(&backend);
  ASSERT_TRUE(forwarded);
  client.SendTo(invite, listen_);
  client.SendTo(invite, listen_);
  EXPECT_EQ(client.Drain(300), 3);  // three 100 Trying, one per copy
  backend->SendTo(Answer(forwarded->bytes, 100, "Trying"), forwarded->from);
  // Only our own Timer A could resend; the 100 stopped it.
  EXPECT_EQ(backend->Drain(700), 0);
  EXPECT_EQ(TotalCounter(proxy_->DumpStats(), "retransmissions_absorbed"), 2u);
}

TEST_F(StatefulProxyTest, SilentBackendFailsOverToTheNextDestination) {
  StartProxy(2, "serial", 2);
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKs1"), listen_);
  UdpPeer* first = nullptr;
  auto one = AtBackend(&first);
  ASSERT_TRUE(one);
  // The first stays silent (also to Timer A retransmissions); after
  // fr_timeout the second gets the INVITE.
  UdpPeer* second = nullptr;
  std::optional<ReceivedMessage> two;
  for (int i = 0; i < 10 && second == nullptr; ++i) {
    auto m = AtBackend(&second, 1500);
    if (m && second == first) {
      second = nullptr;
      continue;
    }
    two = m;
  }
  ASSERT_TRUE(two);
  ASSERT_NE(second, first);
  second->SendTo(Answer(two->bytes, 486, "Busy Here"), two->from);
  auto busy = NextNot100(client);
  ASSERT_TRUE(busy);
  EXPECT_EQ(FirstLine(busy->bytes), "SIP/2.0 486 Busy Here");
  EXPECT_EQ(TotalCounter(proxy_->DumpStats(), "failovers"), 1u);
}

TEST_F(StatefulProxyTest, AllSilentGives408) {
  StartProxy(1, "serial", 1);
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKt1"), listen_);
  std::optional<ReceivedMessage> reply;
  for (int i = 0; i < 3; ++i) {
    reply = NextNot100(client);
    if (reply) break;
  }
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 408 Request Timeout");
}

TEST_F(StatefulProxyTest, ParallelForkOne200AndCancelsTheOthers) {
  StartProxy(2, "parallel", 2);
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKp1"), listen_);
  auto a = backends_[0]->Receive();
  auto b = backends_[1]->Receive();
  ASSERT_TRUE(a && b);
  backends_[1]->SendTo(Answer(b->bytes, 180, "Ringing"), b->from);
  backends_[0]->SendTo(Answer(a->bytes, 200, "OK"), a->from);
  std::optional<ReceivedMessage> ok;
  for (int i = 0; i < 4; ++i) {
    ok = client.Receive();
    if (!ok || FirstLine(ok->bytes) == "SIP/2.0 200 OK") break;
  }
  ASSERT_TRUE(ok);
  EXPECT_EQ(FirstLine(ok->bytes), "SIP/2.0 200 OK");
  std::optional<ReceivedMessage> cancel;
  for (int i = 0; i < 4; ++i) {
    cancel = backends_[1]->Receive();
    if (!cancel || FirstLine(cancel->bytes).rfind("CANCEL", 0) == 0) break;
  }
  ASSERT_TRUE(cancel);
  EXPECT_THAT(FirstLine(cancel->bytes), StartsWith("CANCEL "));
}

TEST_F(StatefulProxyTest, CancelAfterRingingGets200And487) {
  StartProxy(1, "serial", 1);
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKc1"), listen_);
  UdpPeer* backend = nullptr;
  auto invite = AtBackend(&backend);
  ASSERT_TRUE(invite);
  backend->SendTo(Answer(invite->bytes, 180, "Ringing"), invite->from);
  ASSERT_TRUE(NextNot100(client));
  client.SendTo(Request("CANCEL", client.address(), "z9hG4bKc1"), listen_);
  auto cancel_ok = client.Receive();
  ASSERT_TRUE(cancel_ok);
  EXPECT_EQ(FirstLine(cancel_ok->bytes), "SIP/2.0 200 OK");
  auto cancel = backend->Receive();
  ASSERT_TRUE(cancel);
  EXPECT_THAT(FirstLine(cancel->bytes), StartsWith("CANCEL "));
  backend->SendTo(Answer(cancel->bytes, 200, "OK"), cancel->from);
  backend->SendTo(Answer(invite->bytes, 487, "Request Terminated"), invite->from);
  auto terminated = client.Receive();
  ASSERT_TRUE(terminated);
  EXPECT_EQ(FirstLine(terminated->bytes), "SIP/2.0 487 Request Terminated");
  auto ack = backend->Receive();
  ASSERT_TRUE(ack);
  EXPECT_THAT(FirstLine(ack->bytes), StartsWith("ACK "));
}

// Receives at `peer` until a message whose first line starts with `prefix`.
std::optional<ReceivedMessage> NextStartingWith(UdpPeer& peer, const std::string& prefix,
                                                int tries = 5) {
  for (int i = 0; i < tries; ++i) {
    auto m = peer.Receive();
    if (!m || FirstLine(m->bytes).rfind(prefix, 0) == 0) return m;
  }
  return std::nullopt;
}

TEST_F(StatefulProxyTest, Backend503WithOneDestinationBecomes500) {
  StartProxy(1, "serial", 1);
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKf1"), listen_);
  UdpPeer* backend = nullptr;
  auto invite = AtBackend(&backend);
  ASSERT_TRUE(invite);
  backend->SendTo(Answer(invite->bytes, 503, "Service Unavailable"), invite->from);
  auto reply = NextNot100(client);
  ASSERT_TRUE(reply);
  // §16.7 step 6: a 503 is never relayed upstream.
  EXPECT_THAT(FirstLine(reply->bytes), StartsWith("SIP/2.0 500 "));
  auto ack = backend->Receive();
  ASSERT_TRUE(ack);
  EXPECT_THAT(FirstLine(ack->bytes), StartsWith("ACK "));
}

TEST_F(StatefulProxyTest, Backend503FailsOverToTheSecondDestination) {
  StartProxy(2, "serial", 2);
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKf2"), listen_);
  UdpPeer* first = nullptr;
  auto one = AtBackend(&first);
  ASSERT_TRUE(one);
  first->SendTo(Answer(one->bytes, 503, "Service Unavailable"), one->from);
  UdpPeer& second = first == backends_[0].get() ? *backends_[1] : *backends_[0];
  auto two = NextStartingWith(second, "INVITE ");
  ASSERT_TRUE(two);
  second.SendTo(Answer(two->bytes, 200, "OK"), two->from);
  auto ok = NextNot100(client);
  ASSERT_TRUE(ok);
  EXPECT_EQ(FirstLine(ok->bytes), "SIP/2.0 200 OK");
  EXPECT_EQ(TotalCounter(proxy_->DumpStats(), "failovers"), 1u);
}

TEST_F(StatefulProxyTest, FullTableAnswers503WithRetryAfter) {
  StartProxy(1, "serial", 1, "[transactions]\nmax_per_shard = 1\n", /*shards=*/1);
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKo1"), listen_);
  UdpPeer* backend = nullptr;
  auto invite = AtBackend(&backend);
  ASSERT_TRUE(invite);
  backend->SendTo(Answer(invite->bytes, 180, "Ringing"), invite->from);
  ASSERT_TRUE(NextNot100(client));
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKo2"), listen_);
  auto refused = client.Receive();
  ASSERT_TRUE(refused);
  EXPECT_EQ(FirstLine(refused->bytes), "SIP/2.0 503 Service Unavailable");
  EXPECT_EQ(HeaderValue(refused->bytes, "Retry-After"), "5");
  EXPECT_EQ(backend->Drain(200), 0);
  EXPECT_EQ(TotalCounter(proxy_->DumpStats(), "transactions_overflow"), 1u);
}

TEST_F(StatefulProxyTest, CancelBeforeInviteAnswersTheLateInvite487) {
  StartProxy(1, "serial", 1);
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("CANCEL", client.address(), "z9hG4bKe1"), listen_);
  EXPECT_EQ(client.Drain(200), 0);  // no state, no answer: the UAC retransmits
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKe1"), listen_);
  auto reply = client.Receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 487 Request Terminated");
  EXPECT_EQ(backends_[0]->Drain(200), 0);
}

TEST_F(StatefulProxyTest, RetransmittedInviteToASlowBackendGets100Trying) {
  StartProxy(1, "serial", 1);
  UdpPeer client("127.0.0.1", 0);
  const std::string invite = Request("INVITE", client.address(), "z9hG4bKr2");
  client.SendTo(invite, listen_);
  auto trying = client.Receive();
  ASSERT_TRUE(trying);
  EXPECT_EQ(FirstLine(trying->bytes), "SIP/2.0 100 Trying");
  UdpPeer* backend = nullptr;
  auto forwarded = AtBackend(&backend);
  ASSERT_TRUE(forwarded);
  backend->SendTo(Answer(forwarded->bytes, 100, "Trying"), forwarded->from);
  client.SendTo(invite, listen_);  // T1 later, the UAC retransmits
  auto again = client.Receive();
  ASSERT_TRUE(again);
  EXPECT_EQ(FirstLine(again->bytes), "SIP/2.0 100 Trying");
  EXPECT_EQ(backend->Drain(300), 0);  // exactly one INVITE downstream
}

TEST_F(StatefulProxyTest, Late2xxAfterTheLocal408IsStillRelayed) {
  StartProxy(1, "serial", 1);
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKl1"), listen_);
  UdpPeer* backend = nullptr;
  auto invite = AtBackend(&backend);
  ASSERT_TRUE(invite);
  std::optional<ReceivedMessage> timeout;
  for (int i = 0; i < 3 && !timeout; ++i) timeout = NextNot100(client);
  ASSERT_TRUE(timeout);
  EXPECT_EQ(FirstLine(timeout->bytes), "SIP/2.0 408 Request Timeout");
  // Pitfall 5: the callee answers after all: its 2xx must reach the caller.
  backend->SendTo(Answer(invite->bytes, 200, "OK"), invite->from);
  auto ok = NextStartingWith(client, "SIP/2.0 200");
  ASSERT_TRUE(ok);
  EXPECT_EQ(TotalCounter(proxy_->DumpStats(), "late_2xx_relayed"), 1u);
}

TEST_F(StatefulProxyTest, SixHundredStopsFailover) {
  StartProxy(2, "serial", 2, "");
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bK61"), listen_);
  UdpPeer* first = nullptr;
  auto one = AtBackend(&first);
  ASSERT_TRUE(one);
  first->SendTo(Answer(one->bytes, 603, "Decline"), one->from);
  auto reply = NextNot100(client);
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 603 Decline");
  UdpPeer& second = first == backends_[0].get() ? *backends_[1] : *backends_[0];
  EXPECT_EQ(second.Drain(300), 0);
}

TEST_F(StatefulProxyTest, FourOhFourAndBusyAreRelayedWithoutFailover) {
  StartProxy(2, "serial", 2);
  UdpPeer client("127.0.0.1", 0);
  int n = 0;
  for (const auto& [code, reason] : {std::pair<int, std::string>{404, "Not Found"},
                                     std::pair<int, std::string>{486, "Busy Here"}}) {
    client.SendTo(Request("INVITE", client.address(), "z9hG4bKn" + std::to_string(++n)), listen_);
    UdpPeer* first = nullptr;
    auto one = AtBackend(&first);
    ASSERT_TRUE(one);
    first->SendTo(Answer(one->bytes, code, reason), one->from);
    auto reply = NextNot100(client);
    ASSERT_TRUE(reply);
    EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 " + std::to_string(code) + " " + reason);
    // Only our ACK reaches the first; nothing reaches the other.
    auto ack = first->Receive();
    ASSERT_TRUE(ack);
    EXPECT_THAT(FirstLine(ack->bytes), StartsWith("ACK "));
    for (auto& b : backends_) EXPECT_EQ(b->Drain(200), 0);
  }
  EXPECT_EQ(TotalCounter(proxy_->DumpStats(), "failovers"), 0u);
}

TEST_F(StatefulProxyTest, InDialogRequestsOfAStatefulDialogAreTransactions) {
  StartProxy(1, "serial", 1);
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKg1"), listen_);
  UdpPeer* backend = nullptr;
  auto invite = AtBackend(&backend);
  ASSERT_TRUE(invite);
  const std::string record_route = HeaderValue(invite->bytes, "Record-Route");
  EXPECT_THAT(record_route, ::testing::HasSubstr(";sx=t"));
  backend->SendTo(Answer(invite->bytes, 200, "OK"), invite->from);
  ASSERT_TRUE(NextStartingWith(client, "SIP/2.0 200"));
  const std::string route = "Route: " + record_route + "\r\n";
  const std::string target = "sip:bob@" + HostPort(backend->address());

  // re-INVITE: a transaction (100 Trying), relayed once, 200 back.
  const std::string reinvite =
      Request("INVITE", client.address(), "z9hG4bKg2", target, route, "uas1", 2);
  client.SendTo(reinvite, listen_);
  auto trying = client.Receive();
  ASSERT_TRUE(trying);
  EXPECT_EQ(FirstLine(trying->bytes), "SIP/2.0 100 Trying");
  auto re = backend->Receive();
  ASSERT_TRUE(re);
  EXPECT_THAT(FirstLine(re->bytes), StartsWith("INVITE " + target));
  backend->SendTo(Answer(re->bytes, 200, "OK"), re->from);
  ASSERT_TRUE(NextStartingWith(client, "SIP/2.0 200"));

  // BYE, retransmitted by the caller before the callee answers: one BYE
  // reaches the callee; after the 200 a retransmission gets the 200 again.
  const std::string bye = Request("BYE", client.address(), "z9hG4bKg3", target, route, "uas1", 3);
  client.SendTo(bye, listen_);
  auto bye_at = backend->Receive();
  ASSERT_TRUE(bye_at);
  EXPECT_THAT(FirstLine(bye_at->bytes), StartsWith("BYE " + target));
  client.SendTo(bye, listen_);
  EXPECT_EQ(backend->Drain(200), 0);
  backend->SendTo(Answer(bye_at->bytes, 200, "OK"), bye_at->from);
  auto bye_ok = client.Receive();
  ASSERT_TRUE(bye_ok);
  EXPECT_EQ(FirstLine(bye_ok->bytes), "SIP/2.0 200 OK");
  client.SendTo(bye, listen_);
  auto bye_ok2 = client.Receive();
  ASSERT_TRUE(bye_ok2);
  EXPECT_EQ(FirstLine(bye_ok2->bytes), "SIP/2.0 200 OK");
  EXPECT_EQ(backend->Drain(200), 0);
  const std::string stats = proxy_->DumpStats();
  EXPECT_EQ(TotalCounter(stats, "in_dialog_stateful"), 2u);
  EXPECT_EQ(TotalCounter(stats, "retransmissions_absorbed"), 2u);
}

TEST_F(StatefulProxyTest, ByeToADeadPeerOfAStatefulDialogGets408) {
  StartProxy(1, "serial", 1);
  UdpPeer client("127.0.0.1", 0);
  UdpPeer dead("127.0.0.1", 0);  // bound, never answers
  const std::string route = "Route: <sip:" + HostPort(listen_) + ";lr;sx=t>\r\n";
  const std::string target = "sip:bob@" + HostPort(dead.address());
  client.SendTo(Request("BYE", client.address(), "z9hG4bKh1", target, route, "uas1", 2), listen_);
  auto reply = client.Receive(3000);
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 408 Request Timeout");
  EXPECT_GE(dead.Drain(100), 1);
}

}  // namespace
}  // namespace sipshard::testing

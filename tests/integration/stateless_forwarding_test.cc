// End-to-end tests of stateless forwarding through the real binary:
// a client and fake backends on loopback, sipshard in between.
#include <signal.h>
#include <sys/socket.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/sipshard_process.h"
#include "tests/testing/udp_peer.h"

namespace sipshard::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Host(const transport::SocketAddress& a) {
  return a.is_ipv6() ? "[" + a.HostString() + "]" : a.HostString();
}

std::string HostPort(const transport::SocketAddress& a) {
  return Host(a) + ":" + std::to_string(a.port());
}

struct RequestSpec {
  std::string method = "INVITE";
  std::string call_id = "call-1@test";
  std::string call_id_header = "Call-ID: ";
  std::string branch = "z9hG4bKclient1";
  std::string max_forwards = "Max-Forwards: 70\r\n";
  std::string to_tag;
  std::string extra;
  std::string cseq_method;  // defaults to method
};

std::string Request(const RequestSpec& spec, const transport::SocketAddress& client) {
  const std::string cseq_method = spec.cseq_method.empty() ? spec.method : spec.cseq_method;
  return spec.method + " sip:bob@example.com SIP/2.0\r\n" + "Via: SIP/2.0/UDP " + HostPort(client) +
         ";branch=" + spec.branch + ";rport\r\n" + spec.max_forwards +
         "From: <sip:alice@example.net>;tag=a1\r\n" + "To: <sip:bob@example.com>" +
         (spec.to_tag.empty() ? "" : ";tag=" + spec.to_tag) + "\r\n" + spec.call_id_header +
         spec.call_id + "\r\n" + "CSeq: 1 " + cseq_method + "\r\n" + spec.extra +
         "Content-Length: 0\r\n\r\n";
}

// Builds the backend's answer to a forwarded request: Vias, From, To (with
// a tag), Call-ID and CSeq copied, as a UAS does (§8.2.6).
std::string Answer(const std::string& request, int code, const std::string& reason,
                   const std::string& call_id_override = "") {
  std::string out = "SIP/2.0 " + std::to_string(code) + " " + reason + "\r\n";
  for (const std::string& via : HeaderValues(request, "Via")) out += "Via: " + via + "\r\n";
  out += "From: " + HeaderValue(request, "From") + "\r\n";
  out += "To: " + HeaderValue(request, "To") + ";tag=uas1\r\n";
  out += "Call-ID: " + (call_id_override.empty() ? HeaderValue(request, "Call-ID") : call_id_override) +
         "\r\n";
  out += "CSeq: " + HeaderValue(request, "CSeq") + "\r\nContent-Length: 0\r\n\r\n";
  return out;
}

// Runs every test twice: with a receive thread, and with shards reading
// their own sockets (server.receive_threads = 0).
class StatelessForwardingTest : public ::testing::TestWithParam<int> {
 protected:
  void StartProxy(int shards = 4, const std::string& server_extra = "",
                  const std::string& host = "127.0.0.1") {
    listen_ = *transport::SocketAddress::Parse(host, FreeUdpPort(host));
    const std::string listen_text = "udp:" + HostPort(listen_);
    std::string config = "[server]\nlisten = [\"" + listen_text + "\"]\nreceive_threads = " +
                         std::to_string(GetParam()) + "\n" +
                         "shards = " + std::to_string(shards) + "\n" + server_extra +
                         "\n[[sets]]\nname = \"farm\"\n";
    for (const auto& backend : backends_) {
      config += "  [[sets.destinations]]\n  uri = \"sip:" + HostPort(backend->address()) + "\"\n";
    }
    config +=
        "\n[[routes]]\nname = \"register\"\naction = \"reply\"\nreply_code = 200\n"
        "  [routes.match]\n  methods = [\"REGISTER\"]\n"
        "\n[[routes]]\nname = \"publish\"\naction = \"drop\"\n"
        "  [routes.match]\n  methods = [\"PUBLISH\"]\n"
        "\n[[routes]]\nname = \"default\"\naction = \"forward\"\nset = \"farm\"\n"
        "stateful = false\nrecord_route = true\n";
    proxy_ = SipshardProcess::Start(config, listen_);
    ASSERT_NE(proxy_, nullptr);
  }

  void AddBackends(int n, const std::string& host = "127.0.0.1") {
    for (int i = 0; i < n; ++i) backends_.push_back(std::make_unique<UdpPeer>(host, 0));
  }

  // Waits for the forwarded request at any backend.
  std::optional<ReceivedMessage> ReceiveAtBackend(UdpPeer** which = nullptr, int timeout_ms = 2000) {
    return ReceiveAtAny(backends_, which, timeout_ms);
  }

  transport::SocketAddress listen_;
  std::vector<std::unique_ptr<UdpPeer>> backends_;
  std::unique_ptr<SipshardProcess> proxy_;
};

TEST_P(StatelessForwardingTest, RequestGetsOurViaAndResponseComesBackWithoutIt) {
  AddBackends(2);
  StartProxy();
  UdpPeer client("127.0.0.1", 0);
  RequestSpec spec;
  client.SendTo(Request(spec, client.address()), listen_);

  UdpPeer* backend = nullptr;
  std::optional<ReceivedMessage> forwarded = ReceiveAtBackend(&backend);
  ASSERT_TRUE(forwarded);
  EXPECT_EQ(forwarded->from, listen_);  // leaves from the listen socket
  const std::vector<std::string> vias = HeaderValues(forwarded->bytes, "Via");
  ASSERT_EQ(vias.size(), 2u);
  EXPECT_THAT(vias[0], StartsWith("SIP/2.0/UDP " + HostPort(listen_) + ";branch=z9hG4bK-sx"));
  // RFC 3581: our side filled in received and rport of the client's Via.
  EXPECT_EQ(vias[1], "SIP/2.0/UDP " + HostPort(client.address()) +
                         ";branch=z9hG4bKclient1;rport=" + std::to_string(client.address().port()) +
                         ";received=127.0.0.1");
  EXPECT_EQ(HeaderValue(forwarded->bytes, "Max-Forwards"), "69");
  EXPECT_EQ(HeaderValue(forwarded->bytes, "Record-Route"), "<sip:" + HostPort(listen_) + ";lr>");
  EXPECT_EQ(FirstLine(forwarded->bytes), "INVITE sip:bob@example.com SIP/2.0");

  backend->SendTo(Answer(forwarded->bytes, 180, "Ringing"), forwarded->from);
  std::optional<ReceivedMessage> response = client.Receive();
  ASSERT_TRUE(response);
  EXPECT_EQ(FirstLine(response->bytes), "SIP/2.0 180 Ringing");
  EXPECT_EQ(HeaderValues(response->bytes, "Via"), std::vector<std::string>{vias[1]});
  EXPECT_EQ(response->from, listen_);

  const std::string stats = proxy_->DumpStats();
  EXPECT_EQ(TotalCounter(stats, "requests_forwarded"), 1u);
  EXPECT_EQ(TotalCounter(stats, "responses_forwarded"), 1u);
  EXPECT_EQ(TotalCounter(stats, "rx_routed_by_branch"), 1u);
  EXPECT_EQ(proxy_->Stop(), 0);
}

TEST_P(StatelessForwardingTest, RetransmissionGetsTheSameBranchAndDestination) {
  AddBackends(3);
  StartProxy();
  UdpPeer client("127.0.0.1", 0);
  const std::string invite = Request(RequestSpec(), client.address());
  client.SendTo(invite, listen_);
  UdpPeer* first_backend = nullptr;
  auto first = ReceiveAtBackend(&first_backend);
  client.SendTo(invite, listen_);
  UdpPeer* second_backend = nullptr;
  auto second = ReceiveAtBackend(&second_backend);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first_backend, second_backend);
  EXPECT_EQ(HeaderValues(first->bytes, "Via")[0], HeaderValues(second->bytes, "Via")[0]);
  // A CANCEL for that INVITE carries the same branch (§16.11, §9.1).
  RequestSpec cancel;
  cancel.method = "CANCEL";
  client.SendTo(Request(cancel, client.address()), listen_);
  UdpPeer* cancel_backend = nullptr;
  auto forwarded_cancel = ReceiveAtBackend(&cancel_backend);
  ASSERT_TRUE(forwarded_cancel);
  EXPECT_EQ(cancel_backend, first_backend);
  EXPECT_EQ(HeaderValues(forwarded_cancel->bytes, "Via")[0], HeaderValues(first->bytes, "Via")[0]);
}

TEST_P(StatelessForwardingTest, MissingMaxForwardsIsInsertedAndZeroGets483) {
  AddBackends(1);
  StartProxy();
  UdpPeer client("127.0.0.1", 0);
  RequestSpec no_mf;
  no_mf.max_forwards = "";
  client.SendTo(Request(no_mf, client.address()), listen_);
  auto forwarded = ReceiveAtBackend();
  ASSERT_TRUE(forwarded);
  EXPECT_EQ(HeaderValue(forwarded->bytes, "Max-Forwards"), "70");

  RequestSpec zero;
  zero.call_id = "hops@test";
  zero.max_forwards = "Max-Forwards: 0\r\n";
  client.SendTo(Request(zero, client.address()), listen_);
  auto reply = client.Receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 483 Too Many Hops");
  EXPECT_THAT(HeaderValue(reply->bytes, "To"), HasSubstr(";tag="));
  EXPECT_EQ(HeaderValue(reply->bytes, "Call-ID"), "hops@test");
  EXPECT_FALSE(ReceiveAtBackend(nullptr, 200));
  EXPECT_EQ(TotalCounter(proxy_->DumpStats(), "too_many_hops"), 1u);
}

TEST_P(StatelessForwardingTest, MalformedRequestsGetTheirAnswerAndGarbageIsCounted) {
  AddBackends(1);
  StartProxy();
  UdpPeer client("127.0.0.1", 0);
  RequestSpec bad_cseq;
  bad_cseq.cseq_method = "BYE";
  client.SendTo(Request(bad_cseq, client.address()), listen_);
  auto reply = client.Receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 400 CSeq Method Mismatch");

  const std::string bad_version =
      "INVITE sip:bob@example.com SIP/7.0\r\nVia: SIP/2.0/UDP " + HostPort(client.address()) +
      ";branch=z9hG4bKv7\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: v7\r\n"
      "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
  client.SendTo(bad_version, listen_);
  reply = client.Receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 505 Version Not Supported");

  RequestSpec no_call_id;
  no_call_id.call_id_header = "X-Not-Call-ID: ";
  client.SendTo(Request(no_call_id, client.address()), listen_);
  reply = client.Receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 400 Missing Call-ID Header");

  client.SendTo("\x01\x02 this is not SIP at all\r\n\r\n", listen_);
  client.SendTo("SIP/2.0 200 OK\r\nVia: broken\r\n\r\n", listen_);
  client.SendTo("\r\n\r\n", listen_);  // keep-alive
  EXPECT_FALSE(client.Receive(300));
  EXPECT_FALSE(ReceiveAtBackend(nullptr, 50));

  const std::string stats = proxy_->DumpStats();
  EXPECT_EQ(ParseErrorCount(stats, "cseq_method_mismatch"), 1u);
  EXPECT_EQ(ParseErrorCount(stats, "unsupported_version"), 1u);
  EXPECT_EQ(ParseErrorCount(stats, "missing_call_id"), 1u);
  EXPECT_EQ(ParseErrorCount(stats, "bad_start_line"), 1u);
  EXPECT_EQ(TotalCounter(stats, "bad_requests_answered"), 3u);
  EXPECT_EQ(TotalCounter(stats, "dropped_malformed"), 2u);
  EXPECT_EQ(TotalCounter(stats, "keepalives"), 1u);
  // The request without Call-ID, the garbage, the broken response and the
  // keep-alive all went to the fixed shard.
  EXPECT_EQ(TotalCounter(stats, "rx_no_call_id"), 4u);
}

TEST_P(StatelessForwardingTest, LocalRepliesAndDrops) {
  AddBackends(1);
  StartProxy();
  // The readiness probe's OPTIONS were answered locally too.
  const uint64_t probes = TotalCounter(proxy_->DumpStats(), "local_replies");
  UdpPeer client("127.0.0.1", 0);
  RequestSpec reg;
  reg.method = "REGISTER";
  client.SendTo(Request(reg, client.address()), listen_);
  auto reply = client.Receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 200 OK");
  // The same request again gets the same To tag (stateless, §16.11).
  client.SendTo(Request(reg, client.address()), listen_);
  auto again = client.Receive();
  ASSERT_TRUE(again);
  EXPECT_EQ(HeaderValue(again->bytes, "To"), HeaderValue(reply->bytes, "To"));

  RequestSpec publish;
  publish.method = "PUBLISH";
  client.SendTo(Request(publish, client.address()), listen_);
  EXPECT_FALSE(client.Receive(300));
  EXPECT_FALSE(ReceiveAtBackend(nullptr, 50));
  const std::string stats = proxy_->DumpStats();
  EXPECT_EQ(TotalCounter(stats, "local_replies") - probes, 2u);
  EXPECT_EQ(TotalCounter(stats, "route_drops"), 1u);
}

TEST_P(StatelessForwardingTest, ResponseWithoutOurViaIsDropped) {
  AddBackends(1);
  StartProxy();
  UdpPeer stranger("127.0.0.1", 0);
  stranger.SendTo(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKnotours\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
      "Content-Length: 0\r\n\r\n",
      listen_);
  EXPECT_FALSE(stranger.Receive(300));
  EXPECT_EQ(TotalCounter(proxy_->DumpStats(), "responses_not_ours"), 1u);
}

TEST_P(StatelessForwardingTest, InDialogRequestsFollowRouteNotTheDispatcher) {
  AddBackends(2);
  StartProxy();
  UdpPeer client("127.0.0.1", 0);
  UdpPeer remote("127.0.0.1", 0);  // the callee's Contact, not in the farm
  RequestSpec bye;
  bye.method = "BYE";
  bye.to_tag = "uas1";
  bye.extra = "Route: <sip:" + HostPort(listen_) + ";lr>\r\n";
  std::string request = Request(bye, client.address());
  // Request-URI = the remote target from the callee's Contact.
  request.replace(0, request.find("\r\n"), "BYE sip:bob@" + HostPort(remote.address()) + " SIP/2.0");
  client.SendTo(request, listen_);
  auto forwarded = remote.Receive();
  ASSERT_TRUE(forwarded);
  EXPECT_EQ(HeaderValues(forwarded->bytes, "Route").size(), 0u);  // our Route popped
  EXPECT_TRUE(HeaderValue(forwarded->bytes, "Record-Route").empty());
  EXPECT_FALSE(ReceiveAtBackend(nullptr, 100));
}

TEST_P(StatelessForwardingTest, EveryMessageOfACallLandsOnOneShard) {
  AddBackends(1);
  StartProxy(/*shards=*/4);
  UdpPeer client("127.0.0.1", 0);
  std::set<size_t> shards_used;
  std::vector<uint64_t> before = ShardCounter(proxy_->DumpStats(), "datagrams");
  for (int call = 0; call < 8; ++call) {
    const std::string id = "shard-call-" + std::to_string(call) + "@test";
    // The same Call-ID in four spellings a peer may use.
    const std::string forms[] = {"Call-ID: ", "i: ", "CALL-ID  :   ", "call-id:\r\n  "};
    for (int m = 0; m < 4; ++m) {
      RequestSpec spec;
      spec.method = m == 0 ? "INVITE" : (m == 1 ? "ACK" : "BYE");
      spec.to_tag = m == 0 ? "" : "t";
      spec.call_id = id;
      spec.call_id_header = forms[m];
      spec.branch = "z9hG4bK" + std::to_string(call) + "-" + std::to_string(m);
      if (m > 0) spec.extra = "Route: <sip:" + HostPort(backends_[0]->address()) + ">\r\n";
      client.SendTo(Request(spec, client.address()), listen_);
      ASSERT_TRUE(backends_[0]->Receive());
    }
    const std::vector<uint64_t> after = ShardCounter(proxy_->DumpStats(), "datagrams");
    ASSERT_EQ(after.size(), 4u);
    int shards_touched = 0;
    for (size_t s = 0; s < after.size(); ++s) {
      if (after[s] != before[s]) {
        ++shards_touched;
        EXPECT_EQ(after[s] - before[s], 4u) << "call " << call;
        shards_used.insert(s);
      }
    }
    EXPECT_EQ(shards_touched, 1) << "call " << call;
    before = after;
  }
  EXPECT_GE(shards_used.size(), 2u);  // and calls do spread over shards
}

TEST_P(StatelessForwardingTest, ShardInOurBranchWinsOverARewrittenCallId) {
  AddBackends(1);
  StartProxy(/*shards=*/4);
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request(RequestSpec(), client.address()), listen_);
  auto forwarded = backends_[0]->Receive();
  ASSERT_TRUE(forwarded);
  const std::vector<uint64_t> before = ShardCounter(proxy_->DumpStats(), "datagrams");
  // A peer that mangles the Call-ID: its hash would pick another shard.
  for (int i = 0; i < 8; ++i) {
    backends_[0]->SendTo(Answer(forwarded->bytes, 180, "Ringing", "mangled-" + std::to_string(i)),
                         forwarded->from);
    ASSERT_TRUE(client.Receive());
  }
  const std::string stats = proxy_->DumpStats();
  const std::vector<uint64_t> after = ShardCounter(stats, "datagrams");
  int touched = 0;
  for (size_t s = 0; s < after.size(); ++s) touched += after[s] != before[s];
  EXPECT_EQ(touched, 1);
  EXPECT_EQ(TotalCounter(stats, "rx_routed_by_branch"), 8u);
  EXPECT_EQ(TotalCounter(stats, "responses_forwarded"), 8u);
}

TEST_P(StatelessForwardingTest, Ipv6OnLoopback) {
  {
    UdpPeer probe("::1", 0);
    if (probe.fd() < 0 || probe.address().port() == 0) GTEST_SKIP() << "no IPv6 loopback";
  }
  AddBackends(1, "::1");
  StartProxy(2, "", "::1");
  UdpPeer client("::1", 0);
  client.SendTo(Request(RequestSpec(), client.address()), listen_);
  auto forwarded = backends_[0]->Receive();
  ASSERT_TRUE(forwarded);
  const std::vector<std::string> vias = HeaderValues(forwarded->bytes, "Via");
  ASSERT_EQ(vias.size(), 2u);
  EXPECT_THAT(vias[0], StartsWith("SIP/2.0/UDP [::1]:" + std::to_string(listen_.port()) + ";branch="));
  EXPECT_THAT(vias[1], HasSubstr(";received=::1"));
  backends_[0]->SendTo(Answer(forwarded->bytes, 200, "OK"), forwarded->from);
  auto response = client.Receive();
  ASSERT_TRUE(response);
  EXPECT_EQ(FirstLine(response->bytes), "SIP/2.0 200 OK");
}

// Sends `count` datagrams as fast as the kernel takes them.
void Blast(UdpPeer& sender, const transport::SocketAddress& to, int count, int distinct_calls) {
  for (int i = 0; i < count; ++i) {
    RequestSpec spec;
    spec.call_id = "blast-" + std::to_string(i % distinct_calls);
    spec.branch = "z9hG4bKb" + std::to_string(i);
    sender.SendTo(Request(spec, sender.address()), to);
  }
}

TEST_P(StatelessForwardingTest, FullInboxDropsAndCountsWithoutCrashing) {
  AddBackends(1);
  // Shards that read sockets only use inboxes for hand-offs: give them two.
  StartProxy(/*shards=*/GetParam() == 0 ? 2 : 1, "inbox_capacity = 64\n");
  std::vector<std::thread> senders;
  std::vector<std::unique_ptr<UdpPeer>> peers;
  for (int t = 0; t < 3; ++t) peers.push_back(std::make_unique<UdpPeer>("127.0.0.1", 0));
  for (int t = 0; t < 3; ++t) {
    senders.emplace_back([&, t] { Blast(*peers[static_cast<size_t>(t)], listen_, 20000, 500); });
  }
  for (auto& s : senders) s.join();
  backends_[0]->Drain(200);
  const std::string stats = proxy_->DumpStats();
  const uint64_t received = TotalCounter(stats, "rx_datagrams");
  const uint64_t dropped = TotalCounter(stats, "rx_inbox_full") + TotalCounter(stats, "rx_pool_exhausted");
  // With one receive thread feeding one shard, the small inbox must
  // overflow; shards reading their own sockets may keep up instead (their
  // overload shows as kernel socket drops).
  if (GetParam() != 0) {
    EXPECT_GT(dropped, 0u) << stats;
  }
  // Nothing accepted is lost silently: every datagram was handled or counted.
  EXPECT_EQ(TotalCounter(stats, "datagrams") + dropped, received);
  // And the proxy still works afterwards.
  UdpPeer client("127.0.0.1", 0);
  RequestSpec reg;
  reg.method = "REGISTER";
  client.SendTo(Request(reg, client.address()), listen_);
  auto reply = client.Receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 200 OK");
  EXPECT_EQ(proxy_->Stop(), 0);
}

TEST_P(StatelessForwardingTest, ShutdownWithTrafficInFlightDrainsAndExitsZero) {
  AddBackends(1);
  StartProxy(/*shards=*/2);
  UdpPeer sender("127.0.0.1", 0);
  std::thread blaster([&] { Blast(sender, listen_, 20000, 1000); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(proxy_->Stop(SIGTERM, 5000), 0);
  blaster.join();
  const std::string stats = proxy_->FinalStats();
  const uint64_t received = TotalCounter(stats, "rx_datagrams");
  EXPECT_GT(received, 0u);
  EXPECT_EQ(TotalCounter(stats, "datagrams") + TotalCounter(stats, "rx_inbox_full") +
                TotalCounter(stats, "rx_pool_exhausted") +
                TotalCounter(stats, "rx_shutdown_discarded"),
            received);
}

INSTANTIATE_TEST_SUITE_P(Readers, StatelessForwardingTest, ::testing::Values(1, 0),
                         [](const ::testing::TestParamInfo<int>& param) {
                           return param.param == 0 ? std::string("ShardsRead")
                                                   : std::string("ReceiveThread");
                         });

}  // namespace
}  // namespace sipshard::testing

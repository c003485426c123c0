// End-to-end tests of the routing rules through the real binary: matching
// on Request-URI regexes and headers, request header edits, local replies
// with templated headers, [routes.on_reply] templates and
// [routes.on_failure] after failover is exhausted.
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

std::string HostPort(const transport::SocketAddress& a) {
  return a.HostString() + ":" + std::to_string(a.port());
}

std::string Request(const std::string& method, const transport::SocketAddress& client,
                    const std::string& branch, const std::string& ruri,
                    const std::string& extra = "") {
  return method + " " + ruri + " SIP/2.0\r\nVia: SIP/2.0/UDP " + HostPort(client) +
         ";branch=" + branch + ";rport\r\nMax-Forwards: 70\r\n"
         "From: <sip:alice@example.net>;tag=a1\r\nTo: <sip:bob@example.com>\r\n"
         "Call-ID: rr-" + branch + "@test\r\nCSeq: 1 " + method + "\r\n" + extra +
         "Content-Length: 0\r\n\r\n";
}

std::string Answer(const std::string& request, int code, const std::string& reason,
                   const std::string& extra = "") {
  std::string out = "SIP/2.0 " + std::to_string(code) + " " + reason + "\r\n";
  for (const std::string& via : HeaderValues(request, "Via")) out += "Via: " + via + "\r\n";
  out += "From: " + HeaderValue(request, "From") + "\r\n";
  out += "To: " + HeaderValue(request, "To") + ";tag=uas1\r\nCall-ID: " +
         HeaderValue(request, "Call-ID") + "\r\nCSeq: " + HeaderValue(request, "CSeq") + "\r\n" +
         extra + "Content-Length: 0\r\n\r\n";
  return out;
}

class RoutingRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) backends_.push_back(std::make_unique<UdpPeer>("127.0.0.1", 0));
    listen_ = *transport::SocketAddress::Parse("127.0.0.1", FreeUdpPort());
    std::string config = "[server]\nlisten = [\"udp:" + HostPort(listen_) +
                         "\"]\nshards = 1\n[timers]\nfr_timeout_ms = 500\n"
                         "[[sets]]\nname = \"farm\"\nalgorithm = \"round-robin\"\n";
    for (const auto& b : backends_) {
      config += "  [[sets.destinations]]\n  uri = \"sip:" + HostPort(b->address()) + "\"\n";
    }
    config += R"toml(
[[routes]]
name = "register"
action = "reply"
reply_code = 200
reply_headers = ["Contact: <sip:${request.from_user}@10.9.9.9>;expires=60", "X-Route: ${route.name}"]
  [routes.match]
  methods = ["REGISTER"]

[[routes]]
name = "tenant-b"
action = "reply"
reply_code = 403
reply_reason = "Tenant B Closed"
  [routes.match]
  headers = [{ name = "X-Tenant", value = "b" }]

[[routes]]
name = "numbers"
action = "forward"
set = "farm"
add_headers = ["X-Route: ${route.name}", "X-Dst: ${dst.uri}"]
remove_headers = ["X-Secret"]
  [routes.match]
  ruri_user_regex = "^\\+[0-9]+$"

[[routes]]
name = "default"
action = "forward"
set = "farm"
stateful = true
add_headers = ["X-Zone: ${attr.zone}"]
attrs = { zone = "eu" }
  [routes.on_reply]
  add_headers = ["X-Route: ${route.name}", "X-Dst: ${dst.uri}", "X-Call: ${request.callid} ${request.method} ${request.ruri}"]
  remove_headers = ["Server"]
  [routes.on_failure]
  action = "reply"
  reply_code = 503
  reply_reason = "All Backends Failed"
)toml";
    proxy_ = SipshardProcess::Start(config, listen_);
    ASSERT_NE(proxy_, nullptr);
  }

  std::optional<ReceivedMessage> AtBackend(UdpPeer** which, int timeout_ms = 2000) {
    return ReceiveAtAny(backends_, which, timeout_ms);
  }
  std::optional<ReceivedMessage> NextNot100(UdpPeer& peer) { return ReceiveSkipping100(peer); }

  transport::SocketAddress listen_;
  std::vector<std::unique_ptr<UdpPeer>> backends_;
  std::unique_ptr<SipshardProcess> proxy_;
};

TEST_F(RoutingRulesTest, LocalReplyCarriesExpandedReplyHeaders) {
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("REGISTER", client.address(), "z9hG4bKr1", "sip:example.com"), listen_);
  auto reply = client.Receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 200 OK");
  EXPECT_EQ(HeaderValue(reply->bytes, "Contact"), "<sip:alice@10.9.9.9>;expires=60");
  EXPECT_EQ(HeaderValue(reply->bytes, "X-Route"), "register");
}

TEST_F(RoutingRulesTest, HeaderValueSelectsTheRoute) {
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKh1", "sip:bob@example.com",
                        "x-tenant: b\r\n"),
                listen_);
  auto reply = client.Receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 403 Tenant B Closed");
}

TEST_F(RoutingRulesTest, RegexRouteForwardsStatelesslyWithHeaderEdits) {
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("MESSAGE", client.address(), "z9hG4bKx1", "sip:+4930123@example.com",
                        "X-Secret: s3cr3t\r\nX-Keep: 1\r\n"),
                listen_);
  UdpPeer* backend = nullptr;
  auto request = AtBackend(&backend);
  ASSERT_TRUE(request);
  EXPECT_EQ(HeaderValue(request->bytes, "X-Route"), "numbers");
  EXPECT_EQ(HeaderValue(request->bytes, "X-Dst"), "sip:" + HostPort(backend->address()));
  EXPECT_EQ(HeaderValue(request->bytes, "X-Secret"), "");
  EXPECT_EQ(HeaderValue(request->bytes, "X-Keep"), "1");
}

TEST_F(RoutingRulesTest, OnReplyTemplatesEditTheRelayedResponse) {
  UdpPeer client("127.0.0.1", 0);
  const std::string ruri = "sip:bob@example.com";
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKo1", ruri), listen_);
  UdpPeer* backend = nullptr;
  auto invite = AtBackend(&backend);
  ASSERT_TRUE(invite);
  EXPECT_EQ(HeaderValue(invite->bytes, "X-Zone"), "eu");  // ${attr.zone} from the rule
  backend->SendTo(Answer(invite->bytes, 200, "OK", "Server: backend/1.0\r\n"), invite->from);
  auto ok = NextNot100(client);
  ASSERT_TRUE(ok);
  EXPECT_EQ(FirstLine(ok->bytes), "SIP/2.0 200 OK");
  EXPECT_EQ(HeaderValue(ok->bytes, "X-Route"), "default");
  EXPECT_EQ(HeaderValue(ok->bytes, "X-Dst"), "sip:" + HostPort(backend->address()));
  EXPECT_EQ(HeaderValue(ok->bytes, "X-Call"), "rr-z9hG4bKo1@test INVITE " + ruri);
  EXPECT_EQ(HeaderValue(ok->bytes, "Server"), "");
}

TEST_F(RoutingRulesTest, OnFailureRepliesOnceFailoverIsExhausted) {
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), "z9hG4bKf1", "sip:bob@example.com"), listen_);
  for (int attempt = 0; attempt < 2; ++attempt) {
    UdpPeer* backend = nullptr;
    auto invite = AtBackend(&backend);
    ASSERT_TRUE(invite) << "attempt " << attempt;
    backend->SendTo(Answer(invite->bytes, 503, "Service Unavailable"), invite->from);
  }
  auto reply = NextNot100(client);
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 503 All Backends Failed");
}

}  // namespace
}  // namespace sipshard::testing

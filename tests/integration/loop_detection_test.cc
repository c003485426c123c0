// End-to-end test of loop detection on a stateless route (§16.3 step 4)
// through the real binary: the route's only destination is sipshard
// itself, so every request it forwards comes straight back to it.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

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
                    int max_forwards, const std::string& to_tag = "") {
  return method + " sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP " + HostPort(client) +
         ";branch=z9hG4bKloop1;rport\r\nMax-Forwards: " + std::to_string(max_forwards) +
         "\r\nFrom: <sip:alice@example.net>;tag=a1\r\nTo: <sip:bob@example.com>" +
         (to_tag.empty() ? "" : ";tag=" + to_tag) +
         "\r\nCall-ID: loop-1@test\r\nCSeq: 1 " + method + "\r\nContent-Length: 0\r\n\r\n";
}

// The To tag of a response ("" if none).
std::string ToTag(const std::string& response) {
  const std::string to = HeaderValue(response, "To");
  const size_t tag = to.find(";tag=");
  return tag == std::string::npos ? "" : to.substr(tag + 5);
}

class LoopDetectionTest : public ::testing::Test {
 protected:
  void StartProxy(const std::string& server_extra) {
    listen_ = *transport::SocketAddress::Parse("127.0.0.1", FreeUdpPort());
    const std::string config = "[server]\nlisten = [\"udp:" + HostPort(listen_) +
                               "\"]\nreceive_threads = 1\nshards = 2\n" + server_extra +
                               "\n[[sets]]\nname = \"self\"\n"
                               "  [[sets.destinations]]\n  uri = \"sip:" + HostPort(listen_) +
                               "\"\n\n[[routes]]\nname = \"default\"\naction = \"forward\"\n"
                               "set = \"self\"\nstateful = false\n";
    proxy_ = SipshardProcess::Start(config, listen_);
    ASSERT_NE(proxy_, nullptr);
  }

  // Polls the stats until counter `name` reaches `at_least` (bounded).
  bool WaitForCounter(const std::string& name, uint64_t at_least, int timeout_ms = 3000) {
    return sipshard::testing::WaitForCounter(*proxy_, name, at_least, timeout_ms);
  }

  transport::SocketAddress listen_;
  std::unique_ptr<SipshardProcess> proxy_;
};

TEST_F(LoopDetectionTest, RequestRoutedBackToUsGets482OnItsFirstReturn) {
  StartProxy("");
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), 70), listen_);
  std::optional<ReceivedMessage> reply = client.Receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 482 Loop Detected");
  // Answered by the second pass, relayed back by the first: our Vias gone.
  EXPECT_EQ(HeaderValues(reply->bytes, "Via"),
            std::vector<std::string>{"SIP/2.0/UDP " + HostPort(client.address()) +
                                     ";branch=z9hG4bKloop1;rport=" +
                                     std::to_string(client.address().port()) +
                                     ";received=127.0.0.1"});
  std::string stats = proxy_->DumpStats();
  EXPECT_EQ(TotalCounter(stats, "loops_detected"), 1u);
  EXPECT_EQ(TotalCounter(stats, "requests_forwarded"), 1u);  // one hop, not 70
  EXPECT_EQ(TotalCounter(stats, "responses_forwarded"), 1u);
  EXPECT_EQ(TotalCounter(stats, "too_many_hops"), 0u);

  // The ACK for the 482 takes the INVITE's path and branch: it is dropped
  // at the second pass instead of circling.
  client.SendTo(Request("ACK", client.address(), 70, ToTag(reply->bytes)), listen_);
  ASSERT_TRUE(WaitForCounter("loops_detected", 2));
  EXPECT_FALSE(client.Receive(200));
  stats = proxy_->DumpStats();
  EXPECT_EQ(TotalCounter(stats, "loops_detected"), 2u);
  EXPECT_EQ(TotalCounter(stats, "requests_forwarded"), 2u);
  EXPECT_EQ(proxy_->Stop(), 0);
}

TEST_F(LoopDetectionTest, WithLoopDetectionOffOnlyMaxForwardsEndsTheLoop) {
  StartProxy("loop_detection = false\n");
  UdpPeer client("127.0.0.1", 0);
  client.SendTo(Request("INVITE", client.address(), 3), listen_);
  std::optional<ReceivedMessage> reply = client.Receive();
  ASSERT_TRUE(reply);
  // Three passes forward it (Max-Forwards 3, 2, 1); the fourth answers.
  EXPECT_EQ(FirstLine(reply->bytes), "SIP/2.0 483 Too Many Hops");
  EXPECT_EQ(HeaderValues(reply->bytes, "Via").size(), 1u);
  const std::string stats = proxy_->DumpStats();
  EXPECT_EQ(TotalCounter(stats, "loops_detected"), 0u);
  EXPECT_EQ(TotalCounter(stats, "requests_forwarded"), 3u);
  EXPECT_EQ(TotalCounter(stats, "responses_forwarded"), 3u);
  EXPECT_EQ(TotalCounter(stats, "too_many_hops"), 1u);
  EXPECT_EQ(proxy_->Stop(), 0);
}

}  // namespace
}  // namespace sipshard::testing

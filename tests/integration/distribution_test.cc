// Each selection algorithm's split, measured through the real binary: a
// client sends stateful MESSAGE transactions one after another, three UDP
// backends answer 200, and the test counts which backend got each request.
// The unit tests (tests/unit/dispatch/) check the same algorithms over
// 10,000+ keys in process; this checks that the proxy really uses them.
#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/testing/sipshard_process.h"
#include "tests/testing/udp_peer.h"

namespace sipshard::testing {
namespace {

std::string HostPort(const transport::SocketAddress& a) {
  return a.HostString() + ":" + std::to_string(a.port());
}

std::string Message(const transport::SocketAddress& client, int n) {
  return "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP " + HostPort(client) +
         ";branch=z9hG4bKd" + std::to_string(n) +
         ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a" + std::to_string(n) +
         "\r\nTo: <sip:bob@example.com>\r\nCall-ID: dist-" + std::to_string(n) +
         "@test\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
}

std::string Ok(const std::string& request) {
  std::string out = "SIP/2.0 200 OK\r\n";
  for (const std::string& via : HeaderValues(request, "Via")) out += "Via: " + via + "\r\n";
  out += "From: " + HeaderValue(request, "From") + "\r\nTo: " + HeaderValue(request, "To") +
         ";tag=b\r\nCall-ID: " + HeaderValue(request, "Call-ID") + "\r\nCSeq: " +
         HeaderValue(request, "CSeq") + "\r\nContent-Length: 0\r\n\r\n";
  return out;
}

struct Case {
  std::string algorithm;
  std::array<int, 3> weights;
  std::array<int, 3> priorities;
};

class DistributionTest : public ::testing::TestWithParam<Case> {
 protected:
  // Runs `count` transactions and returns how many each backend answered.
  std::array<int, 3> Run(int count) {
    std::array<std::unique_ptr<UdpPeer>, 3> backends;
    for (auto& b : backends) b = std::make_unique<UdpPeer>("127.0.0.1", 0);
    const transport::SocketAddress listen =
        *transport::SocketAddress::Parse("127.0.0.1", FreeUdpPort());
    const Case& c = GetParam();
    std::string config = "[server]\nlisten = [\"udp:" + HostPort(listen) +
                         "\"]\nreceive_threads = 1\nshards = 1\n\n[[sets]]\nname = \"farm\"\n"
                         "algorithm = \"" + c.algorithm + "\"\n";
    for (size_t i = 0; i < 3; ++i) {
      config += "  [[sets.destinations]]\n  uri = \"sip:" + HostPort(backends[i]->address()) +
                "\"\n  weight = " + std::to_string(c.weights[i]) +
                "\n  priority = " + std::to_string(c.priorities[i]) + "\n";
    }
    config += "\n[[routes]]\nname = \"all\"\naction = \"forward\"\nset = \"farm\"\nstateful = true\n";
    std::unique_ptr<SipshardProcess> proxy = SipshardProcess::Start(config, listen);
    std::array<int, 3> hits{};
    if (proxy == nullptr) return hits;
    UdpPeer client("127.0.0.1", 0);
    for (int n = 0; n < count; ++n) {
      client.SendTo(Message(client.address(), n), listen);
      UdpPeer* backend = nullptr;
      std::optional<ReceivedMessage> m = ReceiveAtAny(backends, &backend);
      const bool forwarded = m && FirstLine(m->bytes).rfind("MESSAGE", 0) == 0;
      EXPECT_TRUE(forwarded) << "request " << n;
      if (!forwarded) break;
      for (size_t i = 0; i < 3; ++i) hits[i] += backends[i].get() == backend;
      backend->SendTo(Ok(m->bytes), m->from);
      std::optional<ReceivedMessage> reply = client.Receive();
      EXPECT_TRUE(reply && FirstLine(reply->bytes) == "SIP/2.0 200 OK") << "request " << n;
      if (::testing::Test::HasFailure()) break;
    }
    EXPECT_EQ(proxy->Stop(), 0);
    return hits;
  }
};

TEST_P(DistributionTest, SplitFollowsTheAlgorithm) {
  constexpr int kRequests = 2000;
  const std::array<int, 3> hits = Run(kRequests);
  const Case& c = GetParam();
  if (c.algorithm == "priority") {
    // Only the lowest priority value's group is used, weighted 1:3 inside.
    EXPECT_EQ(hits[2], 0);
    EXPECT_EQ(hits[0], kRequests / 4);
    EXPECT_EQ(hits[1], kRequests * 3 / 4);
    return;
  }
  const int total_weight = c.weights[0] + c.weights[1] + c.weights[2];
  // Smooth weighted and round-robin are exact per period; hash and random
  // within 4 % of the requests (the unit tests hold them to 2 % over 10k).
  const bool exact = c.algorithm == "weighted" || c.algorithm == "round-robin";
  for (size_t i = 0; i < 3; ++i) {
    const double want = static_cast<double>(kRequests) * c.weights[i] / total_weight;
    EXPECT_NEAR(hits[i], want, exact ? 1.0 : 0.04 * kRequests)
        << c.algorithm << " destination " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Algorithms, DistributionTest,
    ::testing::Values(Case{"weighted", {1, 2, 7}, {0, 0, 0}},
                      Case{"round-robin", {1, 1, 1}, {0, 0, 0}},
                      Case{"hash-callid", {1, 2, 7}, {0, 0, 0}},
                      Case{"random", {1, 2, 7}, {0, 0, 0}},
                      Case{"priority", {1, 3, 5}, {0, 0, 1}}),
    [](const ::testing::TestParamInfo<Case>& param) {
      std::string name = param.param.algorithm;
      for (char& ch : name) {
        if (ch == '-') ch = '_';
      }
      return name;
    });

}  // namespace
}  // namespace sipshard::testing

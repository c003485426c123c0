#include "sipshard/transport/udp_receiver.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sipshard/transport/listen_sockets.h"

namespace sipshard::transport {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A received datagram copied out of the ring buffer.
struct Got {
  std::string payload;
  SocketAddress source;
  SocketAddress local;
  int listen_index;
  base::Nanos received_at;
};

// A plain blocking client socket, bound so its source address is known.
class Client {
 public:
  explicit Client(const SocketAddress& bind_to) {
    fd_ = socket(bind_to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    if (bind(fd_, bind_to.sockaddr(), bind_to.length()) != 0) return;
    sockaddr_in6 bound{};
    socklen_t length = sizeof(bound);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &length);
    address_ = *SocketAddress::FromSockaddr(
        reinterpret_cast<const sockaddr*>(&bound), length);
  }
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return address_.valid(); }
  const SocketAddress& address() const { return address_; }
  bool SendTo(const SocketAddress& dest, std::string_view payload) {
    return sendto(fd_, payload.data(), payload.size(), 0, dest.sockaddr(),
                  dest.length()) == static_cast<ssize_t>(payload.size());
  }

 private:
  int fd_ = -1;
  SocketAddress address_;
};

// Bounds every receive loop: 100 ms polls, at most 50 of them that come
// back empty, and 5 s overall (a busy poll returns after each batch).
class PollBudget {
 public:
  bool Continue(int delivered_last_poll) {
    if (delivered_last_poll == 0) ++empty_polls_;
    return empty_polls_ < 50 && steady_clock::now() - start_ < kDeadline;
  }

 private:
  static constexpr auto kDeadline = std::chrono::seconds(5);
  const steady_clock::time_point start_ = steady_clock::now();
  int empty_polls_ = 0;
};

// Polls until `want` datagrams arrived or the budget is spent.
std::vector<Got> ReceiveUpTo(UdpReceiver& receiver, size_t want) {
  std::vector<Got> got;
  PollBudget budget;
  int delivered = 1;
  while (got.size() < want && budget.Continue(delivered)) {
    delivered = receiver.Poll(100, [&](const ReceivedDatagram& d) {
      got.push_back(Got{std::string(d.payload), d.source, d.local,
                        d.listen_index, d.received_at});
    });
  }
  return got;
}

ListenSockets OpenOrDie(std::initializer_list<SocketAddress> addresses,
                        int threads = 1) {
  absl::StatusOr<ListenSockets> sockets = ListenSockets::Open(
      std::span<const SocketAddress>(addresses.begin(), addresses.size()),
      threads);
  EXPECT_TRUE(sockets.ok()) << sockets.status();
  return std::move(*sockets);
}

TEST(UdpReceiverTest, ReceivesDatagramsWithSourceLocalAndPayload) {
  ListenSockets sockets = OpenOrDie({*SocketAddress::Parse("127.0.0.1", 0)});
  auto receiver = UdpReceiver::Create(sockets.ForReceiver(0));
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  Client client(*SocketAddress::Parse("127.0.0.1", 0));
  ASSERT_TRUE(client.ok());

  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(client.SendTo(sockets.address(0), absl::StrCat("message-", i)));
  }
  std::vector<Got> got = ReceiveUpTo(**receiver, kCount);
  ASSERT_EQ(got.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    const Got& g = got[static_cast<size_t>(i)];
    EXPECT_EQ(g.payload, absl::StrCat("message-", i));
    EXPECT_EQ(g.source, client.address());
    EXPECT_EQ(g.local, sockets.address(0));
    EXPECT_EQ(g.listen_index, 0);
    EXPECT_GT(g.received_at, 0);
  }
  const UdpReceiverCounters& counters = (*receiver)->counters();
  EXPECT_EQ(counters.received, static_cast<uint64_t>(kCount));
  EXPECT_EQ(counters.truncated, 0u);
  EXPECT_EQ(counters.errors, 0u);
  EXPECT_EQ(counters.missing_pktinfo, 0u);
}

// On a wildcard socket, only pktinfo knows which address was targeted.
TEST(UdpReceiverTest, ReportsDestinationAddressOnWildcardSocket) {
  ListenSockets sockets = OpenOrDie({*SocketAddress::Parse("0.0.0.0", 0)});
  auto receiver = UdpReceiver::Create(sockets.ForReceiver(0));
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  Client client(*SocketAddress::Parse("127.0.0.1", 0));
  ASSERT_TRUE(client.ok());
  const uint16_t port = sockets.address(0).port();
  ASSERT_TRUE(client.SendTo(*SocketAddress::Parse("127.0.0.3", port), "a"));
  ASSERT_TRUE(client.SendTo(*SocketAddress::Parse("127.0.0.1", port), "b"));
  std::vector<Got> got = ReceiveUpTo(**receiver, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].local, *SocketAddress::Parse("127.0.0.3", port));
  EXPECT_EQ(got[1].local, *SocketAddress::Parse("127.0.0.1", port));
}

TEST(UdpReceiverTest, TagsDatagramsWithTheirListenIndex) {
  ListenSockets sockets = OpenOrDie({*SocketAddress::Parse("127.0.0.1", 0),
                                     *SocketAddress::Parse("127.0.0.2", 0)});
  auto receiver = UdpReceiver::Create(sockets.ForReceiver(0));
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  Client client(*SocketAddress::Parse("127.0.0.1", 0));
  ASSERT_TRUE(client.SendTo(sockets.address(1), "to-1"));
  ASSERT_TRUE(client.SendTo(sockets.address(0), "to-0"));
  std::vector<Got> got = ReceiveUpTo(**receiver, 2);
  ASSERT_EQ(got.size(), 2u);
  for (const Got& g : got) {
    EXPECT_EQ(g.payload, absl::StrCat("to-", g.listen_index));
    EXPECT_EQ(g.local, sockets.address(g.listen_index));
  }
}

TEST(UdpReceiverTest, ReceivesOnIpv6Loopback) {
  absl::StatusOr<ListenSockets> sockets = ListenSockets::Open(
      std::vector<SocketAddress>{*SocketAddress::Parse("::1", 0)}, 1);
  if (!sockets.ok()) GTEST_SKIP() << "::1 unavailable: " << sockets.status();
  auto receiver = UdpReceiver::Create(sockets->ForReceiver(0));
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  Client client(*SocketAddress::Parse("::1", 0));
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client.SendTo(sockets->address(0), "v6"));
  std::vector<Got> got = ReceiveUpTo(**receiver, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "v6");
  EXPECT_EQ(got[0].source, client.address());
  EXPECT_EQ(got[0].local, sockets->address(0));
  EXPECT_EQ(got[0].local.ToString(),
            absl::StrCat("[::1]:", sockets->address(0).port()));
}

TEST(UdpReceiverTest, DropsAndCountsTruncatedDatagrams) {
  ListenSockets sockets = OpenOrDie({*SocketAddress::Parse("127.0.0.1", 0)});
  UdpReceiverOptions options;
  options.buffer_count = 16;
  options.buffer_size = 1024;
  auto receiver = UdpReceiver::Create(sockets.ForReceiver(0), options);
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  const size_t max_payload = (*receiver)->max_payload_bytes();
  Client client(*SocketAddress::Parse("127.0.0.1", 0));
  ASSERT_TRUE(client.SendTo(sockets.address(0), std::string(max_payload, 'x')));
  ASSERT_TRUE(
      client.SendTo(sockets.address(0), std::string(max_payload + 1, 'y')));
  ASSERT_TRUE(client.SendTo(sockets.address(0), std::string(3000, 'z')));
  ASSERT_TRUE(client.SendTo(sockets.address(0), "after"));
  std::vector<Got> got = ReceiveUpTo(**receiver, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, std::string(max_payload, 'x'));
  EXPECT_EQ(got[1].payload, "after");
  EXPECT_EQ((*receiver)->counters().truncated, 2u);
}

// A burst bigger than the buffer ring ends the multishot with -ENOBUFS; the
// receiver recycles, re-arms, and the rest (queued in the socket) arrives.
TEST(UdpReceiverTest, RecoversFromBufferExhaustion) {
  ListenSockets sockets = OpenOrDie({*SocketAddress::Parse("127.0.0.1", 0)});
  UdpReceiverOptions options;
  options.buffer_count = 8;
  options.buffer_size = 512;
  auto receiver = UdpReceiver::Create(sockets.ForReceiver(0), options);
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  // Submit the initial arm before the burst.
  (*receiver)->Poll(0, [](const ReceivedDatagram&) {});
  Client client(*SocketAddress::Parse("127.0.0.1", 0));
  constexpr int kBurst = 100;
  for (int i = 0; i < kBurst; ++i) {
    ASSERT_TRUE(client.SendTo(sockets.address(0), absl::StrCat("burst-", i)));
  }
  std::vector<Got> got = ReceiveUpTo(**receiver, kBurst);
  ASSERT_EQ(got.size(), static_cast<size_t>(kBurst));
  for (int i = 0; i < kBurst; ++i) {
    EXPECT_EQ(got[static_cast<size_t>(i)].payload, absl::StrCat("burst-", i));
  }
  EXPECT_GE((*receiver)->counters().enobufs, 1u);
  EXPECT_GE((*receiver)->counters().rearms, 1u);
  EXPECT_EQ((*receiver)->counters().errors, 0u);

  // Later datagrams still arrive.
  ASSERT_TRUE(client.SendTo(sockets.address(0), "later"));
  got = ReceiveUpTo(**receiver, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "later");
}

// A multishot CQE without F_MORE (here: the request was cancelled) must be
// re-armed; other tags on the ring go to on_other.
TEST(UdpReceiverTest, RearmsAfterCompletionWithoutMore) {
  ListenSockets sockets = OpenOrDie({*SocketAddress::Parse("127.0.0.1", 0)});
  auto receiver = UdpReceiver::Create(sockets.ForReceiver(0));
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  (*receiver)->Poll(0, [](const ReceivedDatagram&) {});

  io_uring_sqe* sqe = (*receiver)->ring().GetSqe();
  ASSERT_NE(sqe, nullptr);
  io_uring_prep_cancel64(sqe, EncodeUserData(CompletionTag::kReceive, 0), 0);
  io_uring_sqe_set_data64(sqe, EncodeUserData(CompletionTag::kCancel, 0));
  int cancel_completions = 0;
  for (int attempt = 0; attempt < 50 && (*receiver)->counters().rearms == 0;
       ++attempt) {
    (*receiver)->Poll(
        100, [](const ReceivedDatagram&) {},
        [&](const Completion& c) {
          EXPECT_EQ(c.tag(), CompletionTag::kCancel);
          EXPECT_EQ(c.result, 0);
          ++cancel_completions;
        });
  }
  EXPECT_EQ(cancel_completions, 1);
  EXPECT_EQ((*receiver)->counters().rearms, 1u);
  EXPECT_EQ((*receiver)->counters().errors, 0u);

  Client client(*SocketAddress::Parse("127.0.0.1", 0));
  ASSERT_TRUE(client.SendTo(sockets.address(0), "after-rearm"));
  std::vector<Got> got = ReceiveUpTo(**receiver, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "after-rearm");
}

TEST(UdpReceiverTest, StopFromAnotherThreadEndsABlockedPoll) {
  ListenSockets sockets = OpenOrDie({*SocketAddress::Parse("127.0.0.1", 0)});
  std::atomic<UdpReceiver*> shared{nullptr};
  std::atomic<bool> created{false};
  steady_clock::duration blocked_for{};
  int polls = 0;
  std::thread rx([&] {
    auto receiver = UdpReceiver::Create(sockets.ForReceiver(0));
    if (!receiver.ok()) {
      created = true;
      return;
    }
    shared = receiver->get();
    created = true;
    (*receiver)->Poll(0, [](const ReceivedDatagram&) {});  // Arm.
    const auto start = steady_clock::now();
    // The deadline is far beyond the stop: only the wake can end it early.
    while (!(*receiver)->stop_requested() && polls < 10) {
      (*receiver)->Poll(5000, [](const ReceivedDatagram&) {});
      ++polls;
    }
    blocked_for = steady_clock::now() - start;
    EXPECT_GE((*receiver)->counters().wakeups, 1u);
  });
  for (int i = 0; i < 200 && !created; ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_NE(shared.load(), nullptr);
  std::this_thread::sleep_for(milliseconds(50));  // Let it block.
  shared.load()->Stop();
  rx.join();
  EXPECT_LT(blocked_for, milliseconds(1000));
  EXPECT_LE(polls, 2);
}

TEST(UdpReceiverTest, WakeReturnsWithoutStopping) {
  ListenSockets sockets = OpenOrDie({*SocketAddress::Parse("127.0.0.1", 0)});
  auto receiver = UdpReceiver::Create(sockets.ForReceiver(0));
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  (*receiver)->Wake();
  const auto start = steady_clock::now();
  (*receiver)->Poll(5000, [](const ReceivedDatagram&) {});
  EXPECT_LT(steady_clock::now() - start, milliseconds(1000));
  EXPECT_FALSE((*receiver)->stop_requested());
  EXPECT_EQ((*receiver)->counters().wakeups, 1u);
  // A second wake works too (the eventfd was drained, the poll stays armed).
  (*receiver)->Wake();
  const auto again = steady_clock::now();
  (*receiver)->Poll(5000, [](const ReceivedDatagram&) {});
  EXPECT_LT(steady_clock::now() - again, milliseconds(1000));
  EXPECT_EQ((*receiver)->counters().wakeups, 2u);
}

// Two receive threads with their own SO_REUSEPORT sockets share the load;
// together they see every datagram exactly once.
TEST(UdpReceiverTest, ReusePortReceiversTogetherSeeEverything) {
  ListenSockets sockets =
      OpenOrDie({*SocketAddress::Parse("127.0.0.1", 0)}, /*threads=*/2);
  constexpr int kClients = 16;
  constexpr int kPerClient = 20;
  std::atomic<int> total{0};
  std::atomic<int> ready{0};
  std::atomic<bool> done{false};
  auto run = [&](int thread) {
    auto receiver = UdpReceiver::Create(sockets.ForReceiver(thread));
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    (*receiver)->Poll(0, [](const ReceivedDatagram&) {});
    ++ready;
    PollBudget budget;
    int delivered = 1;
    while (!done && budget.Continue(delivered)) {
      delivered = (*receiver)->Poll(100, [&](const ReceivedDatagram&) {
        if (++total == kClients * kPerClient) done = true;
      });
    }
  };
  std::thread a(run, 0);
  std::thread b(run, 1);
  for (int i = 0; i < 200 && ready < 2; ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  for (int c = 0; c < kClients; ++c) {
    Client client(*SocketAddress::Parse("127.0.0.1", 0));
    for (int i = 0; i < kPerClient; ++i) {
      ASSERT_TRUE(client.SendTo(sockets.address(0), "x"));
    }
  }
  a.join();
  b.join();
  EXPECT_EQ(total.load(), kClients * kPerClient);
}

TEST(UdpReceiverTest, RejectsTooSmallBuffers) {
  ListenSockets sockets = OpenOrDie({*SocketAddress::Parse("127.0.0.1", 0)});
  UdpReceiverOptions options;
  options.buffer_size = UdpReceiver::kReceiveHeaderBytes;
  EXPECT_FALSE(UdpReceiver::Create(sockets.ForReceiver(0), options).ok());
  EXPECT_FALSE(UdpReceiver::Create({}).ok());
}

}  // namespace
}  // namespace sipshard::transport

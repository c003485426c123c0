#include "sipshard/transport/udp_sender.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sipshard/transport/udp_socket.h"

namespace sipshard::transport {
namespace {

// A plain peer socket that records what it receives and from where.
class Peer {
 public:
  explicit Peer(const SocketAddress& bind_to) {
    fd_ = socket(bind_to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    const int big = 4 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
    if (bind(fd_, bind_to.sockaddr(), bind_to.length()) != 0) return;
    sockaddr_in6 bound{};
    socklen_t length = sizeof(bound);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &length);
    address_ = *SocketAddress::FromSockaddr(
        reinterpret_cast<const sockaddr*>(&bound), length);
  }
  ~Peer() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return address_.valid(); }
  const SocketAddress& address() const { return address_; }

  // Waits up to 1 s for one datagram.
  bool Receive(std::string* payload, SocketAddress* from) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1) return false;
    char buffer[70000];
    sockaddr_in6 source{};
    socklen_t length = sizeof(source);
    const ssize_t n = recvfrom(fd_, buffer, sizeof(buffer), 0,
                               reinterpret_cast<sockaddr*>(&source), &length);
    if (n < 0) return false;
    payload->assign(buffer, static_cast<size_t>(n));
    *from = *SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&source),
                                         length);
    return true;
  }

 private:
  int fd_ = -1;
  SocketAddress address_;
};

// Submits and routes send completions until none are in flight (bounded).
void Drain(Uring& ring, UdpSender& sender) {
  for (int attempt = 0; attempt < 50 && sender.in_flight() > 0; ++attempt) {
    ring.SubmitAndWait(100);
    ring.ForEachCompletion([&](const Completion& c) {
      EXPECT_TRUE(sender.HandleCompletion(c));
    });
  }
}

class UdpSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ring = Uring::Create();
    ASSERT_TRUE(ring.ok()) << ring.status();
    ring_ = std::move(*ring);
  }
  std::unique_ptr<Uring> ring_;
};

TEST_F(UdpSenderTest, SendsPayloadFromChosenSourceAddress) {
  absl::StatusOr<UdpSocket> socket =
      UdpSocket::Open(*SocketAddress::Parse("0.0.0.0", 0));
  ASSERT_TRUE(socket.ok()) << socket.status();
  const uint16_t port = socket->local_address().port();
  Peer peer(*SocketAddress::Parse("127.0.0.1", 0));
  ASSERT_TRUE(peer.ok());
  UdpSender sender(*ring_);

  const SocketAddress source = *SocketAddress::Parse("127.0.0.2", 0);
  ASSERT_TRUE(sender.Send(socket->fd(), peer.address(), "from-dot-two", &source));
  ASSERT_TRUE(sender.Send(socket->fd(), peer.address(), "default-route"));
  EXPECT_EQ(sender.in_flight(), 2u);
  Drain(*ring_, sender);

  std::string payload;
  SocketAddress from;
  ASSERT_TRUE(peer.Receive(&payload, &from));
  EXPECT_EQ(payload, "from-dot-two");
  EXPECT_EQ(from, *SocketAddress::Parse("127.0.0.2", port));
  ASSERT_TRUE(peer.Receive(&payload, &from));
  EXPECT_EQ(payload, "default-route");
  EXPECT_EQ(from, *SocketAddress::Parse("127.0.0.1", port));

  const UdpSenderCounters& counters = sender.counters();
  EXPECT_EQ(counters.sent, 2u);
  EXPECT_EQ(counters.bytes, std::strlen("from-dot-two") + std::strlen("default-route"));
  EXPECT_EQ(counters.send_errors, 0u);
  EXPECT_EQ(sender.in_flight(), 0u);
  EXPECT_EQ(sender.arena_bytes_in_use(), 0u);
}

TEST_F(UdpSenderTest, SendsFromChosenIpv6Source) {
  absl::StatusOr<UdpSocket> socket =
      UdpSocket::Open(*SocketAddress::Parse("::", 0));
  Peer peer(*SocketAddress::Parse("::1", 0));
  if (!socket.ok() || !peer.ok()) GTEST_SKIP() << "IPv6 unavailable";
  UdpSender sender(*ring_);
  const SocketAddress source = *SocketAddress::Parse("::1", 0);
  ASSERT_TRUE(sender.Send(socket->fd(), peer.address(), "v6", &source));
  Drain(*ring_, sender);
  std::string payload;
  SocketAddress from;
  ASSERT_TRUE(peer.Receive(&payload, &from));
  EXPECT_EQ(payload, "v6");
  EXPECT_EQ(from, source.WithPort(socket->local_address().port()));
  EXPECT_EQ(sender.counters().sent, 1u);
}

TEST_F(UdpSenderTest, ReserveAndCommitSendWithoutCopy) {
  absl::StatusOr<UdpSocket> socket =
      UdpSocket::Open(*SocketAddress::Parse("127.0.0.1", 0));
  ASSERT_TRUE(socket.ok()) << socket.status();
  Peer peer(*SocketAddress::Parse("127.0.0.1", 0));
  UdpSender sender(*ring_);
  std::span<char> memory = sender.Reserve(1500);
  ASSERT_EQ(memory.size(), 1500u);
  const std::string_view text = "SIP/2.0 200 OK\r\n\r\n";
  std::memcpy(memory.data(), text.data(), text.size());
  ASSERT_TRUE(sender.Commit(text.size(), socket->fd(), peer.address()));
  // Commit without an open reservation is refused.
  EXPECT_FALSE(sender.Commit(1, socket->fd(), peer.address()));
  EXPECT_EQ(sender.counters().bad_commits, 1u);
  Drain(*ring_, sender);
  std::string payload;
  SocketAddress from;
  ASSERT_TRUE(peer.Receive(&payload, &from));
  EXPECT_EQ(payload, text);
  EXPECT_EQ(from, socket->local_address());
}

TEST_F(UdpSenderTest, SlotExhaustionReturnsFalseAndCounts) {
  absl::StatusOr<UdpSocket> socket =
      UdpSocket::Open(*SocketAddress::Parse("127.0.0.1", 0));
  ASSERT_TRUE(socket.ok()) << socket.status();
  Peer peer(*SocketAddress::Parse("127.0.0.1", 0));
  UdpSender sender(*ring_, {.max_in_flight = 4});
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(sender.Send(socket->fd(), peer.address(), "x")) << i;
  }
  EXPECT_FALSE(sender.Send(socket->fd(), peer.address(), "x"));
  EXPECT_TRUE(sender.Reserve(10).empty());
  EXPECT_EQ(sender.counters().pool_exhausted, 2u);
  Drain(*ring_, sender);
  EXPECT_EQ(sender.counters().sent, 4u);
  EXPECT_TRUE(sender.Send(socket->fd(), peer.address(), "x"));
  Drain(*ring_, sender);
}

TEST_F(UdpSenderTest, ArenaExhaustionReturnsFalseAndCounts) {
  absl::StatusOr<UdpSocket> socket =
      UdpSocket::Open(*SocketAddress::Parse("127.0.0.1", 0));
  ASSERT_TRUE(socket.ok()) << socket.status();
  Peer peer(*SocketAddress::Parse("127.0.0.1", 0));
  UdpSender sender(*ring_, {.arena_bytes = 64 * 1024});
  ASSERT_EQ(sender.arena_capacity(), 64u * 1024);
  const std::string big(30000, 'b');
  ASSERT_TRUE(sender.Send(socket->fd(), peer.address(), big));
  ASSERT_TRUE(sender.Send(socket->fd(), peer.address(), big));
  EXPECT_FALSE(sender.Send(socket->fd(), peer.address(), big));
  EXPECT_TRUE(sender.Reserve(70000).empty());  // Larger than the arena.
  EXPECT_EQ(sender.counters().pool_exhausted, 2u);
  Drain(*ring_, sender);
  EXPECT_EQ(sender.arena_bytes_in_use(), 0u);
  EXPECT_TRUE(sender.Send(socket->fd(), peer.address(), big));
  Drain(*ring_, sender);
}

// Many sends of varying size through a small arena: every datagram arrives
// intact, in order, across many wrap-arounds.
TEST_F(UdpSenderTest, PayloadsSurviveArenaWrapAround) {
  absl::StatusOr<UdpSocket> socket =
      UdpSocket::Open(*SocketAddress::Parse("127.0.0.1", 0));
  ASSERT_TRUE(socket.ok()) << socket.status();
  Peer peer(*SocketAddress::Parse("127.0.0.1", 0));
  UdpSender sender(*ring_, {.max_in_flight = 16, .arena_bytes = 64 * 1024});
  constexpr int kMessages = 600;
  int received = 0;
  for (int i = 0; i < kMessages; ++i) {
    const size_t size = 1 + static_cast<size_t>(i * 7919) % 9000;
    std::string message(size, static_cast<char>('a' + i % 26));
    std::memcpy(message.data(), &i, std::min(sizeof(i), size));
    ASSERT_TRUE(sender.Send(socket->fd(), peer.address(), message)) << i;
    if (i % 5 == 4 || i == kMessages - 1) {
      Drain(*ring_, sender);
      for (int j = received; j <= i; ++j) {
        std::string payload;
        SocketAddress from;
        ASSERT_TRUE(peer.Receive(&payload, &from)) << j;
        const size_t want = 1 + static_cast<size_t>(j * 7919) % 9000;
        ASSERT_EQ(payload.size(), want) << j;
        std::string expected(want, static_cast<char>('a' + j % 26));
        std::memcpy(expected.data(), &j, std::min(sizeof(j), want));
        ASSERT_EQ(payload, expected) << j;
      }
      received = i + 1;
    }
  }
  EXPECT_EQ(sender.counters().sent, static_cast<uint64_t>(kMessages));
  EXPECT_EQ(sender.counters().pool_exhausted, 0u);
}

TEST_F(UdpSenderTest, CountsErrorsByClassAndIgnoresUnknownCompletions) {
  absl::StatusOr<UdpSocket> socket =
      UdpSocket::Open(*SocketAddress::Parse("127.0.0.1", 0));
  ASSERT_TRUE(socket.ok()) << socket.status();
  Peer peer(*SocketAddress::Parse("127.0.0.1", 0));
  UdpSender sender(*ring_);
  // Queued but never submitted, so the completions can be simulated.
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(sender.Send(socket->fd(), peer.address(), "x"));
  }
  sender.OnCompletion(-ECONNREFUSED, 0);
  sender.OnCompletion(-EAGAIN, 2);  // Out of order: memory waits for #1.
  EXPECT_EQ(sender.in_flight(), 3u);
  sender.OnCompletion(-EHOSTUNREACH, 1);
  EXPECT_EQ(sender.in_flight(), 1u);
  sender.OnCompletion(-EINVAL, 3);
  sender.OnCompletion(0, 3);   // Already released.
  sender.OnCompletion(0, 99);  // Never sent.
  const UdpSenderCounters& counters = sender.counters();
  EXPECT_EQ(counters.send_errors, 4u);
  EXPECT_EQ(counters.errors_refused, 1u);
  EXPECT_EQ(counters.errors_again, 1u);
  EXPECT_EQ(counters.errors_unreachable, 1u);
  EXPECT_EQ(counters.errors_other, 1u);
  EXPECT_EQ(counters.bad_completions, 2u);
  EXPECT_EQ(sender.in_flight(), 0u);
  EXPECT_EQ(sender.arena_bytes_in_use(), 0u);
  EXPECT_FALSE(sender.HandleCompletion(
      Completion{EncodeUserData(CompletionTag::kWake, 0), 0, 0}));
}

}  // namespace
}  // namespace sipshard::transport

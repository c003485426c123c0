#include "sipshard/transport/udp_socket.h"

#include <sys/socket.h>

#include "gtest/gtest.h"
#include "sipshard/transport/listen_sockets.h"

namespace sipshard::transport {
namespace {

TEST(UdpSocketTest, BindsLoopbackAndReportsBufferSizes) {
  UdpSocketOptions options;
  options.receive_buffer_bytes = 1 << 20;
  options.send_buffer_bytes = 1 << 20;
  absl::StatusOr<UdpSocket> socket =
      UdpSocket::Open(*SocketAddress::Parse("127.0.0.1", 0), options);
  ASSERT_TRUE(socket.ok()) << socket.status();
  EXPECT_TRUE(socket->is_open());
  EXPECT_EQ(socket->local_address().HostString(), "127.0.0.1");
  EXPECT_NE(socket->local_address().port(), 0);
  EXPECT_GT(socket->granted_receive_buffer_bytes(), 0);
  EXPECT_GT(socket->granted_send_buffer_bytes(), 0);
  // Linux doubles what it grants; either way it is what getsockopt says.
  int rcvbuf = 0;
  socklen_t length = sizeof(rcvbuf);
  ASSERT_EQ(getsockopt(socket->fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, &length),
            0);
  EXPECT_EQ(socket->granted_receive_buffer_bytes(), rcvbuf);
  RecordProperty("granted_rcvbuf", socket->granted_receive_buffer_bytes());
  RecordProperty("granted_sndbuf", socket->granted_send_buffer_bytes());
}

TEST(UdpSocketTest, ReusePortAllowsSharedPortAndMoveKeepsFd) {
  absl::StatusOr<UdpSocket> first =
      UdpSocket::Open(*SocketAddress::Parse("127.0.0.1", 0));
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<UdpSocket> second =
      UdpSocket::Open(first->local_address());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->local_address(), first->local_address());

  const int fd = first->fd();
  UdpSocket moved = std::move(*first);
  EXPECT_EQ(moved.fd(), fd);
  EXPECT_FALSE(first->is_open());  // NOLINT(bugprone-use-after-move)
}

TEST(UdpSocketTest, BindConflictWithoutReusePortFails) {
  UdpSocketOptions no_reuse;
  no_reuse.reuse_port = false;
  absl::StatusOr<UdpSocket> first =
      UdpSocket::Open(*SocketAddress::Parse("127.0.0.1", 0), no_reuse);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<UdpSocket> second =
      UdpSocket::Open(first->local_address(), no_reuse);
  EXPECT_FALSE(second.ok());
}

TEST(UdpSocketTest, RejectsUnspecifiedAddress) {
  EXPECT_FALSE(UdpSocket::Open(SocketAddress()).ok());
}

TEST(UdpSocketTest, BindsIpv6LoopbackWhenAvailable) {
  absl::StatusOr<UdpSocket> socket =
      UdpSocket::Open(*SocketAddress::Parse("::1", 0));
  if (!socket.ok()) GTEST_SKIP() << "::1 unavailable: " << socket.status();
  EXPECT_TRUE(socket->local_address().is_ipv6());
  EXPECT_NE(socket->local_address().port(), 0);
}

TEST(ListenSocketsTest, OpensOneSocketPerThreadAndAddressOnSharedPorts) {
  const SocketAddress addresses[] = {*SocketAddress::Parse("127.0.0.1", 0),
                                     *SocketAddress::Parse("127.0.0.2", 0)};
  absl::StatusOr<ListenSockets> sockets = ListenSockets::Open(addresses, 3);
  ASSERT_TRUE(sockets.ok()) << sockets.status();
  EXPECT_EQ(sockets->receive_threads(), 3);
  EXPECT_EQ(sockets->address_count(), 2);
  for (int index = 0; index < 2; ++index) {
    EXPECT_NE(sockets->address(index).port(), 0);
    for (int thread = 0; thread < 3; ++thread) {
      std::span<const UdpSocket> mine = sockets->ForReceiver(thread);
      ASSERT_EQ(mine.size(), 2u);
      EXPECT_EQ(mine[static_cast<size_t>(index)].local_address(),
                sockets->address(index));
    }
    EXPECT_EQ(sockets->SendFd(index), sockets->ForReceiver(0)[static_cast<size_t>(index)].fd());
  }
  EXPECT_NE(sockets->ForReceiver(0)[0].fd(), sockets->ForReceiver(1)[0].fd());
}

TEST(ListenSocketsTest, RejectsBadArguments) {
  const SocketAddress address = *SocketAddress::Parse("127.0.0.1", 0);
  EXPECT_FALSE(ListenSockets::Open({}, 1).ok());
  EXPECT_FALSE(ListenSockets::Open({&address, 1}, 0).ok());
}

}  // namespace
}  // namespace sipshard::transport

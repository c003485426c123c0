// UdpSocket: one non-blocking UDP socket bound to a listen address.
//
// Opened once at start-up (see ListenSockets), never on the data path.
// Every socket carries SO_REUSEPORT, so each receive thread binds its own
// socket to the same address and the kernel spreads datagrams across them;
// IP_PKTINFO / IPV6_RECVPKTINFO tells the receiver which local address a
// datagram arrived on (needed when bound to a wildcard), and the same
// socket is used by the shards to send replies from that address.
//
// Ownership: the UdpSocket owns its fd and closes it on destruction. It is
// immutable after Open(), so any thread may read fd() and send on it
// (sending on a shared UDP socket through io_uring sendmsg is safe).
#pragma once

#include "absl/status/statusor.h"
#include "sipshard/transport/socket_address.h"

namespace sipshard::transport {

struct UdpSocketOptions {
  // Requested SO_RCVBUF / SO_SNDBUF sizes in bytes (0 keeps the default).
  // SO_RCVBUFFORCE/SO_SNDBUFFORCE are tried first so that, when running
  // with CAP_NET_ADMIN, net.core.rmem_max does not cap the request.
  int receive_buffer_bytes = 4 << 20;
  int send_buffer_bytes = 4 << 20;
  bool reuse_port = true;
  // Only meaningful for IPv6: keep the v6 socket off the v4 space so a
  // separate 0.0.0.0 listener can coexist with a :: listener.
  bool ipv6_only = true;
};

class UdpSocket {
 public:
  // Creates, configures and binds a socket to `address` (port 0 picks one).
  static absl::StatusOr<UdpSocket> Open(const SocketAddress& address,
                                        const UdpSocketOptions& options = {});

  UdpSocket() = default;
  ~UdpSocket();
  UdpSocket(UdpSocket&& other) noexcept;
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  int fd() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }
  // The bound address as getsockname() reports it (port 0 resolved).
  const SocketAddress& local_address() const { return local_address_; }
  // Buffer sizes as read back with getsockopt. Linux reports twice what it
  // accounts for payload (it doubles the request to cover skb overhead),
  // so a granted 8 MiB means about 4 MiB of datagram payload.
  int granted_receive_buffer_bytes() const { return granted_rcvbuf_; }
  int granted_send_buffer_bytes() const { return granted_sndbuf_; }

 private:
  void Close();

  int fd_ = -1;
  SocketAddress local_address_;
  int granted_rcvbuf_ = 0;
  int granted_sndbuf_ = 0;
};

}  // namespace sipshard::transport

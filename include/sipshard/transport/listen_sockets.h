// ListenSockets: every UDP socket sipshard listens on, opened once.
//
// Layout: one SO_REUSEPORT socket per (receive thread, listen address).
// Receive thread k hands ForReceiver(k) to its UdpReceiver; shards send
// replies through SendFd(listen_index), so a reply leaves from the
// address/port the request arrived on (the kernel only balances *incoming*
// datagrams across reuseport sockets; any of them can send).
//
// Ownership: built at start-up and then immutable; share it (e.g. as
// std::shared_ptr<const ListenSockets>) with receivers and shards. It must
// outlive every UdpReceiver and every in-flight send that uses its fds.
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "sipshard/transport/socket_address.h"
#include "sipshard/transport/udp_socket.h"

namespace sipshard::transport {

class ListenSockets {
 public:
  // Opens receive_threads × addresses.size() sockets. A listen address with
  // port 0 gets an ephemeral port from its first socket, and the remaining
  // threads bind to that same port (tests use this).
  static absl::StatusOr<ListenSockets> Open(
      std::span<const SocketAddress> addresses, int receive_threads,
      const UdpSocketOptions& options = {});

  int receive_threads() const { return receive_threads_; }
  int address_count() const { return static_cast<int>(addresses_.size()); }
  // The resolved listen address (port filled in) for a listen index.
  const SocketAddress& address(int listen_index) const {
    return addresses_[static_cast<size_t>(listen_index)];
  }
  // The sockets of one receive thread, indexed by listen index.
  std::span<const UdpSocket> ForReceiver(int receive_thread) const {
    return std::span<const UdpSocket>(sockets_).subspan(
        static_cast<size_t>(receive_thread) * addresses_.size(),
        addresses_.size());
  }
  // The fd shards send from for a listen index.
  int SendFd(int listen_index) const {
    return sockets_[static_cast<size_t>(listen_index)].fd();
  }

 private:
  int receive_threads_ = 0;
  std::vector<SocketAddress> addresses_;
  std::vector<UdpSocket> sockets_;  // [thread * address_count + index]
};

}  // namespace sipshard::transport

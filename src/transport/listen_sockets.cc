#include "sipshard/transport/listen_sockets.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sipshard::transport {

absl::StatusOr<ListenSockets> ListenSockets::Open(
    std::span<const SocketAddress> addresses, int receive_threads,
    const UdpSocketOptions& options) {
  if (addresses.empty()) {
    return absl::InvalidArgumentError("ListenSockets: no listen address");
  }
  if (receive_threads <= 0) {
    return absl::InvalidArgumentError("ListenSockets: receive_threads <= 0");
  }
  if (!options.reuse_port && receive_threads > 1) {
    return absl::InvalidArgumentError(
        "ListenSockets: several receive threads need SO_REUSEPORT");
  }
  ListenSockets result;
  result.receive_threads_ = receive_threads;
  result.addresses_.assign(addresses.begin(), addresses.end());
  result.sockets_.reserve(static_cast<size_t>(receive_threads) *
                          addresses.size());
  for (int thread = 0; thread < receive_threads; ++thread) {
    for (size_t index = 0; index < addresses.size(); ++index) {
      absl::StatusOr<UdpSocket> socket =
          UdpSocket::Open(result.addresses_[index], options);
      if (!socket.ok()) {
        return absl::Status(
            socket.status().code(),
            absl::StrCat("listen address ", addresses[index].ToString(),
                         ", receive thread ", thread, ": ",
                         socket.status().message()));
      }
      // Pin an ephemeral port so every thread's socket shares it.
      if (thread == 0) result.addresses_[index] = socket->local_address();
      result.sockets_.push_back(std::move(*socket));
    }
  }
  return result;
}

}  // namespace sipshard::transport

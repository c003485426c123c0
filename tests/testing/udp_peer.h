// A blocking UDP endpoint for integration tests: a SIP client or a fake
// backend on a loopback address. Every receive is bounded by a timeout, so
// a test that expects a datagram that never comes fails instead of hanging.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipshard/transport/socket_address.h"

namespace sipshard::testing {

struct ReceivedMessage {
  std::string bytes;
  transport::SocketAddress from;
};

class UdpPeer {
 public:
  // Binds to host:port (port 0 = any free port). Aborts the test on failure.
  UdpPeer(std::string_view host, uint16_t port);
  ~UdpPeer();
  UdpPeer(const UdpPeer&) = delete;
  UdpPeer& operator=(const UdpPeer&) = delete;

  void SendTo(std::string_view bytes, const transport::SocketAddress& to);
  // Waits up to `timeout_ms` for one datagram.
  std::optional<ReceivedMessage> Receive(int timeout_ms = 2000);
  // Receives until nothing arrives for `quiet_ms`; returns how many came.
  int Drain(int quiet_ms = 100);

  const transport::SocketAddress& address() const { return address_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  transport::SocketAddress address_;
};

// Returns the value of the first header named `name` (case-insensitive,
// long form only) in a raw message, or "" if absent.
std::string HeaderValue(std::string_view message, std::string_view name);
// Returns every value of header `name`, in order.
std::vector<std::string> HeaderValues(std::string_view message, std::string_view name);
// Returns the first line of a message.
std::string FirstLine(std::string_view message);

}  // namespace sipshard::testing

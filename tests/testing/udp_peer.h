// A blocking UDP endpoint for integration tests: a SIP client or a fake
// backend on a loopback address. Every receive is bounded by a timeout, so
// a test that expects a datagram that never comes fails instead of hanging.
#pragma once

#include <memory>
#include <optional>
#include <span>
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

// Waits up to `timeout_ms` for a datagram at any of `peers` (one poll over
// all their sockets); sets *which (if given) to the peer that got it.
std::optional<ReceivedMessage> ReceiveAtAny(std::span<const std::unique_ptr<UdpPeer>> peers,
                                            UdpPeer** which = nullptr, int timeout_ms = 2000);

// Receives at `peer`, skipping up to four 100 Trying (hop-by-hop, §16.7).
std::optional<ReceivedMessage> ReceiveSkipping100(UdpPeer& peer, int timeout_ms = 2000);

// Returns the value of the first header named `name` (case-insensitive,
// long form only) in a raw message, or "" if absent.
std::string HeaderValue(std::string_view message, std::string_view name);
// Returns every value of header `name`, in order.
std::vector<std::string> HeaderValues(std::string_view message, std::string_view name);
// Returns the first line of a message.
std::string FirstLine(std::string_view message);

}  // namespace sipshard::testing

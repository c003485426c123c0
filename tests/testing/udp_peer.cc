#include "tests/testing/udp_peer.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "gtest/gtest.h"
#include "sipshard/sip/text.h"

namespace sipshard::testing {

UdpPeer::UdpPeer(std::string_view host, uint16_t port) {
  std::optional<transport::SocketAddress> address = transport::SocketAddress::Parse(host, port);
  if (!address) {
    ADD_FAILURE() << "bad address " << host;
    return;
  }
  fd_ = socket(address->family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || bind(fd_, address->sockaddr(), address->length()) != 0) {
    ADD_FAILURE() << "cannot bind " << address->ToString() << ": " << strerror(errno);
    return;
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  address_ = *transport::SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&bound), length);
}

UdpPeer::~UdpPeer() {
  if (fd_ >= 0) close(fd_);
}

void UdpPeer::SendTo(std::string_view bytes, const transport::SocketAddress& to) {
  const ssize_t n = sendto(fd_, bytes.data(), bytes.size(), 0, to.sockaddr(), to.length());
  EXPECT_EQ(n, static_cast<ssize_t>(bytes.size())) << strerror(errno);
}

std::optional<ReceivedMessage> UdpPeer::Receive(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
  std::vector<char> buffer(65536);
  sockaddr_storage from{};
  socklen_t length = sizeof from;
  const ssize_t n =
      recvfrom(fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &length);
  if (n < 0) return std::nullopt;
  ReceivedMessage message;
  message.bytes.assign(buffer.data(), static_cast<size_t>(n));
  message.from = *transport::SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&from), length);
  return message;
}

int UdpPeer::Drain(int quiet_ms) {
  int count = 0;
  while (count < 1'000'000 && Receive(quiet_ms)) ++count;
  return count;
}

std::optional<ReceivedMessage> ReceiveAtAny(std::span<const std::unique_ptr<UdpPeer>> peers,
                                            UdpPeer** which, int timeout_ms) {
  std::vector<pollfd> fds;
  for (const auto& peer : peers) fds.push_back(pollfd{peer->fd(), POLLIN, 0});
  if (poll(fds.data(), fds.size(), timeout_ms) <= 0) return std::nullopt;
  for (size_t i = 0; i < fds.size(); ++i) {
    if ((fds[i].revents & POLLIN) == 0) continue;
    if (which != nullptr) *which = peers[i].get();
    return peers[i]->Receive(0);
  }
  return std::nullopt;
}

std::optional<ReceivedMessage> ReceiveSkipping100(UdpPeer& peer, int timeout_ms) {
  for (int i = 0; i < 5; ++i) {
    std::optional<ReceivedMessage> m = peer.Receive(timeout_ms);
    if (!m || FirstLine(m->bytes) != "SIP/2.0 100 Trying") return m;
  }
  return std::nullopt;
}

std::vector<std::string> HeaderValues(std::string_view message, std::string_view name) {
  std::vector<std::string> out;
  size_t pos = message.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < message.size()) {
    const size_t start = pos + 2;
    const size_t end = message.find("\r\n", start);
    if (end == start || end == std::string_view::npos) break;
    std::string_view line = message.substr(start, end - start);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos &&
        sip::EqualsIgnoreCase(sip::TrimLws(line.substr(0, colon)), name)) {
      out.emplace_back(sip::TrimLws(line.substr(colon + 1)));
    }
    pos = end;
  }
  return out;
}

std::string HeaderValue(std::string_view message, std::string_view name) {
  std::vector<std::string> values = HeaderValues(message, name);
  return values.empty() ? std::string() : values.front();
}

std::string FirstLine(std::string_view message) {
  return std::string(message.substr(0, message.find("\r\n")));
}

}  // namespace sipshard::testing

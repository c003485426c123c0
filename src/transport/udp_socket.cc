#include "sipshard/transport/udp_socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sipshard::transport {

namespace {

absl::Status SetIntOption(int fd, int level, int name, int value,
                          const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("setsockopt(", what, ")"));
  }
  return absl::OkStatus();
}

int GetIntOption(int fd, int level, int name) {
  int value = 0;
  socklen_t length = sizeof(value);
  if (getsockopt(fd, level, name, &value, &length) != 0) return -1;
  return value;
}

// Requests a socket buffer size, preferring the *FORCE variant (ignores
// net.core.[rw]mem_max, needs CAP_NET_ADMIN) and falling back silently:
// the granted size is read back and reported, so a cap is visible in logs.
void RequestBufferSize(int fd, int force_name, int name, int bytes) {
  if (bytes <= 0) return;
  if (setsockopt(fd, SOL_SOCKET, force_name, &bytes, sizeof(bytes)) == 0) {
    return;
  }
  setsockopt(fd, SOL_SOCKET, name, &bytes, sizeof(bytes));
}

}  // namespace

absl::StatusOr<UdpSocket> UdpSocket::Open(const SocketAddress& address,
                                          const UdpSocketOptions& options) {
  if (!address.valid()) {
    return absl::InvalidArgumentError("UdpSocket::Open: unspecified address");
  }
  UdpSocket socket;
  socket.fd_ = ::socket(address.family(),
                        SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (socket.fd_ < 0) {
    return absl::ErrnoToStatus(errno, "socket(SOCK_DGRAM)");
  }
  const int fd = socket.fd_;
  if (options.reuse_port) {
    if (absl::Status s = SetIntOption(fd, SOL_SOCKET, SO_REUSEPORT, 1,
                                      "SO_REUSEPORT");
        !s.ok()) {
      return s;
    }
  }
  RequestBufferSize(fd, SO_RCVBUFFORCE, SO_RCVBUF,
                    options.receive_buffer_bytes);
  RequestBufferSize(fd, SO_SNDBUFFORCE, SO_SNDBUF, options.send_buffer_bytes);
  if (address.is_ipv4()) {
    if (absl::Status s =
            SetIntOption(fd, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
        !s.ok()) {
      return s;
    }
  } else {
    if (absl::Status s = SetIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY,
                                      options.ipv6_only ? 1 : 0,
                                      "IPV6_V6ONLY");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = SetIntOption(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1,
                                      "IPV6_RECVPKTINFO");
        !s.ok()) {
      return s;
    }
    if (!options.ipv6_only) {
      // v4-mapped traffic on a dual-stack socket reports IP_PKTINFO.
      SetIntOption(fd, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO").IgnoreError();
    }
  }
  if (::bind(fd, address.sockaddr(), address.length()) != 0) {
    return absl::ErrnoToStatus(errno,
                               absl::StrCat("bind(", address.ToString(), ")"));
  }
  sockaddr_in6 bound;
  socklen_t bound_length = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&bound),
                  &bound_length) != 0) {
    return absl::ErrnoToStatus(errno, "getsockname");
  }
  std::optional<SocketAddress> local = SocketAddress::FromSockaddr(
      reinterpret_cast<const struct sockaddr*>(&bound), bound_length);
  if (!local) return absl::InternalError("getsockname: unexpected family");
  socket.local_address_ = *local;
  socket.granted_rcvbuf_ = GetIntOption(fd, SOL_SOCKET, SO_RCVBUF);
  socket.granted_sndbuf_ = GetIntOption(fd, SOL_SOCKET, SO_SNDBUF);
  return socket;
}

UdpSocket::~UdpSocket() { Close(); }

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      local_address_(other.local_address_),
      granted_rcvbuf_(other.granted_rcvbuf_),
      granted_sndbuf_(other.granted_sndbuf_) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    local_address_ = other.local_address_;
    granted_rcvbuf_ = other.granted_rcvbuf_;
    granted_sndbuf_ = other.granted_sndbuf_;
  }
  return *this;
}

void UdpSocket::Close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace sipshard::transport

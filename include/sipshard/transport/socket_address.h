// SocketAddress: an IPv4 or IPv6 address plus port, as a small value type.
//
// Used everywhere a UDP endpoint is named: listen addresses, the source and
// local address of every received datagram (copied into the shard inbox),
// destinations and the source address of every send. It is copied per
// message, so it stores a union of sockaddr_in/sockaddr_in6 (28 bytes)
// rather than a 128-byte sockaddr_storage; every family we carry fits.
// A plain value: no ownership, no thread affinity.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sipshard::transport {

class SocketAddress {
 public:
  // An unspecified address (family AF_UNSPEC, length 0).
  SocketAddress() { std::memset(&storage_, 0, sizeof(storage_)); }

  // Parses a numeric host: dotted IPv4, or IPv6 with or without brackets
  // and with an optional "%scope" (interface name or number). Hostnames are
  // rejected: resolution belongs to config loading, never the data path.
  static std::optional<SocketAddress> Parse(std::string_view host,
                                            uint16_t port);
  // Copies an AF_INET/AF_INET6 sockaddr; nullopt for other families or a
  // too-short length.
  static std::optional<SocketAddress> FromSockaddr(
      const struct sockaddr* address, socklen_t length);
  static SocketAddress FromIpv4(const in_addr& address, uint16_t port);
  static SocketAddress FromIpv6(const in6_addr& address, uint16_t port,
                                uint32_t scope_id = 0);

  sa_family_t family() const { return storage_.any.sa_family; }
  bool is_ipv4() const { return family() == AF_INET; }
  bool is_ipv6() const { return family() == AF_INET6; }
  bool valid() const { return is_ipv4() || is_ipv6(); }
  uint16_t port() const;
  // Returns a copy with the port replaced.
  SocketAddress WithPort(uint16_t port) const;
  // True for 0.0.0.0 and ::.
  bool IsWildcard() const;

  const struct sockaddr* sockaddr() const { return &storage_.any; }
  socklen_t length() const;
  // Only valid when is_ipv4() / is_ipv6().
  const sockaddr_in& ipv4() const { return storage_.v4; }
  const sockaddr_in6& ipv6() const { return storage_.v6; }

  // "1.2.3.4", "::1", "fe80::1%2" (IPv6 without brackets).
  std::string HostString() const;
  // "1.2.3.4:5060", "[::1]:5060"; "<unspecified>" when !valid().
  std::string ToString() const;

  // Compares family, address, port and (IPv6) scope id; flow info is ignored.
  friend bool operator==(const SocketAddress& a, const SocketAddress& b);
  friend bool operator!=(const SocketAddress& a, const SocketAddress& b) {
    return !(a == b);
  }

  template <typename H>
  friend H AbslHashValue(H h, const SocketAddress& a) {
    if (a.is_ipv4()) {
      return H::combine(std::move(h), a.family(), a.storage_.v4.sin_port,
                        a.storage_.v4.sin_addr.s_addr);
    }
    if (a.is_ipv6()) {
      h = H::combine_contiguous(std::move(h), a.storage_.v6.sin6_addr.s6_addr,
                                sizeof(a.storage_.v6.sin6_addr.s6_addr));
      return H::combine(std::move(h), a.family(), a.storage_.v6.sin6_port,
                        a.storage_.v6.sin6_scope_id);
    }
    return H::combine(std::move(h), a.family());
  }

 private:
  union Storage {
    struct sockaddr any;
    sockaddr_in v4;
    sockaddr_in6 v6;
  };
  Storage storage_;
};

}  // namespace sipshard::transport

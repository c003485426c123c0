// Formats the numeric host of a socket address for SIP headers (Via
// `received`, §18.2.1) without allocating: IPv4 by hand, since glibc's
// inet_ntop goes through sprintf and showed up at ~3% of a stateful call;
// IPv6 through inet_ntop.
//
// Stateless helper; the caller owns the buffer.
#pragma once

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sipshard/transport/socket_address.h"

namespace sipshard::proxy {

// `buffer` must hold INET6_ADDRSTRLEN bytes. Returns "" on failure.
inline std::string_view FormatIp(const transport::SocketAddress& address, char* buffer,
                                 size_t size) {
  if (address.is_ipv4()) {
    if (size < INET_ADDRSTRLEN) return {};
    const auto* octets = reinterpret_cast<const uint8_t*>(&address.ipv4().sin_addr);
    size_t n = 0;
    for (int i = 0; i < 4; ++i) {
      const unsigned v = octets[i];
      if (v >= 100) buffer[n++] = static_cast<char>('0' + v / 100);
      if (v >= 10) buffer[n++] = static_cast<char>('0' + v / 10 % 10);
      buffer[n++] = static_cast<char>('0' + v % 10);
      if (i < 3) buffer[n++] = '.';
    }
    return std::string_view(buffer, n);
  }
  if (inet_ntop(address.family(), &address.ipv6().sin6_addr, buffer,
                static_cast<socklen_t>(size)) == nullptr) {
    return {};
  }
  return buffer;
}

}  // namespace sipshard::proxy

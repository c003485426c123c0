#include "sipshard/transport/socket_address.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <charconv>

#include "absl/strings/str_cat.h"

namespace sipshard::transport {

namespace {

// Long enough for any numeric IPv6 text plus a scope suffix.
constexpr size_t kMaxHostText = INET6_ADDRSTRLEN + IF_NAMESIZE + 2;

// Resolves an IPv6 zone: a decimal interface index or an interface name.
std::optional<uint32_t> ParseScope(std::string_view scope) {
  if (scope.empty() || scope.size() >= IF_NAMESIZE) return std::nullopt;
  uint32_t index = 0;
  const auto [end, ec] =
      std::from_chars(scope.data(), scope.data() + scope.size(), index);
  if (ec == std::errc() && end == scope.data() + scope.size()) return index;
  char name[IF_NAMESIZE];
  std::memcpy(name, scope.data(), scope.size());
  name[scope.size()] = '\0';
  const unsigned resolved = if_nametoindex(name);
  if (resolved == 0) return std::nullopt;
  return resolved;
}

}  // namespace

std::optional<SocketAddress> SocketAddress::Parse(std::string_view host,
                                                  uint16_t port) {
  bool bracketed = false;
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
    bracketed = true;
  }
  if (host.empty() || host.size() >= kMaxHostText) return std::nullopt;

  char text[kMaxHostText];
  if (!bracketed && host.find(':') == std::string_view::npos) {
    std::memcpy(text, host.data(), host.size());
    text[host.size()] = '\0';
    in_addr v4;
    if (inet_pton(AF_INET, text, &v4) != 1) return std::nullopt;
    return FromIpv4(v4, port);
  }

  uint32_t scope_id = 0;
  if (const size_t percent = host.find('%');
      percent != std::string_view::npos) {
    const std::optional<uint32_t> scope = ParseScope(host.substr(percent + 1));
    if (!scope) return std::nullopt;
    scope_id = *scope;
    host = host.substr(0, percent);
  }
  std::memcpy(text, host.data(), host.size());
  text[host.size()] = '\0';
  in6_addr v6;
  if (inet_pton(AF_INET6, text, &v6) != 1) return std::nullopt;
  return FromIpv6(v6, port, scope_id);
}

std::optional<SocketAddress> SocketAddress::FromSockaddr(
    const struct sockaddr* address, socklen_t length) {
  if (address == nullptr ||
      length < static_cast<socklen_t>(sizeof(sa_family_t))) {
    return std::nullopt;
  }
  SocketAddress result;
  if (address->sa_family == AF_INET &&
      length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    std::memcpy(&result.storage_.v4, address, sizeof(sockaddr_in));
    std::memset(result.storage_.v4.sin_zero, 0,
                sizeof(result.storage_.v4.sin_zero));
    return result;
  }
  if (address->sa_family == AF_INET6 &&
      length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(&result.storage_.v6, address, sizeof(sockaddr_in6));
    return result;
  }
  return std::nullopt;
}

SocketAddress SocketAddress::FromIpv4(const in_addr& address, uint16_t port) {
  SocketAddress result;
  result.storage_.v4.sin_family = AF_INET;
  result.storage_.v4.sin_port = htons(port);
  result.storage_.v4.sin_addr = address;
  return result;
}

SocketAddress SocketAddress::FromIpv6(const in6_addr& address, uint16_t port,
                                      uint32_t scope_id) {
  SocketAddress result;
  result.storage_.v6.sin6_family = AF_INET6;
  result.storage_.v6.sin6_port = htons(port);
  result.storage_.v6.sin6_addr = address;
  result.storage_.v6.sin6_scope_id = scope_id;
  return result;
}

uint16_t SocketAddress::port() const {
  if (is_ipv4()) return ntohs(storage_.v4.sin_port);
  if (is_ipv6()) return ntohs(storage_.v6.sin6_port);
  return 0;
}

SocketAddress SocketAddress::WithPort(uint16_t port) const {
  SocketAddress result = *this;
  if (is_ipv4()) result.storage_.v4.sin_port = htons(port);
  if (is_ipv6()) result.storage_.v6.sin6_port = htons(port);
  return result;
}

bool SocketAddress::IsWildcard() const {
  if (is_ipv4()) return storage_.v4.sin_addr.s_addr == htonl(INADDR_ANY);
  if (is_ipv6()) {
    return std::memcmp(&storage_.v6.sin6_addr, &in6addr_any,
                       sizeof(in6_addr)) == 0;
  }
  return false;
}

socklen_t SocketAddress::length() const {
  if (is_ipv4()) return sizeof(sockaddr_in);
  if (is_ipv6()) return sizeof(sockaddr_in6);
  return 0;
}

std::string SocketAddress::HostString() const {
  char text[INET6_ADDRSTRLEN];
  if (is_ipv4()) {
    if (inet_ntop(AF_INET, &storage_.v4.sin_addr, text, sizeof(text)) ==
        nullptr) {
      return std::string();
    }
    return std::string(text);
  }
  if (is_ipv6()) {
    if (inet_ntop(AF_INET6, &storage_.v6.sin6_addr, text, sizeof(text)) ==
        nullptr) {
      return std::string();
    }
    if (storage_.v6.sin6_scope_id != 0) {
      return absl::StrCat(text, "%", storage_.v6.sin6_scope_id);
    }
    return std::string(text);
  }
  return std::string();
}

std::string SocketAddress::ToString() const {
  if (is_ipv4()) return absl::StrCat(HostString(), ":", port());
  if (is_ipv6()) return absl::StrCat("[", HostString(), "]:", port());
  return "<unspecified>";
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
  if (a.family() != b.family()) return false;
  if (a.is_ipv4()) {
    return a.storage_.v4.sin_port == b.storage_.v4.sin_port &&
           a.storage_.v4.sin_addr.s_addr == b.storage_.v4.sin_addr.s_addr;
  }
  if (a.is_ipv6()) {
    return a.storage_.v6.sin6_port == b.storage_.v6.sin6_port &&
           a.storage_.v6.sin6_scope_id == b.storage_.v6.sin6_scope_id &&
           std::memcmp(&a.storage_.v6.sin6_addr, &b.storage_.v6.sin6_addr,
                       sizeof(in6_addr)) == 0;
  }
  return true;
}

}  // namespace sipshard::transport

#include "sipshard/transport/socket_address.h"

#include <arpa/inet.h>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace sipshard::transport {
namespace {

TEST(SocketAddressTest, ParsesIpv4) {
  std::optional<SocketAddress> address = SocketAddress::Parse("10.1.2.3", 5060);
  ASSERT_TRUE(address.has_value());
  EXPECT_TRUE(address->is_ipv4());
  EXPECT_EQ(address->family(), AF_INET);
  EXPECT_EQ(address->port(), 5060);
  EXPECT_EQ(address->length(), sizeof(sockaddr_in));
  EXPECT_EQ(address->HostString(), "10.1.2.3");
  EXPECT_EQ(address->ToString(), "10.1.2.3:5060");
}

TEST(SocketAddressTest, ParsesIpv6WithAndWithoutBrackets) {
  std::optional<SocketAddress> plain = SocketAddress::Parse("::1", 5060);
  std::optional<SocketAddress> bracketed = SocketAddress::Parse("[::1]", 5060);
  ASSERT_TRUE(plain.has_value());
  ASSERT_TRUE(bracketed.has_value());
  EXPECT_TRUE(plain->is_ipv6());
  EXPECT_EQ(*plain, *bracketed);
  EXPECT_EQ(plain->length(), sizeof(sockaddr_in6));
  EXPECT_EQ(plain->HostString(), "::1");
  EXPECT_EQ(plain->ToString(), "[::1]:5060");

  std::optional<SocketAddress> full =
      SocketAddress::Parse("2001:DB8:0:0:0:0:0:1", 5061);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->ToString(), "[2001:db8::1]:5061");
}

TEST(SocketAddressTest, ParsesNumericScope) {
  std::optional<SocketAddress> address =
      SocketAddress::Parse("[fe80::1%1]", 5060);
  ASSERT_TRUE(address.has_value());
  EXPECT_EQ(address->ipv6().sin6_scope_id, 1u);
  EXPECT_EQ(address->HostString(), "fe80::1%1");
  EXPECT_NE(*address, *SocketAddress::Parse("fe80::1", 5060));
}

TEST(SocketAddressTest, RejectsInvalidHosts) {
  for (const char* host :
       {"", "1.2.3", "1.2.3.256", "1.2.3.4:5060", "example.com", "::g",
        "[::1", "::1]", "[]", "[1.2.3.4]", "fe80::1%", " 1.2.3.4",
        "1:2:3:4:5:6:7:8:9"}) {
    EXPECT_FALSE(SocketAddress::Parse(host, 5060).has_value()) << host;
  }
}

TEST(SocketAddressTest, DefaultIsUnspecified) {
  SocketAddress address;
  EXPECT_FALSE(address.valid());
  EXPECT_EQ(address.length(), 0u);
  EXPECT_EQ(address.port(), 0);
  EXPECT_EQ(address.ToString(), "<unspecified>");
}

TEST(SocketAddressTest, RoundTripsThroughSockaddr) {
  const SocketAddress v4 = *SocketAddress::Parse("192.0.2.7", 1234);
  std::optional<SocketAddress> copy =
      SocketAddress::FromSockaddr(v4.sockaddr(), v4.length());
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(*copy, v4);

  const SocketAddress v6 = *SocketAddress::Parse("2001:db8::5", 4321);
  copy = SocketAddress::FromSockaddr(v6.sockaddr(), v6.length());
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(*copy, v6);

  // Too short for its family.
  EXPECT_FALSE(SocketAddress::FromSockaddr(v6.sockaddr(), 16).has_value());
  sockaddr unknown{};
  unknown.sa_family = AF_UNIX;
  EXPECT_FALSE(SocketAddress::FromSockaddr(&unknown, sizeof(unknown)));
}

TEST(SocketAddressTest, ComparesFamilyAddressAndPort) {
  const SocketAddress a = *SocketAddress::Parse("127.0.0.1", 5060);
  EXPECT_EQ(a, *SocketAddress::Parse("127.0.0.1", 5060));
  EXPECT_NE(a, *SocketAddress::Parse("127.0.0.1", 5061));
  EXPECT_NE(a, *SocketAddress::Parse("127.0.0.2", 5060));
  EXPECT_NE(a, *SocketAddress::Parse("::ffff:127.0.0.1", 5060));
  EXPECT_EQ(a.WithPort(7), *SocketAddress::Parse("127.0.0.1", 7));
}

TEST(SocketAddressTest, Wildcards) {
  EXPECT_TRUE(SocketAddress::Parse("0.0.0.0", 1)->IsWildcard());
  EXPECT_TRUE(SocketAddress::Parse("::", 1)->IsWildcard());
  EXPECT_FALSE(SocketAddress::Parse("127.0.0.1", 1)->IsWildcard());
}

TEST(SocketAddressTest, HashesConsistentlyWithEquality) {
  absl::flat_hash_set<SocketAddress> set;
  set.insert(*SocketAddress::Parse("127.0.0.1", 5060));
  set.insert(*SocketAddress::Parse("127.0.0.1", 5060));
  set.insert(*SocketAddress::Parse("[::1]", 5060));
  set.insert(*SocketAddress::Parse("::1", 5060));
  set.insert(*SocketAddress::Parse("127.0.0.1", 5061));
  EXPECT_EQ(set.size(), 3u);
  EXPECT_TRUE(set.contains(*SocketAddress::Parse("::1", 5060)));
}

}  // namespace
}  // namespace sipshard::transport

#include "sipshard/proxy/address_text.h"

#include "gtest/gtest.h"

namespace sipshard::proxy {
namespace {

std::string Format(std::string_view host) {
  char buffer[INET6_ADDRSTRLEN];
  return std::string(FormatIp(*transport::SocketAddress::Parse(host, 5060), buffer, sizeof buffer));
}

TEST(FormatIpTest, MatchesInetNtop) {
  for (const char* host : {"0.0.0.0", "255.255.255.255", "10.1.20.3", "192.0.2.100", "127.0.0.1"}) {
    EXPECT_EQ(Format(host), host);
  }
  EXPECT_EQ(Format("::1"), "::1");
  EXPECT_EQ(Format("2001:db8::10"), "2001:db8::10");
}

}  // namespace
}  // namespace sipshard::proxy

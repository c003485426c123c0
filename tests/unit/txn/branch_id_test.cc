// Unit tests of our Via branch format: what we write, and reading the
// shard back out of it.
#include "sipshard/txn/branch_id.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sipshard/sip/via.h"

namespace sipshard::txn {
namespace {

using ::testing::MatchesRegex;

std::string Format(uint16_t shard, uint64_t hash) {
  char buffer[kMaxBranchLength + 8];
  std::memset(buffer, '#', sizeof buffer);
  const size_t n = FormatStatelessBranch(shard, hash, buffer);
  EXPECT_LE(n, kMaxBranchLength);
  EXPECT_EQ(buffer[n], '#') << "wrote past the returned length";
  return std::string(buffer, n);
}

TEST(BranchIdTest, StatelessBranchLayout) {
  EXPECT_EQ(Format(0x2a, 0x0123456789abcdefULL), "z9hG4bK-sx002a-a0123456789abcdef");
  EXPECT_EQ(Format(0, 0), "z9hG4bK-sx0000-a0000000000000000");
  EXPECT_EQ(Format(0xffff, ~uint64_t{0}), "z9hG4bK-sxffff-affffffffffffffff");
  // Carries the RFC 3261 magic cookie (§8.1.1.7) and is a valid token.
  EXPECT_THAT(Format(7, 99), MatchesRegex("z9hG4bK[-a-z0-9]+"));
  EXPECT_EQ(Format(7, 99).substr(0, sip::kMagicCookie.size()), sip::kMagicCookie);
}

TEST(BranchIdTest, ShardRoundTrips) {
  for (uint32_t shard : {0u, 1u, 9u, 10u, 15u, 16u, 255u, 256u, 4095u, 0x8000u, 0xffffu}) {
    const std::string branch = Format(static_cast<uint16_t>(shard), shard * 0x9e3779b97f4a7c15ULL);
    EXPECT_TRUE(IsOurBranch(branch));
    ASSERT_EQ(ShardFromBranch(branch), static_cast<uint16_t>(shard)) << branch;
  }
}

TEST(BranchIdTest, TheHashChangesTheBranchNotTheShard) {
  EXPECT_NE(Format(3, 1), Format(3, 2));
  EXPECT_EQ(ShardFromBranch(Format(3, 1)), ShardFromBranch(Format(3, 2)));
}

TEST(BranchIdTest, ForeignBranchesAreNotOurs) {
  for (const char* branch : {"", "z9hG4bK", "z9hG4bKabc", "z9hG4bK-s", "z9hG4bK-SX0001-a",
                             "Z9HG4BK-sx0001-a", "xz9hG4bK-sx0001-a", "z9hG4bK-sy0001-a"}) {
    EXPECT_FALSE(IsOurBranch(branch)) << branch;
    EXPECT_EQ(ShardFromBranch(branch), std::nullopt) << branch;
  }
}

TEST(BranchIdTest, MarkerWithABrokenShardFieldHasNoShard) {
  for (const char* branch : {"z9hG4bK-sx", "z9hG4bK-sx001", "z9hG4bK-sx0001", "z9hG4bK-sx0001x",
                             "z9hG4bK-sx00G1-a", "z9hG4bK-sx00A1-a", "z9hG4bK-sx 001-a",
                             "z9hG4bK-sx-001-a"}) {
    EXPECT_TRUE(IsOurBranch(branch)) << branch;
    EXPECT_EQ(ShardFromBranch(branch), std::nullopt) << branch;
  }
  // The shard field alone is enough; what follows is not checked here.
  EXPECT_EQ(ShardFromBranch("z9hG4bK-sx0012-"), uint16_t{0x12});
}

}  // namespace
}  // namespace sipshard::txn

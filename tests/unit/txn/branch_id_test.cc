// Unit tests of our Via branch format: what we write, and reading the
// shard back out of it.
#include "sipshard/txn/branch_id.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sipshard/sip/via.h"

namespace sipshard::txn {
namespace {

using ::testing::MatchesRegex;

std::string Format(uint16_t shard, uint64_t hash, uint64_t loop_hash = 0) {
  char buffer[kMaxBranchLength + 8];
  std::memset(buffer, '#', sizeof buffer);
  const size_t n = FormatStatelessBranch(StatelessBranch{shard, hash, loop_hash}, buffer);
  EXPECT_LE(n, kMaxBranchLength);
  EXPECT_EQ(buffer[n], '#') << "wrote past the returned length";
  return std::string(buffer, n);
}

TEST(BranchIdTest, StatelessBranchLayout) {
  EXPECT_EQ(Format(0x2a, 0x0123456789abcdefULL, 0xfedcba9876543210ULL),
            "z9hG4bK-sx002a-a0123456789abcdeffedcba9876543210");
  EXPECT_EQ(Format(0, 0), "z9hG4bK-sx0000-a00000000000000000000000000000000");
  EXPECT_EQ(Format(0xffff, ~uint64_t{0}, ~uint64_t{0}),
            "z9hG4bK-sxffff-affffffffffffffffffffffffffffffff");
  // The longest branch we write fills kMaxBranchLength exactly.
  EXPECT_EQ(Format(0xffff, ~uint64_t{0}, ~uint64_t{0}).size(), kMaxBranchLength);
  // Carries the RFC 3261 magic cookie (§8.1.1.7) and is a valid token.
  EXPECT_THAT(Format(7, 99, 5), MatchesRegex("z9hG4bK[-a-z0-9]+"));
  EXPECT_EQ(Format(7, 99).substr(0, sip::kMagicCookie.size()), sip::kMagicCookie);
  // The shorthand writes loop hash 0.
  char buffer[kMaxBranchLength];
  EXPECT_EQ(std::string(buffer, FormatStatelessBranch(7, 99, buffer)), Format(7, 99, 0));
}

TEST(BranchIdTest, StatelessBranchRoundTrips) {
  const StatelessBranch cases[] = {
      {0, 0, 0},
      {0x2a, 0x0123456789abcdefULL, 0xfedcba9876543210ULL},
      {0xffff, ~uint64_t{0}, ~uint64_t{0}},
      {9, 1, ~uint64_t{0} - 1},
  };
  for (const StatelessBranch& id : cases) {
    const std::string branch = Format(id.shard, id.transaction_hash, id.loop_hash);
    const std::optional<StatelessBranch> parsed = ParseStatelessBranch(branch);
    ASSERT_TRUE(parsed.has_value()) << branch;
    EXPECT_EQ(parsed->shard, id.shard) << branch;
    EXPECT_EQ(parsed->transaction_hash, id.transaction_hash) << branch;
    EXPECT_EQ(parsed->loop_hash, id.loop_hash) << branch;
    EXPECT_EQ(ShardFromBranch(branch), id.shard) << branch;
  }
}

TEST(BranchIdTest, OnlyWellFormedStatelessBranchesParse) {
  const std::string good = Format(3, 0x1111, 0x2222);
  ASSERT_TRUE(ParseStatelessBranch(good).has_value());
  char buffer[kMaxBranchLength];
  const std::string transaction(
      buffer, FormatTransactionBranch(TransactionBranch{3, 0x01020304, 7, 2}, buffer));
  const std::string probe(buffer, FormatProbeBranch(ProbeBranch{3, 1, 2, 3}, buffer));
  for (const std::string& branch : {
           good.substr(0, good.size() - 16),      // the old layout, without a loop hash
           good.substr(0, good.size() - 1),       // one digit short
           good + "0",                            // one digit long
           std::string(good).replace(20, 1, "G"),  // not hex
           std::string(good).replace(20, 1, "A"),  // upper case is not what we write
           "z9hG4bK-sx0003-b" + good.substr(16),  // another kind
           std::string("z9hG4bKclient"),
           transaction,
           probe,
       }) {
    EXPECT_FALSE(ParseStatelessBranch(branch).has_value()) << branch;
  }
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

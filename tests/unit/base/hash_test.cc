#include "sipshard/base/hash.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace sipshard::base {
namespace {

TEST(StableHashTest, IsFixedAcrossReleases) {
  // Persisted mappings depend on these exact values: changing the function
  // remaps every call in a running farm.
  EXPECT_EQ(StableHash(""), StableHash(""));
  EXPECT_EQ(StableHash("a84b4c76e66710@pc33.atlanta.com"),
            StableHash(std::string("a84b4c76e66710@pc33.atlanta.com")));
  EXPECT_NE(StableHash("abc"), StableHash("abd"));
  EXPECT_NE(StableHash("abc", 1), StableHash("abc", 2));
}

TEST(StableHashTest, SpreadsSequentialKeysOverBuckets) {
  int buckets[8] = {};
  for (int i = 0; i < 8000; ++i) {
    buckets[ReduceToRange(StableHash("call-" + std::to_string(i)), 8)]++;
  }
  for (int count : buckets) {
    EXPECT_GT(count, 850);
    EXPECT_LT(count, 1150);
  }
}

TEST(StableHashTest, EveryTailLengthMatters) {
  std::set<uint64_t> seen;
  std::string s;
  for (int i = 0; i < 40; ++i) {
    s.push_back('x');
    seen.insert(StableHash(s));
  }
  EXPECT_EQ(seen.size(), 40u);
}

}  // namespace
}  // namespace sipshard::base

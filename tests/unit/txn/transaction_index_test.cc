#include "sipshard/txn/transaction_index.h"

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace sipshard::txn {
namespace {

// Finds `slot` under `hash` the way the table does (the predicate is the
// full key comparison; here: the slot itself).
int64_t FindSlot(const TransactionIndex& index, uint64_t hash, uint32_t slot) {
  return index.Find(hash, [slot](uint32_t candidate) { return candidate == slot; });
}

TEST(TransactionIndexTest, InsertFindErase) {
  TransactionIndex index(16);
  const uint64_t hash = 0x1234567800000000ULL;
  EXPECT_EQ(FindSlot(index, hash, 3), -1);
  index.Insert(hash, 3);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(FindSlot(index, hash, 3), 3);
  EXPECT_EQ(FindSlot(index, hash + (uint64_t{1} << 32), 3), -1);  // other tag
  index.Erase(hash, 3);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(FindSlot(index, hash, 3), -1);
  index.Erase(hash, 3);  // absent: no-op
  EXPECT_EQ(index.size(), 0u);
}

TEST(TransactionIndexTest, EqualTagsAreToldApartByThePredicate) {
  // Same hash for every key (worst case): one probe run, the predicate
  // picks the right one, and erasing from the middle keeps the rest.
  TransactionIndex index(8);
  const uint64_t hash = 0xabcdef0100000000ULL;
  for (uint32_t slot = 0; slot < 8; ++slot) index.Insert(hash, slot);
  index.Erase(hash, 2);
  index.Erase(hash, 5);
  for (uint32_t slot = 0; slot < 8; ++slot) {
    EXPECT_EQ(FindSlot(index, hash, slot), slot == 2 || slot == 5 ? -1 : int64_t{slot});
  }
}

TEST(TransactionIndexTest, RunsThatWrapAroundTheEndSurviveErase) {
  // Homes in the last positions make runs wrap to position 0; erasing an
  // entry before the wrap must pull the wrapped ones back correctly.
  TransactionIndex index(8);  // 16 positions
  auto at = [](uint64_t home, uint64_t salt) { return ((salt << 4 | home) << 32); };
  index.Insert(at(14, 1), 1);
  index.Insert(at(15, 2), 2);
  index.Insert(at(14, 3), 3);  // lands on 0
  index.Insert(at(0, 4), 4);   // home 0, displaced to 1
  index.Insert(at(15, 5), 5);  // lands on 2
  index.Erase(at(14, 1), 1);
  EXPECT_EQ(FindSlot(index, at(15, 2), 2), 2);
  EXPECT_EQ(FindSlot(index, at(14, 3), 3), 3);
  EXPECT_EQ(FindSlot(index, at(0, 4), 4), 4);
  EXPECT_EQ(FindSlot(index, at(15, 5), 5), 5);
  index.Erase(at(15, 2), 2);
  EXPECT_EQ(FindSlot(index, at(14, 3), 3), 3);
  EXPECT_EQ(FindSlot(index, at(0, 4), 4), 4);
  EXPECT_EQ(FindSlot(index, at(15, 5), 5), 5);
  EXPECT_EQ(index.size(), 3u);
}

TEST(TransactionIndexTest, MatchesAModelUnderRandomChurn) {
  // A small table so that runs collide and wrap often; hashes drawn from
  // few homes. Every step checks every live key and some absent ones.
  constexpr size_t kCapacity = 64;
  TransactionIndex index(kCapacity);
  std::mt19937_64 rng(42);
  std::map<uint32_t, uint64_t> live;  // slot -> hash
  std::set<uint32_t> free_slots;
  for (uint32_t s = 0; s < kCapacity; ++s) free_slots.insert(s);
  for (int step = 0; step < 20000; ++step) {
    const bool insert = !free_slots.empty() && (live.empty() || rng() % 2 == 0);
    if (insert) {
      const uint32_t slot = *std::next(free_slots.begin(), rng() % free_slots.size());
      const uint64_t hash = (rng() % 24) << 32 | (rng() << 40);  // few homes
      free_slots.erase(slot);
      live[slot] = hash;
      index.Insert(hash, slot);
    } else {
      auto it = std::next(live.begin(), rng() % live.size());
      index.Erase(it->second, it->first);
      free_slots.insert(it->first);
      live.erase(it);
    }
    ASSERT_EQ(index.size(), live.size());
    for (const auto& [slot, hash] : live) ASSERT_EQ(FindSlot(index, hash, slot), slot) << step;
    for (uint32_t slot : free_slots) {
      ASSERT_EQ(FindSlot(index, rng() << 32, slot), -1);
    }
  }
}

}  // namespace
}  // namespace sipshard::txn

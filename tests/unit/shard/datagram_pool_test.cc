// Unit tests of the receive threads' datagram slot pool: sizes, exhaustion
// and returns from other threads.
#include "sipshard/shard/datagram_pool.h"

#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sipshard::shard {
namespace {

DatagramPoolOptions SmallOptions() {
  DatagramPoolOptions o;
  o.small_slots = 4;
  o.small_payload = 100;
  o.large_slots = 2;
  o.large_payload = 1000;
  o.max_returning_threads = 4;
  return o;
}

TEST(DatagramPoolTest, SlotsAreInitialisedAndDistinct) {
  DatagramPool pool(7, SmallOptions());
  EXPECT_EQ(pool.pool_index(), 7);
  EXPECT_EQ(pool.free_small(), 4u);
  EXPECT_EQ(pool.free_large(), 2u);
  std::set<uint32_t> slots;
  std::vector<Datagram*> taken;
  for (int i = 0; i < 4; ++i) {
    Datagram* d = pool.Acquire(100);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->pool_index, 7);
    EXPECT_EQ(d->capacity, 100u);
    EXPECT_LT(d->slot_index, 4u);
    slots.insert(d->slot_index);
    taken.push_back(d);
  }
  EXPECT_EQ(slots.size(), 4u);
  // Payloads do not overlap: fill each completely and read them back.
  for (size_t i = 0; i < taken.size(); ++i) {
    std::memset(taken[i]->payload(), static_cast<int>('a' + i), taken[i]->capacity);
    taken[i]->length = taken[i]->capacity;
  }
  for (size_t i = 0; i < taken.size(); ++i) {
    EXPECT_EQ(taken[i]->bytes(), std::string(100, static_cast<char>('a' + i)));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(taken[i]) % alignof(Datagram), 0u);
  }
}

TEST(DatagramPoolTest, SmallAndLargeRequestsTakeTheirOwnSize) {
  DatagramPool pool(0, SmallOptions());
  Datagram* small = pool.Acquire(1);
  Datagram* large = pool.Acquire(101);
  Datagram* largest = pool.Acquire(1000);
  ASSERT_NE(small, nullptr);
  ASSERT_NE(large, nullptr);
  ASSERT_NE(largest, nullptr);
  EXPECT_EQ(small->capacity, 100u);
  EXPECT_EQ(large->capacity, 1000u);
  EXPECT_GE(large->slot_index, 4u);
  EXPECT_EQ(pool.free_small(), 3u);
  EXPECT_EQ(pool.free_large(), 0u);
  std::memset(large->payload(), 'L', 1000);
  std::memset(largest->payload(), 'M', 1000);
  large->length = 1000;
  EXPECT_EQ(large->bytes(), std::string(1000, 'L'));
  EXPECT_EQ(pool.exhausted(), 0u);
}

TEST(DatagramPoolTest, ExhaustionReturnsNullAndCounts) {
  DatagramPool pool(0, SmallOptions());
  for (int i = 0; i < 2; ++i) ASSERT_NE(pool.Acquire(500), nullptr);
  EXPECT_EQ(pool.Acquire(500), nullptr);  // no large slot left
  EXPECT_EQ(pool.exhausted(), 1u);
  // A large request never falls back... and small ones still work.
  EXPECT_NE(pool.Acquire(50), nullptr);
  EXPECT_EQ(pool.Acquire(1001), nullptr);  // larger than any slot
  EXPECT_EQ(pool.exhausted(), 2u);
  for (int i = 0; i < 3; ++i) ASSERT_NE(pool.Acquire(50), nullptr);
  EXPECT_EQ(pool.Acquire(50), nullptr);
  EXPECT_EQ(pool.exhausted(), 3u);
}

TEST(DatagramPoolTest, ReleaseLocalMakesTheSlotAvailableAgain) {
  DatagramPool pool(0, SmallOptions());
  std::vector<Datagram*> all;
  while (Datagram* d = pool.Acquire(10)) all.push_back(d);
  ASSERT_EQ(all.size(), 4u);
  pool.ReleaseLocal(all[2]);
  EXPECT_EQ(pool.free_small(), 1u);
  EXPECT_EQ(pool.Acquire(10), all[2]);
  Datagram* large = pool.Acquire(200);
  ASSERT_NE(large, nullptr);
  pool.ReleaseLocal(large);
  EXPECT_EQ(pool.free_large(), 2u);
  EXPECT_EQ(pool.free_small(), 0u);
}

TEST(DatagramPoolTest, ReleaseFromAnotherThreadIsDrainedOnDemand) {
  DatagramPool pool(0, SmallOptions());
  std::vector<Datagram*> small;
  std::vector<Datagram*> large;
  while (Datagram* d = pool.Acquire(10)) small.push_back(d);
  while (Datagram* d = pool.Acquire(500)) large.push_back(d);
  ASSERT_EQ(small.size(), 4u);
  ASSERT_EQ(large.size(), 2u);
  const uint64_t exhausted = pool.exhausted();

  std::thread shard([&] {
    std::unique_ptr<DatagramPool::ReturnToken> token = pool.MakeReturnToken();
    for (Datagram* d : small) pool.Release(*token, d);
    for (Datagram* d : large) pool.Release(*token, d);
  });
  shard.join();
  // Returns are not visible in the free lists until the owner needs them.
  EXPECT_EQ(pool.free_small(), 0u);
  std::set<Datagram*> again;
  for (int i = 0; i < 4; ++i) {
    Datagram* d = pool.Acquire(10);
    ASSERT_NE(d, nullptr);
    again.insert(d);
  }
  EXPECT_EQ(again, std::set<Datagram*>(small.begin(), small.end()));
  // The drain sorted the large returns into their own list.
  EXPECT_EQ(pool.free_large(), 2u);
  EXPECT_EQ(pool.Acquire(10), nullptr);
  EXPECT_EQ(pool.exhausted(), exhausted + 1);
  EXPECT_EQ(pool.return_allocations(), 0u);
}

TEST(DatagramPoolTest, ConcurrentReturnsLoseNoSlot) {
  DatagramPoolOptions o = SmallOptions();
  o.small_slots = 512;
  o.large_slots = 0;
  DatagramPool pool(0, o);
  constexpr int kRounds = 200;
  constexpr int kThreads = 3;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Datagram*> taken;
    while (Datagram* d = pool.Acquire(10)) taken.push_back(d);
    ASSERT_EQ(taken.size(), 512u) << "round " << round;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&pool, &taken, t] {
        std::unique_ptr<DatagramPool::ReturnToken> token = pool.MakeReturnToken();
        for (size_t i = static_cast<size_t>(t); i < taken.size(); i += kThreads) {
          pool.Release(*token, taken[i]);
        }
      });
    }
    for (std::thread& th : threads) th.join();
  }
  EXPECT_EQ(pool.return_allocations(), 0u);
}

}  // namespace
}  // namespace sipshard::shard

// Unit tests of the shard inbox: bounded pushes, the sleep/wake handshake,
// and a bounded multi-thread stress together with the datagram pools.
#include "sipshard/shard/inbox.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <semaphore>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "sipshard/shard/datagram_pool.h"

namespace sipshard::shard {
namespace {

using Clock = std::chrono::steady_clock;

// Distinct fake datagram pointers for single-threaded tests (never read).
Datagram* Fake(size_t i) {
  static Datagram storage[4096];
  return &storage[i % 4096];
}

TEST(InboxTest, PushPopKeepsProducerOrder) {
  Inbox inbox(64, 1);
  std::unique_ptr<Inbox::ProducerToken> token = inbox.MakeProducerToken();
  for (size_t i = 0; i < 40; ++i) ASSERT_TRUE(inbox.TryPush(*token, Fake(i)));
  EXPECT_EQ(inbox.SizeApprox(), 40u);
  Datagram* out[64];
  size_t total = 0;
  while (size_t n = inbox.PopBulk(out + total, 16)) {
    total += n;
    ASSERT_LE(total, 40u);
  }
  ASSERT_EQ(total, 40u);
  for (size_t i = 0; i < 40; ++i) EXPECT_EQ(out[i], Fake(i)) << i;
  EXPECT_EQ(inbox.PopBulk(out, 16), 0u);
}

TEST(InboxTest, FullInboxRefusesAndRecoversAfterDraining) {
  constexpr size_t kCapacity = 1024;
  Inbox inbox(kCapacity, 2);
  std::unique_ptr<Inbox::ProducerToken> token = inbox.MakeProducerToken();
  size_t accepted = 0;
  // Bounded: the queue never grows, so it must refuse within a few times
  // its nominal capacity (moodycamel rounds up to whole blocks).
  while (accepted < 8 * kCapacity && inbox.TryPush(*token, Fake(accepted))) ++accepted;
  EXPECT_GE(accepted, kCapacity);
  EXPECT_LT(accepted, 8 * kCapacity);
  EXPECT_FALSE(inbox.TryPush(*token, Fake(0)));

  Datagram* out[256];
  size_t drained = 0;
  while (size_t n = inbox.PopBulk(out, 256)) drained += n;
  EXPECT_EQ(drained, accepted);
  EXPECT_TRUE(inbox.TryPush(*token, Fake(1)));
}

TEST(InboxTest, PrepareToSleepRefusesWhenDatagramsAreWaiting) {
  Inbox inbox(64, 1);
  std::unique_ptr<Inbox::ProducerToken> token = inbox.MakeProducerToken();
  ASSERT_TRUE(inbox.TryPush(*token, Fake(0)));
  EXPECT_FALSE(inbox.PrepareToSleep());
  // The announcement was withdrawn: nobody has to wake the shard.
  EXPECT_FALSE(inbox.ClaimWakeup());
  Datagram* out[4];
  ASSERT_EQ(inbox.PopBulk(out, 4), 1u);
  EXPECT_TRUE(inbox.PrepareToSleep());
}

TEST(InboxTest, ClaimWakeupIsTrueExactlyOnceAfterPrepareToSleep) {
  Inbox inbox(64, 1);
  EXPECT_FALSE(inbox.ClaimWakeup());  // the shard never announced sleep
  ASSERT_TRUE(inbox.PrepareToSleep());
  EXPECT_TRUE(inbox.ClaimWakeup());
  EXPECT_FALSE(inbox.ClaimWakeup());
  EXPECT_FALSE(inbox.ClaimWakeup());

  ASSERT_TRUE(inbox.PrepareToSleep());
  inbox.Awake();  // woken by a timer instead
  EXPECT_FALSE(inbox.ClaimWakeup());
}

TEST(InboxTest, ConcurrentClaimsWakeExactlyOncePerAnnouncement) {
  // Producers claim continuously; the shard announces sleep again only
  // after the previous announcement was claimed. A double claim shows up
  // as more wins than announcements.
  constexpr int kThreads = 3;
  constexpr int kRounds = 1000;
  Inbox inbox(64, kThreads);
  std::atomic<bool> stop{false};
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!stop.load(std::memory_order_acquire)) {
        if (inbox.ClaimWakeup()) wins.fetch_add(1, std::memory_order_acq_rel);
        std::this_thread::yield();
      }
    });
  }
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
  int max_seen = 0;
  bool timed_out = false;
  for (int r = 0; r < kRounds && !timed_out; ++r) {
    ASSERT_TRUE(inbox.PrepareToSleep());
    while (wins.load(std::memory_order_acquire) < r + 1) {
      if (Clock::now() > deadline) {
        timed_out = true;
        break;
      }
      std::this_thread::yield();
    }
    max_seen = std::max(max_seen, wins.load() - (r + 1));
  }
  stop.store(true, std::memory_order_release);
  for (std::thread& t : threads) t.join();
  ASSERT_FALSE(timed_out) << "an announcement was never claimed";
  EXPECT_EQ(max_seen, 0);
  EXPECT_EQ(wins.load(), kRounds);
}

// The handshake end to end: a consumer that really blocks whenever
// PrepareToSleep says so, producers that wake it only when ClaimWakeup
// says so. A lost wake-up leaves the consumer blocked past the deadline.
TEST(InboxTest, SleepHandshakeLosesNoWakeup) {
  constexpr int kProducers = 2;
  constexpr int kPerProducer = 20000;
  Inbox inbox(1 << 16, kProducers);
  std::counting_semaphore<> wake(0);
  std::atomic<uint64_t> wakeups{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::unique_ptr<Inbox::ProducerToken> token = inbox.MakeProducerToken();
      for (int i = 0; i < kPerProducer; ++i) {
        while (!inbox.TryPush(*token, Fake(static_cast<size_t>(p * kPerProducer + i)))) {
          std::this_thread::yield();
        }
        if (inbox.ClaimWakeup()) {
          wakeups.fetch_add(1);
          wake.release();
        }
      }
    });
  }
  int received = 0;
  bool lost = false;
  Datagram* out[64];
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
  while (received < kProducers * kPerProducer) {
    if (size_t n = inbox.PopBulk(out, 64)) {
      received += static_cast<int>(n);
      continue;
    }
    if (!inbox.PrepareToSleep()) continue;
    if (!wake.try_acquire_until(deadline)) {
      lost = true;
      break;
    }
    inbox.Awake();
  }
  for (std::thread& t : producers) t.join();
  EXPECT_FALSE(lost) << "consumer slept with " << inbox.SizeApprox() << " datagrams waiting";
  EXPECT_EQ(received, kProducers * kPerProducer);
}

// Two receive threads, each with its own pool, push into one inbox; the
// shard releases every datagram back to the pool it came from. Every
// datagram is either consumed (in per-producer order) or counted as a
// failed push or a failed acquire.
TEST(InboxTest, StressEveryDatagramIsConsumedOrCounted) {
  constexpr int kProducers = 2;
  constexpr uint32_t kPerProducer = 200000;
  Inbox inbox(1024, kProducers);
  DatagramPoolOptions options;
  options.small_slots = 2048;
  options.small_payload = 64;
  options.large_slots = 0;
  options.max_returning_threads = 1;
  std::vector<std::unique_ptr<DatagramPool>> pools;
  for (int p = 0; p < kProducers; ++p) pools.push_back(std::make_unique<DatagramPool>(p, options));

  struct ProducerStats {
    uint64_t pushed = 0;
    uint64_t failed_push = 0;
    uint64_t failed_acquire = 0;
  };
  std::vector<ProducerStats> stats(kProducers);
  std::atomic<int> producers_done{0};
  std::atomic<bool> abort{false};
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);

  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      DatagramPool& pool = *pools[static_cast<size_t>(p)];
      ProducerStats& s = stats[static_cast<size_t>(p)];
      std::unique_ptr<Inbox::ProducerToken> token = inbox.MakeProducerToken();
      for (uint32_t seq = 0; seq < kPerProducer && !abort.load(std::memory_order_relaxed); ++seq) {
        Datagram* d = pool.Acquire(sizeof seq);
        if (d == nullptr) {
          ++s.failed_acquire;
          std::this_thread::yield();  // let the shard catch up (no timing assumed)
          continue;
        }
        std::memcpy(d->payload(), &seq, sizeof seq);
        d->length = sizeof seq;
        if (inbox.TryPush(*token, d)) {
          ++s.pushed;
        } else {
          ++s.failed_push;
          pool.ReleaseLocal(d);
          std::this_thread::yield();
        }
      }
      producers_done.fetch_add(1, std::memory_order_release);
    });
  }

  // The shard, on this thread.
  std::vector<std::unique_ptr<DatagramPool::ReturnToken>> returns;
  for (auto& pool : pools) returns.push_back(pool->MakeReturnToken());
  std::vector<uint64_t> consumed(kProducers, 0);
  std::vector<int64_t> last_seq(kProducers, -1);
  uint64_t out_of_order = 0;
  uint64_t bad_datagrams = 0;
  bool timed_out = false;
  Datagram* batch[64];
  while (true) {
    const bool finished = producers_done.load(std::memory_order_acquire) == kProducers;
    const size_t n = inbox.PopBulk(batch, 64);
    for (size_t i = 0; i < n; ++i) {
      Datagram* d = batch[i];
      if (d->pool_index >= kProducers || d->length != sizeof(uint32_t)) {
        ++bad_datagrams;
        continue;
      }
      uint32_t seq;
      std::memcpy(&seq, d->payload(), sizeof seq);
      int64_t& last = last_seq[d->pool_index];
      if (static_cast<int64_t>(seq) <= last) ++out_of_order;
      last = seq;
      ++consumed[d->pool_index];
      pools[d->pool_index]->Release(*returns[d->pool_index], d);
    }
    if (n == 0 && finished) break;  // producers done before this empty pop
    if (Clock::now() > deadline) {
      timed_out = true;
      abort.store(true);
      break;
    }
  }
  for (std::thread& t : producers) t.join();

  ASSERT_FALSE(timed_out);
  EXPECT_EQ(bad_datagrams, 0u);
  EXPECT_EQ(out_of_order, 0u);
  for (int p = 0; p < kProducers; ++p) {
    SCOPED_TRACE(p);
    const ProducerStats& s = stats[static_cast<size_t>(p)];
    EXPECT_EQ(s.pushed, consumed[static_cast<size_t>(p)]);
    EXPECT_EQ(s.pushed + s.failed_push + s.failed_acquire, kPerProducer);
    EXPECT_GT(consumed[static_cast<size_t>(p)], 0u);
    EXPECT_EQ(pools[static_cast<size_t>(p)]->exhausted(), s.failed_acquire);
    EXPECT_EQ(pools[static_cast<size_t>(p)]->return_allocations(), 0u);
  }
  EXPECT_EQ(inbox.SizeApprox(), 0u);
}

}  // namespace
}  // namespace sipshard::shard

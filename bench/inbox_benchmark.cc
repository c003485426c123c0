// The receive→inbox→shard hand-off in one process, without sockets: how
// many datagrams per second one receive thread can pass to one shard.
//
// The benchmark thread plays the receive thread: it acquires a DatagramPool
// slot, copies a ~900-byte INVITE into it, pushes it into the shard's Inbox,
// and calls ClaimWakeup() once per batch. A consumer thread plays the shard:
// it PopBulk()s up to 64, reads the bytes and Release()s each slot to the
// pool through its return token. The pool and the inbox have the daemon's
// default sizes, so a consumer that falls behind throttles the producer
// exactly as in the daemon (the producer then waits instead of dropping, so
// that every run moves the same datagrams; waits are reported as stalls).
//
// Arguments: producer batch (datagrams between ClaimWakeup calls) and the
// consumer's idle policy: 0 spins (busy_poll), 1 sleeps after the Inbox
// handshake and is woken with a futex (std::atomic::wait/notify), the cost
// a sleeping shard adds. BM_InboxHandoffWithShardChoice also does what the
// real receive thread does per datagram before pushing: SelectShard (find
// the Call-ID, hash it). items/s = datagrams through the queue, wall time.
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "sipshard/shard/datagram_pool.h"
#include "sipshard/shard/inbox.h"
#include "sipshard/shard/shard_selector.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::shard {
namespace {

constexpr size_t kInboxCapacity = 16384;  // server.inbox_capacity default
constexpr size_t kPopBatch = 64;          // what a shard pops at once
constexpr int kPayloads = 64;             // distinct Call-IDs, rotated

int64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::vector<std::string> Payloads() {
  std::vector<std::string> out;
  for (int i = 0; i < kPayloads; ++i) {
    out.push_back(testing::TypicalInvite("bench-" + std::to_string(i) + "@198.51.100.7",
                                         "z9hG4bKinbox" + std::to_string(i)));
  }
  return out;
}

// The shard side: drains the inbox and returns the slots until stopped.
class Consumer {
 public:
  Consumer(Inbox& inbox, DatagramPool& pool, bool sleeps)
      : inbox_(&inbox), pool_(&pool), sleeps_(sleeps), token_(pool.MakeReturnToken()) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Consumer() { Stop(0); }

  // Called by the producer when ClaimWakeup() says the consumer sleeps.
  void Wake() {
    wake_sequence_.fetch_add(1, std::memory_order_release);
    wake_sequence_.notify_one();
  }
  // Stops after `expected` datagrams were consumed (waits at most 5 s).
  void Stop(uint64_t expected) {
    if (!thread_.joinable()) return;
    for (int i = 0; i < 5000 && consumed() < expected; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    stop_.store(true, std::memory_order_release);
    Wake();
    thread_.join();
  }
  uint64_t consumed() const { return consumed_.load(std::memory_order_acquire); }
  uint64_t sleeps() const { return sleeps_taken_; }
  // The consumer thread's CPU time over its whole run; valid after Stop().
  int64_t cpu_ns() const { return cpu_ns_; }

 private:
  void Run() {
    const int64_t cpu_start = ThreadCpuNs();
    Datagram* batch[kPopBatch];
    uint64_t checksum = 0;
    while (true) {
      const size_t n = inbox_->PopBulk(batch, kPopBatch);
      for (size_t i = 0; i < n; ++i) {
        // Touch the datagram as a parser would: every cache line of it.
        const std::string_view bytes = batch[i]->bytes();
        for (size_t p = 0; p < bytes.size(); p += 64)
          checksum += static_cast<unsigned char>(bytes[p]);
        pool_->Release(*token_, batch[i]);
      }
      if (n > 0) {
        consumed_.fetch_add(n, std::memory_order_release);
        continue;
      }
      if (stop_.load(std::memory_order_acquire)) break;
      if (!sleeps_) {
        std::this_thread::yield();
        continue;
      }
      const uint32_t seen = wake_sequence_.load(std::memory_order_acquire);
      if (!inbox_->PrepareToSleep()) continue;
      if (stop_.load(std::memory_order_acquire)) break;
      ++sleeps_taken_;
      wake_sequence_.wait(seen, std::memory_order_acquire);
      inbox_->Awake();
    }
    benchmark::DoNotOptimize(checksum);
    cpu_ns_ = ThreadCpuNs() - cpu_start;
  }

  Inbox* inbox_;
  DatagramPool* pool_;
  bool sleeps_;
  std::unique_ptr<DatagramPool::ReturnToken> token_;
  std::atomic<bool> stop_{false};
  alignas(64) std::atomic<uint64_t> consumed_{0};
  alignas(64) std::atomic<uint32_t> wake_sequence_{0};
  uint64_t sleeps_taken_ = 0;
  int64_t cpu_ns_ = 0;
  std::thread thread_;
};

template <bool kSelectShard>
void InboxHandoff(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const bool sleeps = state.range(1) != 0;
  const std::vector<std::string> payloads = Payloads();
  DatagramPool pool(0, DatagramPoolOptions{});
  Inbox inbox(kInboxCapacity, 1);
  std::unique_ptr<Inbox::ProducerToken> token = inbox.MakeProducerToken();
  Consumer consumer(inbox, pool, sleeps);

  uint64_t produced = 0;
  uint64_t stalls = 0;
  uint64_t wakeups = 0;
  const int64_t producer_cpu_start = ThreadCpuNs();
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) {
      const std::string& payload = payloads[produced % kPayloads];
      if constexpr (kSelectShard) {
        benchmark::DoNotOptimize(SelectShard(payload, 4));
      }
      Datagram* d = pool.Acquire(payload.size());
      while (d == nullptr) {  // every slot is in flight: the consumer lags
        ++stalls;
        if (inbox.ClaimWakeup()) {
          ++wakeups;
          consumer.Wake();
        }
        std::this_thread::yield();
        d = pool.Acquire(payload.size());
      }
      d->length = static_cast<uint32_t>(payload.size());
      std::memcpy(d->payload(), payload.data(), payload.size());
      while (!inbox.TryPush(*token, d)) {  // not with 4096 slots < capacity
        ++stalls;
        if (inbox.ClaimWakeup()) {
          ++wakeups;
          consumer.Wake();
        }
        std::this_thread::yield();
      }
      ++produced;
    }
    if (inbox.ClaimWakeup()) {
      ++wakeups;
      consumer.Wake();
    }
  }
  const int64_t producer_cpu = ThreadCpuNs() - producer_cpu_start;
  consumer.Stop(produced);
  if (consumer.consumed() != produced) state.SkipWithError("datagrams lost in the hand-off");
  state.SetItemsProcessed(static_cast<int64_t>(produced));
  state.SetBytesProcessed(static_cast<int64_t>(produced * payloads[0].size()));
  const double items = static_cast<double>(produced);
  state.counters["wakeups/item"] = benchmark::Counter(static_cast<double>(wakeups) / items);
  state.counters["sleeps/item"] =
      benchmark::Counter(static_cast<double>(consumer.sleeps()) / items);
  state.counters["stalls/item"] = benchmark::Counter(static_cast<double>(stalls) / items);
  // Thread CPU per datagram on each side. The spinning consumer also burns
  // CPU while idle, so its figure is only an upper bound.
  state.counters["rx_cpu_ns/item"] = benchmark::Counter(static_cast<double>(producer_cpu) / items);
  state.counters["shard_cpu_ns/item"] =
      benchmark::Counter(static_cast<double>(consumer.cpu_ns()) / items);
}

void BM_InboxHandoff(benchmark::State& state) { InboxHandoff<false>(state); }
void BM_InboxHandoffWithShardChoice(benchmark::State& state) { InboxHandoff<true>(state); }

void HandoffArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "sleeping"});
  for (int sleeping : {0, 1}) {
    for (int batch : {1, 16, 64}) b->Args({batch, sleeping});
  }
  b->UseRealTime();
}

BENCHMARK(BM_InboxHandoff)->Apply(HandoffArgs);
BENCHMARK(BM_InboxHandoffWithShardChoice)->Apply(HandoffArgs);

}  // namespace
}  // namespace sipshard::shard

// Fixed pool of Datagram slots owned by one receive thread.
//
// Receive threads must not allocate per datagram, and the inbox must carry
// only a pointer. So each receive thread preallocates slots in two sizes
// (most SIP fits a small slot; the rare large datagram takes a large one)
// and shards hand slots back through a lock-free return queue, drained by
// the owner when its free list runs dry. A datagram that finds no slot is
// dropped and counted: UDP peers retransmit.
//
// Thread affinity: Acquire/ReleaseLocal and the counters belong to the
// owning receive thread; Release may be called from any shard thread that
// holds a ReturnToken made for this pool.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>

#include "sipshard/shard/datagram.h"

namespace sipshard::shard {

struct DatagramPoolOptions {
  uint32_t small_slots = 4096;
  uint32_t small_payload = 4096 - sizeof(Datagram);
  uint32_t large_slots = 64;
  uint32_t large_payload = 65535;
  uint32_t max_returning_threads = 64;  // shards that may Release concurrently
};

class DatagramPool {
 public:
  using ReturnToken = moodycamel::ProducerToken;

  DatagramPool(uint16_t pool_index, const DatagramPoolOptions& options);
  DatagramPool(const DatagramPool&) = delete;
  DatagramPool& operator=(const DatagramPool&) = delete;

  // Returns a slot able to hold `length` payload bytes, or nullptr when
  // none is free (the caller drops and counts). Owner thread only.
  Datagram* Acquire(size_t length);

  // Gives a slot back from the owner thread (e.g. after a full inbox).
  void ReleaseLocal(Datagram* datagram);

  // Gives a slot back from another thread. Never blocks; never loses a
  // slot (falls back to an allocating enqueue, counted, if the preallocated
  // queue space is somehow exhausted).
  void Release(ReturnToken& token, Datagram* datagram);

  // Creates the token a releasing thread keeps for this pool.
  std::unique_ptr<ReturnToken> MakeReturnToken() {
    return std::make_unique<ReturnToken>(returns_);
  }

  uint16_t pool_index() const { return pool_index_; }
  size_t free_small() const { return free_small_.size(); }
  size_t free_large() const { return free_large_.size(); }
  uint64_t exhausted() const { return exhausted_; }
  uint64_t return_allocations() const {
    return return_allocations_.load(std::memory_order_relaxed);
  }

 private:
  Datagram* SlotAt(uint32_t index);
  void DrainReturns();
  void PutBack(uint32_t slot_index);

  uint16_t pool_index_;
  DatagramPoolOptions options_;
  size_t small_stride_;
  size_t large_stride_;
  std::unique_ptr<std::byte[]> small_memory_;
  std::unique_ptr<std::byte[]> large_memory_;
  std::vector<uint32_t> free_small_;
  std::vector<uint32_t> free_large_;
  moodycamel::ConcurrentQueue<uint32_t> returns_;
  uint64_t exhausted_ = 0;
  std::atomic<uint64_t> return_allocations_{0};
};

}  // namespace sipshard::shard

// A worker shard's inbox: the only way datagrams reach a shard.
//
// Many receive threads produce, one shard consumes. The queue is bounded
// and preallocated (a full inbox drops and counts; it never grows), and FIFO
// per receive thread only, which SIP over UDP tolerates anyway.
//
// Sleep/wake handshake (the Seastar pattern): the shard announces it is
// about to sleep, fences, and re-checks the queue; a producer enqueues,
// fences, and wakes the shard only if it announced sleep. Either the shard
// sees the datagram or the producer sees the flag, so no wake-up is lost,
// and a busy shard is never woken at all: wake-ups cost 10-15 µs of CPU in
// a VM, more than the datagram itself.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

#include <concurrentqueue/concurrentqueue.h>

#include "sipshard/shard/datagram.h"

namespace sipshard::shard {

class Inbox {
 public:
  using ProducerToken = moodycamel::ProducerToken;

  Inbox(size_t capacity, size_t max_producers);
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Producer side (any receive thread with its own token).
  std::unique_ptr<ProducerToken> MakeProducerToken() {
    return std::make_unique<ProducerToken>(queue_);
  }
  // Returns false when the inbox is full; never allocates.
  bool TryPush(ProducerToken& token, Datagram* datagram) {
    return queue_.try_enqueue(token, datagram);
  }
  // Returns true for exactly one caller after the shard announced sleep:
  // that caller must wake the shard. Call after a batch of pushes.
  bool ClaimWakeup() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return sleeping_.load(std::memory_order_relaxed) &&
           sleeping_.exchange(false, std::memory_order_acq_rel);
  }

  // Consumer side (the owning shard only).
  size_t PopBulk(Datagram** out, size_t max) {
    return queue_.try_dequeue_bulk(consumer_, out, max);
  }
  // Announces sleep; returns false (and withdraws) if datagrams arrived
  // meanwhile, in which case the shard must not sleep.
  bool PrepareToSleep() {
    sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (queue_.size_approx() == 0) return true;
    sleeping_.store(false, std::memory_order_relaxed);
    return false;
  }
  // Withdraws the announcement after waking (by wake-up, timer or I/O).
  void Awake() { sleeping_.store(false, std::memory_order_relaxed); }
  size_t SizeApprox() const { return queue_.size_approx(); }

 private:
  moodycamel::ConcurrentQueue<Datagram*> queue_;
  moodycamel::ConsumerToken consumer_;
  alignas(64) std::atomic<bool> sleeping_{false};
};

}  // namespace sipshard::shard

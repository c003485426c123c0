// A shard's control mailbox: how shards tell each other about destination
// health (dispatch::ControlMessage: events to a destination's owner, state
// changes from the owner to everyone).
//
// Many shards produce (each with its own token), the owning shard consumes,
// draining it every loop turn next to its inbox. Bounded and preallocated:
// a full mailbox refuses (the sender counts, and retries state changes), it
// never grows and never blocks. Wake-ups use the Inbox handshake (Seastar's
// pattern): the shard announces sleep on both its inbox and its mailbox and
// re-checks both; a sender enqueues, fences and, if it claims the wake-up,
// posts a msg_ring from its own ring to the shard's ring (ring_fd()). So a
// health change reaches a sleeping shard at once, not after its idle sleep.
//
// Thread affinity: owned by the ShardGroup, created before any shard starts
// (so a shard may post to one that has not started yet: the message waits).
// Producers: any shard thread; consumer: the owning shard only.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>

#include "sipshard/dispatch/destination_set.h"
#include "sipshard/dispatch/health.h"

namespace sipshard::shard {

class Mailbox {
 public:
  using ProducerToken = moodycamel::ProducerToken;
  static constexpr size_t kDefaultCapacity = 4096;

  Mailbox(size_t capacity, size_t max_producers)
      : queue_(capacity, max_producers, 0), consumer_(queue_) {}
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Producer side.
  std::unique_ptr<ProducerToken> MakeProducerToken() {
    return std::make_unique<ProducerToken>(queue_);
  }
  // Returns false when full; never allocates.
  bool TryPush(ProducerToken& token, const dispatch::ControlMessage& message) {
    return queue_.try_enqueue(token, message);
  }
  // True for exactly one caller after the consumer announced sleep: that
  // caller must wake it (msg_ring to ring_fd()).
  bool ClaimWakeup() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return sleeping_.load(std::memory_order_relaxed) &&
           sleeping_.exchange(false, std::memory_order_acq_rel);
  }
  // The consumer's ring, -1 until it has started.
  int ring_fd() const { return ring_fd_.load(std::memory_order_acquire); }

  // Consumer side.
  void set_ring_fd(int fd) { ring_fd_.store(fd, std::memory_order_release); }
  size_t PopBulk(dispatch::ControlMessage* out, size_t max) {
    return queue_.try_dequeue_bulk(consumer_, out, max);
  }
  // Announces sleep; false (withdrawn) if messages arrived meanwhile.
  bool PrepareToSleep() {
    sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (queue_.size_approx() == 0) return true;
    sleeping_.store(false, std::memory_order_relaxed);
    return false;
  }
  void Awake() { sleeping_.store(false, std::memory_order_relaxed); }
  size_t SizeApprox() const { return queue_.size_approx(); }

 private:
  moodycamel::ConcurrentQueue<dispatch::ControlMessage> queue_;
  moodycamel::ConsumerToken consumer_;
  std::atomic<int> ring_fd_{-1};
  alignas(64) std::atomic<bool> sleeping_{false};
};

// What the shards of one group share besides their inboxes: one mailbox
// per shard and one LoadBoard per destination set (config order). Built by
// the ShardGroup before any shard starts; outlives them all.
struct ControlPlane {
  std::vector<std::unique_ptr<Mailbox>> mailboxes;
  std::vector<std::shared_ptr<dispatch::LoadBoard>> load_boards;
};

}  // namespace sipshard::shard

// Destination health on one shard: OPTIONS probing of the destinations this
// shard owns, passive health reports and Retry-After holds from this
// shard's branches, and the cross-shard state propagation (dispatch/health.h
// describes the model).
//
//  - Probing (sets with [sets.probing] enabled = true): the owner shard
//    sends an OPTIONS to each destination it owns every interval_ms (a
//    minimal probe sender: one probe in flight per destination, its own
//    timeout on the shard's TimerWheel, no retransmission; a lost probe is
//    one failure and `fall` absorbs loss). The Via branch encodes shard,
//    set, destination and sequence (txn::FormatProbeBranch), so receive
//    threads route the answer back to the owner and a late answer to an
//    older probe is ignored. A final answer that is 2xx or in
//    accepted_codes is a success; anything else, or no final answer within
//    timeout_ms, a failure.
//  - Passive health: the StatefulProxy reports how every branch ended
//    (OnBranchOutcome). 408, 5xx and transport errors go to the owner as
//    failures when passive_fall > 0; the first answer after a reported
//    failure goes as a success (so the counter means "consecutive").
//  - Retry-After: a 503 carrying Retry-After takes the destination out at
//    once on this shard and, through the owner, on every shard, for that
//    many seconds (capped by retry_after_max_ms).
//  - The owner runs the HealthTracker and broadcasts every change of the
//    effective state (kSetState) to all shards, itself included; each
//    applies it to its DestinationSet copy with SetState.
//
// Thread affinity: one HealthMonitor per shard, owned by its ProxyCore and
// used only on the shard's thread. Messages to other shards go through the
// ControlBus (the shard's mailboxes); nothing here blocks or locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sipshard/base/clock.h"
#include "sipshard/base/timer_wheel.h"
#include "sipshard/config/config.h"
#include "sipshard/dispatch/destination_set.h"
#include "sipshard/dispatch/health.h"
#include "sipshard/metrics/shard_counters.h"
#include "sipshard/sip/message.h"
#include "sipshard/txn/sender.h"

namespace sipshard::proxy {

struct ListenIdentity;

// Delivers control messages to other shards (the shard layer's mailboxes).
class ControlBus {
 public:
  virtual ~ControlBus() = default;
  // Queues `message` for shard `shard` and wakes it if it sleeps. Returns
  // false when its mailbox is full. Never blocks.
  virtual bool Post(uint16_t shard, const dispatch::ControlMessage& message) = 0;
};

// Returns the delta-seconds of the response's Retry-After (§20.33), or -1.
int64_t RetryAfterSeconds(const sip::Message& response);

struct HealthMonitorOptions {
  uint16_t shard = 0;
  uint16_t shard_count = 1;
  const config::Config* config = nullptr;
  std::vector<dispatch::DestinationSet>* sets = nullptr;  // this shard's copies
  const std::vector<ListenIdentity>* listens = nullptr;
  txn::Sender* sender = nullptr;
  base::TimerWheel* wheel = nullptr;
  metrics::ShardCounters* counters = nullptr;
  ControlBus* bus = nullptr;  // null: a single shard (tests)
};

class HealthMonitor {
 public:
  explicit HealthMonitor(const HealthMonitorOptions& options);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Reports how a branch to `destination` of set `set` ended: its final
  // `code` (`local`: a timeout or transport error made up here) and the
  // Retry-After of a 503 in seconds (-1: none).
  void OnBranchOutcome(size_t set, size_t destination, int code, bool local,
                       int64_t retry_after_s);
  // Applies a message from this shard's mailbox.
  void Apply(const dispatch::ControlMessage& message);
  // Consumes the answer to one of our probes; false if `response` does not
  // carry a probe branch.
  bool HandleProbeResponse(const sip::Message& response);
  // Re-posts broadcasts that found a full mailbox (called every loop turn).
  void Flush();

  bool Owns(size_t set, size_t destination) const;
  // The owner's view (tests, logs).
  const dispatch::HealthTracker& tracker(size_t set) const { return trackers_[set]; }

 private:
  struct Entry;

  Entry& EntryOf(size_t set, size_t destination) {
    return *entries_[offsets_[set] + destination];
  }
  // Delivers an event to the owner (directly when that is us).
  void ToOwner(const dispatch::ControlMessage& message);
  // Runs an event on the owner's tracker and broadcasts a change.
  void OnOwnerEvent(const dispatch::ControlMessage& message);
  void Broadcast(size_t set, size_t destination, dispatch::DestinationState state);
  void ApplyState(size_t set, size_t destination, dispatch::DestinationState state);
  void ArmHold(Entry& entry);
  void SendProbe(Entry& entry);
  void OnProbeResult(Entry& entry, bool ok);
  static void OnProbeTimer(base::TimerNode* node, void* ctx);
  static void OnTimeoutTimer(base::TimerNode* node, void* ctx);
  static void OnHoldTimer(base::TimerNode* node, void* ctx);
  base::Millis Now() const;

  HealthMonitorOptions options_;
  std::vector<dispatch::HealthTracker> trackers_;  // per set; used by owners
  std::vector<size_t> offsets_;                    // per set: first entry
  std::vector<std::unique_ptr<Entry>> entries_;    // per destination, all sets
  std::vector<std::string> from_uris_;             // per listen socket
  struct Pending {
    uint16_t shard;
    dispatch::ControlMessage message;
  };
  std::vector<Pending> pending_;  // broadcasts waiting for mailbox room
};

}  // namespace sipshard::proxy

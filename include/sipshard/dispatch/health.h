// Destination health: the fall/rise state machine of one destination set,
// and the control messages that carry health events and state changes
// between shards.
//
// Every destination has one owner shard (HealthOwner). Health events seen
// anywhere (an OPTIONS probe's result on the owner; a failed or recovered
// branch, a 503 with Retry-After on any shard) go to the owner as
// ControlMessages; the owner's HealthTracker turns them into the
// destination's effective state and, when it changes, the owner broadcasts
// a kSetState message that every shard applies to its own DestinationSet
// copy with SetState. No shard ever waits for another.
//
// Effective state: an administrative state other than active (inactive,
// draining, from the config) wins; otherwise kProbing while the
// destination is down (probe fall threshold, passive failures) or held by
// a 503 Retry-After, else kActive.
//
// Thread affinity: a HealthTracker belongs to the owner shard's thread and
// is pure logic (time is passed in), so it is unit-tested with plain
// numbers. ControlMessage is a small POD copied through the mailboxes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "sipshard/base/clock.h"
#include "sipshard/config/config.h"
#include "sipshard/dispatch/destination_set.h"

namespace sipshard::dispatch {

enum class ControlKind : uint8_t {
  kPassiveFailure,  // to the owner: a branch ended in 408/5xx/transport error
  kPassiveSuccess,  // to the owner: a branch got an answer after a failure
  kRetryAfter,      // to the owner: 503 with Retry-After, out until until_ms
  kSetState,        // from the owner to every shard: apply `state`
};

// One cross-shard message (mailbox item). Trivially copyable, 16 bytes.
struct ControlMessage {
  ControlKind kind = ControlKind::kSetState;
  DestinationState state = DestinationState::kActive;  // kSetState
  uint16_t set_index = 0;
  uint16_t destination_index = 0;
  uint16_t from_shard = 0;
  base::Millis until_ms = 0;  // kRetryAfter: monotonic deadline
};

// The owner shard of destination `destination` of set `set`: destinations
// are numbered across all sets in config order and spread round-robin
// over the shards, so probing work is balanced.
size_t HealthOwner(const config::Config& config, size_t set, size_t destination, size_t shards);

// The fall/rise state machine of every destination of one set. Each
// method returns the destination's new effective state when it changed.
class HealthTracker {
 public:
  explicit HealthTracker(const config::DestinationSetConfig& config);

  // An OPTIONS probe succeeded (`ok`) or failed (timeout, refused code).
  std::optional<DestinationState> OnProbe(size_t index, bool ok, base::Millis now);
  // A branch to the destination failed (408, 5xx, transport error).
  std::optional<DestinationState> OnPassiveFailure(size_t index, base::Millis now);
  // A branch got a non-failure answer after failures had been reported.
  std::optional<DestinationState> OnPassiveSuccess(size_t index, base::Millis now);
  // 503 with Retry-After: out until `until` (already capped by the caller).
  std::optional<DestinationState> OnRetryAfter(size_t index, base::Millis until, base::Millis now);
  // Re-evaluates the time-based holds (Retry-After, passive hold without
  // probing). Call at or after NextDeadline(index).
  std::optional<DestinationState> OnTick(size_t index, base::Millis now);
  // When OnTick has something to do for the destination, if ever.
  std::optional<base::Millis> NextDeadline(size_t index) const;

  DestinationState state(size_t index) const { return entries_[index].effective; }
  bool up(size_t index) const { return entries_[index].up; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    DestinationState admin = DestinationState::kActive;
    DestinationState effective = DestinationState::kActive;
    bool up = true;
    int probe_failures = 0;   // consecutive
    int probe_successes = 0;  // consecutive, while down
    int passive_failures = 0; // consecutive, across shards
    base::Millis hold_until = 0;  // Retry-After
    base::Millis down_until = 0;  // passive down without probing
  };

  std::optional<DestinationState> Update(size_t index, base::Millis now);

  bool probing_;
  int fall_;
  int rise_;
  int passive_fall_;
  base::Millis passive_hold_ms_;
  std::vector<Entry> entries_;
};

}  // namespace sipshard::dispatch

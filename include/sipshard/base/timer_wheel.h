// Hierarchical timing wheel: the clock of one shard's SIP transactions.
//
// Each shard owns one TimerWheel (the wheel lives in base/ so that txn/ can arm
// timers without depending on shard/) next to its transaction table. The RFC 3261
// transaction timers (A–M, retransmissions from T1 = 500 ms doubling to
// T2 = 4 s, 32 s timeouts) and the proxy's Timer C (> 3 min, §16.6 step 11)
// are TimerNodes embedded in the objects that own them (DESIGN-NOTES §4, §8).
// The shard loop calls Advance() once per iteration and sleeps no longer than
// NextDeadline(). Almost every timer is re-armed or cancelled before it
// expires (a response stops retransmission), so Arm and Cancel are O(1) list
// splices that never allocate. Work happens only for the few timers that
// actually reach their deadline.
//
// Layout: ms ticks, four levels of 256 slots (2^32 ms, about 49.7 days),
// plus one overflow list for deadlines further out. A timer sits at the level
// of the most significant byte in which its deadline differs from the wheel's
// current time, so level 0 holds the next 255 ms exactly. When time enters a
// higher slot's span, that slot is cascaded: its timers are re-filed, at most
// once per level on their way down. Overflow timers are re-filed each time
// time crosses a 2^32 ms boundary ("rounds"), so no deadline is ever clamped
// and nothing fires early however far out it is. The design note's 10 ms tick
// is deliberately not used: 1 ms ticks cost nothing here, and SIP timers are
// specified in ms.
//
// Semantics callers rely on:
//  - Advance(now) fires every timer whose deadline is <= now, never early, in
//    (deadline, arm order): timers due in the same ms fire in the order they
//    were (last) armed. The wheel's time steps through each due deadline, and
//    now() inside a callback is that callback's own deadline. So a periodic
//    timer that re-arms itself does not drift, and after a stall the missed
//    periods replay. A callback that wants "delay from the real clock" calls
//    ArmAt(clock_now + delay). Timers that were already due when armed (next
//    point) fire first, with now() still at the previous Advance's time.
//  - A timer armed with a deadline <= now() (delay <= 0, or ArmAt in the
//    past; its deadline becomes now()) fires at the start of the *next*
//    Advance call, even Advance(now()). From inside a callback this means
//    after the current Advance returns: a callback re-arming itself with delay
//    0 cannot livelock the shard, and the shard sees NextDeadline() == now()
//    and does not sleep.
//  - Callbacks may Arm, ArmAt or Cancel any node, including themselves and
//    nodes due in the same Advance that have not fired yet (such a node then
//    does not fire, or fires at its new deadline). They may destroy their own
//    node or its owner. They must not call Advance or destroy the wheel.
//  - NextDeadline() is O(1) and never later than the earliest armed
//    deadline. It is exact when that timer is on level 0 (due within the
//    current 256 ms block). Otherwise it may be earlier (the start of the
//    earliest occupied higher-level slot); advancing to it cascades that
//    slot, so the shard needs at most one extra wakeup per level.
//
// Callback form: a plain function pointer plus a context pointer per node.
// Expiry is one indirect call with no vtable load, nodes need no base class
// (a transaction can embed several), and std::function's size and possible
// heap use are avoided. CallMember<> adapts a member function.
//
// Thread affinity: shard-local. A wheel and every node armed on it belong to
// the shard's thread; there are no atomics or locks. Not copyable or movable:
// nodes link into the wheel and into each other.
#pragma once

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>

#include "sipshard/base/clock.h"

namespace sipshard::base {

class TimerWheel;

namespace timer_internal {

// Circular doubly linked list link. Slot heads are bare links, so the 1026
// heads take 16 KiB, and a node unlinks itself without knowing its list.
struct Link {
  Link* prev = this;
  Link* next = this;
};

}  // namespace timer_internal

// An intrusive timer, embedded in the object that owns it (a transaction).
// Arming links the node into a wheel and allocates nothing. Destroying an
// armed node cancels it. Not copyable or movable, since the wheel points at it.
class TimerNode : private timer_internal::Link {
 public:
  // Called when the node expires. The node is already disarmed, so the
  // callback may re-arm it, or destroy it.
  using Callback = void (*)(TimerNode* node, void* ctx);

  // A node without a callback must get one (set_callback) before arming.
  TimerNode() = default;
  TimerNode(Callback fn, void* ctx) : fn_(fn), ctx_(ctx) {}
  ~TimerNode();

  TimerNode(const TimerNode&) = delete;
  TimerNode& operator=(const TimerNode&) = delete;

  // Adapts a member function: TimerNode timer_{&TimerNode::CallMember<
  // Txn, &Txn::OnTimer>, this};
  template <typename T, void (T::*kMethod)()>
  static void CallMember(TimerNode* /*node*/, void* ctx) {
    (static_cast<T*>(ctx)->*kMethod)();
  }

  void set_callback(Callback fn, void* ctx) {
    fn_ = fn;
    ctx_ = ctx;
  }

  bool armed() const { return wheel_ != nullptr; }
  // Returns the deadline of the last arming. This is still valid in the
  // callback, after the node has been disarmed.
  base::Millis deadline() const { return deadline_; }

  // Disarms the node if armed; otherwise does nothing.
  void Cancel();

 private:
  friend class TimerWheel;

  TimerWheel* wheel_ = nullptr;  // Non-null exactly while armed.
  Callback fn_ = nullptr;
  void* ctx_ = nullptr;
  base::Millis deadline_ = 0;
  uint32_t slot_ = 0;  // Index into TimerWheel::heads_, while armed.
};

// Shard-local hierarchical timing wheel; see the file comment.
class TimerWheel {
 public:
  static constexpr int kLevelBits = 8;
  static constexpr int kLevels = 4;
  static constexpr int kSlotsPerLevel = 1 << kLevelBits;
  // Deadlines at least this far from now() go to the overflow list
  // first. They still fire exactly on time.
  static constexpr base::Millis kWheelSpan = base::Millis{1}
                                             << (kLevelBits * kLevels);

  // Starts the wheel's time at `start`; any value, negative included.
  explicit TimerWheel(base::Millis start) : origin_(start) {}
  // Disarms every node still armed, so nodes may outlive the wheel.
  ~TimerWheel();

  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms `node` to fire `delay` ms after now(); delay <= 0 means "on the
  // next Advance". An armed node is moved (from another wheel too).
  void Arm(TimerNode& node, base::Millis delay) {
    const base::Millis now_ms = now();
    base::Millis deadline = now_ms;
    if (delay > 0) {
      deadline = now_ms > 0 &&
                         delay > std::numeric_limits<base::Millis>::max() - now_ms
                     ? std::numeric_limits<base::Millis>::max()
                     : now_ms + delay;
    }
    ArmAt(node, deadline);
  }

  // Arms `node` to fire at the absolute time `deadline`, or at the next
  // Advance if deadline <= now(); the node's deadline() then reads now().
  void ArmAt(TimerNode& node, base::Millis deadline) {
    assert(node.fn_ != nullptr);
    if (node.wheel_ == this) {
      Unlink(node);
    } else {
      if (node.wheel_ != nullptr) node.wheel_->Cancel(node);
      node.wheel_ = this;
      ++armed_count_;
    }
    const base::Millis now_ms = now();
    node.deadline_ = deadline < now_ms ? now_ms : deadline;
    Insert(node);
  }

  // Arms `node` to fire between `delay` and `delay + slack` ms from now().
  // The wheel rounds the deadline up to the coarsest slot boundary within
  // the slack, so the node fires straight from the slot it was filed in
  // instead of being re-filed level by level. For waits that only need a
  // lower bound (the Completed/Accepted timers D, I, J, K, L, M): at
  // 1000 calls/s a shard holds ~4 such timers per call for 32 s, and each
  // re-filing touches a node nobody has touched since it was armed.
  void ArmWithSlack(TimerNode& node, base::Millis delay, base::Millis slack) {
    const base::Millis now_ms = now();
    if (delay <= 0 || slack <= 0 ||
        delay > std::numeric_limits<base::Millis>::max() - now_ms - slack) {
      Arm(node, delay);
      return;
    }
    const uint64_t when = Ticks(now_ms + delay);
    uint64_t rounded = when;
    for (int level = kLevels - 1; level > 0; --level) {
      const uint64_t granule = uint64_t{1} << (level * kLevelBits);
      const uint64_t up = (when + granule - 1) & ~(granule - 1);
      if (up - when <= static_cast<uint64_t>(slack)) {
        rounded = up;
        break;
      }
    }
    ArmAt(node, origin_ + static_cast<base::Millis>(rounded));
  }

  // Disarms `node` if it is armed (on this wheel); otherwise does nothing.
  void Cancel(TimerNode& node) {
    if (node.wheel_ == nullptr) return;
    assert(node.wheel_ == this);
    Unlink(node);
    node.wheel_ = nullptr;
    --armed_count_;
  }

  // Moves the wheel's time to `to` (a smaller value is treated as now())
  // and fires every timer due by then, as described in the file comment.
  // Cost: O(occupied slots passed + timers cascaded or fired),
  // independent of the number of ms elapsed.
  void Advance(base::Millis to);

  // Returns a time no later than the earliest armed deadline, now() if a
  // timer is already due, or nullopt if nothing is armed. O(1).
  std::optional<base::Millis> NextDeadline() const;

  // Returns the wheel's time: the last Advance target, or, inside a
  // callback, the deadline being fired.
  base::Millis now() const { return origin_ + static_cast<base::Millis>(now_); }

  size_t armed_count() const { return armed_count_; }

 private:
  using Link = timer_internal::Link;

  static constexpr uint32_t kWheelSlots = kLevels * kSlotsPerLevel;
  // Deadline at least kWheelSpan past the current 2^32 ms block.
  static constexpr uint32_t kOverflowSlot = kWheelSlots;
  // Deadline <= now_: fires at the start of the next Advance.
  static constexpr uint32_t kDueSlot = kWheelSlots + 1;

  // Ticks are ms since origin_. Armed deadlines are never before now(), so
  // they are never negative, and unsigned bit arithmetic picks the slot.
  uint64_t Ticks(base::Millis t) const {
    return static_cast<uint64_t>(t - origin_);
  }

  static bool Empty(const Link& head) { return head.next == &head; }

  static void Append(Link& head, Link& link) {
    link.prev = head.prev;
    link.next = &head;
    head.prev->next = &link;
    head.prev = &link;
  }

  // Files an armed node by its deadline relative to now_.
  void Insert(TimerNode& node) {
    const uint64_t when = Ticks(node.deadline_);
    uint32_t slot = kDueSlot;
    if (when > now_) {
      // Highest differing bit picks the level. Every higher byte already
      // equals now_'s, so the slot's byte is strictly ahead of now_'s.
      const int level = (std::bit_width(when ^ now_) - 1) / kLevelBits;
      if (level >= kLevels) {
        slot = kOverflowSlot;
      } else {
        slot = static_cast<uint32_t>(level * kSlotsPerLevel) +
               static_cast<uint32_t>((when >> (level * kLevelBits)) &
                                     (kSlotsPerLevel - 1));
        occupied_[slot / 64] |= uint64_t{1} << (slot % 64);
        occupied_words_ |= uint32_t{1} << (slot / 64);
      }
    }
    node.slot_ = slot;
    Append(heads_[slot], node);
  }

  // Removes a node from whatever list holds it: a slot, the due list, or an
  // Advance batch. Clears the slot's bit if the node was its last; the
  // check uses only pointers the unlink already loaded.
  void Unlink(TimerNode& node) {
    Link* prev = node.prev;
    Link* next = node.next;
    prev->next = next;
    next->prev = prev;
    if (prev == next && node.slot_ < kWheelSlots &&
        prev == &heads_[node.slot_]) {
      ClearOccupied(node.slot_);
    }
  }

  void ClearOccupied(uint32_t slot) {
    uint64_t& word = occupied_[slot / 64];
    word &= ~(uint64_t{1} << (slot % 64));
    if (word == 0) occupied_words_ &= ~(uint32_t{1} << (slot / 64));
  }

  // Finds the earliest tick at which something must happen: the deadline of
  // the first level-0 slot, or the start of the first occupied slot of the
  // lowest non-empty level, or the next 2^32 ms boundary for overflow.
  bool NextEvent(uint64_t* tick, uint32_t* slot) const;

  // Fires or re-files every node of `batch`, in order, until it is empty.
  void RunBatch(Link& batch);

  Link heads_[kWheelSlots + 2];
  // Bit per wheel slot: set iff the slot's list is non-empty. Slot order is
  // level-major, so the lowest set bit of occupied_words_ (bit per word of
  // occupied_) leads straight to the next event: O(1), not a level scan.
  uint64_t occupied_[kWheelSlots / 64] = {};
  uint32_t occupied_words_ = 0;
  static_assert(kWheelSlots / 64 <= 32);
  base::Millis origin_;
  uint64_t now_ = 0;  // Ticks since origin_.
  size_t armed_count_ = 0;
  bool advancing_ = false;
};

inline TimerNode::~TimerNode() {
  if (wheel_ != nullptr) wheel_->Cancel(*this);
}

inline void TimerNode::Cancel() {
  if (wheel_ != nullptr) wheel_->Cancel(*this);
}

}  // namespace sipshard::base

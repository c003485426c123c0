#include "sipshard/base/timer_wheel.h"

namespace sipshard::base {

TimerWheel::~TimerWheel() {
  assert(!advancing_);
  for (Link& head : heads_) {
    for (Link* link = head.next; link != &head; link = link->next) {
      static_cast<TimerNode*>(link)->wheel_ = nullptr;
    }
    head.prev = head.next = &head;
  }
}

bool TimerWheel::NextEvent(uint64_t* tick, uint32_t* slot) const {
  if (occupied_words_ != 0) {
    const int word = std::countr_zero(occupied_words_);
    const uint32_t index = static_cast<uint32_t>(
        word * 64 + std::countr_zero(occupied_[word]));
    const int level = static_cast<int>(index) / kSlotsPerLevel;
    const int shift = level * kLevelBits;
    // The lowest occupied slot of the lowest non-empty level. It lies ahead
    // of now_ within the current span of the level above, so its start is
    // now_ with this level's byte replaced and the lower bytes zeroed.
    const uint64_t span_mask = (uint64_t{1} << (shift + kLevelBits)) - 1;
    *tick = (now_ & ~span_mask) |
            (static_cast<uint64_t>(index % kSlotsPerLevel) << shift);
    *slot = index;
    assert(*tick > now_);
    return true;
  }
  if (!Empty(heads_[kOverflowSlot])) {
    *tick = (now_ | static_cast<uint64_t>(kWheelSpan - 1)) + 1;
    *slot = kOverflowSlot;
    return true;
  }
  return false;
}

std::optional<base::Millis> TimerWheel::NextDeadline() const {
  if (armed_count_ == 0) return std::nullopt;
  uint64_t tick;
  uint32_t slot;
  // Nothing filed but something armed: the rest is in a batch being fired.
  if (!Empty(heads_[kDueSlot]) || !NextEvent(&tick, &slot)) return now();
  return origin_ + static_cast<base::Millis>(tick);
}

void TimerWheel::RunBatch(Link& batch) {
  // Pop one node at a time: a callback may unlink, re-arm or destroy any
  // node still in the batch, and the batch must stay a valid list for it.
  while (!Empty(batch)) {
    TimerNode& node = *static_cast<TimerNode*>(batch.next);
    Link* next = node.next;
    batch.next = next;
    next->prev = &batch;
    if (Ticks(node.deadline_) <= now_) {
      node.wheel_ = nullptr;
      --armed_count_;
      // The node may be gone after this call; do not touch it again.
      node.fn_(&node, node.ctx_);
    } else {
      Insert(node);
    }
  }
}

void TimerWheel::Advance(base::Millis to) {
  assert(!advancing_ && "Advance called from a timer callback");
  const uint64_t target = to > now() ? Ticks(to) : now_;
  advancing_ = true;
  Link batch;
  // Take the due list whole, so nodes armed due by these callbacks wait
  // for the next Advance.
  auto take = [&batch](Link& head) {
    batch.next = head.next;
    batch.prev = head.prev;
    batch.next->prev = &batch;
    batch.prev->next = &batch;
    head.next = head.prev = &head;
  };
  if (!Empty(heads_[kDueSlot])) {
    take(heads_[kDueSlot]);
    RunBatch(batch);
  }
  uint64_t tick;
  uint32_t slot;
  while (NextEvent(&tick, &slot) && tick <= target) {
    // Nothing is due before `tick`, so time may jump there directly; this
    // is what makes an idle stretch cost nothing per ms.
    now_ = tick;
    take(heads_[slot]);
    if (slot < kWheelSlots) ClearOccupied(slot);
    RunBatch(batch);
  }
  now_ = target;
  advancing_ = false;
}

}  // namespace sipshard::base

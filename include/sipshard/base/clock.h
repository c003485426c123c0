// Time source for every state machine in sipshard.
//
// Transactions, timer wheels, health probing and rate pacing read time only
// through a Clock so that unit tests can drive them with ManualClock and no
// sleeping. The monotonic clock is the only one used on the data path.
// A Clock is owned by whoever creates the shard; ManualClock is test-only
// and single-threaded.
#pragma once

#include <cstdint>

namespace sipshard::base {

// Milliseconds on a monotonic timeline; the SIP timers are all in ms.
using Millis = int64_t;
// Nanoseconds on the same monotonic timeline, for latency measurement.
using Nanos = int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Nanos NowNanos() const = 0;
  Millis NowMillis() const { return NowNanos() / 1'000'000; }
};

// Reads CLOCK_MONOTONIC.
class MonotonicClock final : public Clock {
 public:
  Nanos NowNanos() const override;
  static const MonotonicClock& Instance();
};

// Holds a settable time; tests advance it explicitly.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Nanos start = 1'000'000'000) : now_(start) {}
  Nanos NowNanos() const override { return now_; }
  void AdvanceMillis(Millis ms) { now_ += ms * 1'000'000; }
  void SetNanos(Nanos now) { now_ = now; }

 private:
  Nanos now_;
};

}  // namespace sipshard::base

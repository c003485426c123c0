#include "sipshard/base/timer_wheel.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace sipshard::base {
namespace {


struct Fired {
  int id;
  Millis at;  // wheel.now() inside the callback
  bool operator==(const Fired&) const = default;
};

// A timer owner as a transaction would embed it, logging each expiry and
// optionally running a test-supplied action from inside the callback.
struct TestTimer {
  TestTimer(TimerWheel& w, std::vector<Fired>& l, int i)
      : wheel(&w), log(&l), id(i) {}

  static void OnFire(TimerNode* fired_node, void* ctx) {
    auto* self = static_cast<TestTimer*>(ctx);
    EXPECT_EQ(fired_node, &self->node);
    EXPECT_FALSE(fired_node->armed());
    self->log->push_back({self->id, self->wheel->now()});
    if (self->action) self->action(*self);
  }

  TimerWheel* wheel;
  std::vector<Fired>* log;
  int id;
  std::function<void(TestTimer&)> action;
  TimerNode node{&TestTimer::OnFire, this};
};

class TimerWheelTest : public ::testing::Test {
 protected:
  static constexpr Millis kStart = 1'000'000;

  TestTimer& Make(int id) {
    timers_.push_back(std::make_unique<TestTimer>(wheel_, log_, id));
    return *timers_.back();
  }

  TimerWheel wheel_{kStart};
  std::vector<Fired> log_;
  std::vector<std::unique_ptr<TestTimer>> timers_;
};

TEST_F(TimerWheelTest, FiresAtExactMillisecondNeverEarly) {
  TestTimer& t = Make(1);
  wheel_.Arm(t.node, 10);
  EXPECT_TRUE(t.node.armed());
  EXPECT_EQ(t.node.deadline(), kStart + 10);
  EXPECT_EQ(wheel_.armed_count(), 1u);
  wheel_.Advance(kStart + 9);
  EXPECT_TRUE(log_.empty());
  wheel_.Advance(kStart + 10);
  EXPECT_EQ(log_, (std::vector<Fired>{{1, kStart + 10}}));
  EXPECT_FALSE(t.node.armed());
  EXPECT_EQ(wheel_.armed_count(), 0u);
  EXPECT_EQ(wheel_.NextDeadline(), std::nullopt);
}

TEST_F(TimerWheelTest, SlackRoundsUpToASlotBoundaryNeverEarly) {
  // 32 s with 2 s of slack, at a phase that is not slot-aligned: the
  // deadline moves up to the next 256 ms boundary (a level-1 slot start),
  // never down, and never past the slack.
  wheel_.Advance(kStart + 123);
  TestTimer& t = Make(1);
  wheel_.ArmWithSlack(t.node, 32000, 2000);
  const Millis asked = kStart + 123 + 32000;
  EXPECT_GE(t.node.deadline(), asked);
  EXPECT_LE(t.node.deadline(), asked + 2000);
  EXPECT_EQ((t.node.deadline() - kStart) % 256, 0);
  wheel_.Advance(asked - 1);
  EXPECT_TRUE(log_.empty());
  wheel_.Advance(t.node.deadline() - 1);
  EXPECT_TRUE(log_.empty());
  const Millis deadline = t.node.deadline();
  wheel_.Advance(asked + 2000);
  EXPECT_EQ(log_, (std::vector<Fired>{{1, deadline}}));
}

TEST_F(TimerWheelTest, SlackSmallerThanASlotKeepsTheExactDeadline) {
  // 100 ms of slack cannot reach a 256 ms boundary: exact, as with Arm.
  wheel_.Advance(kStart + 7);
  TestTimer& t = Make(1);
  wheel_.ArmWithSlack(t.node, 5000, 100);
  EXPECT_EQ(t.node.deadline(), kStart + 7 + 5000);
  TestTimer& zero = Make(2);
  wheel_.ArmWithSlack(zero.node, 0, 1000);  // due: next Advance, as Arm(0)
  EXPECT_EQ(zero.node.deadline(), kStart + 7);
  wheel_.Advance(kStart + 7 + 5000);
  EXPECT_EQ(log_, (std::vector<Fired>{{2, kStart + 7}, {1, kStart + 7 + 5000}}));
}

TEST_F(TimerWheelTest, FiresInDeadlineOrder) {
  const Millis delays[] = {300, 5, 70'000, 256, 1, 255, 4'000, 180'000, 32'000};
  for (int i = 0; i < static_cast<int>(std::size(delays)); ++i) {
    wheel_.Arm(Make(i).node, delays[i]);
  }
  wheel_.Advance(kStart + 200'000);
  ASSERT_EQ(log_.size(), std::size(delays));
  for (size_t i = 0; i < log_.size(); ++i) {
    EXPECT_EQ(log_[i].at, kStart + delays[log_[i].id]);
    if (i > 0) {
      EXPECT_LT(log_[i - 1].at, log_[i].at);
    }
  }
}

TEST_F(TimerWheelTest, SameMillisecondFiresInArmOrder) {
  // A is filed at level 1 and cascades; B and C are armed later for the same
  // ms, directly at level 0 or level 1. Arm order must still hold, and a
  // re-arm counts as a new arming.
  const Millis deadline = kStart + 1'000;
  TestTimer& a = Make(1);
  TestTimer& b = Make(2);
  TestTimer& c = Make(3);
  TestTimer& d = Make(4);
  wheel_.ArmAt(a.node, deadline);
  wheel_.ArmAt(d.node, deadline);
  wheel_.Advance(kStart + 300);
  wheel_.ArmAt(b.node, deadline);
  wheel_.Advance(kStart + 900);
  wheel_.ArmAt(c.node, deadline);
  wheel_.ArmAt(d.node, deadline);  // Moves D behind C.
  wheel_.Advance(deadline);
  EXPECT_EQ(log_, (std::vector<Fired>{{1, deadline},
                                      {2, deadline},
                                      {3, deadline},
                                      {4, deadline}}));
}

TEST_F(TimerWheelTest, CancelBeforeFire) {
  TestTimer& a = Make(1);
  TestTimer& b = Make(2);
  wheel_.Arm(a.node, 500);
  wheel_.Arm(b.node, 500);
  a.node.Cancel();
  EXPECT_FALSE(a.node.armed());
  EXPECT_EQ(wheel_.armed_count(), 1u);
  a.node.Cancel();        // Idempotent.
  wheel_.Cancel(a.node);  // Also through the wheel.
  wheel_.Advance(kStart + 10'000);
  EXPECT_EQ(log_, (std::vector<Fired>{{2, kStart + 500}}));
  EXPECT_EQ(wheel_.armed_count(), 0u);
}

TEST_F(TimerWheelTest, RearmMovesArmedNode) {
  TestTimer& t = Make(1);
  wheel_.Arm(t.node, 32'000);
  wheel_.Arm(t.node, 500);  // Earlier.
  EXPECT_EQ(wheel_.armed_count(), 1u);
  EXPECT_LE(wheel_.NextDeadline(), kStart + 500);  // 500 is on level 1.
  wheel_.Advance(kStart + 400);
  wheel_.Arm(t.node, 4'000);  // Later, from a new now().
  EXPECT_EQ(t.node.deadline(), kStart + 4'400);
  wheel_.Advance(kStart + 40'000);
  EXPECT_EQ(log_, (std::vector<Fired>{{1, kStart + 4'400}}));
}

TEST_F(TimerWheelTest, ArmOnAnotherWheelMovesNode) {
  TimerWheel other(kStart);
  TestTimer& t = Make(1);
  wheel_.Arm(t.node, 10);
  other.Arm(t.node, 20);
  EXPECT_EQ(wheel_.armed_count(), 0u);
  EXPECT_EQ(other.armed_count(), 1u);
  wheel_.Advance(kStart + 100);
  EXPECT_TRUE(log_.empty());
  t.wheel = &other;
  other.Advance(kStart + 100);
  EXPECT_EQ(log_, (std::vector<Fired>{{1, kStart + 20}}));
}

TEST_F(TimerWheelTest, DestroyingArmedNodeCancelsIt) {
  auto doomed = std::make_unique<TestTimer>(wheel_, log_, 1);
  TestTimer& before = Make(2);
  TestTimer& after = Make(3);
  // Same slot, so the destroyed node sits between two live ones.
  wheel_.Arm(before.node, 50);
  wheel_.Arm(doomed->node, 50);
  wheel_.Arm(after.node, 50);
  doomed.reset();
  EXPECT_EQ(wheel_.armed_count(), 2u);
  wheel_.Advance(kStart + 50);
  EXPECT_EQ(log_, (std::vector<Fired>{{2, kStart + 50}, {3, kStart + 50}}));
}

TEST_F(TimerWheelTest, DestroyingLastNodeOfHigherSlotKeepsWheelConsistent) {
  auto doomed = std::make_unique<TestTimer>(wheel_, log_, 1);
  wheel_.Arm(doomed->node, 180'000);
  doomed.reset();
  EXPECT_EQ(wheel_.NextDeadline(), std::nullopt);
  wheel_.Advance(kStart + 3'600'000);
  EXPECT_TRUE(log_.empty());
}

TEST_F(TimerWheelTest, NodesOutliveWheel) {
  std::vector<Fired> log;
  auto wheel = std::make_unique<TimerWheel>(0);
  TestTimer a(*wheel, log, 1);
  TestTimer b(*wheel, log, 2);
  wheel->Arm(a.node, 10);
  wheel->Arm(b.node, 0);  // On the due list.
  wheel.reset();
  EXPECT_FALSE(a.node.armed());
  EXPECT_FALSE(b.node.armed());
}  // a and b are destroyed after the wheel without touching it.

TEST_F(TimerWheelTest, MemberFunctionCallback) {
  struct Txn {
    void OnTimer() { ++fired; }
    int fired = 0;
    TimerNode timer{&TimerNode::CallMember<Txn, &Txn::OnTimer>, this};
  } txn;
  wheel_.Arm(txn.timer, 1);
  wheel_.Advance(kStart + 1);
  EXPECT_EQ(txn.fired, 1);
}

TEST_F(TimerWheelTest, CallbackRearmsItselfPeriodically) {
  TestTimer& t = Make(1);
  t.action = [this](TestTimer& self) { wheel_.Arm(self.node, 500); };
  wheel_.Arm(t.node, 500);
  // One long Advance replays every period at its exact ms.
  wheel_.Advance(kStart + 2'600);
  EXPECT_EQ(log_, (std::vector<Fired>{{1, kStart + 500},
                                      {1, kStart + 1'000},
                                      {1, kStart + 1'500},
                                      {1, kStart + 2'000},
                                      {1, kStart + 2'500}}));
  EXPECT_TRUE(t.node.armed());
  EXPECT_EQ(t.node.deadline(), kStart + 3'000);
}

TEST_F(TimerWheelTest, RetransmissionScheduleDoublesToT2) {
  // Timer E (RFC 3261 §17.1.2.2): T1, doubling, capped at T2 = 4 s, with
  // Timer F at 64*T1 cancelling it, both re-armed from callbacks.
  TestTimer& e = Make(1);
  TestTimer& f = Make(2);
  Millis interval = 500;
  e.action = [&](TestTimer& self) {
    interval = std::min<Millis>(interval * 2, 4'000);
    wheel_.Arm(self.node, interval);
  };
  f.action = [&](TestTimer&) { e.node.Cancel(); };
  wheel_.Arm(e.node, 500);
  wheel_.Arm(f.node, 32'000);
  wheel_.Advance(kStart + 100'000);
  std::vector<Millis> e_times;
  for (const Fired& fired : log_) {
    if (fired.id == 1) e_times.push_back(fired.at - kStart);
  }
  EXPECT_EQ(e_times, (std::vector<Millis>{500, 1'500, 3'500, 7'500, 11'500,
                                          15'500, 19'500, 23'500, 27'500,
                                          31'500}));
  EXPECT_EQ(log_.back(), (Fired{2, kStart + 32'000}));
  EXPECT_EQ(wheel_.armed_count(), 0u);
}

TEST_F(TimerWheelTest, CallbackCancelsOtherTimersDueInSameAdvance) {
  TestTimer& a = Make(1);
  TestTimer& b = Make(2);  // Same ms as A: same batch.
  TestTimer& c = Make(3);  // Later ms, level 0.
  TestTimer& d = Make(4);  // Far later, higher level.
  a.action = [&](TestTimer&) {
    b.node.Cancel();
    c.node.Cancel();
    d.node.Cancel();
  };
  wheel_.Arm(a.node, 10);
  wheel_.Arm(b.node, 10);
  wheel_.Arm(c.node, 11);
  wheel_.Arm(d.node, 70'000);
  wheel_.Advance(kStart + 100'000);
  EXPECT_EQ(log_, (std::vector<Fired>{{1, kStart + 10}}));
  EXPECT_EQ(wheel_.armed_count(), 0u);
}

TEST_F(TimerWheelTest, CallbackRearmsOtherDueTimer) {
  TestTimer& a = Make(1);
  TestTimer& b = Make(2);
  TestTimer& c = Make(3);
  a.action = [&](TestTimer&) {
    wheel_.Arm(b.node, 5);  // B was due now; now fires later.
    wheel_.Arm(c.node, 1);  // C was due later; now fires sooner.
  };
  wheel_.Arm(a.node, 10);
  wheel_.Arm(b.node, 10);
  wheel_.Arm(c.node, 300);
  wheel_.Advance(kStart + 1'000);
  EXPECT_EQ(log_, (std::vector<Fired>{
                      {1, kStart + 10}, {3, kStart + 11}, {2, kStart + 15}}));
}

TEST_F(TimerWheelTest, CallbackMayDestroyItsOwnerAndOthers) {
  auto* self_owned = new TestTimer(wheel_, log_, 1);
  auto other = std::make_unique<TestTimer>(wheel_, log_, 2);
  self_owned->action = [&other](TestTimer& self) {
    other.reset();  // Due in the same batch; destroyed before it fires.
    delete &self;
  };
  wheel_.Arm(self_owned->node, 7);
  wheel_.Arm(other->node, 7);
  wheel_.Advance(kStart + 7);
  EXPECT_EQ(log_, (std::vector<Fired>{{1, kStart + 7}}));
  EXPECT_EQ(wheel_.armed_count(), 0u);
}

TEST_F(TimerWheelTest, ZeroDelayFromCallbackFiresOnNextAdvance) {
  TestTimer& a = Make(1);
  TestTimer& b = Make(2);
  TestTimer& later = Make(3);
  a.action = [&](TestTimer&) { wheel_.Arm(b.node, 0); };
  wheel_.Arm(a.node, 10);
  wheel_.Arm(later.node, 20);
  wheel_.Advance(kStart + 100);
  // B was armed due at 10 but waits for the next Advance, behind the timer
  // at 20 that this Advance was already committed to.
  EXPECT_EQ(log_, (std::vector<Fired>{{1, kStart + 10}, {3, kStart + 20}}));
  EXPECT_TRUE(b.node.armed());
  EXPECT_EQ(b.node.deadline(), kStart + 10);
  EXPECT_EQ(wheel_.NextDeadline(), kStart + 100);  // Do not sleep.
  wheel_.Advance(kStart + 100);                    // Same time is enough.
  EXPECT_EQ(log_.back(), (Fired{2, kStart + 100}));
  EXPECT_EQ(wheel_.armed_count(), 0u);
}

TEST_F(TimerWheelTest, ZeroDelaySelfRearmFiresOncePerAdvance) {
  TestTimer& t = Make(1);
  t.action = [this](TestTimer& self) { wheel_.Arm(self.node, 0); };
  wheel_.Arm(t.node, 0);
  for (int i = 1; i <= 3; ++i) {
    wheel_.Advance(kStart + i);
    EXPECT_EQ(log_.size(), static_cast<size_t>(i));
    EXPECT_EQ(log_.back().at, kStart + i - 1);
  }
}

TEST_F(TimerWheelTest, DueWhenArmedFiresOnNextAdvanceFirst) {
  wheel_.Advance(kStart + 50);
  TestTimer& zero = Make(1);
  TestTimer& negative = Make(2);
  TestTimer& past = Make(3);
  TestTimer& soon = Make(4);
  wheel_.Arm(soon.node, 1);
  wheel_.Arm(zero.node, 0);
  wheel_.Arm(negative.node, -5);
  wheel_.ArmAt(past.node, kStart);
  EXPECT_EQ(zero.node.deadline(), kStart + 50);
  EXPECT_EQ(negative.node.deadline(), kStart + 50);
  EXPECT_EQ(past.node.deadline(), kStart + 50);
  EXPECT_EQ(wheel_.NextDeadline(), kStart + 50);
  wheel_.Advance(kStart + 10);  // Backwards: treated as now().
  EXPECT_EQ(wheel_.now(), kStart + 50);
  EXPECT_EQ(log_, (std::vector<Fired>{
                      {1, kStart + 50}, {2, kStart + 50}, {3, kStart + 50}}));
  wheel_.Advance(kStart + 51);
  EXPECT_EQ(log_.back(), (Fired{4, kStart + 51}));
}

TEST_F(TimerWheelTest, CascadesAcrossLevelsAtExactMillisecond) {
  const Millis delays[] = {1,          2,          254,        255,
                           256,        257,        511,        512,
                           65'000,     65'535,     65'536,     65'537,
                           180'000,    3'600'000,  16'777'215, 16'777'216,
                           16'777'217, 86'400'000};
  // Starts that put now() at various byte phases, so that cascades happen
  // from different offsets; the wheel is origin-relative but callers'
  // starts are arbitrary.
  const Millis starts[] = {0, 1, 255, 65'535, 1'234'567, -77};
  for (Millis start : starts) {
    for (Millis pre_advance : {Millis{0}, Millis{1}, Millis{200}, Millis{65'530}}) {
      for (Millis delay : delays) {
        std::vector<Fired> log;
        TimerWheel wheel(start);
        wheel.Advance(start + pre_advance);
        const Millis armed_at = wheel.now();
        TestTimer t(wheel, log, 1);
        wheel.Arm(t.node, delay);
        // Never early, however the approach is sliced.
        wheel.Advance(armed_at + delay / 2);
        wheel.Advance(armed_at + delay - 1);
        ASSERT_TRUE(log.empty()) << start << " " << pre_advance << " " << delay;
        ASSERT_LE(*wheel.NextDeadline(), armed_at + delay);
        wheel.Advance(armed_at + delay);
        ASSERT_EQ(log, (std::vector<Fired>{{1, armed_at + delay}}))
            << start << " " << pre_advance << " " << delay;
      }
    }
  }
}

TEST_F(TimerWheelTest, CascadesWhenSteppingOneMillisecondAtATime) {
  const Millis delays[] = {1, 255, 256, 65'000, 180'000, 3'600'000};
  for (int i = 0; i < static_cast<int>(std::size(delays)); ++i) {
    wheel_.Arm(Make(i).node, delays[i]);
  }
  for (Millis t = kStart + 1; t <= kStart + 3'600'000; ++t) wheel_.Advance(t);
  ASSERT_EQ(log_.size(), std::size(delays));
  for (int i = 0; i < static_cast<int>(std::size(delays)); ++i) {
    EXPECT_EQ(log_[i], (Fired{i, kStart + delays[i]}));
  }
}

TEST_F(TimerWheelTest, BeyondWheelSpanFiresOnTimeViaOverflowRounds) {
  const Millis delays[] = {TimerWheel::kWheelSpan - 1, TimerWheel::kWheelSpan,
                           TimerWheel::kWheelSpan + 1,
                           3 * TimerWheel::kWheelSpan + 12'345};
  for (int i = 0; i < static_cast<int>(std::size(delays)); ++i) {
    wheel_.Arm(Make(i).node, delays[i]);
  }
  TestTimer& forever = Make(99);
  wheel_.Arm(forever.node, std::numeric_limits<Millis>::max());
  EXPECT_EQ(forever.node.deadline(), std::numeric_limits<Millis>::max());
  for (int i = 0; i < static_cast<int>(std::size(delays)); ++i) {
    wheel_.Advance(kStart + delays[i] - 1);
    ASSERT_EQ(log_.size(), static_cast<size_t>(i));
    wheel_.Advance(kStart + delays[i]);
    ASSERT_EQ(log_.size(), static_cast<size_t>(i + 1));
    EXPECT_EQ(log_.back(), (Fired{i, kStart + delays[i]}));
  }
  wheel_.Advance(kStart + (Millis{1} << 50));
  EXPECT_TRUE(forever.node.armed());
}

TEST_F(TimerWheelTest, LongIdleJumpFiresInOrderAndIsCheap) {
  const Millis delays[] = {1'000, 65'000, 180'000, 599'999, 600'001};
  for (int i = 0; i < static_cast<int>(std::size(delays)); ++i) {
    wheel_.Arm(Make(i).node, delays[i]);
  }
  wheel_.Advance(kStart + 600'000);  // Ten idle minutes.
  ASSERT_EQ(log_.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(log_[i], (Fired{i, kStart + delays[i]}));
  }
  EXPECT_LE(*wheel_.NextDeadline(), kStart + 600'001);
  EXPECT_GT(*wheel_.NextDeadline(), kStart + 600'000);
  // A century of idle time. Cost per ms would hang here; only the few
  // occupied slots (and the 2^32 ms overflow boundaries) cost anything.
  const Millis century = Millis{100} * 365 * 24 * 3'600'000;
  wheel_.Advance(kStart + century);
  ASSERT_EQ(log_.size(), 5u);
  EXPECT_EQ(log_.back(), (Fired{4, kStart + 600'001}));
  wheel_.Arm(Make(5).node, 42);
  wheel_.Advance(kStart + 2 * century);
  EXPECT_EQ(log_.back(), (Fired{5, kStart + century + 42}));
}

TEST_F(TimerWheelTest, NextDeadlineIsExactNearAndConservativeFar) {
  EXPECT_EQ(wheel_.NextDeadline(), std::nullopt);
  TestTimer& near = Make(1);
  TestTimer& far = Make(2);
  wheel_.Arm(far.node, 180'000);
  const std::optional<Millis> far_only = wheel_.NextDeadline();
  ASSERT_TRUE(far_only.has_value());
  EXPECT_GT(*far_only, kStart);
  EXPECT_LE(*far_only, kStart + 180'000);
  wheel_.Arm(near.node, 200);
  EXPECT_EQ(wheel_.NextDeadline(), kStart + 200);
  near.node.Cancel();
  EXPECT_EQ(wheel_.NextDeadline(), far_only);
  // A shard that sleeps until NextDeadline() reaches the timer in at most
  // one wakeup per level, without ever waking after it.
  int wakeups = 0;
  while (log_.empty()) {
    const std::optional<Millis> next = wheel_.NextDeadline();
    ASSERT_TRUE(next.has_value());
    ASSERT_LE(*next, kStart + 180'000);
    wheel_.Advance(*next);
    ++wakeups;
  }
  EXPECT_EQ(log_, (std::vector<Fired>{{2, kStart + 180'000}}));
  EXPECT_LE(wakeups, TimerWheel::kLevels);
  EXPECT_EQ(wheel_.NextDeadline(), std::nullopt);
}

// Reference model: a multimap keyed by deadline keeps equal keys in insertion
// order, which is exactly the wheel's promised (deadline, arm order).
class ModelCheck {
 public:
  explicit ModelCheck(uint32_t seed) : rng_(seed), wheel_(kStart) {
    for (int i = 0; i < kNodes; ++i) Recreate(i);
  }

  void Run(int ops) {
    for (int op = 0; op < ops; ++op) {
      const uint32_t kind = Uniform(100);
      const int id = static_cast<int>(Uniform(kNodes));
      if (kind < 45) {
        Arm(id, RandomDelay(), Uniform(2) == 0);
      } else if (kind < 63) {
        Cancel(id);
      } else if (kind < 67) {
        Destroy(id);
        Recreate(id);
      } else {
        Advance(wheel_.now() + RandomStep());
      }
      ASSERT_NO_FATAL_FAILURE(CheckInvariants());
      if (::testing::Test::HasFailure()) return;
    }
    Advance(wheel_.now() + (Millis{1} << 40));
  }

  int fired() const { return fired_; }
  int max_batch() const { return max_batch_; }

 private:
  static constexpr int kNodes = 48;
  static constexpr Millis kStart = -123'456;  // Exercise negative times too.

  struct Node {
    ModelCheck* check;
    int id;
    TimerNode timer{&ModelCheck::OnFire, this};
  };
  using Model = std::multimap<Millis, int>;

  uint32_t Uniform(uint32_t n) {
    return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_);
  }
  Millis Range(Millis lo, Millis hi) {
    return std::uniform_int_distribution<Millis>(lo, hi)(rng_);
  }

  Millis RandomDelay() {
    const uint32_t r = Uniform(100);
    if (r < 5) return 0;
    if (r < 7) return -Range(1, 1'000);
    if (r < 47) return Range(1, 300);
    if (r < 77) return Range(300, 70'000);
    if (r < 94) return Range(70'000, 4'000'000);
    if (r < 99) return Range(4'000'000, Millis{1} << 33);
    return Range(Millis{1} << 33, Millis{1} << 40);
  }

  Millis RandomStep() {
    const uint32_t r = Uniform(100);
    if (r < 50) return Range(0, 10);
    if (r < 80) return Range(10, 1'000);
    if (r < 95) return Range(1'000, 100'000);
    if (r < 99) return Range(100'000, 5'000'000);
    return Range(5'000'000, Millis{1} << 34);
  }

  void Recreate(int id) {
    nodes_[id].reset(new Node{this, id});
  }

  void Erase(int id) {
    auto it = where_.find(id);
    if (it == where_.end()) return;
    model_.erase(it->second);
    where_.erase(it);
    deferred_.erase(id);
  }

  void Arm(int id, Millis delay, bool absolute) {
    Erase(id);
    const Millis now = wheel_.now();
    const Millis deadline = std::max(now, now + delay);
    if (absolute) {
      wheel_.ArmAt(nodes_[id]->timer, now + delay);
    } else {
      wheel_.Arm(nodes_[id]->timer, delay);
    }
    EXPECT_EQ(nodes_[id]->timer.deadline(), deadline);
    where_[id] = model_.emplace(deadline, id);
    // Armed already due from inside a callback: waits for the next Advance.
    if (advancing_ && deadline <= now) deferred_.insert(id);
  }

  void Cancel(int id) {
    Erase(id);
    if (Uniform(2) == 0) {
      nodes_[id]->timer.Cancel();
    } else {
      wheel_.Cancel(nodes_[id]->timer);
    }
  }

  void Destroy(int id) {
    Erase(id);
    nodes_[id].reset();
  }

  void Advance(Millis to) {
    advancing_ = true;
    deferred_.clear();
    advance_start_ = wheel_.now();
    target_ = std::max(to, advance_start_);
    wheel_.Advance(to);
    advancing_ = false;
    EXPECT_EQ(wheel_.now(), target_);
    for (const auto& [deadline, id] : model_) {
      if (deadline > target_) break;
      EXPECT_TRUE(deferred_.count(id)) << "timer " << id << " due at "
                                       << deadline << " did not fire by "
                                       << target_;
    }
  }

  // The entry the wheel must fire next: earliest (deadline, arm order) not
  // deferred to the next Advance.
  Model::iterator Expected() {
    for (auto it = model_.begin(); it != model_.end(); ++it) {
      if (it->first > target_) break;
      if (!deferred_.count(it->second)) return it;
    }
    return model_.end();
  }

  static void OnFire(TimerNode* timer, void* ctx) {
    Node* node = static_cast<Node*>(ctx);
    node->check->Fire(*node, *timer);
  }

  void Fire(Node& node, TimerNode& timer) {
    ++fired_;
    ASSERT_TRUE(advancing_);
    ASSERT_FALSE(timer.armed());
    auto expected = Expected();
    ASSERT_NE(expected, model_.end()) << "unexpected fire of " << node.id;
    ASSERT_EQ(expected->second, node.id) << "at " << wheel_.now();
    EXPECT_EQ(wheel_.now(), std::max(expected->first, advance_start_));
    EXPECT_EQ(timer.deadline(), expected->first);
    if (expected->first == last_fire_deadline_) {
      max_batch_ = std::max(max_batch_, ++batch_);
    } else {
      batch_ = 1;
      last_fire_deadline_ = expected->first;
    }
    Erase(node.id);
    // Random reactions; fewer than one new arming per fire on average, so
    // chains die out even across long Advances.
    const int self = node.id;
    const int other = static_cast<int>(Uniform(kNodes));
    const uint32_t r = Uniform(100);
    if (r < 25) {
      Arm(self, Uniform(4) == 0 ? 0 : Range(1, 2'000), false);
    } else if (r < 45) {
      if (nodes_[other]) Cancel(other);
    } else if (r < 60) {
      if (nodes_[other]) Arm(other, Range(-2, 300), Uniform(2) == 0);
    } else if (r < 65) {
      if (other != self) {
        Destroy(other);
        Recreate(other);
      }
    } else if (r < 67) {
      Destroy(self);  // The callback owns its node; the wheel is done with it.
      Recreate(self);
    }
  }

  void CheckInvariants() {
    ASSERT_EQ(wheel_.armed_count(), model_.size());
    const std::optional<Millis> next = wheel_.NextDeadline();
    if (model_.empty()) {
      ASSERT_EQ(next, std::nullopt);
      return;
    }
    ASSERT_TRUE(next.has_value());
    const Millis earliest = model_.begin()->first;
    ASSERT_LE(*next, std::max(earliest, wheel_.now()));
    if (earliest <= wheel_.now()) {
      ASSERT_EQ(*next, wheel_.now());
    } else {
      ASSERT_GT(*next, wheel_.now());
    }
  }

  std::mt19937 rng_;
  TimerWheel wheel_;
  std::unique_ptr<Node> nodes_[kNodes];
  Model model_;
  std::map<int, Model::iterator> where_;
  std::set<int> deferred_;
  bool advancing_ = false;
  Millis advance_start_ = 0;
  Millis target_ = 0;
  Millis last_fire_deadline_ = std::numeric_limits<Millis>::min();
  int batch_ = 0;
  int max_batch_ = 0;
  int fired_ = 0;
};

TEST(TimerWheelModelTest, MatchesMultimapReferenceOnRandomOps) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    ModelCheck check(seed);
    check.Run(100'000);
    if (::testing::Test::HasFailure()) return;
    // Make sure the run exercised real work, not an idle wheel.
    EXPECT_GT(check.fired(), 10'000);
    EXPECT_GE(check.max_batch(), 2);
  }
}

}  // namespace
}  // namespace sipshard::base

// The fall/rise state machine (dispatch/health.h), driven with plain times
// as a ManualClock would.
#include "sipshard/dispatch/health.h"

#include <optional>

#include "gtest/gtest.h"
#include "sipshard/base/clock.h"

namespace sipshard::dispatch {
namespace {

config::DestinationSetConfig MakeSet(int destinations) {
  config::DestinationSetConfig set;
  set.name = "farm";
  for (int i = 0; i < destinations; ++i) {
    config::DestinationConfig d;
    d.uri = "sip:10.0.0." + std::to_string(i + 1);
    set.destinations.push_back(d);
  }
  return set;
}

TEST(HealthTrackerTest, FallThenRiseWithProbes) {
  config::DestinationSetConfig set = MakeSet(1);
  set.probing.enabled = true;
  set.probing.fall = 3;
  set.probing.rise = 2;
  HealthTracker tracker(set);
  base::ManualClock clock;
  EXPECT_EQ(tracker.state(0), DestinationState::kActive);
  EXPECT_EQ(tracker.OnProbe(0, false, clock.NowMillis()), std::nullopt);
  EXPECT_EQ(tracker.OnProbe(0, false, clock.NowMillis()), std::nullopt);
  // A success in between resets the count.
  EXPECT_EQ(tracker.OnProbe(0, true, clock.NowMillis()), std::nullopt);
  EXPECT_EQ(tracker.OnProbe(0, false, clock.NowMillis()), std::nullopt);
  EXPECT_EQ(tracker.OnProbe(0, false, clock.NowMillis()), std::nullopt);
  EXPECT_EQ(tracker.OnProbe(0, false, clock.NowMillis()), DestinationState::kProbing);
  EXPECT_FALSE(tracker.up(0));
  EXPECT_EQ(tracker.OnProbe(0, true, clock.NowMillis()), std::nullopt);
  EXPECT_EQ(tracker.OnProbe(0, false, clock.NowMillis()), std::nullopt);  // rise restarts
  EXPECT_EQ(tracker.OnProbe(0, true, clock.NowMillis()), std::nullopt);
  EXPECT_EQ(tracker.OnProbe(0, true, clock.NowMillis()), DestinationState::kActive);
}

TEST(HealthTrackerTest, AdministrativeStateWins) {
  config::DestinationSetConfig set = MakeSet(2);
  set.probing.enabled = true;
  set.probing.fall = 1;
  set.destinations[0].state = config::DestinationState::kDraining;
  set.destinations[1].state = config::DestinationState::kInactive;
  HealthTracker tracker(set);
  EXPECT_EQ(tracker.state(0), DestinationState::kDraining);
  EXPECT_EQ(tracker.state(1), DestinationState::kInactive);
  EXPECT_EQ(tracker.OnProbe(0, false, 0), std::nullopt);
  EXPECT_EQ(tracker.state(0), DestinationState::kDraining);
  EXPECT_EQ(tracker.OnRetryAfter(1, 5000, 0), std::nullopt);
}

TEST(HealthTrackerTest, PassiveFailuresWithoutProbingHoldThenReturn) {
  config::DestinationSetConfig set = MakeSet(1);
  set.passive_fall = 3;
  set.passive_hold_ms = 1000;
  HealthTracker tracker(set);
  base::ManualClock clock;
  EXPECT_EQ(tracker.OnPassiveFailure(0, clock.NowMillis()), std::nullopt);
  EXPECT_EQ(tracker.OnPassiveFailure(0, clock.NowMillis()), std::nullopt);
  EXPECT_EQ(tracker.OnPassiveSuccess(0, clock.NowMillis()), std::nullopt);  // resets
  EXPECT_EQ(tracker.OnPassiveFailure(0, clock.NowMillis()), std::nullopt);
  EXPECT_EQ(tracker.OnPassiveFailure(0, clock.NowMillis()), std::nullopt);
  EXPECT_EQ(tracker.OnPassiveFailure(0, clock.NowMillis()), DestinationState::kProbing);
  ASSERT_TRUE(tracker.NextDeadline(0).has_value());
  EXPECT_EQ(*tracker.NextDeadline(0), clock.NowMillis() + 1000);
  clock.AdvanceMillis(999);
  EXPECT_EQ(tracker.OnTick(0, clock.NowMillis()), std::nullopt);
  clock.AdvanceMillis(1);
  EXPECT_EQ(tracker.OnTick(0, clock.NowMillis()), DestinationState::kActive);
  EXPECT_FALSE(tracker.NextDeadline(0).has_value());
}

TEST(HealthTrackerTest, PassiveDownWithProbingNeedsProbesToReturn) {
  config::DestinationSetConfig set = MakeSet(1);
  set.probing.enabled = true;
  set.probing.rise = 1;
  set.passive_fall = 1;
  HealthTracker tracker(set);
  EXPECT_EQ(tracker.OnPassiveFailure(0, 0), DestinationState::kProbing);
  EXPECT_FALSE(tracker.NextDeadline(0).has_value());
  EXPECT_EQ(tracker.OnTick(0, 1'000'000), std::nullopt);
  EXPECT_EQ(tracker.OnProbe(0, true, 1'000'001), DestinationState::kActive);
}

TEST(HealthTrackerTest, PassiveDisabledIgnoresFailures) {
  config::DestinationSetConfig set = MakeSet(1);
  set.passive_fall = 0;
  HealthTracker tracker(set);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(tracker.OnPassiveFailure(0, 0), std::nullopt);
  EXPECT_EQ(tracker.state(0), DestinationState::kActive);
}

TEST(HealthTrackerTest, RetryAfterHoldsUntilItsDeadline) {
  HealthTracker tracker(MakeSet(1));
  base::ManualClock clock;
  const base::Millis now = clock.NowMillis();
  EXPECT_EQ(tracker.OnRetryAfter(0, now + 30'000, now), DestinationState::kProbing);
  // A shorter second hold does not shorten the first.
  EXPECT_EQ(tracker.OnRetryAfter(0, now + 10'000, now), std::nullopt);
  EXPECT_EQ(*tracker.NextDeadline(0), now + 30'000);
  EXPECT_EQ(tracker.OnTick(0, now + 29'999), std::nullopt);
  EXPECT_EQ(tracker.OnTick(0, now + 30'000), DestinationState::kActive);
}

TEST(HealthTrackerTest, RetryAfterEndsButProbeFailureKeepsItOut) {
  config::DestinationSetConfig set = MakeSet(1);
  set.probing.enabled = true;
  set.probing.fall = 1;
  HealthTracker tracker(set);
  EXPECT_EQ(tracker.OnRetryAfter(0, 100, 0), DestinationState::kProbing);
  EXPECT_EQ(tracker.OnProbe(0, false, 50), std::nullopt);
  EXPECT_EQ(tracker.OnTick(0, 100), std::nullopt);
  EXPECT_EQ(tracker.state(0), DestinationState::kProbing);
}

TEST(HealthOwnerTest, SpreadsDestinationsOfAllSetsOverShards) {
  config::Config config;
  config.sets.push_back(MakeSet(3));
  config.sets.push_back(MakeSet(2));
  EXPECT_EQ(HealthOwner(config, 0, 0, 2), 0u);
  EXPECT_EQ(HealthOwner(config, 0, 1, 2), 1u);
  EXPECT_EQ(HealthOwner(config, 0, 2, 2), 0u);
  EXPECT_EQ(HealthOwner(config, 1, 0, 2), 1u);  // ordinal 3
  EXPECT_EQ(HealthOwner(config, 1, 1, 2), 0u);
  EXPECT_EQ(HealthOwner(config, 1, 1, 1), 0u);
}

}  // namespace
}  // namespace sipshard::dispatch

// Micro benchmarks for the shard timer wheel: the arm/cancel pair that almost
// every SIP transaction timer ends with, re-arming an armed node, expiry, and
// the per-loop Advance of a shard with nothing due. Each runs with 10k and
// 1M other timers armed, so the 1M figures include the cache misses of
// linking next to cold nodes.
#include <cstdint>
#include <memory>
#include <random>

#include "benchmark/benchmark.h"
#include "sipshard/base/timer_wheel.h"

namespace sipshard::base {
namespace {


constexpr Millis kStart = 1'000'000'000;

void NoOp(TimerNode* /*node*/, void* /*ctx*/) {}

// RFC 3261 values a transaction arms: T1 doubling to T2, T4, 64*T1, Timer C.
constexpr Millis kSipDelays[] = {500,   1'000,  2'000,  4'000,
                                 5'000, 32'000, 64'000, 180'000};
constexpr size_t kSipDelayCount = sizeof(kSipDelays) / sizeof(kSipDelays[0]);

// `n` background timers with delays spread over [lo, hi] ms.
std::unique_ptr<TimerNode[]> ArmBackground(TimerWheel& wheel, int64_t n,
                                           Millis lo, Millis hi) {
  std::unique_ptr<TimerNode[]> nodes(new TimerNode[static_cast<size_t>(n)]);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<Millis> delay(lo, hi);
  for (int64_t i = 0; i < n; ++i) {
    nodes[static_cast<size_t>(i)].set_callback(&NoOp, nullptr);
    wheel.Arm(nodes[static_cast<size_t>(i)], delay(rng));
  }
  return nodes;
}

// The common case: a transaction arms its timer, the response arrives, the
// timer is cancelled. One iteration = one Arm + one Cancel.
void BM_TimerArmCancel(benchmark::State& state) {
  TimerWheel wheel(kStart);
  auto background = ArmBackground(wheel, state.range(0), 500, 180'000);
  constexpr size_t kActive = 1024;  // Transactions in flight on the shard.
  std::unique_ptr<TimerNode[]> active(new TimerNode[kActive]);
  for (size_t i = 0; i < kActive; ++i) active[i].set_callback(&NoOp, nullptr);
  size_t i = 0;
  for (auto _ : state) {
    TimerNode& node = active[i % kActive];
    wheel.Arm(node, kSipDelays[i % kSipDelayCount]);
    wheel.Cancel(node);
    ++i;
  }
  benchmark::DoNotOptimize(wheel.armed_count());
}
BENCHMARK(BM_TimerArmCancel)->Arg(10'000)->Arg(1'000'000);

// One timer node per client transaction is re-armed at every retransmission
// (DESIGN-NOTES §4): moving an armed node. One iteration = one Arm.
void BM_TimerRearm(benchmark::State& state) {
  TimerWheel wheel(kStart);
  auto background = ArmBackground(wheel, state.range(0), 500, 180'000);
  constexpr size_t kActive = 1024;
  std::unique_ptr<TimerNode[]> active(new TimerNode[kActive]);
  for (size_t i = 0; i < kActive; ++i) {
    active[i].set_callback(&NoOp, nullptr);
    wheel.Arm(active[i], 500);
  }
  size_t i = 0;
  for (auto _ : state) {
    wheel.Arm(active[i % kActive], kSipDelays[i % kSipDelayCount]);
    ++i;
  }
  benchmark::DoNotOptimize(wheel.armed_count());
}
BENCHMARK(BM_TimerRearm)->Arg(10'000)->Arg(1'000'000);

// Expiry in steady state: N periodic timers whose periods average N ms, so
// about one fires per ms tick, and each callback re-arms its node. One
// iteration = Advance by 1 ms. The fires counter gives fires per iteration:
// ns per fire (cascades and re-arm included) = time / fires.
struct Periodic {
  static void OnFire(TimerNode* node, void* ctx) {
    auto* self = static_cast<Periodic*>(ctx);
    ++*self->fires;
    self->wheel->Arm(*node, self->period);
  }
  TimerWheel* wheel = nullptr;
  int64_t* fires = nullptr;
  Millis period = 0;
  TimerNode node{&Periodic::OnFire, this};
};

void BM_TimerArmFire(benchmark::State& state) {
  const int64_t n = state.range(0);
  TimerWheel wheel(kStart);
  int64_t fires = 0;
  std::unique_ptr<Periodic[]> timers(new Periodic[static_cast<size_t>(n)]);
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<Millis> period(n / 2, n + n / 2);
  for (int64_t i = 0; i < n; ++i) {
    Periodic& t = timers[static_cast<size_t>(i)];
    t.wheel = &wheel;
    t.fires = &fires;
    t.period = period(rng);
    // Start phases spread over one period, so the fire rate is flat at once.
    wheel.Arm(t.node, std::uniform_int_distribution<Millis>(1, t.period)(rng));
  }
  Millis now = kStart;
  for (auto _ : state) {
    wheel.Advance(++now);
  }
  state.counters["fires"] = benchmark::Counter(
      static_cast<double>(fires), benchmark::Counter::kAvgIterations);
  state.counters["ns_per_fire"] = benchmark::Counter(
      static_cast<double>(fires),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_TimerArmFire)->Arg(10'000)->Arg(1'000'000);

// A shard loop iteration with nothing due: Advance by 1 ms, then ask how
// long to sleep. The N timers are all on the top level (20-40 days out):
// the worst case for the level scan, and none is reached during the run.
void BM_TimerAdvanceIdle(benchmark::State& state) {
  TimerWheel wheel(kStart);
  constexpr Millis kDay = 86'400'000;
  auto background = ArmBackground(wheel, state.range(0), 20 * kDay, 40 * kDay);
  Millis now = kStart;
  for (auto _ : state) {
    wheel.Advance(++now);
    benchmark::DoNotOptimize(wheel.NextDeadline());
  }
  if (wheel.armed_count() != static_cast<size_t>(state.range(0))) {
    state.SkipWithError("a background timer fired");
  }
}
BENCHMARK(BM_TimerAdvanceIdle)->Arg(10'000)->Arg(1'000'000);

// The same with timers spread like live SIP traffic (0.5 s to 3 min), where
// the next event is usually on level 0 or 1. Sim time advances 1 ms per
// iteration, so cascades and fires are included in the average.
void BM_TimerAdvanceLive(benchmark::State& state) {
  const int64_t n = state.range(0);
  TimerWheel wheel(kStart);
  int64_t fires = 0;
  std::unique_ptr<Periodic[]> timers(new Periodic[static_cast<size_t>(n)]);
  std::mt19937_64 rng(9);
  std::uniform_int_distribution<size_t> pick(0, kSipDelayCount - 1);
  for (int64_t i = 0; i < n; ++i) {
    Periodic& t = timers[static_cast<size_t>(i)];
    t.wheel = &wheel;
    t.fires = &fires;
    t.period = kSipDelays[pick(rng)];
    wheel.Arm(t.node, std::uniform_int_distribution<Millis>(1, t.period)(rng));
  }
  Millis now = kStart;
  for (auto _ : state) {
    wheel.Advance(++now);
    benchmark::DoNotOptimize(wheel.NextDeadline());
  }
  state.counters["fires"] = benchmark::Counter(
      static_cast<double>(fires), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_TimerAdvanceLive)->Arg(10'000);

}  // namespace
}  // namespace sipshard::base

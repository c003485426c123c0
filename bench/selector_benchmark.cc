// Micro benchmarks of destination selection: one Select() per iteration for
// every algorithm, with 4 and 32 destinations, mixed weights (1..4) unless
// the name says "equal". Hash algorithms take a precomputed key
// (SelectionInput::ForKey), except SelectFromMessage which includes the
// key extraction from a parsed INVITE (From URI parse and normalisation).
// SelectCandidates3 builds a three-entry failover list.
//
// Run: build/bench/sipshard_benchmarks --benchmark_filter=Select

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tests/testing/sip_messages.h"
#include "benchmark/benchmark.h"
#include "sipshard/base/hash.h"
#include "sipshard/config/loader.h"
#include "sipshard/dispatch/destination_set.h"
#include "sipshard/sip/parser.h"

namespace sipshard::dispatch {
namespace {

// A config with one set of `n` destinations; kept alive by the caller.
std::unique_ptr<config::Config> MakeConfig(std::string_view algorithm, int64_t n, bool equal) {
  std::string toml = "[[sets]]\nname = \"s\"\nalgorithm = \"" + std::string(algorithm) + "\"\n";
  for (int64_t i = 0; i < n; ++i) {
    toml += "[[sets.destinations]]\nuri = \"sip:10.0." + std::to_string(i / 200) + "." +
            std::to_string(i % 200 + 1) + "\"\n";
    if (!equal) toml += "weight = " + std::to_string(i % 4 + 1) + "\n";
  }
  toml += "[[routes]]\nname = \"all\"\naction = \"forward\"\nset = \"s\"\n";
  absl::StatusOr<config::Config> loaded = config::LoadConfigString(toml);
  if (!loaded.ok()) return nullptr;
  return std::make_unique<config::Config>(std::move(*loaded));
}

void SelectLoop(benchmark::State& state, std::string_view algorithm, bool equal, size_t max,
                bool two_choices) {
  std::unique_ptr<config::Config> config = MakeConfig(algorithm, state.range(0), equal);
  SelectorOptions options;
  options.two_choices = two_choices;
  absl::StatusOr<DestinationSet> set = config == nullptr
                                           ? absl::InternalError("config")
                                           : DestinationSet::Create(config->sets[0], options);
  if (!set.ok()) {
    state.SkipWithError("cannot build the set");
    return;
  }
  // Some load, so that least-loaded has something to compare.
  for (size_t i = 0; i < set->size(); ++i) {
    for (size_t k = 0; k < (i * 7) % 5; ++k) set->OnStart(i);
  }
  uint64_t key = 0x1234567;
  CandidateList out;
  for (auto _ : state) {
    key = base::Mix64(key + 1);
    set->Candidates(SelectionInput::ForKey(key), max, &out);
    benchmark::DoNotOptimize(out);
  }
}

void BM_Select(benchmark::State& state, std::string_view algorithm) {
  SelectLoop(state, algorithm, false, 1, false);
}
void BM_SelectEqualWeights(benchmark::State& state, std::string_view algorithm) {
  SelectLoop(state, algorithm, true, 1, false);
}
void BM_SelectTwoChoices(benchmark::State& state) {
  SelectLoop(state, "least-loaded", false, 1, true);
}
void BM_SelectCandidates3(benchmark::State& state, std::string_view algorithm) {
  SelectLoop(state, algorithm, false, 3, false);
}

BENCHMARK_CAPTURE(BM_Select, hash_callid, "hash-callid")->Arg(4)->Arg(32);
BENCHMARK_CAPTURE(BM_Select, round_robin, "round-robin")->Arg(4)->Arg(32);
BENCHMARK_CAPTURE(BM_Select, weighted, "weighted")->Arg(4)->Arg(32);
BENCHMARK_CAPTURE(BM_Select, priority, "priority")->Arg(4)->Arg(32);
BENCHMARK_CAPTURE(BM_Select, least_loaded, "least-loaded")->Arg(4)->Arg(32);
BENCHMARK_CAPTURE(BM_Select, random, "random")->Arg(4)->Arg(32);
BENCHMARK_CAPTURE(BM_SelectEqualWeights, hash_callid, "hash-callid")->Arg(4)->Arg(32);
BENCHMARK(BM_SelectTwoChoices)->Arg(4)->Arg(32);
BENCHMARK_CAPTURE(BM_SelectCandidates3, hash_callid, "hash-callid")->Arg(4)->Arg(32);
BENCHMARK_CAPTURE(BM_SelectCandidates3, weighted, "weighted")->Arg(4)->Arg(32);
BENCHMARK_CAPTURE(BM_SelectCandidates3, random, "random")->Arg(4)->Arg(32);

// Key extraction included: the hash-from-uri key of the benchmark INVITE.
void BM_SelectFromMessage(benchmark::State& state, std::string_view algorithm) {
  std::unique_ptr<config::Config> config = MakeConfig(algorithm, state.range(0), false);
  absl::StatusOr<DestinationSet> set =
      config == nullptr ? absl::InternalError("config") : DestinationSet::Create(config->sets[0]);
  const std::string invite = sipshard::testing::TypicalInvite();
  auto msg = std::make_unique<sip::Message>();
  if (!set.ok() ||
      sip::ParseMessage(invite, sip::ParseLimits(), msg.get()) != sip::ParseError::kNone) {
    state.SkipWithError("cannot build the set or parse the INVITE");
    return;
  }
  const SelectionInput in = SelectionInput::ForMessage(*msg);
  for (auto _ : state) {
    const Destination* d = set->Select(in);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK_CAPTURE(BM_SelectFromMessage, hash_callid, "hash-callid")->Arg(4)->Arg(32);
BENCHMARK_CAPTURE(BM_SelectFromMessage, hash_from_uri, "hash-from-uri")->Arg(4)->Arg(32);

}  // namespace
}  // namespace sipshard::dispatch

// Micro benchmarks of the SIP message core: full parse of the canonical
// INVITE and 200 OK, and the Call-ID scan + hash that receive threads run on
// every datagram to pick a shard. The messages are the canonical ones of
// tests/testing/sip_messages.h (~900-byte INVITE with SDP, ~350-byte 200 OK).
//
// Run: build/bench/sipshard_benchmarks --benchmark_filter='Parse|CallId'

#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "sipshard/sip/call_id_scan.h"
#include "sipshard/sip/parser.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::sip {
namespace {

void ParseLoop(benchmark::State& state, const std::string& bytes) {
  const ParseLimits limits;
  // Message holds 256 header slots; keep it off the stack like a shard does.
  auto msg = std::make_unique<Message>();
  if (ParseMessage(bytes, limits, msg.get()) != ParseError::kNone) {
    state.SkipWithError("benchmark message does not parse");
    return;
  }
  for (auto _ : state) {
    ParseError e = ParseMessage(bytes, limits, msg.get());
    benchmark::DoNotOptimize(e);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(bytes.size()));
  state.counters["msg_bytes"] = static_cast<double>(bytes.size());
}

void BM_ParseInvite(benchmark::State& state) { ParseLoop(state, testing::TypicalInvite()); }
BENCHMARK(BM_ParseInvite);

void BM_Parse200Ok(benchmark::State& state) { ParseLoop(state, testing::Typical200Ok()); }
BENCHMARK(BM_Parse200Ok);

void BM_FindCallId(benchmark::State& state) {
  const std::string invite = testing::TypicalInvite();
  if (FindCallId(invite).empty()) {
    state.SkipWithError("no Call-ID found");
    return;
  }
  for (auto _ : state) {
    std::string_view call_id = FindCallId(invite);
    benchmark::DoNotOptimize(call_id);
  }
}
BENCHMARK(BM_FindCallId);

void BM_CallIdHash(benchmark::State& state) {
  const std::string invite = testing::TypicalInvite();
  const std::string_view call_id = FindCallId(invite);
  for (auto _ : state) {
    std::string_view input = call_id;
    benchmark::DoNotOptimize(input);
    uint64_t h = CallIdHash(input);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_CallIdHash);

// The whole receive-thread cost: scan + hash.
void BM_FindCallIdAndHash(benchmark::State& state) {
  const std::string invite = testing::TypicalInvite();
  for (auto _ : state) {
    std::string_view input = invite;
    benchmark::DoNotOptimize(input);
    uint64_t h = CallIdHash(FindCallId(input));
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_FindCallIdAndHash);

}  // namespace
}  // namespace sipshard::sip

// Benchmarks of the forwarding rewrite (MessageWriter) and of the locally
// generated responses (message_builder.h).
//
//   ninja -C build sipshard_benchmarks &&
//   build/bench/sipshard_benchmarks --benchmark_filter='Rewrite|Serialize|Build'
#include <sys/uio.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "benchmark/benchmark.h"
#include "sipshard/sip/message_builder.h"
#include "sipshard/sip/message_writer.h"
#include "sipshard/sip/parser.h"
#include "tests/testing/sip_messages.h"

namespace sipshard::sip {
namespace {

// The canonical ~900-byte INVITE (tests/testing/sip_messages.h).
std::string_view Invite() {
  static const std::string invite = testing::TypicalInvite();
  return invite;
}

// An OPTIONS that fails validation (no From): the 400 path.
constexpr std::string_view kRequestMissingFrom =
    "OPTIONS sip:pbx.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKop7731;rport\r\n"
    "Max-Forwards: 70\r\n"
    "To: <sip:pbx.example.com>\r\n"
    "Call-ID: 7731ab2@192.0.2.10\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

constexpr size_t kSlotSize = 2048;  // a send-pool slot

// What a shard does per forwarded INVITE branch, start to end: parse,
// §16.6 steps 3-8 (Max-Forwards, Record-Route, our Via), serialize into a
// send slot.
void BM_ProxyRewriteInvite(benchmark::State& state) {
  const ParseLimits limits;
  auto msg = std::make_unique<Message>();
  auto writer = std::make_unique<MessageWriter>();
  alignas(64) std::array<char, kSlotSize> slot;
  ViaValue via;
  for (auto _ : state) {
    if (ParseMessage(Invite(), limits, msg.get()) != ParseError::kNone) {
      state.SkipWithError("parse failed");
      break;
    }
    writer->Reset(*msg);
    writer->SetMaxForwards(static_cast<uint32_t>(msg->max_forwards - 1));
    writer->AddRecordRoute("sip:10.0.0.1;lr");
    via.Format("UDP", "10.0.0.1", 5060, "z9hG4bKsS3.17.2.0", true);
    writer->PushVia(via.view());
    const WriteResult r = writer->Serialize(slot);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(slot.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(Invite().size()));
}
BENCHMARK(BM_ProxyRewriteInvite);

// The same, producing a gather list for sendmsg() instead of a copy.
void BM_ProxyRewriteInviteIovec(benchmark::State& state) {
  const ParseLimits limits;
  auto msg = std::make_unique<Message>();
  auto writer = std::make_unique<MessageWriter>();
  std::array<iovec, 32> iov;
  ViaValue via;
  for (auto _ : state) {
    if (ParseMessage(Invite(), limits, msg.get()) != ParseError::kNone) {
      state.SkipWithError("parse failed");
      break;
    }
    writer->Reset(*msg);
    writer->SetMaxForwards(static_cast<uint32_t>(msg->max_forwards - 1));
    writer->AddRecordRoute("sip:10.0.0.1;lr");
    via.Format("UDP", "10.0.0.1", 5060, "z9hG4bKsS3.17.2.0", true);
    writer->PushVia(via.view());
    const size_t n = writer->ToIovec(iov);
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(iov.data());
  }
}
BENCHMARK(BM_ProxyRewriteInviteIovec);

// Only the edits and the serialization, on an already parsed INVITE.
void BM_RewriteOnly(benchmark::State& state) {
  const ParseLimits limits;
  auto msg = std::make_unique<Message>();
  auto writer = std::make_unique<MessageWriter>();
  alignas(64) std::array<char, kSlotSize> slot;
  ViaValue via;
  via.Format("UDP", "10.0.0.1", 5060, "z9hG4bKsS3.17.2.0", true);
  if (ParseMessage(Invite(), limits, msg.get()) != ParseError::kNone) {
    state.SkipWithError("parse failed");
    return;
  }
  for (auto _ : state) {
    writer->Reset(*msg);
    writer->SetMaxForwards(static_cast<uint32_t>(msg->max_forwards - 1));
    writer->AddRecordRoute("sip:10.0.0.1;lr");
    writer->PushVia(via.view());
    const WriteResult r = writer->Serialize(slot);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(slot.data());
  }
}
BENCHMARK(BM_RewriteOnly);

// Serialize() alone, edits already recorded (a forking proxy serializing
// one more branch, or a retransmission rebuilt from the edits).
void BM_SerializeOnly(benchmark::State& state) {
  const ParseLimits limits;
  auto msg = std::make_unique<Message>();
  auto writer = std::make_unique<MessageWriter>();
  alignas(64) std::array<char, kSlotSize> slot;
  ViaValue via;
  via.Format("UDP", "10.0.0.1", 5060, "z9hG4bKsS3.17.2.0", true);
  if (ParseMessage(Invite(), limits, msg.get()) != ParseError::kNone) {
    state.SkipWithError("parse failed");
    return;
  }
  writer->Reset(*msg);
  writer->SetMaxForwards(static_cast<uint32_t>(msg->max_forwards - 1));
  writer->AddRecordRoute("sip:10.0.0.1;lr");
  writer->PushVia(via.view());
  size_t size = 0;
  for (auto _ : state) {
    const WriteResult r = writer->Serialize(slot);
    size = r.size;
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(slot.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(size));
}
BENCHMARK(BM_SerializeOnly);

void BM_SerializeOnlyIovec(benchmark::State& state) {
  const ParseLimits limits;
  auto msg = std::make_unique<Message>();
  auto writer = std::make_unique<MessageWriter>();
  std::array<iovec, 32> iov;
  ViaValue via;
  via.Format("UDP", "10.0.0.1", 5060, "z9hG4bKsS3.17.2.0", true);
  if (ParseMessage(Invite(), limits, msg.get()) != ParseError::kNone) {
    state.SkipWithError("parse failed");
    return;
  }
  writer->Reset(*msg);
  writer->SetMaxForwards(static_cast<uint32_t>(msg->max_forwards - 1));
  writer->AddRecordRoute("sip:10.0.0.1;lr");
  writer->PushVia(via.view());
  for (auto _ : state) {
    const size_t n = writer->ToIovec(iov);
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(iov.data());
  }
}
BENCHMARK(BM_SerializeOnlyIovec);

// The 400 for a request that failed validation (parsed once, outside).
void BM_Build400(benchmark::State& state) {
  const ParseLimits limits;
  auto msg = std::make_unique<Message>();
  alignas(64) std::array<char, kSlotSize> slot;
  const ParseError error = ParseMessage(kRequestMissingFrom, limits, msg.get());
  if (!IsAnswerable(*msg, error)) {
    state.SkipWithError("request not answerable");
    return;
  }
  ResponseOptions options;
  options.to_tag = "sS3x9f2a";
  options.source_ip = "192.0.2.10";
  options.source_port = 5060;
  const ParseErrorInfo& info = Describe(error);
  for (auto _ : state) {
    const WriteResult r = BuildResponse(*msg, info.status_code, info.reason, options, slot);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(slot.data());
  }
}
BENCHMARK(BM_Build400);

// The 100 Trying sent for every new INVITE (parsed once, outside).
void BM_BuildTrying(benchmark::State& state) {
  const ParseLimits limits;
  auto msg = std::make_unique<Message>();
  alignas(64) std::array<char, kSlotSize> slot;
  if (ParseMessage(Invite(), limits, msg.get()) != ParseError::kNone) {
    state.SkipWithError("parse failed");
    return;
  }
  ResponseOptions options;
  options.source_ip = "192.0.2.10";
  options.source_port = 5060;
  for (auto _ : state) {
    const WriteResult r = BuildResponse(*msg, 100, "", options, slot);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(slot.data());
  }
}
BENCHMARK(BM_BuildTrying);

// CANCEL towards a branch, from the outgoing INVITE (parsed once).
void BM_BuildCancel(benchmark::State& state) {
  const ParseLimits limits;
  auto msg = std::make_unique<Message>();
  alignas(64) std::array<char, kSlotSize> slot;
  if (ParseMessage(Invite(), limits, msg.get()) != ParseError::kNone) {
    state.SkipWithError("parse failed");
    return;
  }
  for (auto _ : state) {
    const WriteResult r = BuildCancel(*msg, slot);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(slot.data());
  }
}
BENCHMARK(BM_BuildCancel);

}  // namespace
}  // namespace sipshard::sip

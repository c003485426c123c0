// Loopback throughput of the transport layer: UdpSender (sendmsg SQEs on a
// shard-style ring) → kernel UDP over 127.0.0.1 → UdpReceiver (multishot
// recvmsg into provided buffers), both driven from the benchmark thread.
// One iteration sends a batch of 200-byte datagrams with one submit, then
// polls until the batch is received. items/s = datagrams/s end to end.
#include <benchmark/benchmark.h>

#include <string>

#include "sipshard/transport/listen_sockets.h"
#include "sipshard/transport/udp_receiver.h"
#include "sipshard/transport/udp_sender.h"
#include "sipshard/transport/uring.h"

namespace sipshard::transport {
namespace {

void BM_LoopbackSendReceive(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const SocketAddress listen[] = {*SocketAddress::Parse("127.0.0.1", 0)};
  absl::StatusOr<ListenSockets> sockets = ListenSockets::Open(listen, 1);
  if (!sockets.ok()) {
    state.SkipWithError(std::string(sockets.status().message()).c_str());
    return;
  }
  auto receiver = UdpReceiver::Create(sockets->ForReceiver(0));
  auto ring = Uring::Create({.sq_entries = 256});
  if (!receiver.ok() || !ring.ok()) {
    state.SkipWithError("ring setup failed");
    return;
  }
  UdpSender sender(**ring);
  // Reply-style sends: from the listen socket to itself.
  const int fd = sockets->SendFd(0);
  const SocketAddress dest = sockets->address(0);
  const std::string payload(200, 'p');
  (*receiver)->Poll(0, [](const ReceivedDatagram&) {});  // Arm.

  int64_t received = 0;
  int64_t lost_batches = 0;
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) sender.Send(fd, dest, payload);
    (*ring)->SubmitAndWait(0);
    (*ring)->ForEachCompletion(
        [&](const Completion& c) { sender.HandleCompletion(c); });
    int got = 0;
    for (int polls = 0; got < batch && polls < 100; ++polls) {
      got += (*receiver)->Poll(100, [&](const ReceivedDatagram& d) {
        benchmark::DoNotOptimize(d.payload.data());
      });
    }
    if (got < batch) ++lost_batches;
    received += got;
  }
  // Completions that arrived late (sendmsg went async).
  (*ring)->SubmitAndWait(0);
  (*ring)->ForEachCompletion(
      [&](const Completion& c) { sender.HandleCompletion(c); });
  state.SetItemsProcessed(received);
  state.SetBytesProcessed(received * static_cast<int64_t>(payload.size()));
  state.counters["lost_batches"] = static_cast<double>(lost_batches);
  state.counters["send_errors"] =
      static_cast<double>(sender.counters().send_errors);
  state.counters["pool_exhausted"] =
      static_cast<double>(sender.counters().pool_exhausted);
}
BENCHMARK(BM_LoopbackSendReceive)->Arg(1)->Arg(16)->Arg(64);

}  // namespace
}  // namespace sipshard::transport

// A receive thread: its io_uring, its sockets, its datagram pool.
//
// Receives with multishot recvmsg into a provided-buffer ring, picks the
// owning shard without parsing (SelectShard) and lets a DatagramRouter copy
// the datagram into a pool slot (the ring buffer is recycled at once) and
// push it into that shard's inbox. After each batch it wakes, with one
// msg_ring per shard, only the shards that announced sleep; the wake SQEs
// ride along with the next wait's submit. A full inbox or pool drops and
// counts. Not used when shards receive themselves (receive_threads = 0).
//
// Thread affinity: constructed on the main thread; runs on its own.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "sipshard/base/startup_gate.h"
#include "sipshard/metrics/shard_counters.h"
#include "sipshard/shard/datagram_pool.h"
#include "sipshard/shard/datagram_router.h"
#include "sipshard/shard/shard.h"
#include "sipshard/transport/listen_sockets.h"
#include "sipshard/transport/udp_receiver.h"

namespace sipshard::shard {

class ReceiveThread {
 public:
  ReceiveThread(int index, const transport::ListenSockets& sockets, std::vector<Shard*> shards,
                DatagramPool& pool, const transport::UdpReceiverOptions& options);
  ~ReceiveThread();
  ReceiveThread(const ReceiveThread&) = delete;
  ReceiveThread& operator=(const ReceiveThread&) = delete;

  // Starts the thread; returns once its ring is armed (or failed).
  absl::Status Start();
  // Stops receiving; Join() returns when the thread has exited.
  void RequestStop();
  void Join();

  const metrics::ReceiveCounters& counters() const { return counters_; }
  // Receiver counters, readable after Join().
  const transport::UdpReceiverCounters& receiver_counters() const { return receiver_counters_; }

 private:
  void Run();
  void Deliver(const transport::ReceivedDatagram& datagram);

  int index_;
  const transport::ListenSockets* sockets_;
  transport::UdpReceiverOptions options_;
  metrics::ReceiveCounters counters_;
  DatagramRouter router_;
  transport::UdpReceiverCounters receiver_counters_;
  std::unique_ptr<transport::UdpReceiver> receiver_holder_;
  std::atomic<transport::UdpReceiver*> receiver_{nullptr};
  std::atomic<bool> stop_{false};
  base::StartupGate startup_;
  std::thread thread_;
};

}  // namespace sipshard::shard

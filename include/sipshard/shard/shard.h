// A worker shard: one thread, one io_uring, one timer wheel, one proxy
// core, no locks.
//
// The shard drains its inbox in batches, lets the proxy core handle each
// datagram, returns datagram slots to their pools, advances its timer wheel
// and submits all sends of the batch at once. When the inbox is empty it
// sleeps in its ring until the next timer (bounded, so a stop request is
// seen promptly) after the Inbox sleep handshake; receive threads wake it
// with a msg_ring. The wheel is driven here and lent to the proxy core
// (ProxyEnvironment::timers), whose transactions arm their timers on it.
//
// Thread affinity: constructed and started by the ShardGroup on the main
// thread; everything else inside runs on the shard's own thread. inbox()
// and ring_fd() are the only members other threads touch.
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "sipshard/base/startup_gate.h"
#include "sipshard/config/config.h"
#include "sipshard/metrics/shard_counters.h"
#include "sipshard/proxy/proxy_core.h"
#include "sipshard/shard/datagram_pool.h"
#include "sipshard/shard/datagram_router.h"
#include "sipshard/shard/inbox.h"
#include "sipshard/shard/mailbox.h"
#include "sipshard/transport/listen_sockets.h"
#include "sipshard/transport/udp_receiver.h"
#include "sipshard/transport/udp_sender.h"

namespace sipshard::shard {

struct ShardOptions {
  uint16_t index = 0;
  int cpu = -1;  // pin to this CPU when >= 0
  bool busy_poll = false;
  size_t inbox_capacity = 16384;
  size_t max_producers = 1;   // threads that read sockets and hand off
  int max_sleep_ms = 100;     // upper bound of one idle wait
  // Non-empty when the shard reads these sockets itself
  // (server.receive_threads = 0): datagrams it owns are handled straight
  // from the kernel's buffer, the others handed off to their shard through
  // pools[index]. Saves one thread wake-up per datagram at light load.
  std::span<const transport::UdpSocket> receive_sockets;
  transport::UdpReceiverOptions receiver;
  // Mailboxes and load boards shared with the other shards (mailbox.h);
  // null: a lone shard (no cross-shard health, private load boards).
  ControlPlane* control = nullptr;
  transport::UdpSenderOptions sender;
};

class Shard {
 public:
  Shard(const ShardOptions& options, std::shared_ptr<const config::Config> config,
        const transport::ListenSockets& sockets, std::vector<proxy::ListenIdentity> listens,
        std::vector<DatagramPool*> pools);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Starts the thread and waits until its ring and proxy core are ready.
  absl::Status Start();
  // Gives the shard the full shard list, for hand-offs when it reads its
  // own sockets. Call on every shard before starting any of them.
  void SetPeers(std::vector<Shard*> peers);
  // First step of stopping a shard that reads sockets: from now on it
  // discards (and counts) what it receives. receiving_stopped() turns true
  // once it can no longer hand anything to another shard.
  void RequestStopReceiving() { stop_receiving_.store(true, std::memory_order_release); }
  bool receiving_stopped() const { return receiving_stopped_.load(std::memory_order_acquire); }
  bool reads_sockets() const { return !options_.receive_sockets.empty(); }
  // Asks the shard to finish: it drains its inbox, flushes sends, exits.
  // Call after every producer has stopped (or stopped receiving).
  void RequestStop() { stop_.store(true, std::memory_order_release); }
  void Join();

  Inbox& inbox() { return inbox_; }
  int ring_fd() const { return ring_fd_.load(std::memory_order_acquire); }
  uint16_t index() const { return options_.index; }
  const metrics::ShardCounters& counters() const { return counters_; }
  // Receive-side counters when the shard reads its own sockets.
  const metrics::ReceiveCounters& receive_counters() const { return receive_counters_; }
  // Sender counters, readable after Join().
  const transport::UdpSenderCounters& sender_counters() const { return sender_counters_; }

 private:
  void Run();
  absl::Status RunLoop();

  ShardOptions options_;
  std::shared_ptr<const config::Config> config_;
  const transport::ListenSockets* sockets_;
  std::vector<proxy::ListenIdentity> listens_;
  std::vector<DatagramPool*> pools_;
  Inbox inbox_;
  std::unique_ptr<DatagramRouter> router_;  // set by SetPeers when reading sockets
  metrics::ShardCounters counters_;
  metrics::ReceiveCounters receive_counters_;
  std::atomic<bool> stop_receiving_{false};
  std::atomic<bool> receiving_stopped_{false};
  transport::UdpSenderCounters sender_counters_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ring_fd_{-1};
  std::thread thread_;

  // Start-up handshake between Start() and the thread.
  base::StartupGate startup_;
};

}  // namespace sipshard::shard

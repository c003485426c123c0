// Hands received datagrams to the shard that owns them.
//
// Used by whoever reads sockets: a ReceiveThread, or a shard that receives
// on its own sockets (server.receive_threads = 0). A datagram for another
// shard is copied into a slot of the reader's DatagramPool and pushed into
// that shard's inbox; after each batch of receives, WakeTouched queues one
// msg_ring wake-up per shard that was handed work and announced sleep. A
// full pool or inbox drops and counts.
//
// Thread affinity: owned and used by one reading thread. The shard list is
// fixed before any thread starts; producer tokens are made at construction.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sipshard/metrics/shard_counters.h"
#include "sipshard/shard/datagram_pool.h"
#include "sipshard/shard/inbox.h"
#include "sipshard/transport/udp_receiver.h"
#include "sipshard/transport/uring.h"

namespace sipshard::shard {

class Shard;

class DatagramRouter {
 public:
  DatagramRouter(std::vector<Shard*> shards, DatagramPool& pool,
                 metrics::ReceiveCounters& counters);

  // Copies `datagram` into a pool slot and pushes it to shard `target`.
  void HandOff(uint16_t target, const transport::ReceivedDatagram& datagram);

  // Queues msg_ring wake-ups on `ring` (submitted with its next submit)
  // for every shard handed work since the last call that is asleep.
  void WakeTouched(transport::Uring& ring);

  size_t shard_count() const { return shards_.size(); }

 private:
  std::vector<Shard*> shards_;
  DatagramPool* pool_;
  metrics::ReceiveCounters* counters_;
  std::vector<std::unique_ptr<Inbox::ProducerToken>> tokens_;
  std::vector<uint16_t> touched_;
  std::vector<bool> touched_flag_;
};

}  // namespace sipshard::shard

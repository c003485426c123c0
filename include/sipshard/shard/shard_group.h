// Builds and runs the whole data plane from one config snapshot.
//
// Opens the listen sockets (one per receive thread and address, with
// SO_REUSEPORT), creates one datagram pool per receive thread, starts the
// shards first and the receive threads second, and stops them in the
// opposite order so that every datagram accepted by a receive thread is
// handled by its shard before exit (nothing accepted is lost silently).
//
// Thread affinity: owned and driven by the main thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sipshard/config/config.h"
#include "sipshard/shard/datagram_pool.h"
#include "sipshard/shard/receive_thread.h"
#include "sipshard/shard/shard.h"
#include "sipshard/transport/listen_sockets.h"

namespace sipshard::shard {

class ShardGroup {
 public:
  static absl::StatusOr<std::unique_ptr<ShardGroup>> Start(
      std::shared_ptr<const config::Config> config);
  ~ShardGroup();

  // Stops receiving, drains every inbox, joins all threads. Idempotent.
  void Stop();

  // Returns all counters as JSON (see metrics/stats_report.h).
  std::string StatsJson() const;

 private:
  ShardGroup() = default;

  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<transport::ListenSockets> sockets_;
  std::vector<std::unique_ptr<DatagramPool>> pools_;
  ControlPlane control_;  // before shards_: outlives them
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::unique_ptr<ReceiveThread>> receivers_;
  bool stopped_ = false;
};

}  // namespace sipshard::shard

#include "sipshard/shard/shard_group.h"

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "sipshard/base/log.h"
#include "sipshard/metrics/stats_report.h"
#include "sipshard/transport/uring.h"

namespace sipshard::shard {
namespace {

std::vector<proxy::ListenIdentity> MakeIdentities(const config::Config& config,
                                                  const transport::ListenSockets& sockets) {
  std::vector<proxy::ListenIdentity> out;
  for (int i = 0; i < sockets.address_count(); ++i) {
    const transport::SocketAddress& address = sockets.address(i);
    proxy::ListenIdentity id;
    id.address = address;
    id.port = address.port();
    std::string host = config.server.advertised_host.empty() ? address.HostString()
                                                             : config.server.advertised_host;
    id.host = (address.is_ipv6() && host.find(':') != std::string::npos && host.front() != '[')
                  ? absl::StrCat("[", host, "]")
                  : host;
    out.push_back(std::move(id));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ShardGroup>> ShardGroup::Start(
    std::shared_ptr<const config::Config> config) {
  if (absl::Status support = transport::CheckKernelSupport(); !support.ok()) return support;
  std::unique_ptr<ShardGroup> group(new ShardGroup());
  group->config_ = config;
  const config::ServerConfig& server = config->server;

  std::vector<transport::SocketAddress> addresses;
  for (const config::ListenAddress& listen : server.listen) {
    std::optional<transport::SocketAddress> address =
        transport::SocketAddress::Parse(listen.host, listen.port);
    if (!address) return absl::InvalidArgumentError(absl::StrCat("bad listen address ", listen.ToString()));
    addresses.push_back(*address);
  }
  // Who reads the sockets: receive threads, or (receive_threads = 0) every
  // shard its own SO_REUSEPORT set.
  const bool shards_read = server.receive_threads == 0;
  const int readers = shards_read ? server.shards : server.receive_threads;
  transport::UdpSocketOptions socket_options;
  socket_options.receive_buffer_bytes = server.socket_receive_buffer;
  socket_options.send_buffer_bytes = server.socket_send_buffer;
  absl::StatusOr<transport::ListenSockets> sockets =
      transport::ListenSockets::Open(addresses, readers, socket_options);
  if (!sockets.ok()) return sockets.status();
  group->sockets_ = std::make_unique<transport::ListenSockets>(std::move(*sockets));
  for (int i = 0; i < group->sockets_->address_count(); ++i) {
    const transport::UdpSocket& s = group->sockets_->ForReceiver(0)[static_cast<size_t>(i)];
    base::Log(base::LogSeverity::kInfo, "listening on udp:%s (SO_RCVBUF granted %d, SO_SNDBUF %d)",
              group->sockets_->address(i).ToString(), s.granted_receive_buffer_bytes(),
              s.granted_send_buffer_bytes());
  }

  // One datagram pool per reader; every shard returns slots to their owner.
  DatagramPoolOptions pool_options;
  pool_options.small_slots = server.inbox_capacity;
  pool_options.large_payload = static_cast<uint32_t>(config->limits.max_message_size);
  pool_options.max_returning_threads = static_cast<uint32_t>(server.shards);
  std::vector<DatagramPool*> pool_pointers;
  for (int r = 0; r < readers; ++r) {
    group->pools_.push_back(std::make_unique<DatagramPool>(static_cast<uint16_t>(r), pool_options));
    pool_pointers.push_back(group->pools_.back().get());
  }

  transport::UdpReceiverOptions receiver_options;
  receiver_options.buffer_count = server.recv_buffers;
  receiver_options.buffer_size = static_cast<uint32_t>(config->limits.max_message_size) +
                                 transport::UdpReceiver::kReceiveHeaderBytes + 1;

  const std::vector<proxy::ListenIdentity> identities = MakeIdentities(*config, *group->sockets_);
  // Shared by all shards, complete before the first one starts.
  for (int s = 0; s < server.shards; ++s) {
    group->control_.mailboxes.push_back(
        std::make_unique<Mailbox>(Mailbox::kDefaultCapacity, static_cast<size_t>(server.shards)));
  }
  for (const config::DestinationSetConfig& set : config->sets) {
    group->control_.load_boards.push_back(std::make_shared<dispatch::LoadBoard>(
        static_cast<size_t>(server.shards), set.destinations.size()));
  }
  std::vector<Shard*> shard_pointers;
  for (int s = 0; s < server.shards; ++s) {
    ShardOptions options;
    options.index = static_cast<uint16_t>(s);
    options.busy_poll = server.busy_poll;
    options.inbox_capacity = server.inbox_capacity;
    options.max_producers = static_cast<size_t>(readers);
    options.control = &group->control_;
    if (shards_read) {
      options.receive_sockets = group->sockets_->ForReceiver(s);
      options.receiver = receiver_options;
      // The shard's sends share this ring: room for a batch of them.
      options.receiver.ring.sq_entries = 256;
    }
    if (server.cpu_affinity.enabled) {
      const std::vector<int>& cpus = server.cpu_affinity.cpus;
      options.cpu = cpus.empty() ? s : cpus[static_cast<size_t>(s) % cpus.size()];
    }
    group->shards_.push_back(
        std::make_unique<Shard>(options, config, *group->sockets_, identities, pool_pointers));
    shard_pointers.push_back(group->shards_.back().get());
  }
  // Every shard knows all others before any of them can hand off.
  for (auto& shard : group->shards_) shard->SetPeers(shard_pointers);
  for (auto& shard : group->shards_) {
    if (absl::Status status = shard->Start(); !status.ok()) {
      group->Stop();
      return status;
    }
  }

  for (int r = 0; r < server.receive_threads; ++r) {
    group->receivers_.push_back(std::make_unique<ReceiveThread>(
        r, *group->sockets_, shard_pointers, *group->pools_[static_cast<size_t>(r)], receiver_options));
    if (absl::Status status = group->receivers_.back()->Start(); !status.ok()) {
      group->Stop();
      return status;
    }
  }
  base::Log(base::LogSeverity::kInfo, "started %d receive thread(s) and %d shard(s)",
            server.receive_threads, server.shards);
  return group;
}

ShardGroup::~ShardGroup() { Stop(); }

void ShardGroup::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& r : receivers_) r->RequestStop();
  for (auto& r : receivers_) r->Join();
  // Shards that read sockets stop handing off first; only when all have
  // stopped can no datagram reach an inbox any more. Bounded: a shard sees
  // the request within one idle wait (max_sleep_ms).
  for (auto& s : shards_) s->RequestStopReceiving();
  for (int waited_ms = 0; waited_ms < 5000; ++waited_ms) {
    bool all = true;
    for (auto& s : shards_) all = all && (!s->reads_sockets() || s->receiving_stopped());
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // No producer is left: each shard drains what it was given, then exits.
  for (auto& s : shards_) s->RequestStop();
  for (auto& s : shards_) s->Join();
}

std::string ShardGroup::StatsJson() const {
  std::vector<const metrics::ShardCounters*> shards;
  for (const auto& s : shards_) shards.push_back(&s->counters());
  std::vector<const metrics::ReceiveCounters*> receivers;
  for (const auto& r : receivers_) receivers.push_back(&r->counters());
  for (const auto& s : shards_) {
    if (s->reads_sockets()) receivers.push_back(&s->receive_counters());
  }
  return metrics::FormatStatsJson(shards, receivers);
}

}  // namespace sipshard::shard

#include "sipshard/shard/datagram_router.h"

#include <cstring>

#include "sipshard/shard/shard.h"

namespace sipshard::shard {

DatagramRouter::DatagramRouter(std::vector<Shard*> shards, DatagramPool& pool,
                               metrics::ReceiveCounters& counters)
    : shards_(std::move(shards)),
      pool_(&pool),
      counters_(&counters),
      touched_flag_(shards_.size(), false) {
  touched_.reserve(shards_.size());
  for (Shard* shard : shards_) tokens_.push_back(shard->inbox().MakeProducerToken());
}

void DatagramRouter::HandOff(uint16_t target, const transport::ReceivedDatagram& in) {
  Datagram* d = pool_->Acquire(in.payload.size());
  if (d == nullptr) {
    counters_->pool_exhausted.Add();
    return;
  }
  d->source = in.source;
  d->local = in.local;
  d->received_at = in.received_at;
  d->listen_index = static_cast<uint16_t>(in.listen_index);
  d->length = static_cast<uint32_t>(in.payload.size());
  std::memcpy(d->payload(), in.payload.data(), in.payload.size());
  if (!shards_[target]->inbox().TryPush(*tokens_[target], d)) {
    pool_->ReleaseLocal(d);
    counters_->inbox_full.Add();
    return;
  }
  if (!touched_flag_[target]) {
    touched_flag_[target] = true;
    touched_.push_back(target);
  }
}

void DatagramRouter::WakeTouched(transport::Uring& ring) {
  for (uint16_t s : touched_) {
    touched_flag_[s] = false;
    if (shards_[s]->inbox().ClaimWakeup()) {
      ring.PrepareMessageRing(shards_[s]->ring_fd(),
                              transport::EncodeUserData(transport::CompletionTag::kWake, s));
      counters_->wakeups_sent.Add();
    }
  }
  touched_.clear();
}

}  // namespace sipshard::shard

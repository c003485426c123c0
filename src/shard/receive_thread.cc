#include "sipshard/shard/receive_thread.h"

#include <pthread.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "sipshard/shard/shard_selector.h"

namespace sipshard::shard {

ReceiveThread::ReceiveThread(int index, const transport::ListenSockets& sockets,
                             std::vector<Shard*> shards, DatagramPool& pool,
                             const transport::UdpReceiverOptions& options)
    : index_(index),
      sockets_(&sockets),
      shards_(std::move(shards)),
      pool_(&pool),
      options_(options),
      touched_flag_(shards_.size(), false) {
  touched_.reserve(shards_.size());
  for (Shard* shard : shards_) tokens_.push_back(shard->inbox().MakeProducerToken());
}

ReceiveThread::~ReceiveThread() {
  RequestStop();
  Join();
}

absl::Status ReceiveThread::Start() {
  thread_ = std::thread([this] { Run(); });
  int state;
  while ((state = startup_state_.load(std::memory_order_acquire)) == 0) {
    startup_state_.wait(0, std::memory_order_acquire);
  }
  if (state == 2) {
    Join();
    return startup_status_;
  }
  return absl::OkStatus();
}

void ReceiveThread::RequestStop() {
  stop_.store(true, std::memory_order_release);
  if (transport::UdpReceiver* receiver = receiver_.load(std::memory_order_acquire)) receiver->Stop();
}

void ReceiveThread::Join() {
  if (thread_.joinable()) thread_.join();
}

void ReceiveThread::Deliver(const transport::ReceivedDatagram& in) {
  counters_.datagrams.Add();
  const ShardSelection selection =
      SelectShard(in.payload, static_cast<uint16_t>(shards_.size()));
  if (selection.choice == ShardChoice::kByBranch) counters_.routed_by_branch.Add();
  if (selection.choice == ShardChoice::kNoCallId) counters_.no_call_id.Add();

  Datagram* d = pool_->Acquire(in.payload.size());
  if (d == nullptr) {
    counters_.pool_exhausted.Add();
    return;
  }
  d->source = in.source;
  d->local = in.local;
  d->received_at = in.received_at;
  d->listen_index = static_cast<uint16_t>(in.listen_index);
  d->length = static_cast<uint32_t>(in.payload.size());
  std::memcpy(d->payload(), in.payload.data(), in.payload.size());

  if (!shards_[selection.shard]->inbox().TryPush(*tokens_[selection.shard], d)) {
    pool_->ReleaseLocal(d);
    counters_.inbox_full.Add();
    return;
  }
  if (!touched_flag_[selection.shard]) {
    touched_flag_[selection.shard] = true;
    touched_.push_back(selection.shard);
  }
}

void ReceiveThread::WakeTouchedShards(transport::UdpReceiver& receiver) {
  for (uint16_t s : touched_) {
    touched_flag_[s] = false;
    if (shards_[s]->inbox().ClaimWakeup()) {
      receiver.ring().PrepareMessageRing(
          shards_[s]->ring_fd(), transport::EncodeUserData(transport::CompletionTag::kWake, s));
      counters_.wakeups_sent.Add();
    }
  }
  touched_.clear();
}

void ReceiveThread::Run() {
  const std::string name = absl::StrCat("rx-", index_);
  pthread_setname_np(pthread_self(), name.c_str());
  absl::StatusOr<std::unique_ptr<transport::UdpReceiver>> receiver_or =
      transport::UdpReceiver::Create(sockets_->ForReceiver(index_), options_);
  if (!receiver_or.ok()) {
    startup_status_ = receiver_or.status();
    startup_state_.store(2, std::memory_order_release);
    startup_state_.notify_all();
    return;
  }
  // Owned by this object, not the thread, so RequestStop() from another
  // thread never races with the receiver's destruction.
  receiver_holder_ = std::move(*receiver_or);
  transport::UdpReceiver& receiver = *receiver_holder_;
  receiver_.store(&receiver, std::memory_order_release);
  startup_state_.store(1, std::memory_order_release);
  startup_state_.notify_all();

  while (!stop_.load(std::memory_order_acquire)) {
    receiver.Poll(1000, [this](const transport::ReceivedDatagram& d) { Deliver(d); });
    WakeTouchedShards(receiver);
  }
  // Submit any wake-ups still queued so no shard sleeps on work it has.
  receiver.ring().Submit();
  receiver_counters_ = receiver.counters();
}

}  // namespace sipshard::shard

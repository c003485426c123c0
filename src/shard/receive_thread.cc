#include "sipshard/shard/receive_thread.h"

#include <pthread.h>

#include "absl/strings/str_cat.h"
#include "sipshard/shard/shard_selector.h"

namespace sipshard::shard {

ReceiveThread::ReceiveThread(int index, const transport::ListenSockets& sockets,
                             std::vector<Shard*> shards, DatagramPool& pool,
                             const transport::UdpReceiverOptions& options)
    : index_(index),
      sockets_(&sockets),
      options_(options),
      router_(std::move(shards), pool, counters_) {}

ReceiveThread::~ReceiveThread() {
  RequestStop();
  Join();
}

absl::Status ReceiveThread::Start() {
  thread_ = std::thread([this] { Run(); });
  absl::Status status = startup_.Wait();
  if (!status.ok()) Join();
  return status;
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
      SelectShard(in.payload, static_cast<uint16_t>(router_.shard_count()));
  if (selection.choice == ShardChoice::kByBranch) counters_.routed_by_branch.Add();
  if (selection.choice == ShardChoice::kNoCallId) counters_.no_call_id.Add();
  router_.HandOff(selection.shard, in);
}

void ReceiveThread::Run() {
  const std::string name = absl::StrCat("rx-", index_);
  pthread_setname_np(pthread_self(), name.c_str());
  absl::StatusOr<std::unique_ptr<transport::UdpReceiver>> receiver_or =
      transport::UdpReceiver::Create(sockets_->ForReceiver(index_), options_);
  if (!receiver_or.ok()) {
    startup_.Fail(receiver_or.status());
    return;
  }
  // Owned by this object, not the thread, so RequestStop() from another
  // thread never races with the receiver's destruction.
  receiver_holder_ = std::move(*receiver_or);
  transport::UdpReceiver& receiver = *receiver_holder_;
  receiver_.store(&receiver, std::memory_order_release);
  startup_.Ready();

  while (!stop_.load(std::memory_order_acquire)) {
    receiver.Poll(1000, [this](const transport::ReceivedDatagram& d) { Deliver(d); });
    router_.WakeTouched(receiver.ring());
  }
  // Submit any wake-ups still queued so no shard sleeps on work it has.
  receiver.ring().Submit();
  receiver_counters_ = receiver.counters();
}

}  // namespace sipshard::shard

#include "sipshard/shard/shard.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "sipshard/base/log.h"
#include "sipshard/shard/shard_selector.h"
#include "sipshard/base/timer_wheel.h"

namespace sipshard::shard {
namespace {

constexpr size_t kBatch = 64;

// Sends through the shard's UdpSender on the listen socket named by the path.
class RingSender final : public proxy::Sender {
 public:
  RingSender(transport::UdpSender& sender, const transport::ListenSockets& sockets,
             metrics::ShardCounters& counters)
      : sender_(&sender), sockets_(&sockets), counters_(&counters) {}

  std::span<char> Reserve(size_t max_bytes) override { return sender_->Reserve(max_bytes); }

  bool Commit(size_t length, const proxy::OutboundPath& path) override {
    if (!sender_->Commit(length, sockets_->SendFd(path.listen_index), path.destination)) {
      counters_->send_failures.Add();
      return false;
    }
    return true;
  }

 private:
  transport::UdpSender* sender_;
  const transport::ListenSockets* sockets_;
  metrics::ShardCounters* counters_;
};

// Delivers control messages to the other shards' mailboxes, waking a
// sleeping one with a msg_ring from this shard's ring (submitted with the
// loop's next submit).
class MailboxBus final : public proxy::ControlBus {
 public:
  MailboxBus(transport::Uring& ring, ControlPlane& control) : ring_(&ring), control_(&control) {
    for (auto& mailbox : control.mailboxes) tokens_.push_back(mailbox->MakeProducerToken());
  }

  bool Post(uint16_t shard, const dispatch::ControlMessage& message) override {
    if (shard >= tokens_.size()) return false;
    Mailbox& mailbox = *control_->mailboxes[shard];
    if (!mailbox.TryPush(*tokens_[shard], message)) return false;
    if (mailbox.ClaimWakeup()) {
      const int fd = mailbox.ring_fd();
      if (fd >= 0) {
        ring_->PrepareMessageRing(fd, transport::EncodeUserData(transport::CompletionTag::kWake,
                                                                shard));
      }
    }
    return true;
  }

 private:
  transport::Uring* ring_;
  ControlPlane* control_;
  std::vector<std::unique_ptr<Mailbox::ProducerToken>> tokens_;
};

void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
    base::Log(base::LogSeverity::kWarning, "could not pin shard thread to CPU %d", cpu);
  }
}

}  // namespace

Shard::Shard(const ShardOptions& options, std::shared_ptr<const config::Config> config,
             const transport::ListenSockets& sockets, std::vector<proxy::ListenIdentity> listens,
             std::vector<DatagramPool*> pools)
    : options_(options),
      config_(std::move(config)),
      sockets_(&sockets),
      listens_(std::move(listens)),
      pools_(std::move(pools)),
      inbox_(options.inbox_capacity, options.max_producers) {}

Shard::~Shard() { Join(); }

absl::Status Shard::Start() {
  thread_ = std::thread([this] { Run(); });
  absl::Status status = startup_.Wait();
  if (!status.ok()) Join();
  return status;
}

void Shard::Join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::Run() {
  const std::string name = absl::StrCat("shard-", options_.index);
  pthread_setname_np(pthread_self(), name.c_str());
  if (options_.cpu >= 0) PinToCpu(options_.cpu);
  absl::Status status = RunLoop();
  if (!status.ok() && !startup_.decided()) {
    startup_.Fail(status);
  } else if (!status.ok()) {
    base::Log(base::LogSeverity::kError, "shard %d stopped: %s", options_.index,
              std::string(status.message()));
  }
}

void Shard::SetPeers(std::vector<Shard*> peers) {
  if (reads_sockets()) {
    router_ = std::make_unique<DatagramRouter>(std::move(peers), *pools_[options_.index],
                                               receive_counters_);
  }
}

absl::Status Shard::RunLoop() {
  // A shard that reads its own sockets shares the receiver's ring: one ring
  // (one wait) for receives, sends, timers' wake-ups and msg_ring wake-ups.
  std::unique_ptr<transport::UdpReceiver> receiver;
  std::unique_ptr<transport::Uring> own_ring;
  if (reads_sockets()) {
    if (router_ == nullptr) return absl::FailedPreconditionError("shard: SetPeers not called");
    absl::StatusOr<std::unique_ptr<transport::UdpReceiver>> receiver_or =
        transport::UdpReceiver::Create(options_.receive_sockets, options_.receiver);
    if (!receiver_or.ok()) return receiver_or.status();
    receiver = std::move(*receiver_or);
  } else {
    absl::StatusOr<std::unique_ptr<transport::Uring>> ring_or = transport::Uring::Create();
    if (!ring_or.ok()) return ring_or.status();
    own_ring = std::move(*ring_or);
  }
  transport::Uring& ring = receiver != nullptr ? receiver->ring() : *own_ring;
  transport::UdpSender sender(ring, options_.sender);
  RingSender ring_sender(sender, *sockets_, counters_);

  proxy::ProxyEnvironment env;
  env.shard_index = options_.index;
  env.config = config_;
  env.listens = listens_;
  env.sender = &ring_sender;
  env.counters = &counters_;
  const base::Clock& clock = base::MonotonicClock::Instance();
  base::TimerWheel timers(clock.NowMillis());
  env.timers = &timers;
  ControlPlane* control = options_.control;
  Mailbox* mailbox = control != nullptr && options_.index < control->mailboxes.size()
                         ? control->mailboxes[options_.index].get()
                         : nullptr;
  std::optional<MailboxBus> bus;
  if (mailbox != nullptr) {
    bus.emplace(ring, *control);
    env.control = &*bus;
    env.shard_count = static_cast<uint16_t>(control->mailboxes.size());
    env.load_boards = control->load_boards;
  }
  absl::StatusOr<std::unique_ptr<proxy::ProxyCore>> core_or = proxy::ProxyCore::Create(env);
  if (!core_or.ok()) return core_or.status();
  proxy::ProxyCore& core = **core_or;

  std::vector<std::unique_ptr<DatagramPool::ReturnToken>> return_tokens;
  for (DatagramPool* pool : pools_) return_tokens.push_back(pool->MakeReturnToken());

  ring_fd_.store(ring.ring_fd(), std::memory_order_release);
  if (mailbox != nullptr) mailbox->set_ring_fd(ring.ring_fd());
  startup_.Ready();

  // Wake-ups need no action: being awake is the point.
  auto on_completion = [&](const transport::Completion& c) { sender.HandleCompletion(c); };
  bool discard_received = false;  // set once receiving has stopped
  auto on_datagram = [&](const transport::ReceivedDatagram& in) {
    receive_counters_.datagrams.Add();
    if (discard_received) {
      receive_counters_.shutdown_discarded.Add();
      return;
    }
    const ShardSelection selection =
        SelectShard(in.payload, static_cast<uint16_t>(router_->shard_count()));
    if (selection.choice == ShardChoice::kByBranch) receive_counters_.routed_by_branch.Add();
    if (selection.choice == ShardChoice::kNoCallId) receive_counters_.no_call_id.Add();
    if (selection.shard != options_.index) {
      router_->HandOff(selection.shard, in);
      return;
    }
    // Ours: handled straight from the kernel's buffer, no copy, no hand-off.
    counters_.datagrams.Add();
    core.Handle(proxy::InboundDatagram{in.payload, in.source, in.listen_index});
  };
  // Submits what is queued, waits up to `timeout_ms` for work, handles the
  // completions (and, when reading sockets, the datagrams) that arrived.
  auto wait = [&](int timeout_ms) {
    if (receiver != nullptr) {
      receiver->Poll(timeout_ms, on_datagram, on_completion);
      router_->WakeTouched(ring);
    } else {
      ring.SubmitAndWait(timeout_ms);
      ring.ForEachCompletion(on_completion);
    }
  };

  // Sleeps until the next timer, a wake-up or a completion, bounded so a
  // stop request is seen promptly.
  auto sleep_budget_ms = [&]() -> int {
    const std::optional<base::Millis> next = timers.NextDeadline();
    if (!next) return options_.max_sleep_ms;
    const base::Millis until_next = *next - clock.NowMillis();
    return static_cast<int>(std::clamp<base::Millis>(until_next, 0, options_.max_sleep_ms));
  };

  Datagram* batch[kBatch];
  dispatch::ControlMessage controls[kBatch];
  while (true) {
    const bool stopping = stop_.load(std::memory_order_acquire);
    if (receiver != nullptr && !discard_received &&
        stop_receiving_.load(std::memory_order_acquire)) {
      // Every hand-off made so far is in its inbox: tell the group.
      discard_received = true;
      receiving_stopped_.store(true, std::memory_order_release);
    }
    if (mailbox != nullptr) {
      // Health events and state changes from the other shards: rare, cheap.
      const size_t m = mailbox->PopBulk(controls, kBatch);
      for (size_t i = 0; i < m; ++i) core.HandleControl(controls[i]);
      core.FlushControl();
    }
    const size_t n = inbox_.PopBulk(batch, kBatch);
    for (size_t i = 0; i < n; ++i) {
      Datagram* d = batch[i];
      counters_.datagrams.Add();
      if (stopping) counters_.shutdown_drained.Add();
      core.Handle(proxy::InboundDatagram{d->bytes(), d->source, d->listen_index});
      pools_[d->pool_index]->Release(*return_tokens[d->pool_index], d);
    }
    timers.Advance(clock.NowMillis());
    if (n > 0) {
      // One submit per batch; entering the kernel also reaps completions.
      wait(0);
      continue;
    }
    if (stopping) break;
    if (options_.busy_poll) {
      wait(0);
      continue;
    }
    if (!inbox_.PrepareToSleep()) continue;
    if (mailbox != nullptr && !mailbox->PrepareToSleep()) {
      inbox_.Awake();
      continue;
    }
    wait(sleep_budget_ms());
    inbox_.Awake();
    if (mailbox != nullptr) mailbox->Awake();
  }

  // Flush what is still in flight, bounded: UDP sends complete at once.
  discard_received = true;
  for (int i = 0; i < 100 && sender.in_flight() > 0; ++i) wait(10);
  sender_counters_ = sender.counters();
  if (mailbox != nullptr) mailbox->set_ring_fd(-1);  // no more wake-ups to this ring
  return absl::OkStatus();
}

}  // namespace sipshard::shard

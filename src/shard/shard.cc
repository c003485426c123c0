#include "sipshard/shard/shard.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "sipshard/base/log.h"
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

void Shard::Join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::Run() {
  const std::string name = absl::StrCat("shard-", options_.index);
  pthread_setname_np(pthread_self(), name.c_str());
  if (options_.cpu >= 0) PinToCpu(options_.cpu);
  absl::Status status = RunLoop();
  if (!status.ok() && startup_state_.load(std::memory_order_acquire) == 0) {
    startup_status_ = status;
    startup_state_.store(2, std::memory_order_release);
    startup_state_.notify_all();
  } else if (!status.ok()) {
    base::Log(base::LogSeverity::kError, "shard %d stopped: %s", options_.index,
              std::string(status.message()));
  }
}

absl::Status Shard::RunLoop() {
  absl::StatusOr<std::unique_ptr<transport::Uring>> ring_or = transport::Uring::Create();
  if (!ring_or.ok()) return ring_or.status();
  transport::Uring& ring = **ring_or;
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
  absl::StatusOr<std::unique_ptr<proxy::ProxyCore>> core_or = proxy::ProxyCore::Create(env);
  if (!core_or.ok()) return core_or.status();
  proxy::ProxyCore& core = **core_or;

  std::vector<std::unique_ptr<DatagramPool::ReturnToken>> return_tokens;
  for (DatagramPool* pool : pools_) return_tokens.push_back(pool->MakeReturnToken());

  ring_fd_.store(ring.ring_fd(), std::memory_order_release);
  startup_state_.store(1, std::memory_order_release);
  startup_state_.notify_all();

  auto reap = [&] {
    ring.ForEachCompletion([&](const transport::Completion& c) {
      // Wake-ups need no action: being awake is the point.
      sender.HandleCompletion(c);
    });
  };

  // Sleeps until the next timer, a wake-up or a completion, bounded so a
  // stop request is seen promptly.
  auto sleep_budget_ms = [&]() -> int {
    const std::optional<base::Millis> next = timers.NextDeadline();
    if (!next) return options_.max_sleep_ms;
    const base::Millis wait = *next - clock.NowMillis();
    return static_cast<int>(std::clamp<base::Millis>(wait, 0, options_.max_sleep_ms));
  };

  Datagram* batch[kBatch];
  while (true) {
    const bool stopping = stop_.load(std::memory_order_acquire);
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
      ring.SubmitAndWait(0);
      reap();
      continue;
    }
    if (stopping) break;
    if (options_.busy_poll) {
      ring.SubmitAndWait(0);
      reap();
      continue;
    }
    if (!inbox_.PrepareToSleep()) continue;
    ring.SubmitAndWait(sleep_budget_ms());
    inbox_.Awake();
    reap();
  }

  // Flush what is still in flight, bounded: UDP sends complete at once.
  for (int i = 0; i < 100 && sender.in_flight() > 0; ++i) {
    ring.SubmitAndWait(10);
    reap();
  }
  sender_counters_ = sender.counters();
  return absl::OkStatus();
}

}  // namespace sipshard::shard

#include "sipshard/load/runner.h"

#include <poll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sipshard/base/clock.h"
#include "sipshard/base/hash.h"
#include "sipshard/load/packet_io.h"

namespace sipshard::load {

namespace {

constexpr base::Nanos kNanosPerMilli = 1'000'000;
constexpr base::Nanos kMaxSleep = 100 * kNanosPerMilli;  // stop flag latency
constexpr double kMaxUacSeconds = 600;

base::Nanos Now() { return base::MonotonicClock::Instance().NowNanos(); }

// Sleeps until one of `fds` is readable or `deadline` passes.
void WaitReadable(pollfd* fds, size_t count, base::Nanos now, base::Nanos deadline) {
  base::Nanos wait = std::min(deadline, now + kMaxSleep) - now;
  if (wait <= 0) return;
  for (size_t i = 0; i < count; ++i) fds[i].revents = 0;
  timespec timeout = {static_cast<time_t>(wait / 1'000'000'000),
                      static_cast<long>(wait % 1'000'000'000)};
  ppoll(fds, count, &timeout, nullptr);
}

// Per-thread counters for the progress line: written by the owner with
// relaxed stores, read once a second by the main thread.
struct alignas(64) Progress {
  std::atomic<uint64_t> attempted{0};
  std::atomic<uint64_t> succeeded{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> retransmissions{0};
  std::atomic<uint64_t> inflight{0};
  std::atomic<bool> done{false};
};

struct UacWorker {
  transport::UdpSocket socket;
  UacConfig config;
  Progress progress;
  UacStats stats;
  uint64_t send_errors = 0;
  base::Nanos offer_end = 0;  // when this thread stopped offering
};

// CLOCK_REALTIME minus CLOCK_MONOTONIC, to map kernel receive timestamps
// onto the engines' monotonic timeline.
base::Nanos RealtimeOffset() {
  timespec real{};
  clock_gettime(CLOCK_REALTIME, &real);
  const base::Nanos mono = Now();
  return static_cast<base::Nanos>(real.tv_sec) * 1'000'000'000 + real.tv_nsec - mono;
}

void RunUacThread(UacWorker* worker, base::Nanos start, base::Nanos end, base::Nanos tick,
                  const std::atomic<bool>* stop) {
  BatchSender sender(worker->socket.fd());
  BatchReceiver receiver;
  receiver.EnableTimestamps(worker->socket.fd());
  UacEngine engine(worker->config, &sender);
  engine.Start(start);
  const base::Nanos drain_limit = 64 * worker->config.t1_ms * kNanosPerMilli;
  base::Nanos drain_deadline = std::numeric_limits<base::Nanos>::max();
  pollfd pfd = {worker->socket.fd(), POLLIN, 0};
  // Wait for the common start so that the threads' schedules interleave.
  for (base::Nanos now = Now(); now < start; now = Now()) {
    WaitReadable(&pfd, 0, now, start);
  }
  for (;;) {
    base::Nanos now = Now();
    if (engine.offering() && now >= end) {
      engine.Poll(end - 1);  // calls due before the end still start
      engine.StopOffering();
    }
    if (engine.offering() && stop != nullptr && stop->load(std::memory_order_relaxed)) {
      engine.StopOffering();
    }
    if (!engine.offering() && drain_deadline == std::numeric_limits<base::Nanos>::max()) {
      worker->offer_end = std::min(now, end);
      drain_deadline = now + drain_limit;
    }
    size_t received = 0;
    const base::Nanos offset = RealtimeOffset();
    for (int round = 0; round < 8; ++round) {
      const size_t n = receiver.Receive(worker->socket.fd());
      now = Now();
      for (size_t i = 0; i < n; ++i) {
        if (receiver.Truncated(i)) continue;
        // The kernel's arrival time, so waiting for a tick adds no latency.
        const int64_t stamp = receiver.Timestamp(i);
        const base::Nanos arrival = stamp != 0 ? std::min(now, stamp - offset) : now;
        engine.OnDatagram(receiver.Data(i), receiver.Source(i), arrival);
      }
      received += n;
      if (n < BatchReceiver::kBatch) break;
    }
    engine.Poll(now);
    sender.Flush();
    const UacStats& stats = engine.stats();
    worker->progress.attempted.store(stats.attempted, std::memory_order_relaxed);
    worker->progress.succeeded.store(stats.succeeded, std::memory_order_relaxed);
    worker->progress.failed.store(stats.failed, std::memory_order_relaxed);
    worker->progress.retransmissions.store(stats.retransmissions, std::memory_order_relaxed);
    worker->progress.inflight.store(engine.inflight(), std::memory_order_relaxed);
    if (engine.Done()) break;
    if (now >= drain_deadline) {
      engine.Abort(now);
      break;
    }
    if (received == BatchReceiver::kBatch * 8) continue;  // more is waiting
    base::Nanos deadline = std::min(engine.NextDeadline(), drain_deadline);
    if (engine.offering()) deadline = std::min(deadline, end);
    now = Now();
    if (tick > 0) {
      // Tick mode: responses are read once per tick; with nothing in
      // flight, sleep straight to the next start (never less than a tick).
      const base::Nanos next_tick = now + tick;
      deadline = engine.inflight() > 0 ? next_tick : std::max(deadline, next_tick);
      WaitReadable(&pfd, 0, now, deadline);
    } else if (received == 0) {
      WaitReadable(&pfd, 1, now, deadline);
    }
  }
  if (worker->offer_end == 0) worker->offer_end = Now();
  worker->stats = engine.stats();
  worker->send_errors = sender.send_errors();
  worker->progress.done.store(true, std::memory_order_release);
}

}  // namespace

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

absl::StatusOr<UacResult> RunUac(const UacRunOptions& options) {
  const int threads = std::max(1, options.threads);
  const UacConfig& base_config = options.config;
  if (base_config.rate <= 0 && base_config.max_inflight == 0) {
    return absl::InvalidArgumentError("need a rate or a bound on calls in flight");
  }
  if (!base_config.target.valid()) return absl::InvalidArgumentError("no target address");
  if (base_config.t1_ms <= 0) return absl::InvalidArgumentError("T1 must be positive");
  double duration_s = options.duration_s;
  if (duration_s <= 0 || duration_s > kMaxUacSeconds) duration_s = kMaxUacSeconds;
  if (options.duration_s <= 0 && base_config.max_calls == 0) {
    return absl::InvalidArgumentError("need --calls or --duration");
  }

  std::vector<std::unique_ptr<UacWorker>> workers;
  const uint64_t run_id =
      base::Mix64(static_cast<uint64_t>(Now()) ^ (static_cast<uint64_t>(getpid()) << 32)) &
      0xffffffffffULL;
  for (int i = 0; i < threads; ++i) {
    auto worker = std::make_unique<UacWorker>();
    transport::SocketAddress local = options.local;
    if (local.port() != 0) local = local.WithPort(static_cast<uint16_t>(local.port() + i));
    transport::UdpSocketOptions socket_options;
    socket_options.reuse_port = false;
    absl::StatusOr<transport::UdpSocket> socket = transport::UdpSocket::Open(local, socket_options);
    if (!socket.ok()) {
      return absl::Status(socket.status().code(),
                          absl::StrCat("bind ", local.ToString(), ": ", socket.status().message()));
    }
    worker->socket = std::move(*socket);
    UacConfig config = base_config;
    config.local = worker->socket.local_address();
    config.thread_index = static_cast<uint32_t>(i);
    config.run_id = run_id;
    config.rate = base_config.rate / threads;
    if (base_config.max_inflight > 0) {
      config.max_inflight = std::max<uint32_t>(1, base_config.max_inflight / threads +
                                                      (static_cast<uint32_t>(i) <
                                                       base_config.max_inflight % threads));
    }
    if (base_config.max_calls > 0) {
      config.max_calls = base_config.max_calls / threads +
                         (static_cast<uint64_t>(i) < base_config.max_calls % threads ? 1 : 0);
      if (config.max_calls == 0) continue;  // more threads than calls
    }
    workers.push_back(std::move(worker));
    workers.back()->config = config;
  }

  const double cpu_before = ProcessCpuSeconds();
  const base::Nanos start = Now() + 5 * kNanosPerMilli;
  const base::Nanos measure_from =
      start + static_cast<base::Nanos>(std::max(0.0, options.warmup_s) * 1e9);
  const base::Nanos end = start + static_cast<base::Nanos>(duration_s * 1e9);
  base::Nanos tick = options.tick_us >= 0 ? options.tick_us * 1000
                                          : (base_config.rate > 0 ? 1000 * 1000 : 0);
  std::vector<std::thread> thread_list;
  for (size_t i = 0; i < workers.size(); ++i) {
    UacConfig& config = workers[i]->config;
    config.measure_from = measure_from;
    // Interleave the threads' schedules: thread i starts i/rate later.
    const base::Nanos offset =
        base_config.rate > 0
            ? static_cast<base::Nanos>(static_cast<double>(i) * 1e9 / base_config.rate)
            : 0;
    thread_list.emplace_back(RunUacThread, workers[i].get(), start + offset, end, tick,
                             options.stop);
  }

  // Progress once a second; otherwise just wait for the workers.
  base::Nanos next_report = start + 1'000'000'000;
  uint64_t last_attempted = 0;
  uint64_t last_succeeded = 0;
  for (;;) {
    bool all_done = true;
    for (const auto& worker : workers) {
      all_done = all_done && worker->progress.done.load(std::memory_order_acquire);
    }
    if (all_done) break;
    const base::Nanos now = Now();
    if (options.progress && now >= next_report && options.progress_out != nullptr) {
      uint64_t attempted = 0, succeeded = 0, failed = 0, retrans = 0, inflight = 0;
      for (const auto& worker : workers) {
        attempted += worker->progress.attempted.load(std::memory_order_relaxed);
        succeeded += worker->progress.succeeded.load(std::memory_order_relaxed);
        failed += worker->progress.failed.load(std::memory_order_relaxed);
        retrans += worker->progress.retransmissions.load(std::memory_order_relaxed);
        inflight += worker->progress.inflight.load(std::memory_order_relaxed);
      }
      absl::FPrintF(options.progress_out,
                    "[%4ds] started %d/s  ok %d/s  total ok %d  failed %d  inflight %d  "
                    "retransmissions %d\n",
                    static_cast<int>((now - start) / 1'000'000'000), attempted - last_attempted,
                    succeeded - last_succeeded, succeeded, failed, inflight, retrans);
      std::fflush(options.progress_out);
      last_attempted = attempted;
      last_succeeded = succeeded;
      next_report += 1'000'000'000;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (std::thread& thread : thread_list) thread.join();
  const double cpu_after = ProcessCpuSeconds();

  UacResult result;
  result.scenario = base_config.scenario;
  result.target = base_config.target.ToString();
  result.threads = threads;
  result.rate = base_config.rate;
  result.max_inflight = base_config.max_inflight;
  base::Nanos offer_end = 0;
  for (const auto& worker : workers) {
    result.stats.Merge(worker->stats);
    result.send_errors += worker->send_errors;
    offer_end = std::max(offer_end, worker->offer_end);
  }
  const UacStats& s = result.stats;
  // Offered: measured calls over the window they were started in (one
  // pacing interval added so N paced calls read as the requested rate).
  double offer_window = static_cast<double>(std::max<base::Nanos>(
                            std::min(offer_end, std::max(s.last_start, measure_from)) -
                                measure_from,
                            0)) /
                        1e9;
  if (base_config.rate > 0) offer_window += 1.0 / base_config.rate;
  const double run_window =
      std::max(offer_window,
               static_cast<double>(std::max<base::Nanos>(s.last_end - measure_from, 0)) / 1e9);
  if (s.last_start == 0) offer_window = 0;
  // A duration-bound run offers for the whole window, whatever the last start.
  if (offer_end >= end - kNanosPerMilli) {
    offer_window = static_cast<double>(end - measure_from) / 1e9;
  }
  result.duration_s = std::max(run_window, offer_window);
  result.offered_cps = offer_window > 0 ? static_cast<double>(s.attempted) / offer_window : 0;
  result.achieved_cps =
      result.duration_s > 0 ? static_cast<double>(s.succeeded) / result.duration_s : 0;
  result.cpu_seconds = cpu_after - cpu_before;
  const uint64_t calls = s.attempted + s.warmup_calls;
  result.cpu_us_per_call = calls > 0 ? result.cpu_seconds * 1e6 / static_cast<double>(calls) : 0;
  return result;
}

struct UasFarm::Worker {
  std::vector<transport::UdpSocket> sockets;  // one per endpoint
  std::vector<std::unique_ptr<BatchSender>> senders;
  std::vector<std::unique_ptr<UasEngine>> engines;
  std::vector<EndpointCounters> counters;  // filled at exit
};

UasFarm::UasFarm(const FarmOptions& options) : options_(options) {}

UasFarm::~UasFarm() { Stop(); }

absl::StatusOr<std::unique_ptr<UasFarm>> UasFarm::Start(const FarmOptions& options) {
  if (options.endpoints.empty()) return absl::InvalidArgumentError("no endpoints");
  std::unique_ptr<UasFarm> farm(new UasFarm(options));
  const int threads = std::max(1, options.threads);
  farm->options_.threads = threads;
  for (int t = 0; t < threads; ++t) {
    auto worker = std::make_unique<Worker>();
    for (EndpointConfig& endpoint : farm->options_.endpoints) {
      absl::StatusOr<transport::UdpSocket> socket = transport::UdpSocket::Open(endpoint.address);
      if (!socket.ok()) {
        return absl::Status(socket.status().code(),
                            absl::StrCat("bind ", endpoint.address.ToString(), ": ",
                                         socket.status().message()));
      }
      // Port 0: the first thread's port is the endpoint's for every thread.
      endpoint.address = socket->local_address();
      worker->sockets.push_back(std::move(*socket));
    }
    farm->workers_.push_back(std::move(worker));
  }
  for (int t = 0; t < threads; ++t) {
    Worker& worker = *farm->workers_[static_cast<size_t>(t)];
    for (size_t e = 0; e < farm->options_.endpoints.size(); ++e) {
      worker.senders.push_back(std::make_unique<BatchSender>(worker.sockets[e].fd()));
      worker.engines.push_back(std::make_unique<UasEngine>(
          farm->options_.endpoints[e], options.t1_ms,
          static_cast<uint64_t>(t) * 7919 + e + 1, worker.senders.back().get()));
    }
  }
  farm->started_ns_ = Now();
  farm->cpu_start_ = ProcessCpuSeconds();
  for (auto& worker : farm->workers_) {
    farm->threads_.emplace_back(&UasFarm::Loop, farm.get(), worker.get());
  }
  return farm;
}

void UasFarm::Loop(Worker* worker) {
  BatchReceiver receiver;
  const size_t count = worker->engines.size();
  std::vector<pollfd> fds(count);
  for (size_t e = 0; e < count; ++e) fds[e] = {worker->sockets[e].fd(), POLLIN, 0};
  for (;;) {
    // Read the flag before draining: after it is set, one pass that finds
    // every socket empty ends the thread, so nothing already sent to the
    // farm is left uncounted.
    const bool stopping = stop_.load(std::memory_order_acquire);
    size_t received = 0;
    for (size_t e = 0; e < count; ++e) {
      for (int round = 0; round < 4; ++round) {
        const size_t n = receiver.Receive(fds[e].fd);
        const base::Nanos now = Now();
        for (size_t i = 0; i < n; ++i) {
          if (receiver.Truncated(i)) continue;
          worker->engines[e]->OnDatagram(receiver.Data(i), receiver.Source(i), now);
        }
        received += n;
        if (n < BatchReceiver::kBatch) break;
      }
    }
    const base::Nanos now = Now();
    base::Nanos next = std::numeric_limits<base::Nanos>::max();
    for (size_t e = 0; e < count; ++e) {
      worker->engines[e]->Poll(now);
      worker->senders[e]->Flush();
      next = std::min(next, worker->engines[e]->NextDeadline());
    }
    if (stopping && received == 0) break;
    if (options_.tick_us > 0) {
      const base::Nanos after = Now();
      WaitReadable(fds.data(), 0, after, after + options_.tick_us * 1000);
    } else if (received == 0) {
      WaitReadable(fds.data(), count, Now(), next);
    }
  }
  for (size_t e = 0; e < count; ++e) worker->counters.push_back(worker->engines[e]->counters());
}

void UasFarm::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_.store(true, std::memory_order_release);
  for (std::thread& thread : threads_) thread.join();
  stopped_ns_ = Now();
  cpu_seconds_ = ProcessCpuSeconds() - cpu_start_;
}

FarmResult UasFarm::Result() const {
  FarmResult result;
  result.endpoints = options_.endpoints;
  result.counters.resize(options_.endpoints.size());
  for (const auto& worker : workers_) {
    for (size_t e = 0; e < worker->counters.size(); ++e) result.counters[e].Merge(worker->counters[e]);
  }
  result.duration_s = static_cast<double>((stopped_ns_ ? stopped_ns_ : Now()) - started_ns_) / 1e9;
  result.cpu_seconds = cpu_seconds_;
  return result;
}

}  // namespace sipshard::load

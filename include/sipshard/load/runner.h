// Threaded drivers of the load generator: RunUac() runs T UAC engines, each
// on its own thread with its own UDP socket (its own local port), and
// UasFarm runs T farm threads, each owning one SO_REUSEPORT socket per
// endpoint and one UasEngine per endpoint.
//
// Every thread loops: recvmmsg() everything readable, let the engines
// react, fire due timers, sendmmsg() what they produced, then sleep in
// ppoll() until the next deadline or datagram. Threads share no mutable
// state on the message path: the only shared words are a stop flag and,
// for the progress line, a few relaxed per-thread counters.
//
// Ownership: RunUac() owns its threads and sockets for the duration of the
// call; a UasFarm owns its threads and sockets until Stop() (or
// destruction) joins them.
#pragma once

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "sipshard/load/report.h"
#include "sipshard/load/uac.h"
#include "sipshard/load/uas.h"
#include "sipshard/transport/udp_socket.h"

namespace sipshard::load {

struct UacRunOptions {
  // Scenario, target, request URI, T1/T2 and hold time are used as given;
  // rate, max_inflight and max_calls are totals split across threads.
  UacConfig config;
  // Local address: port 0 gives each thread an ephemeral port, port P gives
  // thread i port P + i.
  transport::SocketAddress local;
  int threads = 1;
  double duration_s = 0;  // 0: until max_calls are done; capped at 600 s
  double warmup_s = 0;
  // Paced runs wake up once per tick (and not per datagram): received
  // datagrams carry kernel timestamps, so latencies stay exact while the
  // wake-ups, and the CPU they cost, drop by several times. -1: 1000 µs
  // when paced, 0 (event driven) for --max-inflight without a rate.
  int64_t tick_us = -1;
  bool progress = false;  // one line per second on `progress_out`
  std::FILE* progress_out = stderr;
  const std::atomic<bool>* stop = nullptr;  // optional external stop (SIGINT)
};

absl::StatusOr<UacResult> RunUac(const UacRunOptions& options);

struct FarmOptions {
  std::vector<EndpointConfig> endpoints;  // port 0 picks a free port
  int threads = 1;
  base::Millis t1_ms = 500;
  // 0: answer as soon as a datagram arrives. N > 0: wake once per N µs and
  // answer in batches (cheaper, but adds up to N µs to every response).
  int64_t tick_us = 0;
};

class UasFarm {
 public:
  // Binds every endpoint (port 0 resolved once, shared by all threads) and
  // starts the threads.
  static absl::StatusOr<std::unique_ptr<UasFarm>> Start(const FarmOptions& options);
  ~UasFarm();
  UasFarm(const UasFarm&) = delete;
  UasFarm& operator=(const UasFarm&) = delete;

  // The endpoints with their bound addresses.
  const std::vector<EndpointConfig>& endpoints() const { return options_.endpoints; }
  // Stops the threads after they have drained their sockets; idempotent.
  void Stop();
  // Per-endpoint totals over all threads; valid after Stop().
  FarmResult Result() const;

 private:
  struct Worker;
  explicit UasFarm(const FarmOptions& options);
  void Loop(Worker* worker);

  FarmOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  bool stopped_ = false;
  int64_t started_ns_ = 0;
  int64_t stopped_ns_ = 0;
  double cpu_start_ = 0;
  double cpu_seconds_ = 0;
};

// Process CPU time (user + system) in seconds.
double ProcessCpuSeconds();

}  // namespace sipshard::load

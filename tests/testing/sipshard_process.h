// Runs the real sipshard binary for integration tests.
//
// Writes the test's config to a temporary file, starts the daemon with a
// stats file, waits (bounded) until it answers OPTIONS, and stops it with
// SIGTERM at the end. Counters are read from the JSON stats dump that the
// daemon writes on SIGUSR1 and at exit.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sipshard/transport/socket_address.h"

namespace sipshard::testing {

class SipshardProcess {
 public:
  // Starts sipshard with `config_toml`; `listen` is one of its listen
  // addresses (used for the readiness probe). Returns nullptr (after
  // recording a test failure) if it does not come up within 5 s.
  static std::unique_ptr<SipshardProcess> Start(std::string_view config_toml,
                                                const transport::SocketAddress& listen);
  ~SipshardProcess();

  // Asks for a stats dump (SIGUSR1) and returns it once written.
  std::string DumpStats();
  // Sends `signal` and waits up to `timeout_ms` for exit; returns the exit
  // code, or -1 if it had to be killed.
  int Stop(int signal = 15, int timeout_ms = 5000);
  // The stats written at exit (after Stop).
  std::string FinalStats() const;
  pid_t pid() const { return pid_; }

 private:
  SipshardProcess() = default;
  std::string ReadStatsFile() const;

  pid_t pid_ = -1;
  std::string dir_;
  std::string stats_path_;
};

// Reads counter `name` from the "totals" object of a stats dump.
uint64_t TotalCounter(std::string_view stats, std::string_view name);
// Polls the process's stats until total counter `name` reaches
// `at_least`; false after `timeout_ms` (bounded, 20 ms steps).
bool WaitForCounter(SipshardProcess& proxy, std::string_view name, uint64_t at_least,
                    int timeout_ms = 3000);
// Reads counter `name` of every shard, in shard order.
std::vector<uint64_t> ShardCounter(std::string_view stats, std::string_view name);
// Reads a parse error count of the whole process (0 if absent).
uint64_t ParseErrorCount(std::string_view stats, std::string_view error_name);

// Returns a loopback UDP port that is free right now (for listen addresses).
uint16_t FreeUdpPort(std::string_view host = "127.0.0.1");

}  // namespace sipshard::testing

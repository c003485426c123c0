#include "sipshard/base/log.h"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>

namespace sipshard::base {
namespace {

std::atomic<int> min_severity{static_cast<int>(LogSeverity::kInfo)};

constexpr std::string_view kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};

}  // namespace

void SetMinLogSeverity(LogSeverity severity) {
  min_severity.store(static_cast<int>(severity), std::memory_order_relaxed);
}

bool ShouldLog(LogSeverity severity) {
  return static_cast<int>(severity) >= min_severity.load(std::memory_order_relaxed);
}

void WriteLogLine(LogSeverity severity, std::string_view text) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm local;
  localtime_r(&ts.tv_sec, &local);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &local);
  // One write per line so concurrent threads never interleave mid-line.
  std::string line = absl::StrFormat("%s.%03d %s sipshard: %s\n", stamp,
                                     static_cast<int>(ts.tv_nsec / 1000000),
                                     kNames[static_cast<int>(severity)], text);
  [[maybe_unused]] ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace sipshard::base

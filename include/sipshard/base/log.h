// Minimal leveled logging to stderr for the daemon and tools.
//
// Logging is for operators: start-up, configuration, shutdown, rare errors.
// Nothing on the per-message path logs (counters do that job). The level is
// process-wide and set once at start-up.
#pragma once

#include <string_view>

#include "absl/strings/str_format.h"

namespace sipshard::base {

enum class LogSeverity : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetMinLogSeverity(LogSeverity severity);
bool ShouldLog(LogSeverity severity);
void WriteLogLine(LogSeverity severity, std::string_view text);

template <typename... Args>
void Log(LogSeverity severity, const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (ShouldLog(severity)) WriteLogLine(severity, absl::StrFormat(format, args...));
}

}  // namespace sipshard::base

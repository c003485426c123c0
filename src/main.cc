// sipshard: the daemon. Parses the command line, loads the config, runs
// the shard group until SIGINT/SIGTERM, dumps statistics on SIGUSR1 and at
// exit. Signals are blocked in every thread and taken synchronously here,
// so no handler ever runs on a data-plane thread.
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "sipshard/base/log.h"
#include "sipshard/config/loader.h"
#include "sipshard/shard/shard_group.h"

namespace {

constexpr std::string_view kDefaultConfig = "deploy/sipshard.toml";

constexpr std::string_view kUsage =
    "Usage: sipshard [--config FILE] [--check-config FILE] [--stats-file FILE]\n"
    "                [--log-level debug|info|warning|error] [--version] [--help]\n"
    "\n"
    "  --config FILE        run with this TOML config (default: " "deploy/sipshard.toml)\n"
    "  --check-config FILE  validate FILE, print the first error with its line, exit\n"
    "  --stats-file FILE    write counters as JSON to FILE on SIGUSR1 and at exit\n"
    "                       (default: counters go to stderr)\n"
    "  --log-level LEVEL    override server.log_level\n"
    "  --version            print the version and exit\n"
    "\n"
    "Signals: SIGINT/SIGTERM stop receiving, drain and exit 0; SIGUSR1 dumps counters.\n";

struct Options {
  std::string config_path;
  std::string check_path;
  std::string stats_path;
  std::string log_level;
};

sipshard::base::LogSeverity ToSeverity(sipshard::config::LogLevel level) {
  return static_cast<sipshard::base::LogSeverity>(static_cast<int>(level));
}

void DumpStats(const sipshard::shard::ShardGroup& group, const std::string& path) {
  const std::string json = group.StatsJson();
  if (path.empty()) {
    sipshard::base::Log(sipshard::base::LogSeverity::kInfo, "stats %s", json);
    return;
  }
  // Write then rename, so a reader never sees half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json << "\n";
  }
  std::rename(tmp.c_str(), path.c_str());
}

int ParseArgs(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "sipshard: %s needs a value\n%s", argv[i], kUsage.data());
        return false;
      }
      *out = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage.data(), stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("sipshard %s\n", SIPSHARD_VERSION);
      return 0;
    } else if (arg == "--config") {
      if (!value(&options->config_path)) return 2;
    } else if (arg == "--check-config") {
      if (!value(&options->check_path)) return 2;
    } else if (arg == "--stats-file") {
      if (!value(&options->stats_path)) return 2;
    } else if (arg == "--log-level") {
      if (!value(&options->log_level)) return 2;
    } else {
      std::fprintf(stderr, "sipshard: unknown argument '%s'\n%s", argv[i], kUsage.data());
      return 2;
    }
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  using sipshard::base::Log;
  using sipshard::base::LogSeverity;
  Options options;
  if (const int rc = ParseArgs(argc, argv, &options); rc >= 0) return rc;

  if (!options.check_path.empty()) {
    absl::StatusOr<sipshard::config::Config> config =
        sipshard::config::LoadConfigFile(options.check_path);
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
      return 1;
    }
    std::printf("%s: OK\n", options.check_path.c_str());
    return 0;
  }

  const std::string path = options.config_path.empty() ? std::string(kDefaultConfig)
                                                       : options.config_path;
  absl::StatusOr<sipshard::config::Config> loaded = sipshard::config::LoadConfigFile(path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "sipshard: %s\n", std::string(loaded.status().message()).c_str());
    return 1;
  }
  auto config = std::make_shared<const sipshard::config::Config>(std::move(*loaded));
  sipshard::base::SetMinLogSeverity(ToSeverity(config->server.log_level));
  if (!options.log_level.empty()) {
    for (const auto& [name, level] : sipshard::config::kLogLevelNames) {
      if (name == options.log_level) sipshard::base::SetMinLogSeverity(ToSeverity(level));
    }
  }
  Log(LogSeverity::kInfo, "sipshard %s starting with %s", SIPSHARD_VERSION, path);

  // Block the signals before any thread starts so that all threads inherit
  // the mask and only sigtimedwait below ever sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<sipshard::shard::ShardGroup>> group =
      sipshard::shard::ShardGroup::Start(config);
  if (!group.ok()) {
    Log(LogSeverity::kError, "cannot start: %s", std::string(group.status().message()));
    return 1;
  }

  const int64_t interval_ms = config->server.stats_interval_ms;
  while (true) {
    timespec timeout{};
    timeout.tv_sec = interval_ms > 0 ? interval_ms / 1000 : 3600;
    timeout.tv_nsec = interval_ms > 0 ? (interval_ms % 1000) * 1'000'000 : 0;
    const int sig = sigtimedwait(&signals, nullptr, &timeout);
    if (sig == SIGINT || sig == SIGTERM) {
      Log(LogSeverity::kInfo, "%s: stopping (draining inboxes)", strsignal(sig));
      break;
    }
    if (sig == SIGUSR1 || (sig < 0 && errno == EAGAIN && interval_ms > 0)) {
      DumpStats(**group, options.stats_path);
    }
  }
  (*group)->Stop();
  DumpStats(**group, options.stats_path);
  Log(LogSeverity::kInfo, "stopped");
  return 0;
}

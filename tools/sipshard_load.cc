// sipshard-load: SIP load generator (uac) and backend farm (uas).
//
//   sipshard-load uac --target HOST:PORT [--local HOST:PORT]
//       [--scenario call|options|register|message] [--rate CPS | --max-inflight N]
//       [--calls N] [--duration S] [--hold-ms MS] [--threads T] [--t1-ms MS]
//       [--warmup-s S] [--min-success PERCENT] [--json] [--progress]
//   sipshard-load uas --endpoint HOST:PORT[,behavior=...][,...] [--endpoint ...]
//       [--duration S] [--threads T] [--t1-ms MS] [--json] [--stats-file FILE]
//
// Exit status: 0 on success, 1 when uac success falls below --min-success,
// 2 on usage or setup errors. Library code lives in sipshard::load.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sipshard/load/report.h"
#include "sipshard/load/runner.h"
#include "sipshard/load/sip_text.h"

namespace {

using sipshard::load::EndpointConfig;
using sipshard::transport::SocketAddress;

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

constexpr char kUsage[] =
    "usage:\n"
    "  sipshard-load uac --target HOST:PORT [--local HOST:PORT]\n"
    "      [--scenario call|options|register|message] [--rate CPS] [--max-inflight N]\n"
    "      [--calls N] [--duration SECONDS] [--hold-ms MS] [--threads T] [--t1-ms 500]\n"
    "      [--t2-ms MS] [--request-uri URI] [--tick-us US] [--warmup-s S]\n"
    "      [--min-success PERCENT]\n"
    "      [--json] [--progress]\n"
    "    (without --rate or --max-inflight: --rate 100; --tick-us: wake-up period of a\n"
    "     paced run, default 1000, 0 = wake per datagram)\n"
    "  sipshard-load uas --endpoint HOST:PORT[,behavior=answer|busy|fail|notfound|silent|slow|mix]\n"
    "      [,ring_ms=N][,answer_ms=N][,retry_after=S][,mix=answer:90/busy:10]\n"
    "      [,drop_percent=P][,drop_first=N] [--endpoint ...]\n"
    "      [--duration SECONDS] [--threads T] [--t1-ms 500] [--tick-us 0] [--json]\n"
    "      [--stats-file FILE]\n";

int Usage(std::string_view error) {
  if (!error.empty()) absl::FPrintF(stderr, "sipshard-load: %s\n", std::string(error));
  std::fputs(kUsage, stderr);
  return 2;
}

// Splits "--name=value" / "--name value" argument lists.
class Args {
 public:
  Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) args_.emplace_back(argv[i]);
  }
  // Returns false at the end; `name` gets the flag, `value` its value if
  // `needs_value` says so.
  bool Next(std::string* name, std::string* value, std::string* error,
            bool (*needs_value)(std::string_view)) {
    if (pos_ >= args_.size()) return false;
    std::string arg = args_[pos_++];
    if (arg.rfind("--", 0) != 0) {
      *error = absl::StrCat("unexpected argument '", arg, "'");
      return true;
    }
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      *name = arg.substr(0, eq);
      *value = arg.substr(eq + 1);
      return true;
    }
    *name = arg;
    value->clear();
    if (needs_value(arg)) {
      if (pos_ >= args_.size()) {
        *error = absl::StrCat(arg, " needs a value");
        return true;
      }
      *value = args_[pos_++];
    }
    return true;
  }

 private:
  std::vector<std::string> args_;
  size_t pos_ = 0;
};

bool IsBoolFlag(std::string_view name) {
  return name == "--json" || name == "--progress" || name == "--help";
}
bool NeedsValue(std::string_view name) { return !IsBoolFlag(name); }

// The local address the kernel would use towards `target`.
std::optional<SocketAddress> LocalAddressFor(const SocketAddress& target) {
  const int fd = socket(target.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  std::optional<SocketAddress> result;
  if (connect(fd, target.sockaddr(), target.length()) == 0) {
    sockaddr_storage storage{};
    socklen_t length = sizeof(storage);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
      result = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&storage), length);
      if (result) result = result->WithPort(0);
    }
  }
  close(fd);
  return result;
}

bool ParseDouble(const std::string& text, double* out) {
  return absl::SimpleAtod(text, out) && *out >= 0;
}

int RunUacCommand(int argc, char** argv) {
  sipshard::load::UacRunOptions options;
  sipshard::load::UacConfig& config = options.config;
  std::optional<SocketAddress> target;
  std::optional<SocketAddress> local;
  double min_success = -1;
  bool json = false;
  bool progress_flag = false;
  double rate = 0;
  Args args(argc, argv, 2);
  std::string name, value, error;
  while (args.Next(&name, &value, &error, NeedsValue)) {
    if (!error.empty()) return Usage(error);
    double number = 0;
    if (name == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (name == "--target") {
      target = sipshard::load::ParseHostPort(value);
      if (!target) return Usage(absl::StrCat("bad --target '", value, "' (numeric HOST:PORT)"));
    } else if (name == "--local") {
      local = sipshard::load::ParseHostPort(value);
      if (!local) return Usage(absl::StrCat("bad --local '", value, "'"));
    } else if (name == "--scenario") {
      if (!sipshard::load::ParseScenario(value, &config.scenario)) {
        return Usage(absl::StrCat("bad --scenario '", value, "'"));
      }
    } else if (name == "--rate") {
      if (!ParseDouble(value, &rate) || rate <= 0) return Usage("bad --rate");
    } else if (name == "--max-inflight") {
      if (!absl::SimpleAtoi(value, &config.max_inflight) || config.max_inflight == 0) {
        return Usage("bad --max-inflight");
      }
    } else if (name == "--calls") {
      if (!absl::SimpleAtoi(value, &config.max_calls)) return Usage("bad --calls");
    } else if (name == "--duration") {
      if (!ParseDouble(value, &options.duration_s)) return Usage("bad --duration");
    } else if (name == "--hold-ms") {
      if (!ParseDouble(value, &number)) return Usage("bad --hold-ms");
      config.hold_ms = static_cast<int64_t>(number);
    } else if (name == "--threads") {
      if (!absl::SimpleAtoi(value, &options.threads) || options.threads < 1 ||
          options.threads > 256) {
        return Usage("bad --threads");
      }
    } else if (name == "--t1-ms") {
      if (!ParseDouble(value, &number) || number < 1) return Usage("bad --t1-ms");
      config.t1_ms = static_cast<int64_t>(number);
    } else if (name == "--t2-ms") {
      if (!ParseDouble(value, &number) || number < 1) return Usage("bad --t2-ms");
      config.t2_ms = static_cast<int64_t>(number);
    } else if (name == "--request-uri") {
      config.request_uri = value;
    } else if (name == "--tick-us") {
      if (!absl::SimpleAtoi(value, &options.tick_us) || options.tick_us < 0 ||
          options.tick_us > 100000) {
        return Usage("bad --tick-us");
      }
    } else if (name == "--warmup-s") {
      if (!ParseDouble(value, &options.warmup_s)) return Usage("bad --warmup-s");
    } else if (name == "--min-success") {
      if (!ParseDouble(value, &min_success) || min_success > 100) return Usage("bad --min-success");
    } else if (name == "--json") {
      json = true;
    } else if (name == "--progress") {
      progress_flag = true;
    } else {
      return Usage(absl::StrCat("unknown uac flag '", name, "'"));
    }
  }
  if (!error.empty()) return Usage(error);
  if (!target) return Usage("uac needs --target HOST:PORT");
  config.target = *target;
  if (rate == 0 && config.max_inflight == 0) rate = 100;
  config.rate = rate;
  if (config.max_calls == 0 && options.duration_s == 0) options.duration_s = 600;
  if (!local) {
    local = LocalAddressFor(*target);
    if (!local) return Usage("cannot find a local address towards the target; give --local");
  }
  options.local = *local;
  const double expected_s = options.duration_s > 0
                                ? options.duration_s
                                : (rate > 0 ? static_cast<double>(config.max_calls) / rate : 0);
  options.progress = progress_flag || (isatty(STDERR_FILENO) && expected_s >= 10);
  options.stop = &g_stop;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  absl::StatusOr<sipshard::load::UacResult> result = sipshard::load::RunUac(options);
  if (!result.ok()) {
    absl::FPrintF(stderr, "sipshard-load uac: %s\n", result.status().ToString());
    return 2;
  }
  if (json) {
    std::printf("%s\n", sipshard::load::FormatUacJson(*result).c_str());
  } else {
    std::fputs(sipshard::load::FormatUacText(*result).c_str(), stdout);
  }
  std::fflush(stdout);
  if (min_success >= 0 && result->success_percent() < min_success) {
    absl::FPrintF(stderr, "sipshard-load uac: success %.3f%% below --min-success %.3f%%\n",
                  result->success_percent(), min_success);
    return 1;
  }
  return 0;
}

int RunUasCommand(int argc, char** argv) {
  sipshard::load::FarmOptions options;
  double duration_s = 60;
  bool json = false;
  std::string stats_file;
  Args args(argc, argv, 2);
  std::string name, value, error;
  while (args.Next(&name, &value, &error, NeedsValue)) {
    if (!error.empty()) return Usage(error);
    double number = 0;
    if (name == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (name == "--endpoint") {
      absl::StatusOr<EndpointConfig> endpoint = sipshard::load::ParseEndpointSpec(value);
      if (!endpoint.ok()) return Usage(std::string(endpoint.status().message()));
      options.endpoints.push_back(*endpoint);
    } else if (name == "--duration") {
      if (!ParseDouble(value, &duration_s)) return Usage("bad --duration");
    } else if (name == "--threads") {
      if (!absl::SimpleAtoi(value, &options.threads) || options.threads < 1 ||
          options.threads > 256) {
        return Usage("bad --threads");
      }
    } else if (name == "--t1-ms") {
      if (!ParseDouble(value, &number) || number < 1) return Usage("bad --t1-ms");
      options.t1_ms = static_cast<int64_t>(number);
    } else if (name == "--tick-us") {
      if (!absl::SimpleAtoi(value, &options.tick_us) || options.tick_us < 0 ||
          options.tick_us > 100000) {
        return Usage("bad --tick-us");
      }
    } else if (name == "--json") {
      json = true;
    } else if (name == "--stats-file") {
      stats_file = value;
    } else {
      return Usage(absl::StrCat("unknown uas flag '", name, "'"));
    }
  }
  if (!error.empty()) return Usage(error);
  if (options.endpoints.empty()) return Usage("uas needs at least one --endpoint");
  if (duration_s <= 0 || duration_s > 3600) duration_s = 3600;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  absl::StatusOr<std::unique_ptr<sipshard::load::UasFarm>> farm =
      sipshard::load::UasFarm::Start(options);
  if (!farm.ok()) {
    absl::FPrintF(stderr, "sipshard-load uas: %s\n", farm.status().ToString());
    return 2;
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(duration_s * 1000));
  while (!g_stop.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  (*farm)->Stop();
  const sipshard::load::FarmResult result = (*farm)->Result();
  const std::string json_text = sipshard::load::FormatFarmJson(result);
  if (json) {
    std::printf("%s\n", json_text.c_str());
  } else {
    std::fputs(sipshard::load::FormatFarmText(result).c_str(), stdout);
  }
  std::fflush(stdout);
  if (!stats_file.empty()) {
    std::ofstream out(stats_file, std::ios::trunc);
    out << json_text << "\n";
    if (!out) {
      absl::FPrintF(stderr, "sipshard-load uas: cannot write %s\n", stats_file);
      return 2;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("");
  const std::string_view mode = argv[1];
  if (mode == "uac") return RunUacCommand(argc, argv);
  if (mode == "uas") return RunUasCommand(argc, argv);
  if (mode == "--help" || mode == "-h" || mode == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  return Usage(absl::StrCat("unknown mode '", argv[1], "' (uac or uas)"));
}

// Results of a load-generator run (UAC) or a farm run (UAS), and their text
// and JSON renderings.
//
// The JSON keys are an interface: bench scripts parse them. Latencies are
// reported in milliseconds from the microsecond histograms. Plain values
// filled by the runners after all threads have joined.
#pragma once

#include <string>
#include <vector>

#include "sipshard/load/uac.h"
#include "sipshard/load/uas.h"

namespace sipshard::load {

struct UacResult {
  Scenario scenario = Scenario::kCall;
  std::string target;
  int threads = 1;
  double rate = 0;  // requested, 0 when not paced
  uint32_t max_inflight = 0;
  UacStats stats;
  double offered_cps = 0;
  double achieved_cps = 0;
  double duration_s = 0;
  double cpu_seconds = 0;
  double cpu_us_per_call = 0;
  uint64_t send_errors = 0;
  double success_percent() const {
    return stats.attempted == 0 ? 0 : 100.0 * static_cast<double>(stats.succeeded) /
                                          static_cast<double>(stats.attempted);
  }
};

struct FarmResult {
  std::vector<EndpointConfig> endpoints;
  std::vector<EndpointCounters> counters;  // parallel to endpoints
  double duration_s = 0;
  double cpu_seconds = 0;
};

std::string FormatUacText(const UacResult& result);
std::string FormatUacJson(const UacResult& result);
std::string FormatFarmText(const FarmResult& result);
std::string FormatFarmJson(const FarmResult& result);

}  // namespace sipshard::load

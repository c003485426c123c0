#include "sipshard/load/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sipshard::load {

namespace {

double Ms(double micros) { return micros / 1000.0; }

std::string LatencyJson(const LatencyHistogram& h) {
  return absl::StrFormat(
      "{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,\"mean\":%.3f,"
      "\"count\":%d}",
      Ms(h.Percentile(50)), Ms(h.Percentile(90)), Ms(h.Percentile(99)), Ms(h.Percentile(99.9)),
      Ms(static_cast<double>(h.max())), Ms(h.Mean()), h.count());
}

std::string LatencyRow(const char* name, const LatencyHistogram& h) {
  return absl::StrFormat("    %-13s %9.3f %9.3f %9.3f %9.3f %9.3f %10d\n", name,
                         Ms(h.Percentile(50)), Ms(h.Percentile(90)), Ms(h.Percentile(99)),
                         Ms(h.Percentile(99.9)), Ms(static_cast<double>(h.max())), h.count());
}

}  // namespace

std::string FormatUacText(const UacResult& r) {
  const UacStats& s = r.stats;
  std::string out = absl::StrFormat(
      "sipshard-load uac: scenario=%s target=%s threads=%d\n", std::string(ScenarioName(r.scenario)),
      r.target, r.threads);
  absl::StrAppendFormat(&out, "  duration         %.3f s\n", r.duration_s);
  absl::StrAppendFormat(&out, "  calls/s          offered %.1f  achieved %.1f\n", r.offered_cps,
                        r.achieved_cps);
  absl::StrAppendFormat(&out,
                        "  calls            attempted %d  succeeded %d  failed %d  (%.3f%% ok)\n",
                        s.attempted, s.succeeded, s.failed, r.success_percent());
  absl::StrAppendFormat(&out, "  failures         timeouts %d  unfinished %d  bye_failures %d\n",
                        s.timeouts, s.unfinished, s.bye_failures);
  std::string codes;
  for (size_t code = 0; code < s.final_codes.size(); ++code) {
    if (s.final_codes[code] != 0) absl::StrAppend(&codes, " ", code, ":", s.final_codes[code]);
  }
  absl::StrAppend(&out, "  final codes     ", codes.empty() ? " none" : codes, "\n");
  absl::StrAppendFormat(&out,
                        "  messages         retransmissions %d  peer_retransmissions %d  late %d  "
                        "unexpected %d  send_errors %d\n",
                        s.retransmissions, s.peer_retransmissions, s.late_responses, s.unexpected,
                        r.send_errors);
  if (s.warmup_calls != 0) absl::StrAppendFormat(&out, "  warm-up calls    %d\n", s.warmup_calls);
  absl::StrAppend(&out, "  latency ms            p50       p90       p99     p99.9       max      count\n");
  absl::StrAppend(&out, LatencyRow("invite_final", s.invite_final));
  absl::StrAppend(&out, LatencyRow("invite_200", s.invite_200));
  absl::StrAppendFormat(&out, "  generator cpu    %.3f s  (%.2f us/call)\n", r.cpu_seconds,
                        r.cpu_us_per_call);
  return out;
}

std::string FormatUacJson(const UacResult& r) {
  const UacStats& s = r.stats;
  std::string codes;
  for (size_t code = 0; code < s.final_codes.size(); ++code) {
    if (s.final_codes[code] == 0) continue;
    absl::StrAppend(&codes, codes.empty() ? "" : ",", "\"", code, "\":", s.final_codes[code]);
  }
  return absl::StrFormat(
      "{\"scenario\":\"%s\",\"target\":\"%s\",\"threads\":%d,\"rate\":%.3f,\"max_inflight\":%d,"
      "\"offered_cps\":%.3f,\"achieved_cps\":%.3f,\"attempted\":%d,\"succeeded\":%d,"
      "\"failed\":%d,\"success_percent\":%.4f,\"final_codes\":{%s},\"retransmissions\":%d,"
      "\"peer_retransmissions\":%d,\"timeouts\":%d,\"unfinished\":%d,\"bye_failures\":%d,"
      "\"unexpected\":%d,\"late_responses\":%d,\"send_errors\":%d,\"warmup_calls\":%d,"
      "\"latency_ms\":{\"invite_final\":%s,\"invite_200\":%s},\"cpu_seconds\":%.6f,"
      "\"cpu_us_per_call\":%.3f,\"duration_s\":%.6f}",
      std::string(ScenarioName(r.scenario)), r.target, r.threads, r.rate, r.max_inflight,
      r.offered_cps, r.achieved_cps, s.attempted, s.succeeded, s.failed, r.success_percent(),
      codes, s.retransmissions, s.peer_retransmissions, s.timeouts, s.unfinished, s.bye_failures,
      s.unexpected, s.late_responses, r.send_errors, s.warmup_calls, LatencyJson(s.invite_final),
      LatencyJson(s.invite_200), r.cpu_seconds, r.cpu_us_per_call, r.duration_s);
}

std::string FormatFarmText(const FarmResult& r) {
  std::string out = absl::StrFormat("sipshard-load uas: %d endpoint(s), %.3f s, cpu %.3f s\n",
                                    r.endpoints.size(), r.duration_s, r.cpu_seconds);
  absl::StrAppend(&out,
                  "  address                 behavior   invites     acks     byes  options  "
                  "cancels    other  responses  dropped\n");
  for (size_t i = 0; i < r.endpoints.size(); ++i) {
    const EndpointCounters& c = r.counters[i];
    absl::StrAppendFormat(&out, "  %-23s %-8s %9d %8d %8d %8d %8d %8d %10d %8d\n",
                          r.endpoints[i].address.ToString(),
                          std::string(BehaviorName(r.endpoints[i].behavior)), c.invites, c.acks,
                          c.byes, c.options, c.cancels, c.other, c.responses_sent, c.dropped);
  }
  return out;
}

std::string FormatFarmJson(const FarmResult& r) {
  std::string endpoints;
  for (size_t i = 0; i < r.endpoints.size(); ++i) {
    const EndpointCounters& c = r.counters[i];
    std::string finals;
    for (size_t code = 0; code < c.finals.size(); ++code) {
      if (c.finals[code] == 0) continue;
      absl::StrAppend(&finals, finals.empty() ? "" : ",", "\"", code, "\":", c.finals[code]);
    }
    absl::StrAppendFormat(
        &endpoints,
        "%s{\"address\":\"%s\",\"behavior\":\"%s\",\"invites\":%d,\"acks\":%d,\"byes\":%d,"
        "\"options\":%d,\"cancels\":%d,\"other\":%d,\"responses_sent\":%d,\"dropped\":%d,"
        "\"absorbed\":%d,\"timer_g_retransmissions\":%d,\"ack_timeouts\":%d,"
        "\"invite_finals\":{%s}}",
        i == 0 ? "" : ",", r.endpoints[i].address.ToString(),
        std::string(BehaviorName(r.endpoints[i].behavior)), c.invites, c.acks, c.byes, c.options,
        c.cancels, c.other, c.responses_sent, c.dropped, c.absorbed, c.timer_g_retransmissions,
        c.ack_timeouts, finals);
  }
  return absl::StrFormat("{\"endpoints\":[%s],\"cpu_seconds\":%.6f,\"duration_s\":%.6f}",
                         endpoints, r.cpu_seconds, r.duration_s);
}

}  // namespace sipshard::load

#include "sipshard/metrics/stats_report.h"

#include <array>
#include <string>
#include <string_view>
#include <utility>


namespace sipshard::metrics {
namespace {

using ShardField = std::pair<std::string_view, Counter ShardCounters::*>;
constexpr std::array<ShardField, 46> kShardFields = {{
    {"datagrams", &ShardCounters::datagrams},
    {"requests", &ShardCounters::requests},
    {"responses", &ShardCounters::responses},
    {"bad_requests_answered", &ShardCounters::bad_requests_answered},
    {"dropped_malformed", &ShardCounters::dropped_malformed},
    {"keepalives", &ShardCounters::keepalives},
    {"requests_forwarded", &ShardCounters::requests_forwarded},
    {"responses_forwarded", &ShardCounters::responses_forwarded},
    {"local_replies", &ShardCounters::local_replies},
    {"too_many_hops", &ShardCounters::too_many_hops},
    {"no_route", &ShardCounters::no_route},
    {"no_destination", &ShardCounters::no_destination},
    {"route_drops", &ShardCounters::route_drops},
    {"responses_not_ours", &ShardCounters::responses_not_ours},
    {"responses_unroutable", &ShardCounters::responses_unroutable},
    {"send_failures", &ShardCounters::send_failures},
    {"shutdown_drained", &ShardCounters::shutdown_drained},
    {"transactions_created", &ShardCounters::transactions_created},
    {"transactions_freed", &ShardCounters::transactions_freed},
    {"transactions_overflow", &ShardCounters::transactions_overflow},
    {"retransmissions_absorbed", &ShardCounters::retransmissions_absorbed},
    {"responses_retransmitted", &ShardCounters::responses_retransmitted},
    {"requests_retransmitted", &ShardCounters::requests_retransmitted},
    {"branches_started", &ShardCounters::branches_started},
    {"branch_timeouts", &ShardCounters::branch_timeouts},
    {"failovers", &ShardCounters::failovers},
    {"timeouts_408", &ShardCounters::timeouts_408},
    {"cancels_received", &ShardCounters::cancels_received},
    {"cancels_sent", &ShardCounters::cancels_sent},
    {"early_cancels", &ShardCounters::early_cancels},
    {"acks_absorbed", &ShardCounters::acks_absorbed},
    {"acks_sent", &ShardCounters::acks_sent},
    {"ack_timeouts", &ShardCounters::ack_timeouts},
    {"late_2xx_relayed", &ShardCounters::late_2xx_relayed},
    {"in_dialog_stateful", &ShardCounters::in_dialog_stateful},
    {"loops_detected", &ShardCounters::loops_detected},
    {"bad_extensions", &ShardCounters::bad_extensions},
    {"lifetime_expired", &ShardCounters::lifetime_expired},
    {"probes_sent", &ShardCounters::probes_sent},
    {"probes_ok", &ShardCounters::probes_ok},
    {"probes_failed", &ShardCounters::probes_failed},
    {"health_state_changes", &ShardCounters::health_state_changes},
    {"passive_failures", &ShardCounters::passive_failures},
    {"retry_after_holds", &ShardCounters::retry_after_holds},
    {"control_messages", &ShardCounters::control_messages},
    {"control_overflow", &ShardCounters::control_overflow},
}};

using ReceiveField = std::pair<std::string_view, Counter ReceiveCounters::*>;
constexpr std::array<ReceiveField, 7> kReceiveFields = {{
    {"datagrams", &ReceiveCounters::datagrams},
    {"inbox_full", &ReceiveCounters::inbox_full},
    {"pool_exhausted", &ReceiveCounters::pool_exhausted},
    {"no_call_id", &ReceiveCounters::no_call_id},
    {"routed_by_branch", &ReceiveCounters::routed_by_branch},
    {"wakeups_sent", &ReceiveCounters::wakeups_sent},
    {"shutdown_discarded", &ReceiveCounters::shutdown_discarded},
}};

// absl::string_view is not std::string_view in Debian's Abseil build, so
// plain appends are used instead of absl::StrAppend.
void AppendField(std::string* out, bool comma, std::string_view prefix, std::string_view name,
                 uint64_t value) {
  if (comma) out->push_back(',');
  out->push_back('"');
  out->append(prefix);
  out->append(name);
  out->append("\":");
  out->append(std::to_string(value));
}

void AppendShard(std::string* out, const ShardCounters& c) {
  out->push_back('{');
  for (const auto& [name, field] : kShardFields) {
    AppendField(out, false, "", name, (c.*field).value());
    out->push_back(',');
  }
  out->append("\"parse_errors\":{");
  bool first = true;
  for (int e = 1; e < sip::kParseErrorCount; ++e) {
    const uint64_t v = c.parse_errors[static_cast<size_t>(e)].value();
    if (v == 0) continue;
    AppendField(out, !first, "", sip::Describe(static_cast<sip::ParseError>(e)).name, v);
    first = false;
  }
  out->append("}}");
}

}  // namespace

std::string FormatStatsJson(std::span<const ShardCounters* const> shards,
                            std::span<const ReceiveCounters* const> receivers) {
  std::string out = "{\"shards\":[";
  for (size_t i = 0; i < shards.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendShard(&out, *shards[i]);
  }
  out += "],\"receive_threads\":[";
  for (size_t i = 0; i < receivers.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('{');
    bool first = true;
    for (const auto& [name, field] : kReceiveFields) {
      AppendField(&out, !first, "", name, (receivers[i]->*field).value());
      first = false;
    }
    out.push_back('}');
  }
  out += "],\"totals\":{";
  bool first = true;
  for (const auto& [name, field] : kShardFields) {
    uint64_t sum = 0;
    for (const ShardCounters* s : shards) sum += (s->*field).value();
    AppendField(&out, !first, "", name, sum);
    first = false;
  }
  for (const auto& [name, field] : kReceiveFields) {
    uint64_t sum = 0;
    for (const ReceiveCounters* r : receivers) sum += (r->*field).value();
    AppendField(&out, true, "rx_", name, sum);
  }
  out += "}}";
  return out;
}

}  // namespace sipshard::metrics

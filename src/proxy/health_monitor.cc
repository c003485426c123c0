#include "sipshard/proxy/health_monitor.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "sipshard/base/log.h"
#include "sipshard/proxy/proxy_core.h"
#include "sipshard/sip/message_builder.h"
#include "sipshard/sip/message_writer.h"
#include "sipshard/txn/branch_id.h"

namespace sipshard::proxy {
namespace {

using dispatch::ControlKind;
using dispatch::ControlMessage;
using dispatch::DestinationState;

constexpr size_t kProbeBufferBytes = 1024;

bool IsPassiveFailure(int code) { return code == 408 || (code >= 500 && code < 600); }

// Parses the delta-seconds of a Retry-After value (RFC 3261 §20.33):
// leading digits, anything after (comment, parameters) ignored; -1 if none.
int64_t ParseRetryAfter(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  int64_t seconds = 0;
  size_t digits = 0;
  for (char c : value) {
    if (c < '0' || c > '9') break;
    if (seconds < 1'000'000'000) seconds = seconds * 10 + (c - '0');
    ++digits;
  }
  return digits == 0 ? -1 : seconds;
}

}  // namespace

// Per destination, on every shard (the timers are used on the owner only).
struct HealthMonitor::Entry {
  HealthMonitor* monitor = nullptr;
  uint16_t set = 0;
  uint16_t destination = 0;
  bool owned = false;
  bool outstanding = false;       // a probe is in flight
  bool reported_failure = false;  // this shard reported a passive failure
  uint32_t sequence = 0;          // of the last probe sent
  base::TimerNode probe_timer;    // next probe
  base::TimerNode timeout_timer;  // the outstanding probe's deadline
  base::TimerNode hold_timer;     // the tracker's next time-based change
};

int64_t RetryAfterSeconds(const sip::Message& response) {
  for (size_t i = 0; i < response.header_count; ++i) {
    if (response.header_fields[i].id == sip::HeaderId::kRetryAfter) {
      return ParseRetryAfter(response.header_fields[i].value);
    }
  }
  return -1;
}

HealthMonitor::HealthMonitor(const HealthMonitorOptions& options) : options_(options) {
  const config::Config& config = *options_.config;
  for (const ListenIdentity& listen : *options_.listens) {
    from_uris_.push_back(absl::StrCat("sip:sipshard@", listen.host, ":", listen.port));
  }
  for (size_t s = 0; s < options_.sets->size(); ++s) {
    trackers_.emplace_back(config.sets[s]);
    offsets_.push_back(entries_.size());
    for (size_t d = 0; d < (*options_.sets)[s].size(); ++d) {
      auto entry = std::make_unique<Entry>();
      entry->monitor = this;
      entry->set = static_cast<uint16_t>(s);
      entry->destination = static_cast<uint16_t>(d);
      entry->owned = Owns(s, d);
      entry->probe_timer.set_callback(&HealthMonitor::OnProbeTimer, entry.get());
      entry->timeout_timer.set_callback(&HealthMonitor::OnTimeoutTimer, entry.get());
      entry->hold_timer.set_callback(&HealthMonitor::OnHoldTimer, entry.get());
      entries_.push_back(std::move(entry));
    }
  }
  for (auto& entry : entries_) {
    const config::DestinationSetConfig& set = config.sets[entry->set];
    if (!entry->owned || !set.probing.enabled ||
        set.destinations[entry->destination].state == config::DestinationState::kInactive) {
      continue;
    }
    // Spread the first probes over the interval so that a big set does not
    // probe in one burst.
    const base::Millis interval = set.probing.interval_ms;
    const base::Millis spread =
        static_cast<base::Millis>((entry->destination * 7919u) % static_cast<uint64_t>(interval));
    options_.wheel->Arm(entry->probe_timer, std::min<base::Millis>(spread, interval / 4 + 1));
  }
}

HealthMonitor::~HealthMonitor() = default;

bool HealthMonitor::Owns(size_t set, size_t destination) const {
  return dispatch::HealthOwner(*options_.config, set, destination, options_.shard_count) ==
         options_.shard;
}

base::Millis HealthMonitor::Now() const { return options_.wheel->now(); }

void HealthMonitor::OnBranchOutcome(size_t set, size_t destination, int code, bool local,
                                    int64_t retry_after_s) {
  if (set >= offsets_.size()) return;
  const config::DestinationSetConfig& config = options_.config->sets[set];
  Entry& entry = EntryOf(set, destination);
  if (code == 503 && !local && retry_after_s > 0 && config.retry_after_max_ms > 0) {
    const base::Millis hold = std::min<base::Millis>(retry_after_s * 1000, config.retry_after_max_ms);
    ControlMessage m;
    m.kind = ControlKind::kRetryAfter;
    m.set_index = static_cast<uint16_t>(set);
    m.destination_index = static_cast<uint16_t>(destination);
    m.from_shard = options_.shard;
    m.until_ms = Now() + hold;
    options_.counters->retry_after_holds.Add();
    // Out here at once (the next request on this shard must not pick it);
    // the owner's broadcast follows for the other shards.
    dispatch::DestinationSet& copy = (*options_.sets)[set];
    if (copy.destinations()[destination].state == DestinationState::kActive) {
      copy.SetState(destination, DestinationState::kProbing);
    }
    ToOwner(m);
  }
  if (config.passive_fall <= 0) return;
  ControlMessage m;
  m.set_index = static_cast<uint16_t>(set);
  m.destination_index = static_cast<uint16_t>(destination);
  m.from_shard = options_.shard;
  if (IsPassiveFailure(code)) {
    options_.counters->passive_failures.Add();
    entry.reported_failure = true;
    m.kind = ControlKind::kPassiveFailure;
    ToOwner(m);
  } else if (entry.reported_failure) {
    entry.reported_failure = false;
    m.kind = ControlKind::kPassiveSuccess;
    ToOwner(m);
  }
}

void HealthMonitor::ToOwner(const ControlMessage& message) {
  const uint16_t owner = static_cast<uint16_t>(dispatch::HealthOwner(
      *options_.config, message.set_index, message.destination_index, options_.shard_count));
  if (owner == options_.shard || options_.bus == nullptr) {
    OnOwnerEvent(message);
    return;
  }
  // Health events are lossy by design (the next failure reports again).
  if (!options_.bus->Post(owner, message)) options_.counters->control_overflow.Add();
}

void HealthMonitor::Apply(const ControlMessage& message) {
  options_.counters->control_messages.Add();
  if (message.set_index >= offsets_.size() ||
      message.destination_index >= (*options_.sets)[message.set_index].size()) {
    return;
  }
  if (message.kind == ControlKind::kSetState) {
    ApplyState(message.set_index, message.destination_index, message.state);
  } else {
    OnOwnerEvent(message);
  }
}

void HealthMonitor::OnOwnerEvent(const ControlMessage& message) {
  const size_t set = message.set_index;
  const size_t d = message.destination_index;
  dispatch::HealthTracker& tracker = trackers_[set];
  const base::Millis now = Now();
  std::optional<DestinationState> changed;
  switch (message.kind) {
    case ControlKind::kPassiveFailure:
      changed = tracker.OnPassiveFailure(d, now);
      break;
    case ControlKind::kPassiveSuccess:
      changed = tracker.OnPassiveSuccess(d, now);
      break;
    case ControlKind::kRetryAfter:
      changed = tracker.OnRetryAfter(d, message.until_ms, now);
      break;
    case ControlKind::kSetState:
      return;
  }
  ArmHold(EntryOf(set, d));
  if (changed) {
    Broadcast(set, d, *changed);
  } else if (message.kind == ControlKind::kRetryAfter && message.from_shard != options_.shard &&
             tracker.state(d) != (*options_.sets)[set].destinations()[d].state) {
    // The reporting shard took it out on its own: make sure it hears the
    // owner's view again.
    dispatch::ControlMessage m;
    m.kind = ControlKind::kSetState;
    m.state = tracker.state(d);
    m.set_index = static_cast<uint16_t>(set);
    m.destination_index = static_cast<uint16_t>(d);
    m.from_shard = options_.shard;
    if (options_.bus != nullptr && !options_.bus->Post(message.from_shard, m)) {
      pending_.push_back({message.from_shard, m});
    }
  }
}

void HealthMonitor::ArmHold(Entry& entry) {
  std::optional<base::Millis> deadline = trackers_[entry.set].NextDeadline(entry.destination);
  if (!deadline) {
    entry.hold_timer.Cancel();
    return;
  }
  options_.wheel->ArmAt(entry.hold_timer, *deadline);
}

void HealthMonitor::Broadcast(size_t set, size_t destination, DestinationState state) {
  options_.counters->health_state_changes.Add();
  const dispatch::DestinationSet& copy = (*options_.sets)[set];
  base::Log(base::LogSeverity::kInfo, "set \"%s\": destination %s is now %s",
            copy.config().name, copy.destinations()[destination].config->uri,
            std::string(dispatch::ToString(state)));
  ControlMessage m;
  m.kind = ControlKind::kSetState;
  m.state = state;
  m.set_index = static_cast<uint16_t>(set);
  m.destination_index = static_cast<uint16_t>(destination);
  m.from_shard = options_.shard;
  for (uint16_t s = 0; s < options_.shard_count; ++s) {
    if (s == options_.shard || options_.bus == nullptr) continue;
    // State changes must not be lost: retried from Flush() when full.
    if (!options_.bus->Post(s, m)) {
      options_.counters->control_overflow.Add();
      pending_.push_back({s, m});
    }
  }
  ApplyState(set, destination, state);
}

void HealthMonitor::ApplyState(size_t set, size_t destination, DestinationState state) {
  (*options_.sets)[set].SetState(destination, state);
}

void HealthMonitor::Flush() {
  if (pending_.empty() || options_.bus == nullptr) return;
  size_t kept = 0;
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (!options_.bus->Post(pending_[i].shard, pending_[i].message)) pending_[kept++] = pending_[i];
  }
  pending_.resize(kept);
}

// ---- probing ----------------------------------------------------------------

void HealthMonitor::OnProbeTimer(base::TimerNode* /*node*/, void* ctx) {
  Entry& entry = *static_cast<Entry*>(ctx);
  entry.monitor->SendProbe(entry);
}

void HealthMonitor::OnTimeoutTimer(base::TimerNode* /*node*/, void* ctx) {
  Entry& entry = *static_cast<Entry*>(ctx);
  if (!entry.outstanding) return;
  entry.outstanding = false;
  entry.monitor->OnProbeResult(entry, false);
}

void HealthMonitor::OnHoldTimer(base::TimerNode* /*node*/, void* ctx) {
  Entry& entry = *static_cast<Entry*>(ctx);
  HealthMonitor& self = *entry.monitor;
  std::optional<DestinationState> changed =
      self.trackers_[entry.set].OnTick(entry.destination, self.Now());
  self.ArmHold(entry);
  if (changed) self.Broadcast(entry.set, entry.destination, *changed);
}

void HealthMonitor::SendProbe(Entry& entry) {
  const config::ProbingConfig& probing = options_.config->sets[entry.set].probing;
  options_.wheel->Arm(entry.probe_timer, probing.interval_ms);
  if (entry.outstanding) {
    // Cannot happen with timeout_ms <= interval_ms (the loader's rule);
    // count the old one as failed rather than keep two in flight.
    entry.outstanding = false;
    entry.timeout_timer.Cancel();
    OnProbeResult(entry, false);
  }
  const dispatch::Destination& d = (*options_.sets)[entry.set].destinations()[entry.destination];
  const std::vector<ListenIdentity>& listens = *options_.listens;
  int listen_index = -1;
  for (size_t i = 0; i < listens.size(); ++i) {
    if (listens[i].address.family() == d.address.family()) {
      listen_index = static_cast<int>(i);
      break;
    }
  }
  ++entry.sequence;
  entry.outstanding = true;
  options_.wheel->Arm(entry.timeout_timer, probing.timeout_ms);
  if (listen_index < 0) return;  // times out: no way to reach it
  const ListenIdentity& listen = listens[static_cast<size_t>(listen_index)];
  char branch[txn::kMaxBranchLength];
  const size_t branch_length = txn::FormatProbeBranch(
      txn::ProbeBranch{options_.shard, entry.set, entry.destination, entry.sequence}, branch);
  sip::ViaValue via;
  if (!via.Format("UDP", listen.host, listen.port, std::string_view(branch, branch_length), true)) {
    return;
  }
  char call_id[80];
  const int call_id_length =
      std::snprintf(call_id, sizeof call_id, "sx-probe-%x-%x-%x-%x", options_.shard, entry.set,
                    entry.destination, entry.sequence);
  char from_tag[16];
  const int from_tag_length = std::snprintf(from_tag, sizeof from_tag, "sxp%x", options_.shard);
  sip::OptionsProbe probe;
  probe.request_uri = d.config->uri;
  probe.via_value = via.view();
  probe.from_uri = from_uris_[static_cast<size_t>(listen_index)];
  probe.from_tag = std::string_view(from_tag, static_cast<size_t>(from_tag_length));
  probe.call_id = std::string_view(call_id, static_cast<size_t>(call_id_length));
  probe.cseq = entry.sequence;
  std::span<char> out = options_.sender->Reserve(kProbeBufferBytes);
  if (out.empty()) {
    options_.counters->send_failures.Add();
    return;
  }
  const sip::WriteResult written = sip::BuildOptions(probe, out);
  if (!written.ok()) {
    options_.counters->send_failures.Add();
    return;
  }
  if (options_.sender->Commit(written.size, txn::OutboundPath{listen_index, d.address})) {
    options_.counters->probes_sent.Add();
  }
}

bool HealthMonitor::HandleProbeResponse(const sip::Message& response) {
  std::optional<txn::ProbeBranch> id = txn::ParseProbeBranch(response.top_via.branch);
  if (!id) return false;
  if (id->shard != options_.shard || id->set >= offsets_.size() ||
      id->destination >= (*options_.sets)[id->set].size()) {
    return true;  // ours in form, but not a live probe: drop
  }
  Entry& entry = EntryOf(id->set, id->destination);
  const int code = response.status_code;
  if (code < 200 || !entry.outstanding || id->sequence != entry.sequence) return true;
  entry.outstanding = false;
  entry.timeout_timer.Cancel();
  const config::ProbingConfig& probing = options_.config->sets[id->set].probing;
  OnProbeResult(entry, code < 300 || probing.accepted_codes.Contains(code));
  return true;
}

void HealthMonitor::OnProbeResult(Entry& entry, bool ok) {
  (ok ? options_.counters->probes_ok : options_.counters->probes_failed).Add();
  std::optional<DestinationState> changed =
      trackers_[entry.set].OnProbe(entry.destination, ok, Now());
  if (changed) Broadcast(entry.set, entry.destination, *changed);
}

}  // namespace sipshard::proxy

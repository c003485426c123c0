#include "sipshard/dispatch/health.h"

#include <algorithm>

namespace sipshard::dispatch {

size_t HealthOwner(const config::Config& config, size_t set, size_t destination, size_t shards) {
  size_t ordinal = destination;
  for (size_t s = 0; s < set && s < config.sets.size(); ++s) {
    ordinal += config.sets[s].destinations.size();
  }
  return shards == 0 ? 0 : ordinal % shards;
}

HealthTracker::HealthTracker(const config::DestinationSetConfig& config)
    : probing_(config.probing.enabled),
      fall_(std::max(1, config.probing.fall)),
      rise_(std::max(1, config.probing.rise)),
      passive_fall_(config.passive_fall),
      passive_hold_ms_(config.passive_hold_ms) {
  entries_.resize(config.destinations.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    entries_[i].admin = FromConfig(config.destinations[i].state);
    entries_[i].effective = entries_[i].admin;
  }
}

std::optional<DestinationState> HealthTracker::OnProbe(size_t index, bool ok, base::Millis now) {
  Entry& e = entries_[index];
  if (ok) {
    e.probe_failures = 0;
    if (!e.up && ++e.probe_successes >= rise_) {
      e.up = true;
      e.probe_successes = 0;
      e.passive_failures = 0;
    }
  } else {
    e.probe_successes = 0;
    if (e.up && ++e.probe_failures >= fall_) {
      e.up = false;
      e.probe_failures = 0;
    }
  }
  return Update(index, now);
}

std::optional<DestinationState> HealthTracker::OnPassiveFailure(size_t index, base::Millis now) {
  Entry& e = entries_[index];
  if (passive_fall_ <= 0 || !e.up) return Update(index, now);
  if (++e.passive_failures >= passive_fall_) {
    e.up = false;
    e.passive_failures = 0;
    e.probe_successes = 0;
    // Without probes nothing would bring it back: a timed hold instead.
    if (!probing_) e.down_until = now + passive_hold_ms_;
  }
  return Update(index, now);
}

std::optional<DestinationState> HealthTracker::OnPassiveSuccess(size_t index, base::Millis now) {
  entries_[index].passive_failures = 0;
  return Update(index, now);
}

std::optional<DestinationState> HealthTracker::OnRetryAfter(size_t index, base::Millis until,
                                                            base::Millis now) {
  Entry& e = entries_[index];
  e.hold_until = std::max(e.hold_until, until);
  return Update(index, now);
}

std::optional<DestinationState> HealthTracker::OnTick(size_t index, base::Millis now) {
  Entry& e = entries_[index];
  if (!probing_ && !e.up && now >= e.down_until) e.up = true;
  return Update(index, now);
}

std::optional<base::Millis> HealthTracker::NextDeadline(size_t index) const {
  const Entry& e = entries_[index];
  std::optional<base::Millis> out;
  if (e.hold_until > 0) out = e.hold_until;
  if (!probing_ && !e.up) out = out ? std::min(*out, e.down_until) : e.down_until;
  return out;
}

std::optional<DestinationState> HealthTracker::Update(size_t index, base::Millis now) {
  Entry& e = entries_[index];
  if (e.hold_until != 0 && now >= e.hold_until) e.hold_until = 0;
  DestinationState next = e.admin;
  if (e.admin == DestinationState::kActive && (!e.up || e.hold_until != 0)) {
    next = DestinationState::kProbing;
  }
  if (next == e.effective) return std::nullopt;
  e.effective = next;
  return next;
}

}  // namespace sipshard::dispatch

// Renders the per-shard and per-receive-thread counters as one JSON object.
//
// Used for the stats dump (on SIGUSR1, periodically, and at exit) that
// operators and the integration tests read. A later Prometheus exposition
// renders the same counters in its own format.
#pragma once

#include <span>
#include <string>

#include "sipshard/metrics/shard_counters.h"

namespace sipshard::metrics {

std::string FormatStatsJson(std::span<const ShardCounters* const> shards,
                            std::span<const ReceiveCounters* const> receivers);

}  // namespace sipshard::metrics

// A single-writer counter that other threads may read.
//
// Every counter in sipshard has exactly one writing thread (its shard or
// receive thread), so an increment is a relaxed load and store: no locked
// instruction on the hot path, yet readers on other threads (stats dumps,
// a future Prometheus scrape) see a torn-free value.
#pragma once

#include <atomic>
#include <cstdint>

namespace sipshard::metrics {

class Counter {
 public:
  void Add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace sipshard::metrics

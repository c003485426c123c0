// LatencyHistogram: a log-linear histogram of non-negative integer samples
// (the load generator records microseconds) with bounded relative error.
//
// Values below 2^(kSubBucketBits+1) are counted exactly; above that every
// power-of-two range [2^k, 2^(k+1)) is split into 2^kSubBucketBits equal
// buckets, so a reported percentile is within 1/2^kSubBucketBits (0.8 %)
// of the true sample value. Recording is a few instructions and never
// allocates; histograms of different threads are merged after the run.
//
// Percentiles use the nearest-rank definition: Percentile(p) is the
// smallest recorded value v such that at least p% of the samples are ≤ v,
// reported as the midpoint of v's bucket clamped to [min, max].
//
// Ownership: a plain value owned by one thread (the generator keeps one per
// thread per measurement); not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sipshard::load {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 128
  // Values in [0, kExactLimit) have a bucket each.
  static constexpr uint64_t kExactLimit = 2 * kSubBuckets;  // 256
  // Largest power of two covered; larger samples land in the top bucket
  // (2^40 µs is twelve days).
  static constexpr int kMaxExponent = 40;
  static constexpr size_t kBucketCount =
      kExactLimit + (kMaxExponent - kSubBucketBits - 1) * kSubBuckets;

  LatencyHistogram() { Clear(); }

  void Clear();
  void Record(uint64_t value) { RecordN(value, 1); }
  void RecordN(uint64_t value, uint64_t count);
  // Adds every sample of `other`.
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double Mean() const;
  // `percent` in [0, 100]; 0 when empty.
  double Percentile(double percent) const;

  // Bucket arithmetic, public for tests.
  static size_t BucketIndex(uint64_t value);
  static uint64_t BucketLow(size_t index);   // smallest value of the bucket
  static uint64_t BucketHigh(size_t index);  // largest value of the bucket

 private:
  std::array<uint64_t, kBucketCount> buckets_;
  uint64_t count_ = 0;
  uint64_t min_ = 0;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace sipshard::load

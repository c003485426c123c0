#include "sipshard/load/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sipshard::load {

void LatencyHistogram::Clear() {
  buckets_.fill(0);
  count_ = 0;
  min_ = std::numeric_limits<uint64_t>::max();
  max_ = 0;
  sum_ = 0;
}

size_t LatencyHistogram::BucketIndex(uint64_t value) {
  if (value < kExactLimit) return static_cast<size_t>(value);
  const int exponent = 63 - __builtin_clzll(value);  // ≥ kSubBucketBits + 1
  if (exponent >= kMaxExponent) return kBucketCount - 1;
  const int shift = exponent - kSubBucketBits;
  const uint64_t sub = (value >> shift) - kSubBuckets;  // [0, kSubBuckets)
  return static_cast<size_t>(kExactLimit +
                             static_cast<uint64_t>(exponent - kSubBucketBits - 1) * kSubBuckets +
                             sub);
}

uint64_t LatencyHistogram::BucketLow(size_t index) {
  if (index < kExactLimit) return index;
  const size_t rest = index - kExactLimit;
  const int exponent = static_cast<int>(rest / kSubBuckets) + kSubBucketBits + 1;
  const uint64_t sub = rest % kSubBuckets;
  return (kSubBuckets + sub) << (exponent - kSubBucketBits);
}

uint64_t LatencyHistogram::BucketHigh(size_t index) {
  if (index < kExactLimit) return index;
  if (index == kBucketCount - 1) return std::numeric_limits<uint64_t>::max();
  return BucketLow(index + 1) - 1;
}

void LatencyHistogram::RecordN(uint64_t value, uint64_t count) {
  if (count == 0) return;
  buckets_[BucketIndex(value)] += count;
  count_ += count;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value) * static_cast<long double>(count);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < kBucketCount; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double LatencyHistogram::Mean() const {
  if (count_ == 0) return 0;
  return static_cast<double>(sum_ / static_cast<long double>(count_));
}

double LatencyHistogram::Percentile(double percent) const {
  if (count_ == 0) return 0;
  percent = std::clamp(percent, 0.0, 100.0);
  // Nearest rank: the ceil(p/100 * N)-th smallest sample, at least the first.
  const double exact_rank = percent / 100.0 * static_cast<double>(count_);
  uint64_t rank = static_cast<uint64_t>(std::ceil(exact_rank - 1e-9));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const uint64_t low = BucketLow(i);
      const uint64_t high = BucketHigh(i);
      // Midpoint of the bucket, computed without overflow.
      const double mid = static_cast<double>(low) + static_cast<double>(high - low) / 2.0;
      return std::clamp(mid, static_cast<double>(min()), static_cast<double>(max_));
    }
  }
  return static_cast<double>(max_);
}

}  // namespace sipshard::load

#include "sipshard/load/histogram.h"

#include <cmath>
#include <cstdint>

#include "gtest/gtest.h"

namespace sipshard::load {
namespace {

TEST(LatencyHistogramTest, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(50), 0);
  EXPECT_EQ(h.Mean(), 0);
  EXPECT_EQ(h.min(), 0u);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(50), 50);
  EXPECT_EQ(h.Percentile(90), 90);
  EXPECT_EQ(h.Percentile(99), 99);
  EXPECT_EQ(h.Percentile(99.9), 100);
  EXPECT_EQ(h.Percentile(100), 100);
  EXPECT_EQ(h.Percentile(0), 1);
  EXPECT_DOUBLE_EQ(h.Mean(), 50.5);
}

TEST(LatencyHistogramTest, BucketsTileTheRangeWithBoundedWidth) {
  for (size_t i = 0; i + 1 < LatencyHistogram::kBucketCount; ++i) {
    ASSERT_EQ(LatencyHistogram::BucketHigh(i) + 1, LatencyHistogram::BucketLow(i + 1)) << i;
    ASSERT_EQ(LatencyHistogram::BucketIndex(LatencyHistogram::BucketLow(i)), i);
    ASSERT_EQ(LatencyHistogram::BucketIndex(LatencyHistogram::BucketHigh(i)), i);
    const double low = static_cast<double>(LatencyHistogram::BucketLow(i));
    const double width = static_cast<double>(LatencyHistogram::BucketHigh(i)) - low + 1;
    if (i >= LatencyHistogram::kExactLimit) {
      ASSERT_LE(width / low, 1.0 / 128 + 1e-12) << i;
    }
  }
}

// 1..1000 ms uniform, recorded in µs: every percentile within the bucket
// resolution (1/128 relative, plus half a bucket from the midpoint).
TEST(LatencyHistogramTest, UniformMillisecondsPercentiles) {
  LatencyHistogram h;
  for (uint64_t ms = 1; ms <= 1000; ++ms) h.Record(ms * 1000);
  auto near = [](double got, double want) { return std::fabs(got - want) <= want / 128.0; };
  EXPECT_TRUE(near(h.Percentile(50), 500'000)) << h.Percentile(50);
  EXPECT_TRUE(near(h.Percentile(90), 900'000)) << h.Percentile(90);
  EXPECT_TRUE(near(h.Percentile(99), 990'000)) << h.Percentile(99);
  EXPECT_TRUE(near(h.Percentile(99.9), 999'000)) << h.Percentile(99.9);
  EXPECT_EQ(h.Percentile(100), 1'000'000);  // clamped to the max
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 1'000'000u);
  EXPECT_DOUBLE_EQ(h.Mean(), 500'500);
}

TEST(LatencyHistogramTest, TailIsSeenAtP999) {
  // 9990 fast samples and 10 slow ones: p99 fast, p99.9 fast (rank 9990),
  // the first slow sample is rank 9991.
  LatencyHistogram h;
  h.RecordN(100, 9990);
  h.RecordN(50'000, 10);
  EXPECT_EQ(h.Percentile(99), 100);
  EXPECT_EQ(h.Percentile(99.9), 100);
  EXPECT_NEAR(h.Percentile(99.91), 50'000, 50'000 / 128.0);
  EXPECT_EQ(h.count(), 10'000u);
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverything) {
  LatencyHistogram a, b, all;
  for (uint64_t v = 0; v < 5000; ++v) {
    const uint64_t sample = v * 37 % 100'000;
    (v % 2 ? a : b).Record(sample);
    all.Record(sample);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(a.Percentile(p), all.Percentile(p));
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
}

TEST(LatencyHistogramTest, HugeValuesLandInTheTopBucket) {
  LatencyHistogram h;
  h.Record(uint64_t{1} << 50);
  EXPECT_EQ(LatencyHistogram::BucketIndex(uint64_t{1} << 50), LatencyHistogram::kBucketCount - 1);
  EXPECT_EQ(h.Percentile(50), static_cast<double>(uint64_t{1} << 50));
}

}  // namespace
}  // namespace sipshard::load

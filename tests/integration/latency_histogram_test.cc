// Tests of examples/echo/latency_histogram.h: exact small values, the
// 1/64 relative error bound, percentiles, merging.

#include "examples/echo/latency_histogram.h"

#include <cstdint>
#include <random>

#include "gtest/gtest.h"

namespace troupe::echo {
namespace {

TEST(LatencyHistogramTest, AnEmptyHistogramReportsZeros) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(0.5), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(LatencyHistogramTest, ValuesBelow128AreExact) {
  for (uint64_t v = 0; v < 128; ++v) {
    LatencyHistogram h;
    h.Record(v);
    EXPECT_EQ(h.Percentile(0.5), v);
  }
}

TEST(LatencyHistogramTest, EveryValueIsReportedWithinOnePartIn64) {
  std::mt19937_64 random(7);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = random() >> (random() % 64);
    LatencyHistogram h;
    h.Record(v);
    h.Record(v);  // min == max would clamp the answer to v itself
    h.Record(v + 1);
    const auto got = static_cast<double>(h.Percentile(0.0));
    EXPECT_NEAR(got, static_cast<double>(v), static_cast<double>(v) / 64 + 1)
        << v;
  }
}

TEST(LatencyHistogramTest, PercentilesOfAUniformRangeAreWhereTheyShouldBe) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);  // 1 us .. 100 ms
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 100000000u);
  EXPECT_NEAR(h.mean(), 50000500.0, 1.0);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.50)), 50e6, 50e6 / 64);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.99)), 99e6, 99e6 / 64);
  EXPECT_EQ(h.Percentile(1.0), 100000000u);
}

TEST(LatencyHistogramTest, MergingEqualsRecordingEverythingInOne) {
  LatencyHistogram a, b, all;
  for (uint64_t v = 0; v < 5000; ++v) {
    (v % 3 == 0 ? a : b).Record(v * v);
    all.Record(v * v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    EXPECT_EQ(a.Percentile(q), all.Percentile(q)) << q;
  }
}

TEST(LatencyHistogramTest, TheLargestValuesDoNotOverflow) {
  LatencyHistogram h;
  h.Record(UINT64_MAX);
  h.Record(uint64_t{1} << 63);
  EXPECT_EQ(h.max(), UINT64_MAX);
  EXPECT_GE(h.Percentile(1.0), uint64_t{1} << 63);
}

}  // namespace
}  // namespace troupe::echo

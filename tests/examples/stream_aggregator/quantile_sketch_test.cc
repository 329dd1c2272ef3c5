// QuantileSketch: the 1% rank-quantile guarantee on adversarial inputs,
// merging, and the memory bound.

#include "examples/stream_aggregator/quantile_sketch.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

constexpr double kMaxDouble = std::numeric_limits<double>::max();
constexpr double kDenormMin = std::numeric_limits<double>::denorm_min();

// Checks every rank (or `probes` spread ranks) of a sketch of `values`
// against the exact sorted values, and the three quantiles of rule 8.
void ExpectWithinBound(const std::vector<double>& values,
                       const std::string& name, int probes = 2000) {
  SCOPED_TRACE(name);
  QuantileSketch sketch;
  for (double v : values) sketch.Add(v);
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const uint64_t n = sorted.size();
  ASSERT_EQ(sketch.count(), n);
  EXPECT_EQ(sketch.min(), sorted.front());
  EXPECT_EQ(sketch.max(), sorted.back());
  auto check_rank = [&](uint64_t rank) {
    const double exact = sorted[rank - 1];
    const double reported = sketch.ValueAtRank(rank);
    ASSERT_LE(std::fabs(reported - exact), 0.01 * std::fabs(exact))
        << "rank " << rank << " of " << n << ": exact " << exact
        << ", reported " << reported;
    if (exact == 0) {
      ASSERT_EQ(reported, 0);
    } else {
      ASSERT_EQ(std::signbit(reported), std::signbit(exact));
    }
  };
  const uint64_t step = std::max<uint64_t>(1, n / probes);
  for (uint64_t rank = 1; rank <= n; rank += step) check_rank(rank);
  check_rank(n);
  for (const auto& [num, den] :
       {std::pair<uint64_t, uint64_t>{1, 2}, {9, 10}, {99, 100}}) {
    const uint64_t rank = RankOf(n, num, den);
    check_rank(rank);
    EXPECT_EQ(sketch.Quantile(num, den), sketch.ValueAtRank(rank));
  }
}

TEST(QuantileSketchTest, RanksAreCeilingsComputedInIntegers) {
  EXPECT_EQ(RankOf(1, 1, 2), 1u);
  EXPECT_EQ(RankOf(10, 9, 10), 9u);
  EXPECT_EQ(RankOf(11, 9, 10), 10u);
  EXPECT_EQ(RankOf(100, 99, 100), 99u);
  EXPECT_EQ(RankOf(101, 99, 100), 100u);
  EXPECT_EQ(RankOf(3, 1, 2), 2u);
  EXPECT_EQ(RankOf(std::numeric_limits<uint64_t>::max(), 99, 100),
            18262276632972456099u);
}

TEST(QuantileSketchTest, ASingleValueIsReportedExactly) {
  for (double v : {21.5, -3.25, 1e-300, 7e300, kDenormMin, -kMaxDouble}) {
    QuantileSketch sketch;
    sketch.Add(v);
    EXPECT_EQ(sketch.Quantile(1, 2), v);
    EXPECT_EQ(sketch.Quantile(99, 100), v);
  }
}

TEST(QuantileSketchTest, ZerosAreExactAndSignsAreKept) {
  ExpectWithinBound({-5, -1, 0, 0, -0.0, 1, 5}, "mixed around zero");
  QuantileSketch sketch;
  for (double v : {-2.0, 0.0, 0.0, 3.0}) sketch.Add(v);
  EXPECT_EQ(sketch.Quantile(1, 2), 0.0);
  EXPECT_LT(sketch.ValueAtRank(1), 0);
  EXPECT_GT(sketch.ValueAtRank(4), 0);
}

TEST(QuantileSketchTest, UniformAndNormalDataStayWithinOnePercent) {
  std::mt19937_64 rng(testing::TestSeed(1));
  std::vector<double> uniform;
  std::vector<double> normal;
  std::uniform_real_distribution<double> u(0, 1000);
  std::normal_distribution<double> g(20, 5);
  for (int i = 0; i < 100'000; ++i) {
    uniform.push_back(u(rng));
    normal.push_back(g(rng));
  }
  ExpectWithinBound(uniform, "uniform");
  ExpectWithinBound(normal, "normal crossing zero");
}

TEST(QuantileSketchTest, HeavyTailsStayWithinOnePercent) {
  std::mt19937_64 rng(testing::TestSeed(2));
  std::vector<double> pareto;
  std::vector<double> cauchy;
  std::vector<double> lognormal;
  std::uniform_real_distribution<double> u(0, 1);
  std::cauchy_distribution<double> c(0, 1);
  std::lognormal_distribution<double> l(0, 10);
  for (int i = 0; i < 50'000; ++i) {
    pareto.push_back(1 / std::pow(1 - u(rng), 1 / 0.5));
    cauchy.push_back(c(rng));
    lognormal.push_back(-l(rng));
  }
  ExpectWithinBound(pareto, "pareto alpha 0.5");
  ExpectWithinBound(cauchy, "cauchy");
  ExpectWithinBound(lognormal, "negated lognormal sigma 10");
}

TEST(QuantileSketchTest, DuplicatesAndConstantsAreReportedExactly) {
  std::vector<double> constant(1000, 42.125);
  ExpectWithinBound(constant, "constant");
  QuantileSketch sketch;
  for (double v : constant) sketch.Add(v);
  EXPECT_EQ(sketch.Quantile(1, 2), 42.125);  // clamped to [min, max]
  std::vector<double> two_values;
  two_values.reserve(1000);
  for (int i = 0; i < 1000; ++i) two_values.push_back(i % 10 == 0 ? 1e6 : -1);
  ExpectWithinBound(two_values, "two values");
  std::vector<double> zeros(500, 0.0);
  ExpectWithinBound(zeros, "zeros");
}

TEST(QuantileSketchTest, TinyAndHugeMagnitudesStayWithinOnePercent) {
  std::mt19937_64 rng(testing::TestSeed(3));
  std::vector<double> log_uniform;
  std::uniform_real_distribution<double> exponent(-300, 300);
  for (int i = 0; i < 50'000; ++i) {
    const double v = std::pow(10.0, exponent(rng));
    log_uniform.push_back(i % 2 == 0 ? v : -v);
  }
  ExpectWithinBound(log_uniform, "1e-300..1e300 both signs");
  std::vector<double> extremes = {kMaxDouble,  -kMaxDouble, kDenormMin,
                                  -kDenormMin, 0x1p-1022,   0x1p-1064,
                                  0x1p-1065,   1.5e308};
  ExpectWithinBound(extremes, "double range ends");
  // Every subnormal magnitude that has few significant bits.
  std::vector<double> subnormals;
  for (int k = 1; k < 5000; k += 7) subnormals.push_back(k * kDenormMin);
  ExpectWithinBound(subnormals, "subnormals");
  std::vector<double> near_max;
  near_max.reserve(1000);
  for (int k = 0; k < 1000; ++k)
    near_max.push_back(kMaxDouble / (1 + k * 1e-3));
  ExpectWithinBound(near_max, "near DBL_MAX");
}

TEST(QuantileSketchTest, ValuesOnBucketBoundariesStayWithinOnePercent) {
  // Powers of the bucket growth factor, and their neighbours, are where a
  // floating-point log would misplace values.
  const double a = QuantileSketch::kBucketAccuracy;
  const double gamma = (1 + a) / (1 - a);
  std::vector<double> boundaries;
  for (int i = -2000; i <= 2000; i += 3) {
    const double b = std::pow(gamma, i);
    boundaries.push_back(b);
    boundaries.push_back(std::nextafter(b, 0.0));
    boundaries.push_back(std::nextafter(b, kMaxDouble));
    boundaries.push_back(-b);
  }
  ExpectWithinBound(boundaries, "bucket boundaries", 1'000'000);
}

TEST(QuantileSketchTest, TheLowestLogarithmicBucketLiesAboveTheExactOnes) {
  // The index layout the memory bound and exactness below 2^-1064 rely on.
  EXPECT_GT(QuantileSketch::SlotOf(0x1p-1064).index,
            QuantileSketch::SlotOf(std::nextafter(0x1p-1064, 0.0)).index);
  EXPECT_EQ(QuantileSketch::SlotOf(0x1p-1064).index, -40971);
  EXPECT_EQ(QuantileSketch::SlotOf(kMaxDouble).index, kHighestBucketIndex);
  EXPECT_EQ(QuantileSketch::SlotOf(kDenormMin).index, kLowestBucketIndex);
  EXPECT_EQ(QuantileSketch::SlotOf(1.0).index, 0);
  EXPECT_EQ(QuantileSketch::SlotOf(-1.0).sign, -1);
  EXPECT_EQ(QuantileSketch::SlotOf(-0.0).sign, 0);
}

TEST(QuantileSketchTest, MergingEqualsAddingEverythingToOneSketch) {
  std::mt19937_64 rng(testing::TestSeed(4));
  std::normal_distribution<double> g(0, 100);
  QuantileSketch a;
  QuantileSketch b;
  QuantileSketch all;
  std::vector<double> values;
  for (int i = 0; i < 20'000; ++i) {
    const double v = i % 7 == 0 ? 0.0 : g(rng) * (i % 3 == 0 ? 1e6 : 1);
    (i % 2 == 0 ? a : b).Add(v);
    all.Add(v);
    values.push_back(v);
  }
  a.Merge(b);
  ASSERT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (uint64_t rank = 1; rank <= all.count(); rank += 37) {
    EXPECT_EQ(a.ValueAtRank(rank), all.ValueAtRank(rank)) << rank;
  }
  QuantileSketch empty;
  a.Merge(empty);
  EXPECT_EQ(a.count(), all.count());
  empty.Merge(all);
  EXPECT_EQ(empty.ValueAtRank(1), all.ValueAtRank(1));
}

TEST(BucketStoreTest, CountsBeyondThirtyTwoBitsStayExact) {
  BucketStore store;
  store.Add(5, 3);
  store.Add(7, uint64_t{1} << 32);  // too big for a sparse word
  store.Add(5, (uint64_t{1} << 32) - 3);
  store.Add(-9, 1);
  EXPECT_EQ(store.total(), (uint64_t{1} << 33) + 1);
  EXPECT_EQ(store.IndexAtRank(1, true), -9);
  EXPECT_EQ(store.IndexAtRank(2, true), 5);
  EXPECT_EQ(store.IndexAtRank(uint64_t{1} << 32, true), 5);
  EXPECT_EQ(store.IndexAtRank((uint64_t{1} << 32) + 1, true), 5);
  EXPECT_EQ(store.IndexAtRank((uint64_t{1} << 32) + 2, true), 7);
  EXPECT_EQ(store.IndexAtRank(1, false), 7);
  EXPECT_EQ(store.IndexAtRank(store.total(), false), -9);
}

TEST(BucketStoreTest, ASparseCountReachingThirtyTwoBitsTurnsDense) {
  BucketStore store;
  store.Add(1, 0xFFFF'FFFF);
  store.Add(1, 1);
  store.Add(2, 1);
  EXPECT_EQ(store.IndexAtRank(uint64_t{1} << 32, true), 1);
  EXPECT_EQ(store.IndexAtRank((uint64_t{1} << 32) + 1, true), 2);
  BucketStore merged;
  merged.Merge(store);
  merged.Merge(store);
  EXPECT_EQ(merged.total(), 2 * store.total());
  EXPECT_EQ(merged.IndexAtRank(uint64_t{1} << 33, true), 1);
  EXPECT_EQ(merged.IndexAtRank((uint64_t{1} << 33) + 1, true), 2);
}

TEST(BucketStoreTest, ClearingFreesEverything) {
  QuantileSketch sketch;
  for (int i = 0; i < 1000; ++i) sketch.Add(i * 1.5 - 300);
  sketch.Clear();
  EXPECT_EQ(sketch.count(), 0u);
  EXPECT_EQ(sketch.bucket_capacity(), 0u);
  sketch.Add(4);
  EXPECT_EQ(sketch.Quantile(1, 2), 4);
}

TEST(QuantileSketchTest, MemoryIsBoundedByTheIndexRangeNotTheCount) {
  QuantileSketch small;
  for (int i = 0; i < 1'000'000; ++i) small.Add(20 + (i % 1000) * 0.01);
  // 20..30 spans log_g(1.5) ~ 23 buckets: sparse, tiny.
  EXPECT_LE(small.bucket_capacity(), BucketStore::kMaxSparseBuckets);
  QuantileSketch decade;
  for (int i = 0; i < 100'000; ++i) decade.Add(1 + (i % 9000) * 1e-3);
  EXPECT_LE(decade.bucket_capacity(), 2 * 128u + 32);
  QuantileSketch everything;
  std::mt19937_64 rng(testing::TestSeed(5));
  std::uniform_real_distribution<double> exponent(-323, 308);
  for (int i = 0; i < 300'000; ++i) {
    const double v = std::pow(10.0, exponent(rng));
    everything.Add(i % 2 == 0 ? v : -v);
  }
  everything.Add(kMaxDouble);
  everything.Add(-kDenormMin);
  // Never more than the whole index range per sign.
  EXPECT_LE(everything.bucket_capacity(),
            2u * (kHighestBucketIndex - kLowestBucketIndex + 1));
  EXPECT_EQ(kHighestBucketIndex - kLowestBucketIndex + 1, 81'432);
}

}  // namespace
}  // namespace troupe::aggregator

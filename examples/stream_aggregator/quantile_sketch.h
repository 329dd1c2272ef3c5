// A mergeable quantile sketch with a guaranteed 1% relative error
// (DDSketch-style logarithmic buckets), as rule 8 of the aggregator needs.
//
// Guarantee. For a sketch of n finite values and 1 <= r <= n, ValueAtRank(r)
// returns a value within 1% of v, the r-th smallest value added:
// |reported - v| <= 0.01 * |v|. So zero is reported exactly, and the sign is
// always right. Quantile(num, den) is ValueAtRank(ceil(num * n / den)),
// computed in integers (no 0.9 * n rounding surprises).
//
// How. Positive magnitudes x >= 2^-1064 go to bucket i = ceil(log_g(x)) with
// g = (1 + a) / (1 - a), a = 0.009; bucket i holds (g^(i-1), g^i] and
// reports (1 - a) * g^i, within a (0.9%) of every value in it. Buckets
// preserve order, so the bucket holding rank r holds the r-th value. The
// other 0.1% covers floating-point error in log/exp (~1e-13 relative) and
// rounding of a reported value that falls in the subnormal range (at most
// half of 2^-1074, i.e. < 0.05% of any x >= 2^-1064). Magnitudes below
// 2^-1064 (subnormals, 1023 possible values) each get their own bucket and
// are reported exactly. Negative values go to a mirror store, zeros (+0.0
// and -0.0) to an exact counter. Reported values are clamped to the exact
// [min, max], which can only move them closer to the true value.
//
// Memory bound. Every finite double maps into a fixed index range: 39,432
// buckets for (1, DBL_MAX], 40,971 for [2^-1064, 1], plus 1023 exact ones
// below: 81,432 buckets per sign at most. No bucket is ever collapsed, so
// the guarantee holds for every rank and every input. A store keeps up to
// 64 non-empty buckets as a sorted list (8 bytes each), then switches to a
// dense array of uint64 counts over the used index span plus some growth
// headroom, never beyond the fixed range: values spanning one decade take
// ~128 buckets (~1 KB); 1e-300..1e300 ~76,750 buckets (~600 KB); the whole
// double range 81,432 buckets (651 KB) per sign, ~1.3 MB per sketch.
//
// Thread contract: none; a sketch is a value owned by one thread.
//
// Example:
//   QuantileSketch sketch;
//   for (double v : {3.0, -1.0, 0.0, 7.5}) sketch.Add(v);
//   double p50 = sketch.Quantile(1, 2);  // rank 2 of 4: 0.0 exactly
//   QuantileSketch other;
//   other.Add(100);
//   sketch.Merge(other);  // as if 100 had been added to `sketch`

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_QUANTILE_SKETCH_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_QUANTILE_SKETCH_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace troupe::aggregator {

// Bucket indexes of magnitudes: 2^-1074 (the smallest subnormal) maps to
// kLowestBucketIndex, DBL_MAX to kHighestBucketIndex; 81,432 indexes in all.
inline constexpr int32_t kLowestBucketIndex = -41999;
inline constexpr int32_t kHighestBucketIndex = 39432;

// Counts per bucket index, sparse while small, dense after that. Both forms
// live in one vector of uint64 words:
//   sparse: one word per non-empty bucket, (index - kLowestBucketIndex) in
//           the high 32 bits and the count in the low 32, sorted by index;
//   dense:  word i is the count of bucket offset_ + i.
// A sparse store turns dense past kMaxSparseBuckets buckets, or when a
// count reaches 2^32.
class BucketStore {
 public:
  void Add(int32_t index, uint64_t count);
  void Merge(const BucketStore& other);
  void Clear();

  uint64_t total() const { return total_; }
  bool empty() const { return total_ == 0; }
  size_t bucket_capacity() const { return words_.capacity(); }

  // The index of the bucket holding the rank-th element (1-based), counting
  // from the lowest index (or from the highest if !ascending).
  // Requires 1 <= rank <= total().
  int32_t IndexAtRank(uint64_t rank, bool ascending) const;

  static constexpr size_t kMaxSparseBuckets = 64;

 private:
  static constexpr uint64_t kCountMask = 0xFFFF'FFFF;
  static uint64_t SparseKey(int32_t index) {
    return static_cast<uint64_t>(
               static_cast<uint32_t>(index - kLowestBucketIndex))
           << 32;
  }
  static int32_t SparseIndex(uint64_t word) {
    return static_cast<int32_t>(word >> 32) + kLowestBucketIndex;
  }

  void MakeDense();
  void AddDense(int32_t index, uint64_t count);

  std::vector<uint64_t> words_;
  uint64_t total_ = 0;
  int32_t offset_ = 0;  // dense: the index of words_[0]
  bool dense_ = false;
};

class QuantileSketch {
 public:
  // The relative error the buckets are built for, and the one promised.
  static constexpr double kBucketAccuracy = 0.009;
  static constexpr double kGuaranteedAccuracy = 0.01;

  // Where a value goes; computed once per value and reusable for every
  // sketch the value is added to.
  struct Slot {
    int32_t index = 0;
    int8_t sign = 0;  // -1, 0 or +1
  };
  static Slot SlotOf(double value);

  // The value a positive bucket reports (before clamping to [min, max]).
  static double BucketValue(int32_t index);

  // Adds a finite value. Non-finite values are a precondition violation.
  void Add(double value) { Add(value, SlotOf(value)); }
  void Add(double value, Slot slot);

  // Adds every value of `other` to this sketch.
  void Merge(const QuantileSketch& other);

  // Drops every value and frees the buckets.
  void Clear();

  uint64_t count() const { return count_; }
  double min() const { return min_; }  // requires count() > 0
  double max() const { return max_; }  // requires count() > 0

  // The reported r-th smallest value; requires 1 <= rank <= count().
  double ValueAtRank(uint64_t rank) const;

  // ValueAtRank(RankOf(count(), numerator, denominator)).
  double Quantile(uint64_t numerator, uint64_t denominator) const;

  // Bucket slots allocated, for memory accounting.
  size_t bucket_capacity() const {
    return positive_.bucket_capacity() + negative_.bucket_capacity();
  }

 private:
  BucketStore positive_;
  BucketStore negative_;  // by the index of |value|
  uint64_t zero_count_ = 0;
  uint64_t count_ = 0;
  double min_ = 0;
  double max_ = 0;
};

// ceil(numerator * n / denominator), at least 1: the rank of a quantile.
uint64_t RankOf(uint64_t n, uint64_t numerator, uint64_t denominator);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_QUANTILE_SKETCH_H_

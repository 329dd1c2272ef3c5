// LatencyHistogram: a fixed-size log-linear histogram of durations in
// nanoseconds, for round-trip percentiles without storing every sample.
//
// Contract:
//   - Values below 128 ns are counted exactly; above, each power of two is
//     cut into 64 equal buckets, so a reported percentile is within 1/64
//     (1.6%) of the true sample. Min, max, count and mean are exact.
//   - Record() is O(1) and allocates nothing; the object is 30 KB.
//   - Percentile(q) for q in [0, 1] returns the smallest bucket value
//     (its midpoint) at or below which at least q of the samples lie; 0
//     when empty.
//   - Not thread-safe: one histogram per recording task, Merge() them at
//     the end.
//
// Example:
//   LatencyHistogram h;
//   h.Record(rtt_ns);
//   total.Merge(h);
//   uint64_t p99 = total.Percentile(0.99);
#ifndef TROUPE_EXAMPLES_ECHO_LATENCY_HISTOGRAM_H_
#define TROUPE_EXAMPLES_ECHO_LATENCY_HISTOGRAM_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace troupe::echo {

class LatencyHistogram {
 public:
  void Record(uint64_t nanoseconds);
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const;
  uint64_t Percentile(double q) const;

 private:
  static constexpr int kSubBits = 6;                  // 64 buckets per octave
  static constexpr uint64_t kLinear = 2 << kSubBits;  // exact below 128
  static constexpr size_t kBuckets =
      kLinear + (64 - kSubBits - 1) * (1 << kSubBits);

  static size_t Index(uint64_t value);
  // The midpoint of the values bucket `index` counts.
  static uint64_t Representative(size_t index);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace troupe::echo

#endif  // TROUPE_EXAMPLES_ECHO_LATENCY_HISTOGRAM_H_

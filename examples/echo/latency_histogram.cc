#include "examples/echo/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace troupe::echo {

size_t LatencyHistogram::Index(uint64_t value) {
  if (value < kLinear) return static_cast<size_t>(value);
  // The top kSubBits + 1 bits of the value: the octave, then the bucket
  // inside it.
  const int width = static_cast<int>(std::bit_width(value));  // >= 8
  const int shift = width - (kSubBits + 1);
  const uint64_t top = value >> shift;  // in [64, 128)
  return kLinear +
         static_cast<size_t>(width - (kSubBits + 2)) * (1 << kSubBits) +
         static_cast<size_t>(top - (uint64_t{1} << kSubBits));
}

uint64_t LatencyHistogram::Representative(size_t index) {
  if (index < kLinear) return index;
  const size_t k = index - kLinear;
  const int shift = static_cast<int>(k >> kSubBits) + 1;
  const uint64_t top = (uint64_t{1} << kSubBits) + (k & ((1 << kSubBits) - 1));
  return (top << shift) + (uint64_t{1} << (shift - 1));
}

void LatencyHistogram::Record(uint64_t nanoseconds) {
  ++counts_[Index(nanoseconds)];
  ++count_;
  min_ = std::min(min_, nanoseconds);
  max_ = std::max(max_, nanoseconds);
  sum_ += static_cast<long double>(nanoseconds);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / count_);
}

uint64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto wanted = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= wanted) return std::clamp(Representative(i), min_, max_);
  }
  return max_;
}

}  // namespace troupe::echo

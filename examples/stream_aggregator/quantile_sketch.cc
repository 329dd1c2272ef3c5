#include "examples/stream_aggregator/quantile_sketch.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace troupe::aggregator {
namespace {

constexpr double kAlpha = QuantileSketch::kBucketAccuracy;
constexpr double kGamma = (1 + kAlpha) / (1 - kAlpha);
const double kLnGamma = std::log(kGamma);
const double kInvLnGamma = 1 / kLnGamma;

// Magnitudes below 2^-1064 are multiples k * 2^-1074 with k < 1024; each gets
// the exact bucket kExactBase + k. kExactBase + 1023 lies below the lowest
// logarithmic index, ceil(log_g(2^-1064)) = -40971 (pinned by a test).
constexpr double kSubnormalUnit = 0x1p-1074;
constexpr double kExactLimit = 0x1p-1064;
constexpr int32_t kExactBase = kLowestBucketIndex - 1;
static_assert(kExactBase + 1023 < -40971);

int32_t IndexOfMagnitude(double magnitude) {
  if (magnitude < kExactLimit) {
    return kExactBase + static_cast<int32_t>(magnitude / kSubnormalUnit);
  }
  return static_cast<int32_t>(std::ceil(std::log(magnitude) * kInvLnGamma));
}

}  // namespace

// ---- BucketStore ----

void BucketStore::Add(int32_t index, uint64_t count) {
  total_ += count;
  if (dense_) {
    AddDense(index, count);
    return;
  }
  const uint64_t key = SparseKey(index);
  if (words_.capacity() == 0) words_.reserve(4);  // fewer small regrowths
  auto it = std::lower_bound(words_.begin(), words_.end(), key);
  if (it != words_.end() && (*it & ~kCountMask) == key) {
    if ((*it & kCountMask) + count <= kCountMask) {
      *it += count;
      return;
    }
  } else if (count <= kCountMask) {
    words_.insert(it, key | count);
    if (words_.size() > kMaxSparseBuckets) MakeDense();
    return;
  }
  // A count that no longer fits in 32 bits: only the dense form holds it.
  MakeDense();
  AddDense(index, count);
}

void BucketStore::Clear() {
  std::vector<uint64_t>().swap(words_);
  total_ = 0;
  offset_ = 0;
  dense_ = false;
}

void BucketStore::MakeDense() {
  if (words_.empty()) {
    dense_ = true;
    return;
  }
  const int32_t low = SparseIndex(words_.front());
  const int32_t high = SparseIndex(words_.back());
  std::vector<uint64_t> dense(static_cast<size_t>(high - low) + 1, 0);
  for (const uint64_t word : words_) {
    dense[SparseIndex(word) - low] = word & kCountMask;
  }
  words_.swap(dense);
  offset_ = low;
  dense_ = true;
}

void BucketStore::AddDense(int32_t index, uint64_t count) {
  const int64_t size = static_cast<int64_t>(words_.size());
  const int64_t position = static_cast<int64_t>(index) - offset_;
  if (position >= 0 && position < size) {
    words_[position] += count;
    return;
  }
  if (size == 0) {
    words_.assign(1, count);
    offset_ = index;
    return;
  }
  // Grow towards the new index with headroom proportional to the span, so
  // that a drifting stream grows the array geometrically, but never beyond
  // the range of possible indexes (that is the memory bound).
  const int64_t headroom = std::max<int64_t>(16, size / 2);
  int64_t low = offset_;
  int64_t high = offset_ + size - 1;
  if (index < low) {
    low = std::max<int64_t>(kLowestBucketIndex, index - headroom);
  } else {
    high = std::min<int64_t>(kHighestBucketIndex, index + headroom);
  }
  std::vector<uint64_t> grown(static_cast<size_t>(high - low + 1), 0);
  std::copy(words_.begin(), words_.end(), grown.begin() + (offset_ - low));
  words_.swap(grown);
  offset_ = static_cast<int32_t>(low);
  words_[index - offset_] += count;
}

void BucketStore::Merge(const BucketStore& other) {
  if (other.dense_) {
    for (size_t i = 0; i < other.words_.size(); ++i) {
      if (other.words_[i] != 0) {
        Add(other.offset_ + static_cast<int32_t>(i), other.words_[i]);
      }
    }
  } else {
    for (const uint64_t word : other.words_) {
      Add(SparseIndex(word), word & kCountMask);
    }
  }
}

int32_t BucketStore::IndexAtRank(uint64_t rank, bool ascending) const {
  assert(rank >= 1 && rank <= total_);
  const size_t n = words_.size();
  uint64_t seen = 0;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = ascending ? k : n - 1 - k;
    if (dense_) {
      seen += words_[i];
      if (seen >= rank) return offset_ + static_cast<int32_t>(i);
    } else {
      seen += words_[i] & kCountMask;
      if (seen >= rank) return SparseIndex(words_[i]);
    }
  }
  assert(false && "rank beyond total");
  return 0;
}

// ---- QuantileSketch ----

QuantileSketch::Slot QuantileSketch::SlotOf(double value) {
  if (value > 0) return Slot{IndexOfMagnitude(value), 1};
  if (value < 0) return Slot{IndexOfMagnitude(-value), -1};
  return Slot{0, 0};
}

double QuantileSketch::BucketValue(int32_t index) {
  if (index < kExactBase + 1024) {
    return static_cast<double>(index - kExactBase) * kSubnormalUnit;
  }
  // (1 - a) * g^i, in one exp so that g^i may exceed DBL_MAX on its own.
  const double value = std::exp(index * kLnGamma + std::log1p(-kAlpha));
  return std::min(value, std::numeric_limits<double>::max());
}

void QuantileSketch::Add(double value, Slot slot) {
  assert(std::isfinite(value));
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  ++count_;
  if (slot.sign > 0) {
    positive_.Add(slot.index, 1);
  } else if (slot.sign < 0) {
    negative_.Add(slot.index, 1);
  } else {
    ++zero_count_;
  }
}

void QuantileSketch::Merge(const QuantileSketch& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  zero_count_ += other.zero_count_;
  positive_.Merge(other.positive_);
  negative_.Merge(other.negative_);
}

void QuantileSketch::Clear() {
  positive_.Clear();
  negative_.Clear();
  zero_count_ = 0;
  count_ = 0;
  min_ = max_ = 0;
}

double QuantileSketch::ValueAtRank(uint64_t rank) const {
  assert(rank >= 1 && rank <= count_);
  double value = 0;
  const uint64_t negatives = negative_.total();
  if (rank <= negatives) {
    // Ascending values are descending magnitudes.
    value = -BucketValue(negative_.IndexAtRank(rank, /*ascending=*/false));
  } else if (rank <= negatives + zero_count_) {
    value = 0;
  } else {
    value = BucketValue(
        positive_.IndexAtRank(rank - negatives - zero_count_, true));
  }
  return std::clamp(value, min_, max_);
}

double QuantileSketch::Quantile(uint64_t numerator,
                                uint64_t denominator) const {
  return ValueAtRank(RankOf(count_, numerator, denominator));
}

uint64_t RankOf(uint64_t n, uint64_t numerator, uint64_t denominator) {
  const unsigned __int128 product =
      static_cast<unsigned __int128>(n) * numerator + (denominator - 1);
  const auto rank = static_cast<uint64_t>(product / denominator);
  return std::max<uint64_t>(rank, 1);
}

}  // namespace troupe::aggregator

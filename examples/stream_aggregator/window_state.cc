#include "examples/stream_aggregator/window_state.h"

#include <algorithm>
#include <cstdint>
#include <string_view>

namespace troupe::aggregator {

WindowResult Summarize(std::string_view key, int64_t start_ms, int64_t end_ms,
                       const WindowAggregate& aggregate, int64_t revision) {
  const QuantileSketch& sketch = aggregate.sketch();
  WindowResult result;
  result.key = key;
  result.window_start_ms = start_ms;
  result.window_end_ms = end_ms;
  result.count = aggregate.count();
  result.sum = aggregate.sum();
  result.min = sketch.min();
  result.max = sketch.max();
  // |mean| <= max(|min|, |max|), so it fits a double even when the sum does
  // not. Clamping to [min, max] only removes rounding error.
  result.mean = std::clamp(
      static_cast<double>(result.sum / static_cast<long double>(result.count)),
      result.min, result.max);
  result.p50 = sketch.Quantile(1, 2);
  result.p90 = sketch.Quantile(9, 10);
  result.p99 = sketch.Quantile(99, 100);
  result.revision = revision;
  return result;
}

void Emit(const ResultSink& sink, std::string_view key, int64_t start_ms,
          int64_t end_ms, WindowState& state) {
  state.revision += 1;
  state.dirty = false;
  sink(Summarize(key, start_ms, end_ms, state.aggregate, state.revision));
}

}  // namespace troupe::aggregator

#include "examples/stream_aggregator/window_shard.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>

#include "examples/stream_aggregator/result_format.h"
#include "executor/sleep.h"

namespace troupe::aggregator {

WindowShard::WindowShard(const ShardOptions& options)
    : options_(options),
      engine_(options.engine,
              [this](const WindowResult& result) { OnResult(result); }) {}

void WindowShard::OnResult(const WindowResult& result) {
  AppendResultLine(result, &pending_);
  pending_.push_back('\n');
  ++pending_lines_;
}

Task<void> WindowShard::SendResults() {
  const uint64_t lines = pending_lines_;
  ResultLines message(std::move(pending_), lines);
  pending_.clear();  // moved-from: make it empty for sure
  pending_lines_ = 0;
  options_.metrics->result_lines_in_flight.Add(static_cast<int64_t>(lines));
  // A refusal means the sink has stopped (system shutdown): nothing to do.
  (void)co_await options_.sink.Send(std::move(message));
}

Task<void> WindowShard::Handle(ShardEvents message) {
  if (options_.delay) {
    const Duration delay = options_.delay();
    if (delay > Duration::zero()) co_await SleepFor(delay);
  }
  const EventBatch& batch = message.batch;
  uint64_t on_time = 0;
  uint64_t late = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const EventView event = batch.event(i);
    switch (engine_.OnEvent(event.key, event.ts_ms, event.value,
                            batch.watermark(i))) {
      case EventOutcome::kOnTime:
        ++on_time;
        break;
      case EventOutcome::kLate:
        ++late;
        break;
      case EventOutcome::kDroppedLate:  // the router drops these itself
      case EventOutcome::kOutOfRange:   // the input port refuses these
      case EventOutcome::kNotFinite:    // the parser refuses these
        break;
    }
    if (pending_lines_ >= options_.chunk_lines) co_await SendResults();
  }
  engine_.OnWatermark(message.watermark_after);
  // Relaxed: statistics only (pipeline_metrics.h, "Memory ordering").
  PipelineMetrics& metrics = *options_.metrics;
  metrics.on_time.fetch_add(on_time, std::memory_order_relaxed);
  metrics.late_accepted.fetch_add(late, std::memory_order_relaxed);
  metrics.events_in_flight.Sub(static_cast<int64_t>(batch.size()));
  if (pending_lines_ > 0) co_await SendResults();
}

Task<void> WindowShard::Handle(FlushShard /*message*/) {
  engine_.Flush();
  if (pending_lines_ > 0) co_await SendResults();
  (void)co_await options_.sink.Send(ShardFlushed{});
}

}  // namespace troupe::aggregator

#include "examples/stream_aggregator/event_router.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "executor/sleep.h"

namespace troupe::aggregator {

bool IsDroppedLate(int64_t ts_ms, int64_t watermark,
                   int64_t allowed_lateness_ms) {
  if (ts_ms >= watermark) return false;
  // watermark - ts may exceed int64 (ts far in the past).
  const __int128 lateness =
      static_cast<__int128>(watermark) - static_cast<__int128>(ts_ms);
  return lateness > allowed_lateness_ms;
}

size_t ShardOf(std::string_view key, size_t shards) {
  // std::hash is deterministic across runs (absl::Hash is seeded per
  // process), which keeps a run's shard assignment reproducible.
  return std::hash<std::string_view>()(key) % shards;
}

EventRouter::EventRouter(const RouterOptions& options)
    : options_(options),
      tracker_(options.max_out_of_orderness_ms, options.idle_timeout_ms),
      pending_(options.shards.size()),
      sent_watermark_(options.shards.size(), kNoWatermark) {}

void EventRouter::OnStart() {
  start_ = CurrentClock().Now();
  if (options_.idle_timeout_ms == kNeverIdle) return;
  const int64_t period_ms =
      std::clamp<int64_t>(options_.idle_timeout_ms / 4, 1, 1'000);
  SendInterval(std::chrono::milliseconds(period_ms), IdleTick{});
}

int64_t EventRouter::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             CurrentClock().Now() - start_)
      .count();
}

int EventRouter::Handle(RegisterInput /*message*/) {
  if (sealed_) return -1;
  ++open_inputs_;
  return tracker_.AddInput(NowMs());
}

Task<void> EventRouter::Handle(InputEvents message) {
  const int64_t now = NowMs();
  const EventBatch& batch = message.batch;
  const size_t shards = pending_.size();
  uint64_t dropped = 0;
  int64_t max_ts = kNoWatermark;
  for (size_t i = 0; i < batch.size(); ++i) {
    const EventView event = batch.event(i);
    const int64_t watermark = tracker_.watermark();
    if (IsDroppedLate(event.ts_ms, watermark, options_.allowed_lateness_ms)) {
      ++dropped;
      if (options_.keep_late_lines) {
        const std::string_view line = batch.line(i);
        if (line.empty()) {
          AppendEventLine(event.key, event.ts_ms, event.value, &late_text_);
        } else {
          late_text_.append(line);
        }
        late_text_.push_back('\n');
        ++late_lines_;
      }
    } else {
      const size_t shard = ShardOf(event.key, shards);
      pending_[shard].Add(event.key, event.ts_ms, event.value, {}, watermark);
      if (pending_[shard].size() >= options_.batch_events) {
        co_await SendToShard(shard);
      }
    }
    tracker_.OnEvent(message.input, event.ts_ms, now);
    max_ts = std::max(max_ts, event.ts_ms);
  }
  // Relaxed: statistics only (pipeline_metrics.h, "Memory ordering"); the
  // router is the only writer of late_dropped, max_event_ts and watermark.
  PipelineMetrics& metrics = *options_.metrics;
  metrics.late_dropped.fetch_add(dropped, std::memory_order_relaxed);
  metrics.events_in_flight.Sub(static_cast<int64_t>(dropped));
  if (max_ts > metrics.max_event_ts.load(std::memory_order_relaxed)) {
    metrics.max_event_ts.store(max_ts, std::memory_order_relaxed);
  }
  co_await Broadcast();
}

Task<void> EventRouter::SendToShard(size_t shard) {
  const int64_t watermark = tracker_.watermark();
  ShardEvents message(std::move(pending_[shard]), watermark);
  pending_[shard].Clear();  // moved-from: make it empty for sure
  sent_watermark_[shard] = watermark;
  // A refusal means the shard has stopped (system shutdown).
  (void)co_await options_.shards[shard].Send(std::move(message));
}

Task<void> EventRouter::Broadcast() {
  const int64_t watermark = tracker_.watermark();
  options_.metrics->watermark.store(watermark, std::memory_order_relaxed);
  for (size_t shard = 0; shard < pending_.size(); ++shard) {
    if (!pending_[shard].empty() || sent_watermark_[shard] < watermark) {
      co_await SendToShard(shard);
    }
  }
  if (late_lines_ > 0) {
    LateLines message(std::move(late_text_), late_lines_);
    late_text_.clear();
    late_lines_ = 0;
    (void)co_await options_.sink.Send(std::move(message));
  }
}

Task<void> EventRouter::Handle(CloseInput message) {
  --open_inputs_;
  tracker_.RemoveInput(message.input, NowMs());
  co_await Broadcast();
  co_await FinishIfDone();
}

Task<void> EventRouter::Handle(SealInputs /*message*/) {
  sealed_ = true;
  co_await FinishIfDone();
}

Task<void> EventRouter::Handle(IdleTick /*message*/) {
  if (finished_) co_return;
  tracker_.AdvanceTime(NowMs());
  co_await Broadcast();
}

Task<void> EventRouter::FinishIfDone() {
  if (finished_ || !sealed_ || open_inputs_ > 0) co_return;
  finished_ = true;
  co_await Broadcast();
  for (const ActorRef<WindowShard>& shard : options_.shards) {
    (void)co_await shard.Send(FlushShard{});
  }
}

}  // namespace troupe::aggregator

// EventRouter: the actor between the inputs and the shards. It owns the
// watermark (a WatermarkTracker over the live inputs, rule 3), decides which
// events are dropped as too late (rule 4), and routes the others by a hash
// of their key to the shard that owns the key's windows.
//
// Per InputEvents message, for each event in order (the order the router
// handles messages is "input order" across inputs):
//   1. w = the watermark before the event;
//   2. ts < w and w - ts > allowed_lateness: dropped; its line goes to the
//      sink's late output. (The shard's engine would classify it the same
//      way: it sees the same w, and watermarks reach a shard in
//      non-decreasing order.) Otherwise it is appended, with w, to the
//      pending batch of shard hash(key) % shards, which is sent when full;
//   3. the tracker learns the event (dropped ones too: they count as
//      activity, as in the sequential driver).
// After the message every shard whose pending batch is non-empty, or whose
// last watermark is behind, gets a ShardEvents carrying the new watermark,
// so every shard sees every watermark advance before any later event.
// Together with the engine's sharding property this makes the lines, for
// one input, exactly those of the sequential driver (sequential_driver.h).
//
// Time: an input's activity is the time the router handles its events,
// read from the runtime's clock (a ManualClock in tests). With an idle
// timeout an IdleTick timer (period idle_timeout / 4, between 1 ms and 1 s)
// lets time pass without events, so an idle input stops holding the
// watermark back.
//
// End of input: once SealInputs has arrived and every input opened so far
// has closed, the router broadcasts the last watermark, sends its last late
// lines, then FlushShard to every shard, and ignores further ticks.
//
// Example (the Pipeline does this):
//   ActorRef<EventRouter> router = system.Spawn<EventRouter>(RouterOptions{
//       .max_out_of_orderness_ms = 0, .shards = shards, .sink = sink, ...});

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_ROUTER_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_ROUTER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/actor.h"
#include "examples/stream_aggregator/event_batch.h"
#include "examples/stream_aggregator/messages.h"
#include "examples/stream_aggregator/output_sink.h"
#include "examples/stream_aggregator/pipeline_metrics.h"
#include "examples/stream_aggregator/watermark.h"
#include "examples/stream_aggregator/window_shard.h"
#include "executor/clock.h"
#include "executor/task.h"

namespace troupe::aggregator {

struct RouterOptions {
  int64_t max_out_of_orderness_ms = 0;
  int64_t allowed_lateness_ms = 0;
  int64_t idle_timeout_ms = kNeverIdle;
  std::vector<ActorRef<WindowShard>> shards;  // at least one
  ActorRef<OutputSink> sink;
  std::shared_ptr<PipelineMetrics> metrics;
  size_t batch_events = 1024;   // the largest ShardEvents batch
  bool keep_late_lines = true;  // false: dropped events are only counted
};

// Whether an event at ts is dropped under watermark w (rule 4).
bool IsDroppedLate(int64_t ts_ms, int64_t watermark,
                   int64_t allowed_lateness_ms);

// The shard owning `key` among `shards`.
size_t ShardOf(std::string_view key, size_t shards);

class EventRouter : public Actor<EventRouter> {
 public:
  explicit EventRouter(const RouterOptions& options);

  void OnStart();

  int Handle(RegisterInput message);
  Task<void> Handle(InputEvents message);
  Task<void> Handle(CloseInput message);
  Task<void> Handle(SealInputs message);
  Task<void> Handle(IdleTick message);

 private:
  int64_t NowMs() const;
  // Sends shard s its pending events (maybe none) and the current
  // watermark.
  Task<void> SendToShard(size_t shard);
  // SendToShard for every shard with pending events or an old watermark,
  // then the pending late lines to the sink.
  Task<void> Broadcast();
  Task<void> FinishIfDone();

  const RouterOptions options_;
  WatermarkTracker tracker_;
  std::vector<EventBatch> pending_;      // per shard
  std::vector<int64_t> sent_watermark_;  // per shard
  std::string late_text_;
  uint64_t late_lines_ = 0;
  Instant start_;
  int open_inputs_ = 0;
  bool sealed_ = false;
  bool finished_ = false;
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_EVENT_ROUTER_H_

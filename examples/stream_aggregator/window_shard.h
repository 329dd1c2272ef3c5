// WindowShard: the actor that owns the windows of one shard of keys - a
// KeyedWindowEngine (aggregator.h) fed by the router.
//
// Each ShardEvents message is applied in order: engine.OnEvent(event, the
// watermark before it) for every event, then engine.OnWatermark(the
// watermark after them). That is the engine protocol with the watermark
// the router computed, so the shard emits exactly the lines a single
// engine fed every event would emit for these keys (aggregator.h,
// "Sharding"). FlushShard is end of input: engine.Flush(), then
// ShardFlushed to the sink.
//
// Results: the engine's lines are formatted (result_format.h) into a
// pending text, which goes to the sink as one ResultLines message at the
// end of each message handled, or as soon as it holds `chunk_lines` lines
// (checked between events, so one message carries at most chunk_lines plus
// the lines one event or watermark step fires). Sending awaits the sink's
// mailbox: a slow sink holds the shard, whose mailbox then fills and holds
// the router.
//
// Example (the Pipeline does this):
//   ActorRef<WindowShard> shard = system.Spawn<WindowShard>(
//       ShardOptions{.engine = {spec, 0}, .sink = sink, .metrics = m});

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_WINDOW_SHARD_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_WINDOW_SHARD_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actors/actor.h"
#include "examples/stream_aggregator/aggregator.h"
#include "examples/stream_aggregator/messages.h"
#include "examples/stream_aggregator/output_sink.h"
#include "examples/stream_aggregator/pipeline_metrics.h"
#include "executor/clock.h"
#include "executor/task.h"

namespace troupe::aggregator {

struct ShardOptions {
  EngineOptions engine;
  ActorRef<OutputSink> sink;
  std::shared_ptr<PipelineMetrics> metrics;
  size_t chunk_lines = 1024;
  std::function<Duration()> delay;  // test seam (PipelineOptions)
};

class WindowShard : public Actor<WindowShard> {
 public:
  explicit WindowShard(const ShardOptions& options);

  Task<void> Handle(ShardEvents message);
  Task<void> Handle(FlushShard message);

 private:
  void OnResult(const WindowResult& result);
  Task<void> SendResults();

  const ShardOptions options_;
  KeyedWindowEngine engine_;
  std::string pending_;  // formatted lines not yet sent
  uint64_t pending_lines_ = 0;
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_WINDOW_SHARD_H_

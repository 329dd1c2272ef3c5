// The messages of the stream aggregator's actor pipeline:
//
//   input ports --InputEvents/CloseInput--> EventRouter
//   EventRouter --ShardEvents/FlushShard--> WindowShard (one per shard)
//   WindowShard --ResultLines/ShardFlushed--> OutputSink
//   EventRouter --LateLines--> OutputSink
//
// Every hop is a bounded mailbox and every sender awaits Send, so a full
// mailbox downstream holds the sender (back-pressure; see pipeline.h).
// Messages with non-trivial members have constructors: g++ 12 destroys the
// members of an aggregate temporary built inside co_await twice (see
// actors/envelope.h), and ActorRef::Send refuses such aggregates.

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_MESSAGES_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_MESSAGES_H_

#include <cstdint>
#include <string>
#include <utility>

#include "examples/stream_aggregator/event_batch.h"

namespace troupe::aggregator {

// Input -> router: events of one input, in input order (`line` set).
struct InputEvents {
  InputEvents(int input_id, EventBatch events)
      : input(input_id), batch(std::move(events)) {}
  int input;
  EventBatch batch;
};

// Input -> router (an ask): registers a new live input. The reply is its
// id, or -1 once SealInputs has been handled.
struct RegisterInput {};

// Input -> router: the input's stream ended; sent after its last events.
struct CloseInput {
  int input = -1;
};

// Pipeline -> router: no further inputs will open. Once every open input
// has closed, the router flushes the shards (end of input, rule 6).
struct SealInputs {};

// Router timer: time passed; idle inputs may release the watermark.
struct IdleTick {};

// Router -> shard: events with the watermark before each (`watermark` set),
// then the watermark to advance to after them. An empty batch is a
// watermark broadcast.
struct ShardEvents {
  ShardEvents(EventBatch events, int64_t watermark)
      : batch(std::move(events)), watermark_after(watermark) {}
  EventBatch batch;
  int64_t watermark_after;
};

// Router -> shard: end of input; emit every window with unemitted changes.
struct FlushShard {};

// Shard -> sink: result lines, each ending in '\n'.
struct ResultLines {
  ResultLines(std::string lines_text, uint64_t line_count)
      : text(std::move(lines_text)), lines(line_count) {}
  std::string text;
  uint64_t lines;
};

// Router -> sink: verbatim lines of dropped late events, each ending in
// '\n'.
struct LateLines {
  LateLines(std::string lines_text, uint64_t line_count)
      : text(std::move(lines_text)), lines(line_count) {}
  std::string text;
  uint64_t lines;
};

// Shard -> sink: the shard has flushed and will send nothing more.
struct ShardFlushed {};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_MESSAGES_H_

// OutputSink: the actor at the end of the pipeline. Writes result lines to
// --output and dropped late lines to --late_output, and says when the run is
// over.
//
// Each message is written as it is handled (one write per message: lines
// reach the OS as soon as their window has fired, rule 7). A writer that
// may block runs on the blocking pool and the handler awaits it: while a
// slow --output is being written, the sink takes no new messages, its
// mailbox fills and the shards wait to send (back-pressure).
//
// End of run: after one ShardFlushed from every shard, the writers are
// closed and `finished` is cancelled. Messages from one shard arrive in the
// order sent, and the router sends its last LateLines before it flushes
// the shards, so nothing arrives after the last ShardFlushed.
//
// Failure: the first write error is logged and recorded in the metrics,
// `stop_inputs` is cancelled (the inputs stop reading), and later lines are
// counted but discarded, so the pipeline still drains and ends.
//
// Example (the Pipeline does this):
//   ActorRef<OutputSink> sink = system.Spawn<OutputSink>(SinkOptions{...});

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_OUTPUT_SINK_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_OUTPUT_SINK_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "actors/actor.h"
#include "examples/stream_aggregator/messages.h"
#include "examples/stream_aggregator/output_writer.h"
#include "examples/stream_aggregator/pipeline_metrics.h"
#include "executor/cancellation_token.h"
#include "executor/task.h"

namespace troupe::aggregator {

using LogFn = std::function<void(std::string_view message)>;

struct SinkOptions {
  std::shared_ptr<OutputWriter> results;  // required
  std::shared_ptr<OutputWriter> late;     // may be null: late lines counted
  int shards = 1;
  std::shared_ptr<PipelineMetrics> metrics;
  CancellationToken finished;
  CancellationToken stop_inputs;
  LogFn log;
};

class OutputSink : public Actor<OutputSink> {
 public:
  explicit OutputSink(SinkOptions options) : options_(std::move(options)) {}

  Task<void> Handle(ResultLines message);
  Task<void> Handle(LateLines message);
  void Handle(ShardFlushed message);

 private:
  // Writes `text`, on the blocking pool if the writer may block.
  static Task<absl::Status> WriteText(std::shared_ptr<OutputWriter> writer,
                                      std::string text);
  void Fail(const absl::Status& status);

  const SinkOptions options_;
  int flushed_shards_ = 0;
  bool failed_ = false;
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_OUTPUT_SINK_H_

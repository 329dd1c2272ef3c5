#include "examples/stream_aggregator/output_sink.h"

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "executor/blocking_pool.h"

namespace troupe::aggregator {

Task<absl::Status> OutputSink::WriteText(std::shared_ptr<OutputWriter> writer,
                                         std::string text) {
  if (!writer->may_block()) co_return writer->Write(text);
  auto shared = std::make_shared<const std::string>(std::move(text));
  absl::StatusOr<BlockingHandle<absl::Status>> job =
      SpawnBlocking([writer, shared] { return writer->Write(*shared); });
  // The pool's queue is full: write on this worker rather than lose lines.
  if (!job.ok()) co_return writer->Write(*shared);
  co_return co_await *job;
}

void OutputSink::Fail(const absl::Status& status) {
  if (failed_) return;
  failed_ = true;
  options_.metrics->RecordFailure(status);
  if (options_.log) {
    options_.log(std::string(status.message()) + "; stopping the inputs");
  }
  options_.stop_inputs.Cancel();
}

// The counters below are relaxed: statistics only (pipeline_metrics.h,
// "Memory ordering").
Task<void> OutputSink::Handle(ResultLines message) {
  const uint64_t lines = message.lines;
  if (!failed_) {
    Task<absl::Status> write =
        WriteText(options_.results, std::move(message.text));
    const absl::Status status = co_await std::move(write);
    if (status.ok()) {
      options_.metrics->results_written.fetch_add(lines,
                                                  std::memory_order_relaxed);
    } else {
      Fail(status);
    }
  }
  options_.metrics->result_lines_in_flight.Sub(static_cast<int64_t>(lines));
}

Task<void> OutputSink::Handle(LateLines message) {
  if (failed_ || options_.late == nullptr) co_return;
  const uint64_t lines = message.lines;
  Task<absl::Status> write = WriteText(options_.late, std::move(message.text));
  const absl::Status status = co_await std::move(write);
  if (status.ok()) {
    options_.metrics->late_written.fetch_add(lines, std::memory_order_relaxed);
  } else {
    Fail(status);
  }
}

void OutputSink::Handle(ShardFlushed /*message*/) {
  if (++flushed_shards_ < options_.shards) return;
  for (const std::shared_ptr<OutputWriter>& writer :
       {options_.results, options_.late}) {
    if (writer == nullptr) continue;
    const absl::Status status = writer->Close();
    if (!status.ok()) Fail(status);
  }
  options_.finished.Cancel();
}

}  // namespace troupe::aggregator

// ResultsTee: the result lines written to --output and, besides, streamed
// to the WebSocket subscribers of /results (rule 7; http_endpoint.h).
//
// The sink writes to a ResultsTee as to any OutputWriter. Each Write goes
// to the --output writer first; if that succeeded, one copy of the chunk
// (whole lines, each ending in '\n') is published on a broadcast channel
// (channels/broadcast.h) that keeps the last `capacity` chunks. Publishing
// never waits, so neither --output nor the pipeline is ever held by a
// subscriber: one that falls more than `capacity` chunks behind loses the
// oldest ones (StreamResults counts the loss in a log line; the others are
// not affected). Memory is bounded by capacity x the largest chunk.
//
// Close() (the sink calls it at the end of the run) closes the --output
// writer, then ends the stream: each subscriber receives what was published
// and then the end, and StreamResults closes its WebSocket (1000).
//
// Thread contract: Write and Close come from the sink, one call at a time;
// Subscribe and subscribers() from any thread.
//
// Example:
//   auto tee = std::make_shared<ResultsTee>(*OpenOutput("-"), 16);
//   options.results = tee;                // the pipeline writes through it
//   router = MakeHttpRouter(pipeline, stop, log, tee);  // serves /results

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_RESULTS_STREAM_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_RESULTS_STREAM_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "channels/broadcast.h"
#include "examples/stream_aggregator/output_sink.h"
#include "examples/stream_aggregator/output_writer.h"
#include "executor/task.h"
#include "net/websocket_connection.h"

namespace troupe::aggregator {

class ResultsTee final : public OutputWriter {
 public:
  // `output` is required; capacity >= 1 (chunks kept for slow subscribers).
  ResultsTee(std::shared_ptr<OutputWriter> output, size_t capacity);

  absl::Status Write(std::string_view bytes) override;
  absl::Status Close() override;
  bool may_block() const override { return output_->may_block(); }

  // A receiver of the chunks published from now on; nullopt once closed.
  std::optional<BroadcastReceiver<std::string>> Subscribe();

  // Subscribers streaming right now (StreamResults keeps the count).
  // Acquire: pairs with the release increment StreamResults makes after
  // subscribing, so a caller that sees n subscribers knows that their
  // receivers get every chunk written after this call.
  int subscribers() const {
    return subscribers_.load(std::memory_order_acquire);
  }

 private:
  friend Task<void> StreamResults(net::WebSocketConnection ws,
                                  std::shared_ptr<ResultsTee> tee, LogFn log);

  const std::shared_ptr<OutputWriter> output_;
  std::mutex mu_;
  // Reset by Close(): dropping the last sender ends every receiver's stream.
  std::optional<BroadcastSender<std::string>> sender_;  // guarded by mu_
  std::atomic<int> subscribers_{0};
};

// Streams `tee`'s chunks to `ws`, one text message per chunk, until the
// stream ends (then a normal Close) or the peer goes away.
Task<void> StreamResults(net::WebSocketConnection ws,
                         std::shared_ptr<ResultsTee> tee, LogFn log);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_RESULTS_STREAM_H_

// HTTP endpoint (--http=HOST:PORT) of the stream aggregator, on the
// toolkit's HTTP/1.1 server connection and router (net/http_router.h):
//
//   GET /metrics   the pipeline's counters in the Prometheus text format
//                  (rule 10; pipeline_metrics.h, AppendPrometheus): events
//                  in by input, results out, late dropped, parse errors by
//                  reason, per-shard mailbox depth, watermark lag
//   GET /healthz   200 "ok"
//   GET /          a live page plotting the aggregates of a chosen key
//                  (results_page.h; with a ResultsTee only)
//   /results       WebSocket: the result lines as they are written, one
//                  text message per chunk of lines (results_stream.h; with
//                  a ResultsTee only). The stream ends, with a normal
//                  Close, when the run's output is closed.
//   /ingest        WebSocket: every connection is one input of the pipeline
//                  (named "ws N", N counting from 1). Each message, text or
//                  binary, carries NDJSON: one or more lines, the last one
//                  ended by the end of the message ('\n' optional there).
//                  Empty messages are ignored; bad lines are counted,
//                  logged and skipped, and the connection stays open (rule
//                  9). Back-pressure: a message is fed to the pipeline
//                  before the next is received, so a pipeline that is
//                  behind stops the connection's reader and TCP flow control
//                  holds the sender (websocket_connection.h).
// Anything else is 404 (the router's default).
//
// Stopping. An /ingest connection checks `stop` at least every
// kStopPollInterval: once it is cancelled the connection closes its input
// (what was received is processed) and then the WebSocket (1001, going
// away). One that opens after the pipeline stopped taking inputs is closed
// at once with 1001. ServeHttp serves until `until` is cancelled (the
// service does that after the pipeline has finished, so /metrics answers
// during the final flush), then closes the listener, gives the open
// connections up to kHttpDrainTime to end on their own (a /results stream
// delivering its last lines), and aborts the rest (idle keep-alive ones).
//
// Lifetime: the router refers to `pipeline`, which must outlive every task
// serving it - ServeHttp returns only when none is left.
//
// Example:
//   std::shared_ptr<const net::HttpRouter> router =
//       MakeHttpRouter(pipeline, pipeline.stop(), log, tee);
//   JoinHandle<absl::Status> http = Spawn(ServeHttp(
//       *std::move(listener), router, until, log));
//   ...
//   until.Cancel();
//   (void)co_await http;

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_HTTP_ENDPOINT_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_HTTP_ENDPOINT_H_

#include <chrono>
#include <memory>

#include "absl/status/status.h"
#include "examples/stream_aggregator/output_sink.h"
#include "examples/stream_aggregator/pipeline.h"
#include "examples/stream_aggregator/results_stream.h"
#include "executor/cancellation_token.h"
#include "executor/clock.h"
#include "executor/task.h"
#include "net/http_router.h"
#include "net/tcp_listener.h"

namespace troupe::aggregator {

// How long ServeHttp lets connections end on their own after `until`.
inline constexpr Duration kHttpDrainTime = std::chrono::seconds(2);

// The routes above, for `pipeline`; `results` (may be null: no / and no
// /results) is the pipeline's results writer.
std::shared_ptr<net::HttpRouter> MakeHttpRouter(
    Pipeline& pipeline, const CancellationToken& stop, const LogFn& log,
    const std::shared_ptr<ResultsTee>& results);

// Serves HTTP connections accepted on `listener` with `router` until
// `until` is cancelled; returns once every connection is gone. An accept
// error other than a lack of descriptors (which Accept waits out) stops
// accepting and is returned, after `until`.
Task<absl::Status> ServeHttp(net::TcpListener listener,
                             std::shared_ptr<const net::HttpRouter> router,
                             CancellationToken until, LogFn log);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_HTTP_ENDPOINT_H_

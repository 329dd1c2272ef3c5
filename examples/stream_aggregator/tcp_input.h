// TCP input (--listen=HOST:PORT): a listener whose every accepted
// connection is one input of the pipeline (rule 3: it holds the watermark
// back while it is open and not idle, and stops holding it when it closes).
//
// Framing, decided by the connection's first bytes (frame_decoder.h):
//   - NDJSON, exactly as a file - one event per line, each line ended by
//     '\n' (a "\r\n" ending is fine: '\r' is JSON whitespace). A line may
//     span reads, and when the peer closes, its final line without '\n' is
//     still an event. Bad lines are counted, logged and skipped and the
//     connection stays open (rule 9).
//   - Binary protobuf, when the connection opens with the 4-byte preamble
//     00 54 50 42 ("\0TPB"): then varint-length-prefixed serialized
//     troupe.aggregator.Event frames of at most kMaxFrameBytes each
//     (frame_input.h has the rules for bad frames). Bad frames are counted,
//     logged and skipped like bad lines; only a malformed length (a varint
//     of more than 10 bytes), after which frames cannot be found again,
//     closes the connection (logged).
//   A connection is NDJSON as soon as a byte differs from the preamble, so
//   NDJSON connections are read exactly as before the binary framing
//   existed; one that ends within the preamble's first bytes is NDJSON too.

// Back-pressure: a connection reads its socket, feeds the bytes to its
// InputPort and awaits that before reading again; while the pipeline is
// behind, nothing is read, the kernel's receive buffer fills and TCP flow
// control holds the producer.
//
// Stopping: ServeTcpInputs accepts until `stop` is cancelled (SIGTERM or
// SIGINT, or a write error), then stops accepting and waits until every
// connection has finished. A connection finishes at the peer's end of
// stream, on a read error (logged; not an error of the run), or - checked
// at least every kStopPollInterval while it waits for data - once `stop`
// is cancelled; in each case what was read is processed and its port is
// closed, which counts the final unterminated line as a line.
//
// Thread contract: ServeTcpInputs runs in one task of the pipeline's
// runtime; `pipeline` must outlive the returned task.
//
// Example:
//   absl::StatusOr<net::TcpListener> listener =
//       net::TcpListener::Bind("127.0.0.1:7000");
//   if (!listener.ok()) co_return Fail(listener.status());
//   Task<absl::Status> serve =
//       ServeTcpInputs(*std::move(listener), pipeline, pipeline.stop());
//   absl::Status served = co_await std::move(serve);  // after the stop
//   co_await pipeline.NoMoreInputs();

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_TCP_INPUT_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_TCP_INPUT_H_

#include <chrono>
#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "examples/stream_aggregator/input_port.h"
#include "examples/stream_aggregator/pipeline.h"
#include "executor/cancellation_token.h"
#include "executor/clock.h"
#include "executor/task.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"

namespace troupe::aggregator {

// How often a task waiting for a connection or for data checks the stop
// token.
inline constexpr Duration kStopPollInterval = std::chrono::milliseconds(100);

// Bytes per socket read (the buffer each connection holds).
inline constexpr size_t kSocketReadBytes = size_t{64} << 10;

// The largest payload of a binary frame (1 MiB, as the NDJSON line limit).
inline constexpr size_t kMaxFrameBytes = size_t{1} << 20;

// Reads `stream` into `port`, in the framing its first bytes announce,
// until the peer's end of stream, a read error, a malformed frame length or
// `stop`; then closes the port (and the stream). A read error is logged
// through `log` (may be null) and is not returned: only the port's error
// (the pipeline has stopped taking events) is.
Task<absl::Status> ReadTcpConnection(net::TcpStream stream,
                                     std::unique_ptr<InputPort> port,
                                     CancellationToken stop, LogFn log);

// Accepts connections on `listener` until `stop`, each an input named
// "tcp PEER" reading through ReadTcpConnection; returns once the
// listener is closed and every connection has finished. A connection that
// arrives after the pipeline has stopped taking inputs is closed at once.
Task<absl::Status> ServeTcpInputs(net::TcpListener listener, Pipeline& pipeline,
                                  CancellationToken stop, LogFn log);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_TCP_INPUT_H_

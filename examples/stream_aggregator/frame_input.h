// FrameInput: the binary protobuf frames of one --listen connection
// (frame_decoder.h) turned into events of its InputPort.
//
// Each frame is one record, numbered from 1 like lines. A frame that does
// not read as an event (event_frame.h) is counted by reason, logged with its
// frame number (rate-limited by the port) and skipped; so is a frame longer
// than the limit (frame_too_long), whose bytes are then discarded so the
// stream goes on. A malformed length (malformed_frame_length) ends the
// stream: Feed returns with broken() set, and the caller closes that
// connection only. At the end of the stream, Finish counts a final frame cut
// short (truncated_frame). The port's own rules apply after that: a
// timestamp whose windows do not fit is bad_timestamp.
//
// Back-pressure: Feed flushes the port's batch when it fills and at the end
// of each chunk, awaiting the router's mailbox, as FeedText does; memory is
// the decoder's (at most one frame's payload) and the port's batch.
//
// Thread contract: one task uses a FrameInput, and the port it borrows, at a
// time; the port must outlive it.
//
// Example:
//   FrameInput frames(port.get(), /*max_frame_bytes=*/1 << 20);
//   absl::Status s = co_await frames.Feed(chunk);  // chunk outlives it
//   if (frames.broken()) { /* close the connection */ }
//   frames.Finish();
//   s = co_await port->Close();

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_FRAME_INPUT_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_FRAME_INPUT_H_

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "examples/stream_aggregator/event_frame.h"
#include "examples/stream_aggregator/frame_decoder.h"
#include "examples/stream_aggregator/input_port.h"
#include "executor/task.h"

namespace troupe::aggregator {

class FrameInput {
 public:
  FrameInput(InputPort* port, size_t max_frame_bytes);
  FrameInput(const FrameInput&) = delete;
  FrameInput& operator=(const FrameInput&) = delete;

  // Decodes `bytes` (valid until the returned task completes) and sends
  // their events. Returns the port's error (the pipeline has stopped
  // taking events); a malformed length is not an error but sets broken().
  Task<absl::Status> Feed(std::string_view bytes);

  // Whether a malformed length has ended the stream.
  bool broken() const { return decoder_.broken(); }

  // End of stream: counts a truncated final frame, if any. The caller then
  // closes the port, which sends the last events.
  void Finish();

 private:
  InputPort* const port_;
  FrameDecoder decoder_;
  EventFrameParser parser_;
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_FRAME_INPUT_H_

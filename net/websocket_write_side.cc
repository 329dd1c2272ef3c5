#include "net/websocket_write_side.h"

#include <sys/uio.h>

#include "net/websocket_frame.h"

namespace troupe::net::internal {

WebSocketWriteSide::Direct WebSocketWriteSide::TryWriteMessage(
    AnyByteStream& stream, Opcode opcode, std::span<const uint8_t> payload) {
  if (!enabled_) return Direct::kNotNow;
  std::lock_guard<troupe::internal::FutexMutex> lock(mu_);
  // Rules 1-4 (top of the header). Relaxed: see Mark().
  if (closed_ || in_round_ || !carry_.empty() ||
      unwritten_->load(std::memory_order_relaxed) != 0) {
    return Direct::kNotNow;
  }
  absl::StatusOr<WebSocketWriter::Frame> frame =
      writer_.WriteMessage(opcode, payload);
  if (!frame.ok()) {
    // The encoder may have moved on (a deflate context that took the
    // message in, a mask drawn): encoding the message again from the
    // queue could put corrupt bytes on the wire. So the failure is final:
    // no direct write from now on, and the writer task's next round ends
    // the connection with it, as a queued message's failure would.
    failed_ = frame.status();
    closed_ = true;
    return Direct::kHandedOff;
  }
  const std::string_view header = frame->header.view();
  // iovec is the writev API's and is not const-correct; the bytes are only
  // read.
  iovec chunks[2] = {
      {const_cast<char*>(header.data()), header.size()},
      {const_cast<uint8_t*>(frame->payload.data()), frame->payload.size()}};
  const size_t total = header.size() + frame->payload.size();
  const absl::StatusOr<size_t> written =
      stream.TryWriteV(std::span<const iovec>(chunks, 2));
  // A failed write takes nothing: the writer task's own write meets the
  // failure again and ends the connection the usual way.
  const size_t taken = written.ok() ? *written : 0;
  if (taken == total) return Direct::kWritten;
  // Keep the rest (the payload may be the caller's bytes or the encoder's
  // buffer: neither outlives this call).
  std::span<iovec> rest = ConsumeWritten(std::span<iovec>(chunks, 2), taken);
  for (const iovec& chunk : rest) {
    if (chunk.iov_len == 0) continue;  // its base may be null
    carry_.append(static_cast<const char*>(chunk.iov_base), chunk.iov_len);
  }
  return Direct::kHandedOff;
}

}  // namespace troupe::net::internal

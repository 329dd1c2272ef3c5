// WebSocketWriteSide: who may write to a WebSocket connection's stream, and
// the frame encoder they share (see websocket_connection.h for the design).
// Internal to //net.
//
// Two kinds of writer take turns:
//  - the writer task (websocket_writer_task.cc), which drains the outgoing
//    queue in rounds: Begin() encodes a round's frames, then the task writes
//    them (waiting on the stream as long as it takes) and calls End();
//  - a direct write (TryWriteMessage), the write-through fast path of
//    Send/TrySend on any task: when nothing is ahead of the message, it is
//    encoded and handed to the stream's TryWriteV at once - one syscall, no
//    queue, no writer task turn.
//
// Frame order. Bytes reach the stream in the order their messages were
// sent, and frames never interleave: a direct write happens only when,
// under mu_, all of these hold
//   1. unwritten_ == 0: no entry of the outgoing queue is alive that the
//      writer task has not taken into a round (each entry carries an
//      UnwrittenMark, made before its push, gone with the entry: a failed
//      or abandoned push drops it, the writer task drops it in a round or
//      after writing it);
//   2. no round is in progress (from Begin() to End(): a round may carry
//      no queued entry - the reader's Pong or Close - and its entries'
//      marks may go before its bytes are written);
//   3. the carry is empty (the rest of an earlier direct write);
//   4. writes are open (Close() not called).
// Otherwise the message goes to the queue and the writer task sends it
// behind what is ahead of it. If the stream takes only part of a direct
// frame (or none of it, or fails), the rest is kept in the carry and the
// caller wakes the writer task (a kWake entry), whose next round writes the
// carry before anything else; the message counts as sent, exactly as if it
// had been queued. Encoding under mu_ also keeps the permessage-deflate
// context (and the client's masks) in wire order.
//
// Why 1 and 2 are enough for order. If pushing entry E happened before a
// direct write D's check (the same task sent E then D, or E's sender told
// D's), then E's mark was made before the check, so the check reads a
// count that includes E - unless E's mark is gone already. A failed push
// means E was never queued. Otherwise the writer task took E; it drops
// E's mark only inside a round (Begin() under mu_, or after End(), which
// follows E's write), so D's check, under mu_ too, either sees the round
// in progress or comes after End() and so after E's bytes. Entries pushed
// concurrently with D are unordered with it either way; the push wakes
// the writer task, which then waits for mu_.
//
// Thread contract: Mark and TryWriteMessage on any task; Begin, End
// and Close on the writer task only. mu_ is held only over encoding and one
// non-blocking write, never across a suspension.
//
// Example (a sender):
//   if (side.TryWriteMessage(stream, Opcode::kText, bytes) == kNotNow) {
//     item.mark = side.Mark();
//     (void)outgoing.TrySend(std::move(item));  // handed back: mark gone
//   }
#ifndef TROUPE_NET_WEBSOCKET_WRITE_SIDE_H_
#define TROUPE_NET_WEBSOCKET_WRITE_SIDE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "executor/futex_mutex.h"
#include "net/byte_stream.h"
#include "net/websocket_connection.h"
#include "net/websocket_types.h"
#include "net/websocket_writer.h"

namespace troupe::net::internal {

class WebSocketWriteSide {
 public:
  // What a direct write did.
  enum class Direct : uint8_t {
    kWritten,    // the whole frame is on the stream
    kHandedOff,  // part or none of it: the rest is the writer task's now
    kNotNow,     // nothing done (something is ahead, or writes are closed)
  };

  // `enabled`: whether direct writes are allowed at all (the
  // write_through option, and a stream that has TryWriteV).
  WebSocketWriteSide(WebSocketWriter writer, bool enabled)
      : enabled_(enabled), writer_(std::move(writer)) {}
  WebSocketWriteSide(const WebSocketWriteSide&) = delete;
  WebSocketWriteSide& operator=(const WebSocketWriteSide&) = delete;

  // ---- senders (any task) ----
  // The mark an entry carries from before its push (rule 1). Relaxed is
  // enough for the count: it needs no ordering of its own (see "Why 1 and
  // 2 are enough" above: the order comes from the happens-before that the
  // push or the caller already has, and from mu_).
  UnwrittenMark Mark() { return UnwrittenMark(unwritten_); }

  // Writes one message frame straight to `stream` if nothing is ahead of
  // it (see the top of this file). kHandedOff: the caller must wake the
  // writer task - also after an encoding failure, which the writer task's
  // next round reports (the encoder's state may have moved, so the
  // message is not encoded again).
  Direct TryWriteMessage(AnyByteStream& stream, Opcode opcode,
                         std::span<const uint8_t> payload);

  // ---- the writer task ----
  // Begins a round: no direct write happens until End(). Runs
  // `fill(writer, carry, failure)` under mu_, with the encoder, the bytes
  // of an earlier direct write the stream did not take (the round must
  // write those first, and clear them), and a direct write's encoding
  // failure (if not OK, the round must fail the connection with it).
  template <typename Fill>
  void Begin(Fill&& fill) {
    std::lock_guard<troupe::internal::FutexMutex> lock(mu_);
    in_round_ = true;
    std::forward<Fill>(fill)(writer_, carry_, std::as_const(failed_));
  }
  // Ends the round: its bytes are written.
  void End() {
    std::lock_guard<troupe::internal::FutexMutex> lock(mu_);
    in_round_ = false;
  }
  // No direct write from now on: the writer task's last round (a Close
  // frame, a stop, a failure) or its exit, however it ends. Idempotent.
  void Close() {
    std::lock_guard<troupe::internal::FutexMutex> lock(mu_);
    closed_ = true;
  }

 private:
  const bool enabled_;
  // Queue entries alive and not yet taken into a round (rule 1). Shared
  // with the entries' marks, which may outlive this object.
  const std::shared_ptr<std::atomic<size_t>> unwritten_ =
      std::make_shared<std::atomic<size_t>>(0);
  // Everything below is guarded by mu_: a FutexMutex (an inline
  // compare-and-swap each way when free, which is nearly always; it may be
  // held across the write-through's syscall, so not a SpinLock), made of
  // atomics that ThreadSanitizer sees through.
  troupe::internal::FutexMutex mu_;
  WebSocketWriter writer_;
  std::string carry_;
  absl::Status failed_;  // a direct write's encoding failure
  bool in_round_ = false;
  bool closed_ = false;
};

}  // namespace troupe::net::internal

#endif  // TROUPE_NET_WEBSOCKET_WRITE_SIDE_H_

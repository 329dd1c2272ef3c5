// WriteBatch: one round of a WebSocket connection's writer task
// (websocket_core.h): the frames of the reader's replies and of the queued
// entries, gathered for a single vectored write.
//
// Contract:
//  - AddControl()/AddItem() frame each entry with the connection's
//    WebSocketWriter (passed in: the writer task holds it only inside
//    WebSocketWriteSide::Begin). A message the writer leaves as it is (server
//    role, not compressed) is not copied: its chunk points at the entry's own
//    bytes (shared or owned), and the batch holds the entry until Reset().
//    Frame headers, control frames and compressed or masked payloads
//    (which live in the writer's buffer only until its next frame) are
//    copied into the batch's arena. AddCarry() puts bytes already framed
//    (the rest of a direct write) in the arena, ahead of what follows.
//  - Chunks() -> the iovecs for AnyByteStream::WriteAllV, in frame order,
//    adjacent arena pieces merged. Valid until Reset(); the write may
//    rewrite them (partial writes).
//  - full(): the round holds kMaxBytes of payload or kMaxFrames frames,
//    so at most 2 * kMaxFrames + 3 chunks (under IOV_MAX, 1024): the
//    writer should stop taking entries.
//  - last(): nothing may follow this round (a Close frame, a stop, an
//    encoding error in status()).
//  - Reset() starts the next round and drops the held entries (so shared
//    frames are released once written). Storage for up to kKeptFrames
//    frames is reused across rounds; more than that (a burst) is freed,
//    so that an idle connection does not keep a burst's worth of
//    vectors.
//  - Single-threaded: owned by the writer task.
//
// Example (the writer's round, inside WebSocketWriteSide::Begin):
//   batch.Reset();
//   batch.AddCarry(carry);
//   batch.AddControl(core.TakeControl(), writer);
//   batch.AddItem(std::move(item), writer);
//   while (!batch.full() && !batch.last()) { /* TryRecv, AddItem */ }
//   if (!batch.empty()) co_await stream.WriteAllV(batch.Chunks());
#ifndef TROUPE_NET_WEBSOCKET_WRITE_BATCH_H_
#define TROUPE_NET_WEBSOCKET_WRITE_BATCH_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/websocket_connection.h"
#include "net/websocket_core.h"
#include "net/websocket_writer.h"

namespace troupe::net::internal {

class WriteBatch {
 public:
  static constexpr size_t kMaxBytes = size_t{64} * 1024;
  static constexpr size_t kMaxFrames = 128;
  static constexpr size_t kKeptFrames = 16;

  explicit WriteBatch(WebSocketCore& core) : core_(core) {}
  WriteBatch(const WriteBatch&) = delete;
  WriteBatch& operator=(const WriteBatch&) = delete;

  // Bytes already framed: the rest of a direct write, which goes first.
  void AddCarry(std::string_view bytes) { AppendToArena(bytes); }
  // The reader's replies (a Pong, a Close, a stop).
  void AddControl(WebSocketCore::Control control, WebSocketWriter& writer);
  // An entry of the outgoing queue.
  void AddItem(WebSocketOutgoing item, WebSocketWriter& writer);

  std::span<iovec> Chunks();
  void Reset();

  bool empty() const { return pieces_.empty(); }
  bool full() const { return bytes_ >= kMaxBytes || frames_ >= kMaxFrames; }
  bool last() const { return last_; }
  void set_last() { last_ = true; }
  // The round fails with `status` (the first failure is kept): the
  // connection ends with it and nothing more is written.
  void Fail(absl::Status status) {
    if (status_.ok()) status_ = std::move(status);
    last_ = true;
  }
  // This round carries the connection's Close frame.
  bool has_close() const { return has_close_; }
  const absl::Status& status() const { return status_; }

 private:
  // A run of bytes of the round: in the arena (held == kArena) or in the
  // payload of held_[held].
  struct Piece {
    static constexpr size_t kArena = ~size_t{0};
    size_t held;
    size_t offset;
    size_t size;
  };

  void AddClose(uint16_t code, std::string_view reason,
                WebSocketWriter& writer);
  // Appends `frame`; its payload is referenced in place if it is exactly
  // the bytes of held_[held] (pass Piece::kArena to always copy).
  void Append(absl::StatusOr<WebSocketWriter::Frame> frame, size_t held);
  void AppendToArena(std::string_view bytes);

  WebSocketCore& core_;
  std::string arena_;
  std::vector<WebSocketOutgoing> held_;
  std::vector<Piece> pieces_;
  std::vector<iovec> chunks_;
  size_t bytes_ = 0;
  size_t frames_ = 0;
  absl::Status status_;
  bool last_ = false;
  bool has_close_ = false;
};

}  // namespace troupe::net::internal

#endif  // TROUPE_NET_WEBSOCKET_WRITE_BATCH_H_

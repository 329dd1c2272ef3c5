// MemoryStream: an in-memory duplex pipe with the ByteStream contract
// (byte_stream.h), for tests and for wiring two tasks together. Each
// direction is a bounded ring buffer, so back-pressure behaves as on a
// socket whose peer stops reading.
//
// Contract:
//  - MakeMemoryPipe(capacity) returns two connected ends: what one writes
//    the other reads. Each direction buffers at most `capacity` bytes
//    (minimum 1); a write waits while the buffer is full, a read waits
//    while it is empty.
//  - Read/WriteAll/ShutdownWrite as in byte_stream.h. Write(data) writes
//    what fits (at least one byte, waiting for room) and returns the count.
//    TryWriteV(chunks) writes what fits now without waiting (0 if the
//    buffer is full), so a small capacity makes a WebSocket connection's
//    write-through send meet partial writes and full buffers.
//    Writing after ShutdownWrite, or once the peer end is destroyed, fails
//    with FailedPrecondition ("broken pipe"); bytes the peer never read are
//    dropped with it.
//  - Destroying an end closes both of its directions: the peer reads the
//    rest and then end of stream, and its writes fail.
//  - Thread-safe in the ByteStream sense: one reader and one writer per
//    end, on any threads. Each direction has its own mutex; waiting tasks
//    are intrusive waiters in the awaiting frame (no allocation per wait)
//    and are woken after the mutex is released. Abandoning a wait (Timeout,
//    abort) unregisters it.
//  - Reads and writes that complete without waiting consume the task's
//    cooperative budget (executor/coop.h), so a busy pipe cannot starve
//    other tasks.
//
// Example:
//   auto [client, server] = MakeMemoryPipe(4096);
//   co_await client.WriteAll(AsSpan("GET / HTTP/1.1\r\n..."));
//   char buffer[512];
//   absl::StatusOr<size_t> n = co_await server.Read(buffer);
#ifndef TROUPE_NET_MEMORY_STREAM_H_
#define TROUPE_NET_MEMORY_STREAM_H_

#include <sys/uio.h>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/task.h"
#include "executor/task_header.h"
#include "net/byte_stream.h"

namespace troupe::net {

namespace internal {

// One direction of a pipe: a bounded ring buffer with at most one waiting
// reader and one waiting writer.
class PipeBuffer {
 public:
  struct Waiter {
    TaskHeader* task = nullptr;
    // Set (under the mutex) by whoever wakes the waiter; read by the waiter
    // with acquire when its task runs again.
    std::atomic<bool> notified{false};
  };

  explicit PipeBuffer(size_t capacity) : ring_(capacity) {}

  // One attempt of a read (kReader) or a write (kWriter), under the mutex.
  // Done: the operation completed (result set). Otherwise, if `waiter` is
  // not null it is registered to be woken when the attempt may succeed.
  // `wake` receives a task to wake once the mutex is released.
  enum class Op : uint8_t { kRead, kWrite };
  bool Attempt(Op op, std::span<char> read_into, std::span<const char> data,
               Waiter* waiter, absl::StatusOr<size_t>* result, TaskRef* wake);
  // Withdraws a registered waiter that was not woken.
  void Unregister(Op op, Waiter* waiter);

  // The writer is done: the reader gets end of stream after the data.
  void CloseWrite();
  // The reader is gone: writes fail, buffered bytes are dropped.
  void CloseRead();
  size_t Buffered() const;
  size_t capacity() const { return ring_.size(); }

 private:
  // Takes the waiter registered in *slot (if any) for waking.
  static void TakeWaiter(Waiter** slot, TaskRef* wake);

  // Everything below is guarded by mu_.
  mutable std::mutex mu_;
  std::vector<char> ring_;
  size_t head_ = 0;  // index of the oldest byte
  size_t size_ = 0;  // bytes buffered
  bool write_closed_ = false;
  bool read_closed_ = false;
  Waiter* reader_ = nullptr;
  Waiter* writer_ = nullptr;
};

// Awaiter of one pipe read or write. Lives in the awaiting frame.
class PipeAwaiter final : public ParkedAwaiter {
 public:
  PipeAwaiter(PipeBuffer* pipe, PipeBuffer::Op op, std::span<char> read_into,
              std::span<const char> data)
      : pipe_(pipe), op_(op), read_into_(read_into), data_(data) {}
  PipeAwaiter(const PipeAwaiter&) = delete;
  PipeAwaiter& operator=(const PipeAwaiter&) = delete;
  ~PipeAwaiter();

  bool await_ready();
  bool await_suspend(std::coroutine_handle<> handle);
  bool Ready() override;
  absl::StatusOr<size_t> await_resume() { return std::move(result_); }

 private:
  // Attempts the operation, registering the waiter if it cannot complete.
  // True if the task must suspend.
  bool Park();

  PipeBuffer* const pipe_;
  const PipeBuffer::Op op_;
  const std::span<char> read_into_;
  const std::span<const char> data_;
  PipeBuffer::Waiter waiter_;
  absl::StatusOr<size_t> result_ = size_t{0};
  bool parked_ = false;  // waiter_ is registered with the pipe
  bool yield_ = false;   // out of budget: going round the run queue
};

}  // namespace internal

class MemoryStream {
 public:
  MemoryStream(MemoryStream&&) noexcept = default;
  MemoryStream& operator=(MemoryStream&& other) noexcept;
  MemoryStream(const MemoryStream&) = delete;
  MemoryStream& operator=(const MemoryStream&) = delete;
  ~MemoryStream();

  Task<absl::StatusOr<size_t>> Read(std::span<char> buffer);
  Task<absl::StatusOr<size_t>> Write(std::span<const char> data);
  absl::StatusOr<size_t> TryWriteV(std::span<const iovec> chunks);
  Task<absl::Status> WriteAll(std::span<const char> data);
  Task<absl::Status> ShutdownWrite();

  // Bytes this end wrote that the peer has not read yet.
  size_t UnreadByPeer() const { return out_->Buffered(); }
  // Bytes the peer wrote that this end has not read yet.
  size_t Unread() const { return in_->Buffered(); }
  size_t capacity() const { return out_->capacity(); }

 private:
  friend std::pair<MemoryStream, MemoryStream> MakeMemoryPipe(size_t capacity);
  MemoryStream(std::shared_ptr<internal::PipeBuffer> in,
               std::shared_ptr<internal::PipeBuffer> out)
      : in_(std::move(in)), out_(std::move(out)) {}
  void Close();

  std::shared_ptr<internal::PipeBuffer> in_;   // we read
  std::shared_ptr<internal::PipeBuffer> out_;  // we write
};

// Two connected ends, each direction buffering up to `capacity` bytes.
std::pair<MemoryStream, MemoryStream> MakeMemoryPipe(size_t capacity = 65536);

// Views text as the byte span the stream operations take.
inline std::span<const char> AsSpan(std::string_view s) {
  return {s.data(), s.size()};
}

static_assert(ByteStream<MemoryStream>);

}  // namespace troupe::net

#endif  // TROUPE_NET_MEMORY_STREAM_H_

// ByteStream: what the async network layer needs from a connected,
// reliable, ordered byte stream (a TCP socket, a TLS session, an in-memory
// pipe). The HTTP server connection and the WebSocket connection are
// written against it, so they run on memory_stream.h in tests and on
// TcpStream in production without change.
//
// Contract (the ByteStream concept; every operation is a Task):
//  - Read(buffer) -> absl::StatusOr<size_t>: waits until at least one byte
//    is available and copies up to buffer.size() bytes; 0 means end of
//    stream (the peer shut down its writing side). An error is final.
//  - WriteAll(data) -> absl::Status: waits until every byte has been handed
//    to the stream (back-pressure: it waits while the peer does not read).
//  - Optional: WriteV(chunks) -> absl::StatusOr<size_t>, a gathering write
//    of what the stream takes now (at least one byte). AnyByteStream's
//    WriteAllV(chunks) uses it when the stream has it (one writev per
//    batch of chunks, partial writes resumed), else copies the chunks into
//    one buffer for one WriteAll.
//  - Optional: TryWriteV(chunks) -> absl::StatusOr<size_t>, a gathering
//    write that never waits (not a Task): the count the stream took at
//    once, 0 if it takes nothing now (it would have to wait), or an error.
//    It occupies the write slot only while it runs. The WebSocket
//    connection's write-through send is built on it
//    (websocket_write_side.h); a stream without it always goes through
//    the connection's writer task.
//  - Optional: registration() and TryRead(buffer, seen), a read split in
//    two for streams the reactor drives (TcpStream): the caller waits with
//    `co_await registration()->Ready(Interest::kRead)` - an awaiter, no
//    coroutine frame - then TryRead returns the count (0: end of stream),
//    an error, or nullopt when there was nothing after all (wait again).
//    AnyByteStream's ReadRegistration() is null for other streams (and a
//    closed TcpStream): use Read.
//  - ShutdownWrite() -> absl::Status: no more writes; the peer's Read then
//    returns 0 once it has read everything before it.
//  - Concurrency: one Read and one write operation may be in flight at the
//    same time, from different tasks on different threads; two Reads (or
//    two writes) at once are not allowed.
//  - Cancellation: abandoning a Read or WriteAll at its suspension point
//    (a Timeout around it, its task aborted) must be safe: no waiter left
//    behind. An abandoned WriteAll may have written a prefix of its data.
//  - Destroying the stream closes it (both directions).
//
// AnyByteStream is the same contract as a virtual interface, and
// MakeAnyByteStream(s) wraps any ByteStream in it. The connection code is
// compiled once against AnyByteStream; the adapter forwards each call (the
// Task the wrapped stream returns is handed back as is, so the wrapping
// costs one virtual call per operation and no extra coroutine frame).
//
// Example:
//   static_assert(ByteStream<TcpStream>);
//   std::unique_ptr<AnyByteStream> s = MakeAnyByteStream(std::move(tcp));
//   absl::StatusOr<size_t> n = co_await s->Read(buffer);
#ifndef TROUPE_NET_BYTE_STREAM_H_
#define TROUPE_NET_BYTE_STREAM_H_

#include <sys/uio.h>

#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/io_driver.h"
#include "executor/io_readiness.h"
#include "executor/task.h"

namespace troupe::net {

template <typename S>
concept ByteStream = std::movable<S> &&
    requires(S& s, std::span<char> in, std::span<const char> out) {
  { s.Read(in) } -> std::same_as<Task<absl::StatusOr<size_t>>>;
  { s.WriteAll(out) } -> std::same_as<Task<absl::Status>>;
  { s.ShutdownWrite() } -> std::same_as<Task<absl::Status>>;
};

template <typename S>
concept GatheringByteStream = ByteStream<S> &&
    requires(S& s, std::span<const iovec> chunks) {
  { s.WriteV(chunks) } -> std::same_as<Task<absl::StatusOr<size_t>>>;
};

template <typename S>
concept ReadinessByteStream = ByteStream<S> &&
    requires(S& s, std::span<char> in, const ReadyEvent& seen) {
  { s.registration() } -> std::same_as<const IoRegistration*>;
  {
    s.TryRead(in, seen)
    } -> std::same_as<std::optional<absl::StatusOr<size_t>>>;
};
template <typename S>
concept TryWriteByteStream = ByteStream<S> &&
    requires(S& s, std::span<const iovec> chunks) {
  { s.TryWriteV(chunks) } -> std::same_as<absl::StatusOr<size_t>>;
};

// Drops the first `written` bytes from `chunks`: the chunks written whole
// go, and a chunk written in part is cut to its unwritten rest.
inline std::span<iovec> ConsumeWritten(std::span<iovec> chunks,
                                       size_t written) {
  while (!chunks.empty() && written >= chunks.front().iov_len) {
    written -= chunks.front().iov_len;
    chunks = chunks.subspan(1);
  }
  if (!chunks.empty() && written > 0) {
    chunks.front().iov_base =
        static_cast<char*>(chunks.front().iov_base) + written;
    chunks.front().iov_len -= written;
  }
  return chunks;
}

// The ByteStream contract as an interface (see the top of this file).
class AnyByteStream {
 public:
  virtual ~AnyByteStream() = default;
  virtual Task<absl::StatusOr<size_t>> Read(std::span<char> buffer) = 0;
  virtual Task<absl::Status> WriteAll(std::span<const char> data) = 0;
  virtual Task<absl::Status> ShutdownWrite() = 0;
  // Writes every byte of `chunks`, in order, as WriteAll would write their
  // concatenation; rewrites `chunks` as it goes (see ConsumeWritten). The
  // same write slot as WriteAll: one write operation at a time.
  virtual Task<absl::Status> WriteAllV(std::span<iovec> chunks) {
    // A stream without a gathering write: one copy, one WriteAll.
    std::string joined;
    for (const iovec& chunk : chunks) {
      joined.append(static_cast<const char*>(chunk.iov_base), chunk.iov_len);
    }
    co_return co_await WriteAll(joined);
  }
  // Frameless reading (see the top): the registration to wait on, or
  // null if the stream has none (then use Read); and the read after it.
  virtual const IoRegistration* ReadRegistration() const { return nullptr; }
  virtual std::optional<absl::StatusOr<size_t>> TryRead(
      std::span<char> buffer, const ReadyEvent& seen) {
    (void)buffer;
    (void)seen;
    return absl::FailedPreconditionError("the stream has no TryRead");
  }
  // Whether TryWriteV can ever take bytes (the stream has it).
  virtual bool CanTryWrite() const { return false; }
  // Writes what the stream takes now without waiting (see the top of this
  // file); a stream without it takes nothing. The same write slot as
  // WriteAll: the caller makes sure no other write is in flight.
  virtual absl::StatusOr<size_t> TryWriteV(std::span<const iovec> chunks) {
    (void)chunks;
    return size_t{0};
  }
};

template <ByteStream S>
class ByteStreamAdapter final : public AnyByteStream {
 public:
  explicit ByteStreamAdapter(S stream) : stream_(std::move(stream)) {}

  Task<absl::StatusOr<size_t>> Read(std::span<char> buffer) override {
    return stream_.Read(buffer);
  }
  Task<absl::Status> WriteAll(std::span<const char> data) override {
    return stream_.WriteAll(data);
  }
  Task<absl::Status> ShutdownWrite() override {
    return stream_.ShutdownWrite();
  }
  Task<absl::Status> WriteAllV(std::span<iovec> chunks) override {
    if constexpr (GatheringByteStream<S>) {
      return GatherAll(chunks);
    } else {
      return AnyByteStream::WriteAllV(chunks);
    }
  }

  const IoRegistration* ReadRegistration() const override {
    if constexpr (ReadinessByteStream<S>) {
      return stream_.registration();
    } else {
      return nullptr;
    }
  }
  std::optional<absl::StatusOr<size_t>> TryRead(
      std::span<char> buffer, const ReadyEvent& seen) override {
    if constexpr (ReadinessByteStream<S>) {
      return stream_.TryRead(buffer, seen);
    } else {
      return AnyByteStream::TryRead(buffer, seen);
    }
  }

  bool CanTryWrite() const override { return TryWriteByteStream<S>; }
  absl::StatusOr<size_t> TryWriteV(std::span<const iovec> chunks) override {
    if constexpr (TryWriteByteStream<S>) {
      return stream_.TryWriteV(chunks);
    } else {
      return AnyByteStream::TryWriteV(chunks);
    }
  }

  S& stream() { return stream_; }

 private:
  // One WriteV per round until everything is written (a partial write
  // resumes where the stream stopped).
  Task<absl::Status> GatherAll(std::span<iovec> chunks) {
    chunks = ConsumeWritten(chunks, 0);
    while (!chunks.empty()) {
      const absl::StatusOr<size_t> n = co_await stream_.WriteV(chunks);
      if (!n.ok()) co_return n.status();
      if (*n == 0) co_return absl::UnavailableError("the stream took no bytes");
      chunks = ConsumeWritten(chunks, *n);
    }
    co_return absl::OkStatus();
  }

  S stream_;
};

// Wraps `stream` for the connection code.
template <ByteStream S>
std::unique_ptr<AnyByteStream> MakeAnyByteStream(S stream) {
  return std::make_unique<ByteStreamAdapter<S>>(std::move(stream));
}

}  // namespace troupe::net

#endif  // TROUPE_NET_BYTE_STREAM_H_

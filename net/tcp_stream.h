// TcpStream: a connected TCP socket driven by the runtime's I/O reactor
// (executor/io_driver.h). Every operation that can wait is a Task, so it
// composes with Timeout and task abort.
//
// Contract:
//   - Connect(address) connects without blocking a worker (non-blocking
//     connect, then SO_ERROR); a refused or unreachable peer is an error
//     naming the address ("connect to 127.0.0.1:9: Connection refused").
//     Connect("host:port") also takes names: they are resolved on the
//     runtime's blocking pool and each address is tried in turn.
//   - Read(buffer) waits until at least one byte (or the end) is there and
//     reads directly into `buffer`: it returns the count, 0 at end of stream
//     (the peer shut down its side; also for an empty buffer), or an error
//     (final: e.g. ECONNRESET). Bytes are consumed only by a Read that
//     returns them: a Read abandoned while waiting (Timeout, abort) has read
//     nothing, leaves no waiter behind, and the stream stays usable.
//   - Write(data) / WriteV(chunks) write what the socket takes now (at
//     least one byte, waiting for room if needed) and return the count.
//     WriteAll(data) writes everything; an abandoned WriteAll may have
//     written a prefix. Writing to a closed peer is an error, never SIGPIPE.
//   - TryWriteV(chunks) never waits (not a Task): it writes what the socket
//     takes now and returns the count - 0 without a syscall if the socket
//     was found full since the reactor's last edge, or after an EAGAIN.
//     It keeps the readiness bookkeeping of the waiting writes (below), so
//     a WriteV after it waits or not exactly as after a WriteV.
//   - Syscalls: an operation tries its syscall at once while the socket is
//     believed ready, and waits for the reactor's edge only after EAGAIN -
//     or after a short transfer (a read that did not fill its buffer, a
//     write that did not take everything), which shows the kernel's buffer
//     drained or full as well as EAGAIN would, one syscall earlier.
//   - ShutdownWrite() sends FIN: the peer's reads then return 0 once they
//     have everything written before it. Reading still works.
//   - Concurrency: one read and one write may be in flight at once, from
//     different tasks on different threads. Two reads (or two writes) at
//     once are not supported.
//   - Lifetime: the stream must outlive its operations' Tasks (they hold
//     `this` and the buffer) and must not be moved while one is in flight.
//     Destroying it (or Close) deregisters from the reactor, then closes.
//     It must be closed before its runtime is destroyed.
//   - Satisfies the ByteStream concept (net/byte_stream.h).
//
// Example:
//   absl::StatusOr<TcpStream> s = co_await TcpStream::Connect(address);
//   if (!s.ok()) co_return s.status();
//   absl::Status w = co_await s->WriteAll(request);
//   char buffer[4096];
//   absl::StatusOr<size_t> n = co_await Timeout(5s, s->Read(buffer));
#ifndef TROUPE_NET_TCP_STREAM_H_
#define TROUPE_NET_TCP_STREAM_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/io_driver.h"
#include "executor/task.h"
#include "net/socket_address.h"

namespace troupe::net {

class TcpListener;

class TcpStream {
 public:
  TcpStream() = default;  // not connected: operations fail
  TcpStream(TcpStream&& other) noexcept;
  TcpStream& operator=(TcpStream&& other) noexcept;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  ~TcpStream() { Close(); }

  static Task<absl::StatusOr<TcpStream>> Connect(SocketAddress address);
  static Task<absl::StatusOr<TcpStream>> Connect(std::string host_port);

  Task<absl::StatusOr<std::size_t>> Read(std::span<char> buffer);
  Task<absl::StatusOr<std::size_t>> Write(std::span<const char> data);
  Task<absl::StatusOr<std::size_t>> WriteV(std::span<const iovec> chunks);
  absl::StatusOr<std::size_t> TryWriteV(std::span<const iovec> chunks);
  // Reading without a coroutine frame, for a caller that loops itself:
  // wait with the registration's awaiter, then TryRead with the readiness
  // it returned - the count (0 at the end of stream), an error, or nullopt
  // when the socket had nothing after all (wait again). The registration
  // is null when the stream is not open (use Read, which says so).
  //   for (;;) {
  //     const ReadyEvent seen = co_await s.registration()->Ready(
  //         Interest::kRead);
  //     auto n = s.TryRead(buffer, seen);
  //     if (n.has_value()) break;
  //   }
  const IoRegistration* registration() const {
    return fd_ >= 0 ? &io_ : nullptr;
  }
  std::optional<absl::StatusOr<std::size_t>> TryRead(std::span<char> buffer,
                                                     const ReadyEvent& seen);
  Task<absl::Status> WriteAll(std::span<const char> data);
  Task<absl::Status> ShutdownWrite();

  absl::Status SetNoDelay(bool enabled);
  absl::StatusOr<SocketAddress> LocalAddress() const;
  absl::StatusOr<SocketAddress> PeerAddress() const;

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Tasks waiting on this socket's readiness right now (diagnostics).
  int WaitingTasks() const { return io_.WaitingTasks(); }
  // Whether the next Read (kRead) or Write (kWrite) runs its syscall at
  // once rather than waiting for the reactor's next edge (diagnostics).
  bool BelievedReady(Interest interest) const {
    return io_.BelievedReady(interest);
  }
  // Deregisters and closes; idempotent. No operation may be in flight.
  void Close();

 private:
  friend class TcpListener;
  // Takes `fd` (connected or connecting, non-blocking) and registers it;
  // closes it on failure.
  static absl::StatusOr<TcpStream> Adopt(int fd, IoDriver& driver,
                                         uint32_t initial_ready);
  Task<absl::Status> FinishConnect(SocketAddress address);

  int fd_ = -1;
  IoRegistration io_;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_TCP_STREAM_H_

// Socket plumbing shared by TcpStream and TcpListener (not a public API):
// errno to absl::Status, non-blocking socket creation, the runtime's
// reactor, and the one loop every socket operation is made of.
//
// RetryWhenReady(io, interest, what, requested, op) is the EAGAIN protocol
// of executor/io_scheduled.h as a coroutine: wait until `io` is ready for
// `interest`, run the non-blocking syscall `op` (returning a count, or -1
// with errno), and on EAGAIN clear the readiness it saw and wait again.
// The syscall runs right before the coroutine returns, with no suspension
// point in between: an operation abandoned (Timeout, abort) while waiting
// has not run its syscall, so a read consumes no bytes it does not return.
//
// Short transfers: `requested` is how many bytes `op` asked the kernel
// for (0: unknown). On a stream socket a transfer of fewer bytes than that
// means the kernel's buffer was drained (read) or filled (write) at that
// moment, so the readiness is cleared right away, as after an EAGAIN: the
// next operation waits for the next edge instead of issuing a syscall that
// would only say EAGAIN. Data or room that comes after the syscall raises
// a new edge (epoll reports every arrival to an edge-triggered socket), and
// one that came during it bumped the tick, which makes the clear a no-op.
// Only for byte streams (TCP): a datagram or accept has no such meaning.
//
// TryWhenReady is one try of that loop, for callers that wait themselves
// (a write-through that never waits; a reader that waits with the
// registration's awaiter, which needs no coroutine frame).
//
// Example:
//   co_return co_await internal::RetryWhenReady(
//       &io_, Interest::kRead, "read", buffer.size(),
//       [fd = fd_, buffer] { return ::recv(fd, buffer.data(), buffer.size(),
//       0); });
#ifndef TROUPE_NET_SOCKET_OPS_H_
#define TROUPE_NET_SOCKET_OPS_H_

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "executor/io_driver.h"
#include "executor/io_readiness.h"
#include "executor/task.h"
#include "net/socket_address.h"

namespace troupe::net::internal {

// "what: strerror(err)", with the absl code errno maps to.
absl::Status ErrnoError(absl::string_view what, int err);

// The calling task's runtime reactor; FailedPrecondition outside a runtime
// (naming `what`, the operation that needed it).
absl::StatusOr<IoDriver*> CurrentIoDriver(absl::string_view what);

// A non-blocking, close-on-exec TCP socket for `address`'s family.
absl::StatusOr<int> OpenTcpSocket(const SocketAddress& address);

// getsockname / getpeername as a SocketAddress.
absl::StatusOr<SocketAddress> LocalAddressOf(int fd);
absl::StatusOr<SocketAddress> PeerAddressOf(int fd);

inline bool WouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

// One try of the non-blocking syscall `op` under that protocol, for a
// caller that saw readiness `seen`: the count (a short transfer clears the
// readiness), nullopt after EAGAIN (readiness cleared: wait for the next
// edge and try again), or the error. EINTR is retried.
template <typename Op>
std::optional<absl::StatusOr<std::size_t>> TryWhenReady(
    const IoRegistration* io, Interest interest, const char* what,
    std::size_t requested, const ReadyEvent& seen, Op& op) {
  for (;;) {
    const ssize_t n = op();
    if (n >= 0) {
      const auto count = static_cast<std::size_t>(n);
      // A short transfer drained (or filled) the socket: see the top.
      // Zero is left alone: it is the end of stream, which is sticky.
      if (count > 0 && count < requested) io->ClearReadiness(interest, seen);
      return count;
    }
    const int err = errno;
    if (WouldBlock(err)) {
      io->ClearReadiness(interest, seen);
      return std::nullopt;
    }
    if (err != EINTR) return ErrnoError(what, err);
  }
}

template <typename Op>
Task<absl::StatusOr<std::size_t>> RetryWhenReady(const IoRegistration* io,
                                                 Interest interest,
                                                 const char* what,
                                                 std::size_t requested, Op op) {
  for (;;) {
    const ReadyEvent seen = co_await io->Ready(interest);
    std::optional<absl::StatusOr<std::size_t>> done =
        TryWhenReady(io, interest, what, requested, seen, op);
    if (done.has_value()) co_return *std::move(done);
  }
}

}  // namespace troupe::net::internal

#endif  // TROUPE_NET_SOCKET_OPS_H_

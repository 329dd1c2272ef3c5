#include "net/tcp_stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "executor/blocking_pool.h"
#include "net/socket_ops.h"

namespace troupe::net {
namespace {

// Gathers up to this many bytes are joined and sent with send() (WriteV).
constexpr std::size_t kCoalesceBytes = 512;

absl::Status NotConnected() {
  return absl::FailedPreconditionError("the TCP stream is not connected");
}

template <typename T>
Task<T> Immediately(T value) {
  co_return value;
}

// At most IOV_MAX of `chunks`: what one sendmsg takes.
std::span<const iovec> FirstBatch(std::span<const iovec> chunks) {
  return chunks.first(std::min<std::size_t>(chunks.size(), IOV_MAX));
}

std::size_t TotalBytes(std::span<const iovec> chunks) {
  std::size_t total = 0;
  for (const iovec& chunk : chunks) total += chunk.iov_len;
  return total;
}

// One non-blocking gathering send of `chunks` (`requested` bytes, at most
// IOV_MAX chunks): a count, or -1 with errno.
ssize_t SendChunks(int fd, std::span<const iovec> chunks,
                   std::size_t requested) {
  // A small gather (a WebSocket frame's header and payload, say) is copied
  // into one buffer and written with send(): cheaper in the kernel than
  // sendmsg's message header and vector import, and the copy of a few
  // hundred bytes costs less than either.
  if (chunks.size() == 1 || requested <= kCoalesceBytes) {
    if (chunks.size() == 1) {
      return ::send(fd, chunks[0].iov_base, chunks[0].iov_len, MSG_NOSIGNAL);
    }
    char joined[kCoalesceBytes];
    std::size_t at = 0;
    for (const iovec& chunk : chunks) {
      if (chunk.iov_len == 0) continue;  // its base may be null
      std::memcpy(joined + at, chunk.iov_base, chunk.iov_len);
      at += chunk.iov_len;
    }
    return ::send(fd, joined, at, MSG_NOSIGNAL);
  }
  msghdr message{};
  // sendmsg does not write through msg_iov; the cast is its API's.
  message.msg_iov = const_cast<iovec*>(chunks.data());
  message.msg_iovlen = chunks.size();
  return ::sendmsg(fd, &message, MSG_NOSIGNAL);
}

}  // namespace

TcpStream::TcpStream(TcpStream&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), io_(std::move(other.io_)) {}

TcpStream& TcpStream::operator=(TcpStream&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    io_ = std::move(other.io_);
  }
  return *this;
}

void TcpStream::Close() {
  if (fd_ < 0) return;
  io_.Reset();  // out of the epoll set before the number can be reused
  ::close(std::exchange(fd_, -1));
}

absl::StatusOr<TcpStream> TcpStream::Adopt(int fd, IoDriver& driver,
                                           uint32_t initial_ready) {
  absl::StatusOr<IoRegistration> io =
      IoRegistration::Create(driver, fd, initial_ready);
  if (!io.ok()) {
    ::close(fd);
    return io.status();
  }
  TcpStream stream;
  stream.fd_ = fd;
  stream.io_ = std::move(*io);
  return stream;
}

Task<absl::StatusOr<TcpStream>> TcpStream::Connect(SocketAddress address) {
  absl::StatusOr<IoDriver*> driver =
      internal::CurrentIoDriver("TcpStream::Connect");
  if (!driver.ok()) co_return driver.status();
  absl::StatusOr<int> fd = internal::OpenTcpSocket(address);
  if (!fd.ok()) co_return fd.status();
  const std::string what = absl::StrCat("connect to ", address.ToString());
  bool in_progress = false;
  if (::connect(*fd, address.sockaddr_ptr(), address.sockaddr_len()) != 0) {
    const int err = errno;
    if (err != EINPROGRESS) {
      ::close(*fd);
      co_return internal::ErrnoError(what, err);
    }
    in_progress = true;
  }
  // Registered only now: a socket that has not called connect() reports
  // EPOLLHUP, which would read as a sticky "closed".
  absl::StatusOr<TcpStream> stream =
      Adopt(*fd, **driver,
            in_progress ? 0 : Readiness::kReadable | Readiness::kWritable);
  if (!stream.ok() || !in_progress) co_return stream;
  absl::Status connected = co_await stream->FinishConnect(address);
  if (!connected.ok()) co_return connected;
  co_return stream;
}

Task<absl::Status> TcpStream::FinishConnect(SocketAddress address) {
  for (;;) {
    const ReadyEvent seen = co_await io_.Ready(Interest::kWrite);
    int err = 0;
    socklen_t length = sizeof(err);
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &length) != 0) {
      err = errno;
    }
    if (err != 0) {
      co_return internal::ErrnoError(
          absl::StrCat("connect to ", address.ToString()), err);
    }
    sockaddr_storage peer{};
    length = sizeof(peer);
    if (getpeername(fd_, reinterpret_cast<sockaddr*>(&peer), &length) == 0) {
      co_return absl::OkStatus();
    }
    if (const int peer_err = errno; peer_err != ENOTCONN) {
      co_return internal::ErrnoError(
          absl::StrCat("connect to ", address.ToString()), peer_err);
    }
    if ((seen.ready & (Readiness::kWriteClosed | Readiness::kError)) != 0) {
      // Closed without an error code: the sticky bits would spin us.
      co_return absl::UnavailableError(
          absl::StrCat("connect to ", address.ToString(),
                       ": closed before it was established"));
    }
    // Still connecting (a wake-up that was not the connect's): wait again.
    io_.ClearReadiness(Interest::kWrite, seen);
  }
}

Task<absl::StatusOr<TcpStream>> TcpStream::Connect(std::string host_port) {
  std::vector<SocketAddress> addresses;
  if (absl::StatusOr<SocketAddress> literal = SocketAddress::Parse(host_port);
      literal.ok()) {
    addresses.push_back(*literal);
  } else {
    // A name: getaddrinfo blocks, so it runs on the blocking pool.
    auto resolve = [host_port] {
      return SocketAddress::ResolveBlocking(host_port);
    };
    auto job = SpawnBlocking(std::move(resolve));
    if (!job.ok()) co_return job.status();
    absl::StatusOr<std::vector<SocketAddress>> resolved = co_await *job;
    if (!resolved.ok()) co_return resolved.status();
    addresses = std::move(*resolved);
  }
  absl::Status last_error = absl::NotFoundError(
      absl::StrCat("no address to connect to for '", host_port, "'"));
  for (const SocketAddress& address : addresses) {
    absl::StatusOr<TcpStream> stream = co_await Connect(address);
    if (stream.ok()) co_return stream;
    last_error = stream.status();
  }
  co_return last_error;
}

Task<absl::StatusOr<std::size_t>> TcpStream::Read(std::span<char> buffer) {
  if (fd_ < 0) return Immediately<absl::StatusOr<std::size_t>>(NotConnected());
  if (buffer.empty()) return Immediately<absl::StatusOr<std::size_t>>(0);
  return internal::RetryWhenReady(
      &io_, Interest::kRead, "read", buffer.size(), [fd = fd_, buffer] {
        return ::recv(fd, buffer.data(), buffer.size(), 0);
      });
}

Task<absl::StatusOr<std::size_t>> TcpStream::Write(std::span<const char> data) {
  if (fd_ < 0) return Immediately<absl::StatusOr<std::size_t>>(NotConnected());
  if (data.empty()) return Immediately<absl::StatusOr<std::size_t>>(0);
  return internal::RetryWhenReady(
      &io_, Interest::kWrite, "write", data.size(), [fd = fd_, data] {
        return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      });
}

Task<absl::StatusOr<std::size_t>> TcpStream::WriteV(
    std::span<const iovec> chunks) {
  if (fd_ < 0) return Immediately<absl::StatusOr<std::size_t>>(NotConnected());
  if (TotalBytes(chunks) == 0) {
    return Immediately<absl::StatusOr<std::size_t>>(0);
  }
  chunks = FirstBatch(chunks);
  const std::size_t requested = TotalBytes(chunks);
  return internal::RetryWhenReady(&io_, Interest::kWrite, "writev", requested,
                                  [fd = fd_, chunks, requested] {
                                    return SendChunks(fd, chunks, requested);
                                  });
}

absl::StatusOr<std::size_t> TcpStream::TryWriteV(
    std::span<const iovec> chunks) {
  if (fd_ < 0) return NotConnected();
  chunks = FirstBatch(chunks);
  const std::size_t requested = TotalBytes(chunks);
  if (requested == 0) return 0;
  // The same protocol as RetryWhenReady (socket_ops.h), without the wait.
  const ReadyEvent seen = io_.Peek(Interest::kWrite);
  if (seen.ready == 0) return 0;  // full since the last edge
  auto op = [fd = fd_, chunks, requested] {
    return SendChunks(fd, chunks, requested);
  };
  std::optional<absl::StatusOr<std::size_t>> done = internal::TryWhenReady(
      &io_, Interest::kWrite, "writev", requested, seen, op);
  return done.has_value() ? *std::move(done) : 0;
}

std::optional<absl::StatusOr<std::size_t>> TcpStream::TryRead(
    std::span<char> buffer, const ReadyEvent& seen) {
  if (fd_ < 0) return NotConnected();
  if (buffer.empty()) return 0;
  auto op = [fd = fd_, buffer] {
    return ::recv(fd, buffer.data(), buffer.size(), 0);
  };
  return internal::TryWhenReady(&io_, Interest::kRead, "read", buffer.size(),
                                seen, op);
}

Task<absl::Status> TcpStream::WriteAll(std::span<const char> data) {
  while (!data.empty()) {
    absl::StatusOr<std::size_t> n = co_await Write(data);
    if (!n.ok()) co_return n.status();
    data = data.subspan(*n);
  }
  co_return absl::OkStatus();
}

Task<absl::Status> TcpStream::ShutdownWrite() {
  if (fd_ < 0) co_return NotConnected();
  if (::shutdown(fd_, SHUT_WR) != 0) {
    co_return internal::ErrnoError("shutdown(SHUT_WR)", errno);
  }
  co_return absl::OkStatus();
}

absl::Status TcpStream::SetNoDelay(bool enabled) {
  if (fd_ < 0) return NotConnected();
  const int value = enabled ? 1 : 0;
  if (setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &value, sizeof(value)) != 0) {
    return internal::ErrnoError("setsockopt(TCP_NODELAY)", errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<SocketAddress> TcpStream::LocalAddress() const {
  return internal::LocalAddressOf(fd_);
}

absl::StatusOr<SocketAddress> TcpStream::PeerAddress() const {
  return internal::PeerAddressOf(fd_);
}

}  // namespace troupe::net

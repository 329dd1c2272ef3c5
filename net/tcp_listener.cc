#include "net/tcp_listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "executor/sleep.h"
#include "net/socket_ops.h"

namespace troupe::net {
namespace {

constexpr Duration kFirstBackoff = std::chrono::milliseconds(10);
constexpr Duration kMaxBackoff = std::chrono::seconds(1);

// accept(2): errors of the connection being accepted, not of the listener
// (Linux passes pending network errors on to accept). Skip the connection.
bool IsConnectionError(int err) {
  switch (err) {
    case ECONNABORTED:
    case EPROTO:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETDOWN:
    case ENETUNREACH:
    case EPERM:  // refused by a firewall rule
    case EINTR:
      return true;
    default:
      return false;
  }
}

// The process or the system is out of something a new socket needs; the
// connection stays in the kernel's queue until it is back.
bool IsExhaustion(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

}  // namespace

TcpListener::TcpListener(TcpListener&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      driver_(std::exchange(other.driver_, nullptr)),
      io_(std::move(other.io_)),
      local_(other.local_),
      reported_exhaustion_(other.reported_exhaustion_) {}

TcpListener& TcpListener::operator=(TcpListener&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    driver_ = std::exchange(other.driver_, nullptr);
    io_ = std::move(other.io_);
    local_ = other.local_;
    reported_exhaustion_ = other.reported_exhaustion_;
  }
  return *this;
}

void TcpListener::Close() {
  if (fd_ < 0) return;
  io_.Reset();  // out of the epoll set before the number can be reused
  ::close(std::exchange(fd_, -1));
  driver_ = nullptr;
}

absl::StatusOr<TcpListener> TcpListener::Bind(std::string_view host_port,
                                              int backlog) {
  absl::StatusOr<SocketAddress> literal = SocketAddress::Parse(host_port);
  if (literal.ok()) return Bind(*literal, backlog);
  absl::StatusOr<std::vector<SocketAddress>> resolved =
      SocketAddress::ResolveBlocking(host_port);
  if (!resolved.ok()) return resolved.status();
  return Bind(resolved->front(), backlog);
}

absl::StatusOr<TcpListener> TcpListener::Bind(const SocketAddress& address,
                                              int backlog) {
  absl::StatusOr<IoDriver*> driver =
      internal::CurrentIoDriver("TcpListener::Bind");
  if (!driver.ok()) return driver.status();
  absl::StatusOr<int> fd = internal::OpenTcpSocket(address);
  if (!fd.ok()) return fd.status();
  TcpListener listener;
  listener.fd_ = *fd;  // closed by the listener from here on
  const int one = 1;
  if (setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    return internal::ErrnoError("setsockopt(SO_REUSEADDR)", errno);
  }
  if (::bind(*fd, address.sockaddr_ptr(), address.sockaddr_len()) != 0) {
    const int err = errno;
    return internal::ErrnoError(absl::StrCat("bind to ", address.ToString()),
                                err);
  }
  if (::listen(*fd, backlog) != 0) {
    const int err = errno;
    return internal::ErrnoError(absl::StrCat("listen on ", address.ToString()),
                                err);
  }
  absl::StatusOr<SocketAddress> local = internal::LocalAddressOf(*fd);
  if (!local.ok()) return local.status();
  listener.local_ = *local;
  // Readable at first: the first Accept tries accept4 at once.
  absl::StatusOr<IoRegistration> io =
      IoRegistration::Create(**driver, *fd, Readiness::kReadable);
  if (!io.ok()) return io.status();
  listener.io_ = std::move(*io);
  listener.driver_ = *driver;
  return listener;
}

void TcpListener::ReportExhaustion(int err) {
  if (reported_exhaustion_) return;
  reported_exhaustion_ = true;
  std::fprintf(stderr,
               "troupe: accept on %s: %s; pending connections wait while "
               "accept backs off (reported once per listener)\n",
               local_.ToString().c_str(), std::strerror(err));
}

Task<absl::StatusOr<TcpStream>> TcpListener::Accept() {
  if (fd_ < 0) {
    co_return absl::FailedPreconditionError("the TCP listener is closed");
  }
  Duration backoff = kFirstBackoff;
  for (;;) {
    const ReadyEvent seen = co_await io_.Ready(Interest::kRead);
    const int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      // Established: readable and writable until the kernel says otherwise.
      co_return TcpStream::Adopt(fd, *driver_,
                                 Readiness::kReadable | Readiness::kWritable);
    }
    const int err = errno;
    if (internal::WouldBlock(err)) {
      io_.ClearReadiness(Interest::kRead, seen);
      backoff = kFirstBackoff;
    } else if (IsExhaustion(err)) {
      // The readiness stays set: after the pause accept4 runs again even
      // though no new edge will come for the connection still queued.
      ReportExhaustion(err);
      co_await SleepFor(backoff);
      backoff = std::min(backoff * 2, kMaxBackoff);
    } else if (!IsConnectionError(err)) {
      co_return internal::ErrnoError(
          absl::StrCat("accept on ", local_.ToString()), err);
    }
  }
}

}  // namespace troupe::net

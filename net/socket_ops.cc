#include "net/socket_ops.h"

#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "executor/errno_status.h"
#include "executor/scheduler.h"

namespace troupe::net::internal {

absl::Status ErrnoError(absl::string_view what, int err) {
  return ::troupe::internal::ErrnoStatus(err, what);
}

absl::StatusOr<IoDriver*> CurrentIoDriver(absl::string_view what) {
  Scheduler* scheduler = Scheduler::Current();
  if (scheduler == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " must run inside a troupe runtime (a task)"));
  }
  IoDriver& driver = scheduler->io_driver();
  if (absl::Status status = driver.status(); !status.ok()) return status;
  return &driver;
}

absl::StatusOr<int> OpenTcpSocket(const SocketAddress& address) {
  if (!address.is_ipv4() && !address.is_ipv6()) {
    return absl::InvalidArgumentError("no socket address given");
  }
  const int fd =
      socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("creating a TCP socket", errno);
  return fd;
}

namespace {

template <typename GetName>
absl::StatusOr<SocketAddress> AddressOf(int fd, const char* what,
                                        GetName get_name) {
  if (fd < 0) return absl::FailedPreconditionError("the socket is closed");
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (get_name(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return ErrnoError(what, errno);
  }
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&storage),
                                     length);
}

}  // namespace

absl::StatusOr<SocketAddress> LocalAddressOf(int fd) {
  return AddressOf(fd, "getsockname", ::getsockname);
}

absl::StatusOr<SocketAddress> PeerAddressOf(int fd) {
  return AddressOf(fd, "getpeername", ::getpeername);
}

}  // namespace troupe::net::internal

// TcpListener: a listening TCP socket on the runtime's I/O reactor.
//
// Contract:
//   - Bind("127.0.0.1:8080", backlog) binds (SO_REUSEADDR) and listens.
//     Port 0 picks a free port; LocalAddress() reports the one chosen. A
//     taken port is an error saying so ("bind to 127.0.0.1:8080: Address
//     already in use"); a bad address is InvalidArgument. Host names are
//     resolved synchronously with getaddrinfo (the first address is used):
//     Bind blocks while resolving, so prefer IP literals inside tasks.
//     Bind must be called inside a runtime (a task); the listener belongs
//     to that runtime's reactor and must be closed before it is destroyed.
//   - co_await Accept() -> StatusOr<TcpStream>: waits for the next
//     connection. Connections that fail between the handshake and accept
//     (ECONNABORTED, EPROTO, ...) are skipped. Running out of descriptors or
//     memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) does not fail Accept and does
//     not spin: the pending connection stays queued in the kernel, Accept
//     sleeps (10 ms, doubling up to 1 s) and retries, and the first such
//     episode of the listener is reported once on stderr.
//   - Accept is abandonable (Timeout, abort) with no waiter left behind; a
//     connection it had not accepted stays queued for the next Accept.
//     One Accept at a time per listener is the intended use; several are
//     allowed (each connection goes to one of them).
//
// Example:
//   absl::StatusOr<TcpListener> listener = TcpListener::Bind("[::1]:0");
//   if (!listener.ok()) co_return listener.status();
//   for (;;) {
//     absl::StatusOr<TcpStream> client = co_await listener->Accept();
//     if (client.ok()) Spawn(Serve(std::move(*client))).Detach();
//   }
#ifndef TROUPE_NET_TCP_LISTENER_H_
#define TROUPE_NET_TCP_LISTENER_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/io_driver.h"
#include "executor/task.h"
#include "net/socket_address.h"
#include "net/tcp_stream.h"

namespace troupe::net {

class TcpListener {
 public:
  static constexpr int kDefaultBacklog = 1024;

  TcpListener() = default;  // not listening: Accept fails
  TcpListener(TcpListener&& other) noexcept;
  TcpListener& operator=(TcpListener&& other) noexcept;
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  ~TcpListener() { Close(); }

  static absl::StatusOr<TcpListener> Bind(std::string_view host_port,
                                          int backlog = kDefaultBacklog);
  static absl::StatusOr<TcpListener> Bind(const SocketAddress& address,
                                          int backlog = kDefaultBacklog);

  Task<absl::StatusOr<TcpStream>> Accept();

  // The bound address, with the port the kernel picked for port 0.
  const SocketAddress& LocalAddress() const { return local_; }
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Tasks waiting in Accept right now (diagnostics).
  int WaitingTasks() const { return io_.WaitingTasks(); }
  // Deregisters and closes; idempotent. No Accept may be in flight.
  void Close();

 private:
  void ReportExhaustion(int err);

  int fd_ = -1;
  IoDriver* driver_ = nullptr;
  IoRegistration io_;
  SocketAddress local_;
  bool reported_exhaustion_ = false;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_TCP_LISTENER_H_

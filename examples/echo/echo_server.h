// EchoServer: a WebSocket echo service on one TCP port, built on troupe's
// network layer (net/tcp_listener.h, net/http_server_connection.h,
// net/websocket_connection.h).
//
// What it serves (one port, HTTP/1.1):
//   GET /          upgraded to a WebSocket that sends every text and binary
//                  message back unchanged, in order; permessage-deflate is
//                  accepted when the client offers it (options.deflate);
//                  messages up to options.max_message_size (else 1009).
//   GET /healthz   200 "ok".
//   GET /metrics   Prometheus text: echo_metrics.h, then the runtime's
//                  metrics (troupe_runtime_*).
// Every accepted socket gets TCP_NODELAY. Pings, close handshakes,
// protocol errors and the lingering close that lets a peer still sending
// read our Close frame (1002, 1007, 1009) are the WebSocket layer's
// (websocket_connection.h).
//
// Shutdown protocol (Run, once `stop` is cancelled):
//   1. Stop accepting: the accept loop is aborted and the listener closed,
//      so new connections are refused.
//   2. Plain HTTP connections (idle keep-alive, or a request in progress)
//      are cut at once. Every open WebSocket session starts the closing
//      handshake with 1001 "server shutting down"; a session that upgrades
//      after this point does so on its own as soon as it starts.
//   3. Sessions get options.shutdown_timeout to finish (a client answering
//      the Close ends its session in a round trip).
//   4. Whatever is still running then is aborted (no Close frame) and Run
//      waits until every connection task is gone, so no socket outlives it;
//      a session that upgrades after this point cuts itself off as soon as
//      it starts.
//      A session is aborted through its connection (Abort() ends the
//      reader and writer), never by destroying the session task: the
//      reader runs the echo handler, which uses the server's state, and
//      must be gone before Run returns and the server may be destroyed.
//   5. Run returns what happened (ShutdownReport).
//
// Threading: connections run as tasks on the runtime's workers; Listen and
// Run must be called inside a task of that runtime. The server must outlive
// Run (and must not be destroyed while Run is in progress).
//
// Example:
//   absl::StatusOr<std::unique_ptr<EchoServer>> server = EchoServer::Listen(
//       *SocketAddress::Parse("127.0.0.1:0"), EchoServerOptions());
//   if (!server.ok()) co_return 2;  // e.g. the port is taken
//   Log((*server)->address().ToString());
//   Task<ShutdownReport> run = (*server)->Run(stop);
//   ShutdownReport report = co_await std::move(run);
#ifndef TROUPE_EXAMPLES_ECHO_ECHO_SERVER_H_
#define TROUPE_EXAMPLES_ECHO_ECHO_SERVER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "examples/echo/echo_metrics.h"
#include "executor/cancellation_token.h"
#include "executor/clock.h"
#include "executor/task.h"
#include "net/socket_address.h"

namespace troupe::echo {

namespace internal {
struct EchoServerState;
}  // namespace internal

struct EchoServerOptions {
  // Largest message accepted (after reassembly and decompression); bigger
  // ones fail the connection with 1009. Frames on the wire may be slightly
  // larger (a compressed incompressible message).
  uint64_t max_message_size = uint64_t{16} << 20;
  // Accept permessage-deflate offers.
  bool deflate = true;
  // Shutdown step 3: how long sessions get to finish closing.
  Duration shutdown_timeout = std::chrono::seconds(5);
  // listen(2) back-log.
  int backlog = 1024;
  // Where the server reports shutdown progress and accept errors (one
  // line each, no trailing newline). Empty: nowhere.
  std::function<void(std::string_view)> log;
};

// What the shutdown did (step 5).
struct ShutdownReport {
  uint64_t sessions_closing = 0;  // sessions asked to close in step 2
  uint64_t http_connections_cut = 0;
  uint64_t tasks_aborted = 0;  // still running after shutdown_timeout
  bool timed_out = false;
};

class EchoServer {
 public:
  // Binds and listens (inside a runtime task). A taken port or an address
  // that cannot be bound is an error naming it.
  static absl::StatusOr<std::unique_ptr<EchoServer>> Listen(
      const net::SocketAddress& address, EchoServerOptions options);

  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  // The bound address (with the port the kernel chose for port 0).
  const net::SocketAddress& address() const;

  // Serves until `stop` is cancelled, then runs the shutdown protocol
  // (see the top of this file). Call once.
  Task<ShutdownReport> Run(CancellationToken stop);

  const EchoMetrics& metrics() const;
  // What GET /metrics answers.
  std::string RenderMetrics() const;

 private:
  explicit EchoServer(std::unique_ptr<internal::EchoServerState> state);

  std::unique_ptr<internal::EchoServerState> state_;
};

}  // namespace troupe::echo

#endif  // TROUPE_EXAMPLES_ECHO_ECHO_SERVER_H_

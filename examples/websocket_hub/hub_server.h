// HubServer: the WebSocket hub on one TCP port - rooms, presence, history
// and ordered fan-out (issue 7) - built from the pieces in this directory:
// a Directory actor, Room actors, and one Session actor per connection
// (session.h), behind troupe's HTTP/1.1 server connection.
//
// What it serves (one port, HTTP/1.1):
//   GET /          the browser page (page.h)
//   GET /ws        the WebSocket endpoint (proto/hub.proto; JSON in text
//                  frames, protobuf in binary frames). Before the
//                  handshake the upgrade must pass upgrade_gate.h (403
//                  for a foreign origin, 401 without a valid token; the
//                  route's gate, net/http_router.h).
//   GET /healthz   200 "ok"
//   GET /metrics   Prometheus text: hub_metrics.h, the actor metrics
//                  summed per actor type (hub_actors{type=...} & co.: one
//                  series per connection would not scale), then the
//                  runtime's (troupe_runtime_*).
// Past options.max_connections open connections, a new one is answered
// 503 and closed.
//
// Shutdown protocol (Run, once `stop` is cancelled):
//   1. Stop accepting: the accept loop is aborted, the listener closed.
//   2. Plain HTTP connections are cut.
//   3. The actor system shuts down: every Session leaves its rooms and
//      queues close 1001 "server shutting down" behind the frames it has
//      queued, so they are flushed first; rooms and the directory stop.
//   4. Sessions get options.shutdown_timeout to finish their closing
//      handshake; whatever still runs then is aborted.
//   5. Run returns once no connection task is left.
//
// Threading: Listen and Run run inside tasks of one runtime; the server
// must outlive Run.
//
// Example:
//   absl::StatusOr<std::unique_ptr<HubServer>> server =
//       HubServer::Listen(address, HubServerOptions());
//   if (!server.ok()) co_return 2;  // e.g. the port is taken
//   co_await (*server)->Run(stop);
#ifndef TROUPE_EXAMPLES_WEBSOCKET_HUB_HUB_SERVER_H_
#define TROUPE_EXAMPLES_WEBSOCKET_HUB_HUB_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/websocket_hub/hub_metrics.h"
#include "examples/websocket_hub/session.h"
#include "examples/websocket_hub/upgrade_gate.h"
#include "executor/cancellation_token.h"
#include "executor/clock.h"
#include "executor/task.h"
#include "net/socket_address.h"

namespace troupe::hub {

struct HubServerOptions {
  size_t history = 50;
  uint64_t max_message_bytes = 65536;  // larger: close 1009
  size_t outbound_queue = 1024;        // frames per connection
  size_t max_connections = 0;          // 0: no limit
  SessionOptions session;              // rate limit, name limits
  GateOptions gate;                    // origins, tokens
  Duration shutdown_timeout = std::chrono::seconds(5);
  int backlog = 1024;
  // One line per event worth logging (no newline). Empty: nowhere.
  std::function<void(std::string_view)> log;
};

namespace internal {
struct HubServerState;
}  // namespace internal

class HubServer {
 public:
  static absl::StatusOr<std::unique_ptr<HubServer>> Listen(
      const net::SocketAddress& address, HubServerOptions options);
  ~HubServer();
  HubServer(const HubServer&) = delete;
  HubServer& operator=(const HubServer&) = delete;

  const net::SocketAddress& address() const;
  // Serves until `stop` is cancelled, then shuts down (see above). Once.
  Task<void> Run(CancellationToken stop);

  const HubMetrics& metrics() const;
  std::string RenderMetrics() const;

 private:
  explicit HubServer(std::unique_ptr<internal::HubServerState> state);
  std::unique_ptr<internal::HubServerState> state_;
};

}  // namespace troupe::hub

#endif  // TROUPE_EXAMPLES_WEBSOCKET_HUB_HUB_SERVER_H_

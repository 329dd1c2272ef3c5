#include "examples/echo/echo_server.h"

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "channels/send_result.h"
#include "examples/service/task_group.h"
#include "executor/join_handle.h"
#include "executor/metrics.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "net/close_codes.h"
#include "net/http_router.h"
#include "net/http_server_connection.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "net/websocket_connection.h"

namespace troupe::echo {
namespace internal {

struct EchoServerState {
  void Log(std::string_view line) const {
    if (options.log) options.log(line);
  }

  EchoServerOptions options;
  Runtime* runtime = nullptr;  // for the runtime metrics
  net::TcpListener listener;
  std::shared_ptr<const net::HttpRouter> router;
  net::HttpServerOptions http;
  EchoMetrics metrics;
  // Shutdown step 2 treats the two kinds apart: HTTP connections are cut,
  // WebSocket sessions (and the tasks closing them) are given time.
  std::shared_ptr<service::TaskGroup> connections =
      service::TaskGroup::Create();
  std::shared_ptr<service::TaskGroup> sessions = service::TaskGroup::Create();

  // Where shutdown is, for sessions that start during it (they missed the
  // step that dealt with the open ones): from step 2 they close
  // themselves, from step 4 they cut themselves off.
  enum class Phase { kServing, kClosing, kAborting };

  mutable std::mutex mu;
  Phase phase = Phase::kServing;  // guarded by mu; see Run's steps 2 and 4
  uint64_t next_session = 0;      // guarded by mu
  // Open sessions, for steps 2 and 4. Sessions hold their connection
  // through a shared_ptr so that a closing task can keep it alive on its
  // own.
  std::unordered_map<uint64_t, std::shared_ptr<net::WebSocketConnection>>
      open;  // guarded by mu
};

}  // namespace internal

namespace {

using internal::EchoServerState;
using Phase = EchoServerState::Phase;

constexpr std::string_view kShutdownReason = "server shutting down";

// A session's line in the table of open sessions, for as long as the
// session task runs. A session that starts after shutdown step 2 missed
// that step's Close: it must close itself; after step 4, that step's
// abort: it must cut itself off.
class SessionEntry {
 public:
  SessionEntry(EchoServerState* s, std::shared_ptr<net::WebSocketConnection> ws)
      : s_(s) {
    std::lock_guard<std::mutex> lock(s_->mu);
    phase_ = s_->phase;
    id_ = s_->next_session++;
    s_->open.emplace(id_, std::move(ws));
  }
  SessionEntry(const SessionEntry&) = delete;
  SessionEntry& operator=(const SessionEntry&) = delete;
  ~SessionEntry() {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->open.erase(id_);
  }

  // The shutdown phase when the session started.
  Phase phase() const { return phase_; }

 private:
  EchoServerState* const s_;
  uint64_t id_ = 0;
  Phase phase_ = Phase::kServing;
};

Task<void> CloseSession(std::shared_ptr<net::WebSocketConnection> ws) {
  Task<absl::Status> close =
      ws->Close(net::close_code::kGoingAway, std::string(kShutdownReason));
  (void)co_await std::move(close);
}

// Cuts a session off: its reader and writer end, so HandleMessages
// returns and the session task ends by itself.
Task<void> AbortSession(std::shared_ptr<net::WebSocketConnection> ws) {
  co_await ws->Abort();
}

// The connections of every open session; sessions that enter afterwards
// see `next` (in one hold, so each is either listed or sees it).
std::vector<std::shared_ptr<net::WebSocketConnection>> OpenSessionsThen(
    EchoServerState* s, Phase next) {
  std::vector<std::shared_ptr<net::WebSocketConnection>> open;
  std::lock_guard<std::mutex> lock(s->mu);
  s->phase = next;
  open.reserve(s->open.size());
  for (const auto& [id, ws] : s->open) open.push_back(ws);
  return open;
}

// Echoes `message` once the outgoing queue has room (it was full). The
// connection's reader awaits this: reading pauses meanwhile.
Task<void> EchoWhenRoom(EchoServerState* s, net::WebSocketConnection* ws,
                        net::WebSocketMessage message) {
  const bool text = message.is_text();
  const size_t size = message.data().size();
  const absl::Status sent = co_await ws->Send(std::move(message));
  if (sent.ok()) s->metrics.OnMessageSent(text, size);
}

// One WebSocket session: the echo runs inside the connection's reader
// task (HandleMessages), so a message costs no hop to this task.
Task<void> EchoSession(EchoServerState* s,
                       std::shared_ptr<net::WebSocketConnection> ws) {
  SessionEntry entry(s, ws);
  switch (entry.phase()) {
    case Phase::kServing:
      break;
    case Phase::kClosing:
      co_await CloseSession(ws);
      break;
    case Phase::kAborting:
      co_await AbortSession(ws);
      break;
  }
  // `ws` outlives the handler: this task holds it until HandleMessages
  // returns, and the handler is destroyed by then.
  net::WebSocketConnection* const connection = ws.get();
  Task<absl::Status> handled = ws->HandleMessages(
      [s, connection](net::WebSocketMessage message) -> Task<void> {
        const bool text = message.is_text();
        const size_t size = message.data().size();
        s->metrics.OnMessageReceived(text, size);
        // TrySend writes through when nothing is queued: the usual case.
        SendResult<net::WebSocketMessage> queued =
            connection->TrySend(std::move(message));
        if (queued.ok()) {
          s->metrics.OnMessageSent(text, size);
          return {};
        }
        if (queued.IsFull()) {
          return EchoWhenRoom(s, connection, queued.TakeValue());
        }
        return {};  // closing: HandleMessages reports the end
      });
  // The WebSocket layer's lingering close is over once HandleMessages
  // reported the end: the socket can go now without resetting the peer.
  (void)co_await std::move(handled);
  s->metrics.OnSessionEnded(ws->close_info().code);
}

// The route's handler: the session leaves the HTTP connection's task for
// a task of its own, so that shutdown can tell sessions from plain HTTP
// connections.
Task<void> StartSession(EchoServerState* s, net::WebSocketConnection ws) {
  s->metrics.OnSessionStarted();
  s->sessions->Spawn(EchoSession(
      s, std::make_shared<net::WebSocketConnection>(std::move(ws))));
  co_return;
}

Task<void> ServeConnection(EchoServerState* s, net::TcpStream stream) {
  Task<absl::Status> serve =
      net::ServeHttpConnection(std::move(stream), s->router, s->http);
  (void)co_await std::move(serve);
}

Task<void> AcceptLoop(EchoServerState* s) {
  for (;;) {
    absl::StatusOr<net::TcpStream> stream = co_await s->listener.Accept();
    if (!stream.ok()) {
      // Descriptor exhaustion is handled inside Accept; anything else is
      // unexpected: report it and do not spin.
      s->Log(absl::StrCat("accept failed: ", stream.status().message()));
      co_await SleepFor(std::chrono::milliseconds(100));
      continue;
    }
    (void)stream->SetNoDelay(true);
    s->metrics.OnConnectionAccepted();
    s->connections->Spawn(ServeConnection(s, *std::move(stream)));
  }
}

Task<void> WaitUntilIdle(EchoServerState* s) {
  // Connections first: once they are gone no new session can start.
  co_await s->connections->WaitEmpty();
  co_await s->sessions->WaitEmpty();
}

std::string Render(const EchoServerState& s) {
  EchoGauges gauges;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    gauges.sessions_open = s.open.size();
  }
  gauges.connections_open = s.connections->size() + gauges.sessions_open;
  return absl::StrCat(s.metrics.Render(gauges),
                      RenderPrometheus(s.runtime->Metrics()));
}

std::shared_ptr<const net::HttpRouter> BuildRouter(EchoServerState* s) {
  auto router = std::make_shared<net::HttpRouter>();
  net::ServerHandshakeOptions handshake;
  handshake.deflate.enabled = s->options.deflate;
  net::WebSocketOptions websocket;
  websocket.max_message_size = s->options.max_message_size;
  // A frame may carry a compressed message: incompressible data grows a
  // little under deflate (zlib's deflateBound is below n + n/1024 + 64).
  websocket.max_frame_size =
      s->options.max_message_size + (s->options.max_message_size >> 10) + 64;
  router->HandleWebSocket(
      "/",
      [s](net::WebSocketConnection ws, const net::HttpRequest& /*request*/) {
        return StartSession(s, std::move(ws));
      },
      std::move(handshake), websocket);
  router->HandleStatic("/healthz", 200, "ok\n");
  router->Handle("/metrics", [s](const net::HttpRequest& /*request*/,
                                 std::string_view /*body*/) {
    net::HttpResponse response(200);
    response.SetBody(Render(*s), "text/plain; version=0.0.4; charset=utf-8");
    return response;
  });
  return router;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EchoServer>> EchoServer::Listen(
    const net::SocketAddress& address, EchoServerOptions options) {
  Runtime* runtime = Runtime::Current();
  if (runtime == nullptr) {
    return absl::FailedPreconditionError(
        "EchoServer::Listen must run inside a runtime task");
  }
  absl::StatusOr<net::TcpListener> listener =
      net::TcpListener::Bind(address, options.backlog);
  if (!listener.ok()) return listener.status();
  auto state = std::make_unique<EchoServerState>();
  state->options = std::move(options);
  state->runtime = runtime;
  state->listener = *std::move(listener);
  state->router = BuildRouter(state.get());
  return std::unique_ptr<EchoServer>(new EchoServer(std::move(state)));
}

EchoServer::EchoServer(std::unique_ptr<EchoServerState> state)
    : state_(std::move(state)) {}

EchoServer::~EchoServer() = default;

const net::SocketAddress& EchoServer::address() const {
  return state_->listener.LocalAddress();
}

const EchoMetrics& EchoServer::metrics() const { return state_->metrics; }

std::string EchoServer::RenderMetrics() const { return Render(*state_); }

Task<ShutdownReport> EchoServer::Run(CancellationToken stop) {
  EchoServerState* const s = state_.get();
  JoinHandle<void> acceptor = Spawn(AcceptLoop(s));
  co_await stop.Cancelled();
  ShutdownReport report;

  // 1. Stop accepting.
  acceptor.Abort();
  try {
    co_await acceptor;
  } catch (const CancelledError&) {
    // Expected: it was aborted.
  }
  const std::string address = s->listener.LocalAddress().ToString();
  s->listener.Close();

  // 2. Cut HTTP connections, close sessions.
  // Sessions that start from now on close themselves.
  std::vector<std::shared_ptr<net::WebSocketConnection>> open =
      OpenSessionsThen(s, Phase::kClosing);
  report.http_connections_cut = s->connections->size();
  s->connections->AbortAll();
  report.sessions_closing = open.size();
  for (std::shared_ptr<net::WebSocketConnection>& ws : open) {
    s->sessions->Spawn(CloseSession(std::move(ws)));
  }
  open.clear();
  s->Log(absl::StrCat(
      "stopped listening on ", address, "; closing ", report.sessions_closing,
      " WebSocket session", report.sessions_closing == 1 ? "" : "s",
      " (1001), cutting ", report.http_connections_cut, " HTTP connection",
      report.http_connections_cut == 1 ? "" : "s"));

  // 3. Give the sessions time to finish.
  const absl::Status drained =
      co_await Timeout(s->options.shutdown_timeout, WaitUntilIdle(s));

  // 4. Abort the rest and wait until every connection task is gone.
  if (!drained.ok()) {
    report.timed_out = true;
    // Sessions that start from now on cut themselves off.
    report.tasks_aborted = s->sessions->size() + s->connections->size();
    for (std::shared_ptr<net::WebSocketConnection>& ws :
         OpenSessionsThen(s, Phase::kAborting)) {
      s->sessions->Spawn(AbortSession(std::move(ws)));
    }
    s->connections->AbortAll();
    co_await WaitUntilIdle(s);
  }
  co_return report;
}

}  // namespace troupe::echo

#include "examples/websocket_hub/hub_server.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "actors/actor.h"
#include "examples/service/task_group.h"
#include "examples/websocket_hub/directory.h"
#include "examples/websocket_hub/page.h"
#include "executor/join_handle.h"
#include "executor/metrics.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "net/close_codes.h"
#include "net/http_request.h"
#include "net/http_response.h"
#include "net/http_router.h"
#include "net/http_server_connection.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "net/websocket_connection.h"

namespace troupe::hub {
namespace internal {

struct HubServerState {
  void Log(std::string_view line) const {
    if (options.log) options.log(line);
  }

  HubServerOptions options;
  net::TcpListener listener;
  std::shared_ptr<HubMetrics> metrics = std::make_shared<HubMetrics>();
  std::unique_ptr<ActorSystem> system;
  // Declared after the system: destroyed first, with its directory ref.
  ConnectionContext context;
  net::HttpServerOptions http;
  std::shared_ptr<const net::HttpRouter> router;
  // HTTP connections (until they upgrade), and
  // WebSocket sessions: shutdown cuts the first and lets the second close.
  std::shared_ptr<service::TaskGroup> connections =
      service::TaskGroup::Create();
  std::shared_ptr<service::TaskGroup> sessions = service::TaskGroup::Create();
  std::mutex mu;
  bool stopping ABSL_GUARDED_BY(mu) = false;
};

}  // namespace internal

namespace {

using internal::HubServerState;

constexpr std::string_view kWebSocketPath = "/ws";
constexpr std::string_view kShutdownReason = "server shutting down";
constexpr size_t kReadBuffer = 1024;
// Received messages waiting for the connection's task (which hands them
// to the Session actor at once).
constexpr size_t kIncomingMessages = 4;
// Mailbox of the directory: every join asks it once.
constexpr size_t kDirectoryMailbox = size_t{1} << 16;
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
constexpr auto kAbortPoll = std::chrono::milliseconds(10);

// The WebSocket route's handler: the session leaves the HTTP connection's
// task for a task of its own, so shutdown can tell the two apart.
Task<void> StartSession(HubServerState* s, net::WebSocketConnection ws) {
  auto shared = std::make_shared<net::WebSocketConnection>(std::move(ws));
  {
    // Under the lock, so that a Session is either spawned before the
    // actor system starts shutting down, or not at all.
    std::lock_guard<std::mutex> lock(s->mu);
    if (!s->stopping) {
      s->sessions->Spawn(RunConnection(std::move(shared), s->context));
      co_return;
    }
  }
  s->sessions->Spawn(CloseWebSocket(std::move(shared),
                                    net::close_code::kGoingAway,
                                    std::string(kShutdownReason)));
}

net::HttpResponse PlainText(int status, std::string body) {
  net::HttpResponse response(status);
  response.SetBody(std::move(body), "text/plain; charset=utf-8");
  return response;
}

// One HTTP connection: the WebSocket route's gate (upgrade_gate.h) turns
// away upgrades before the handshake.
Task<void> ServeConnection(HubServerState* s, net::TcpStream tcp) {
  Task<absl::Status> serve = net::ServeHttpConnection(
      net::MakeAnyByteStream(std::move(tcp)), s->router, s->http);
  (void)co_await std::move(serve);
}

Task<void> RefuseBusy(net::TcpStream tcp) {
  net::HttpResponse response = PlainText(503, "too many connections\n");
  response.set_connection(net::HttpConnection::kClose);
  const std::string wire = response.Serialize();
  (void)co_await tcp.WriteAll(std::span<const char>(wire));
  (void)co_await tcp.ShutdownWrite();
}

Task<void> AcceptLoop(HubServerState* s) {
  for (;;) {
    absl::StatusOr<net::TcpStream> stream = co_await s->listener.Accept();
    if (!stream.ok()) {
      // Descriptor exhaustion is handled inside Accept; anything else is
      // unexpected: say so, and do not spin.
      s->Log(absl::StrCat("accept failed: ", stream.status().message()));
      co_await SleepFor(kAcceptRetry);
      continue;
    }
    (void)stream->SetNoDelay(true);
    s->metrics->OnConnectionAccepted();
    const size_t open = s->connections->size() + s->sessions->size();
    if (s->options.max_connections > 0 && open >= s->options.max_connections) {
      s->metrics->OnConnectionRefused();
      s->connections->Spawn(RefuseBusy(*std::move(stream)));
      continue;
    }
    s->connections->Spawn(ServeConnection(s, *std::move(stream)));
  }
}

// The actor metrics summed per actor type: ActorSystem::RenderPrometheus
// has one series per actor, which is one per connection here.
std::string RenderActorsByType(const ActorSystem& system) {
  struct Totals {
    uint64_t actors = 0;
    uint64_t messages = 0;
    uint64_t mailbox_depth = 0;
    uint64_t mailbox_high_water = 0;  // the deepest of any actor
    uint64_t restarts = 0;
  };
  std::map<std::string, Totals> by_type;
  for (const ActorStats& stats : system.Stats()) {
    Totals& t = by_type[stats.type];
    ++t.actors;
    t.messages += stats.messages_handled;
    t.mailbox_depth += stats.mailbox_depth;
    t.mailbox_high_water =
        std::max(t.mailbox_high_water, stats.mailbox_high_water);
    t.restarts += stats.restarts;
  }
  std::string out;
  // (std::string's operators: Debian's Abseil has its own string_view.)
  auto family = [&](std::string_view name, std::string_view type,
                    std::string_view help, uint64_t Totals::*field) {
    out.append("# HELP ").append(name).append(" ").append(help);
    out.append("\n# TYPE ").append(name).append(" ").append(type);
    out.append("\n");
    for (const auto& [actor_type, totals] : by_type) {
      out.append(name).append("{type=\"").append(actor_type).append("\"} ");
      out.append(std::to_string(totals.*field)).append("\n");
    }
  };
  family("hub_actors", "gauge", "Actors alive, by type.", &Totals::actors);
  family("hub_actor_messages_total", "counter",
         "Messages handled by the actors of a type.", &Totals::messages);
  family("hub_actor_mailbox_depth", "gauge",
         "Messages waiting in the mailboxes of a type.",
         &Totals::mailbox_depth);
  family("hub_actor_mailbox_high_water", "gauge",
         "Deepest mailbox seen among the actors of a type.",
         &Totals::mailbox_high_water);
  family("hub_actor_restarts_total", "counter",
         "Restarts of the actors of a type.", &Totals::restarts);
  return out;
}

std::string Render(const HubServerState& s) {
  return absl::StrCat(s.metrics->Render(), RenderActorsByType(*s.system),
                      RenderPrometheus(s.system->runtime().Metrics()));
}

std::shared_ptr<net::HttpRouter> CommonRoutes(HubServerState* s) {
  auto router = std::make_shared<net::HttpRouter>();
  router->HandleStatic("/", 200, std::string(kHubPage),
                       "text/html; charset=utf-8");
  router->HandleStatic("/healthz", 200, "ok\n");
  router->Handle("/metrics", [s](const net::HttpRequest& /*request*/,
                                 std::string_view /*body*/) {
    net::HttpResponse response(200);
    response.SetBody(Render(*s), "text/plain; version=0.0.4; charset=utf-8");
    return response;
  });
  return router;
}

void BuildRouter(HubServerState* s) {
  std::shared_ptr<net::HttpRouter> router = CommonRoutes(s);
  net::WebSocketOptions websocket;
  websocket.max_message_size = s->options.max_message_bytes;
  websocket.max_frame_size = s->options.max_message_bytes;
  // The WebSocket's outgoing queue is the hub's outbound queue: it
  // overflows into 1008 "slow consumer" (session.h).
  websocket.outgoing_capacity = s->options.outbound_queue;
  // Idle connections dominate a hub's memory: read in small chunks.
  websocket.read_buffer_size = kReadBuffer;
  websocket.incoming_capacity = kIncomingMessages;
  // A room's fan-out hands each member a frame in the room's turn; through
  // the writer task, what a connection gets in one round leaves with one
  // write (its numbers in README.md were measured that way). Write-through
  // would make that a syscall per delivery, in the room's turn.
  websocket.write_through = false;
  router->HandleWebSocket(
      std::string(kWebSocketPath),
      [s](net::WebSocketConnection ws, const net::HttpRequest& /*request*/) {
        return StartSession(s, std::move(ws));
      },
      net::ServerHandshakeOptions(), websocket);
  router->SetUpgradeGate(kWebSocketPath, [s](const net::HttpRequest& request) {
    return CheckUpgrade(request, s->options.gate);
  });
  s->router = std::move(router);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HubServer>> HubServer::Listen(
    const net::SocketAddress& address, HubServerOptions options) {
  Runtime* runtime = Runtime::Current();
  if (runtime == nullptr) {
    return absl::FailedPreconditionError(
        "HubServer::Listen must run inside a runtime task");
  }
  absl::StatusOr<net::TcpListener> listener =
      net::TcpListener::Bind(address, options.backlog);
  if (!listener.ok()) return listener.status();
  auto state = std::make_unique<HubServerState>();
  state->options = std::move(options);
  state->listener = *std::move(listener);

  ActorSystemOptions system_options;
  // A handler that throws keeps its actor's state: a room must not forget
  // its members, nor a session its rooms.
  system_options.top_level_supervision.decider = [](const absl::Status&) {
    return Directive::kResume;
  };
  // A Session's handler waits for the directory and a room when it joins:
  // only a long wait is worth a line in the log.
  system_options.watchdog_threshold = std::chrono::seconds(1);
  HubServerState* s = state.get();
  system_options.log = [s](const std::string& line) { s->Log(line); };
  state->system = std::make_unique<ActorSystem>(*runtime, system_options);

  SpawnOptions directory;
  directory.name = "directory";
  directory.mailbox_capacity = kDirectoryMailbox;
  RoomOptions rooms;
  rooms.history = state->options.history;
  state->context.system = state->system.get();
  state->context.directory = state->system->SpawnNamed<Directory>(
      std::move(directory), rooms, state->metrics);
  state->context.metrics = state->metrics;
  state->context.session = state->options.session;
  BuildRouter(s);
  return std::unique_ptr<HubServer>(new HubServer(std::move(state)));
}

HubServer::HubServer(std::unique_ptr<internal::HubServerState> state)
    : state_(std::move(state)) {}

HubServer::~HubServer() = default;

const net::SocketAddress& HubServer::address() const {
  return state_->listener.LocalAddress();
}

const HubMetrics& HubServer::metrics() const { return *state_->metrics; }

std::string HubServer::RenderMetrics() const { return Render(*state_); }

Task<void> HubServer::Run(CancellationToken stop) {
  HubServerState* const s = state_.get();
  JoinHandle<void> acceptor = Spawn(AcceptLoop(s));
  co_await stop.Cancelled();

  // 1. Stop accepting.
  acceptor.Abort();
  try {
    co_await acceptor;
  } catch (const CancelledError&) {
    // Expected: it was aborted.
  }
  const std::string address = s->listener.LocalAddress().ToString();
  s->listener.Close();

  // 2. Cut plain HTTP connections.
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->stopping = true;
  }
  s->context.stopping.Cancel();
  const size_t cut = s->connections->size();
  s->connections->AbortAll();
  const size_t sessions = s->sessions->size();
  s->Log(absl::StrCat("stopped listening on ", address, "; closing ", sessions,
                      " WebSocket session", sessions == 1 ? "" : "s",
                      " (1001), cutting ", cut, " HTTP connection",
                      cut == 1 ? "" : "s"));

  // 3. Sessions queue their close; rooms and the directory stop.
  Task<ShutdownReport> shutdown =
      s->system->Shutdown(s->options.shutdown_timeout);
  const ShutdownReport report = co_await std::move(shutdown);
  if (!report.clean) s->Log(report.ToString());

  // 4. Time for the closing handshakes.
  const absl::Status drained =
      co_await Timeout(s->options.shutdown_timeout, s->sessions->WaitEmpty());
  if (!drained.ok()) {
    s->Log(absl::StrCat(s->sessions->size(),
                        " sessions did not close in time and are cut"));
  }

  // 5. Nothing may outlive Run.
  while (s->sessions->size() + s->connections->size() > 0) {
    s->sessions->AbortAll();
    s->connections->AbortAll();
    co_await SleepFor(kAbortPoll);
  }
}

}  // namespace troupe::hub

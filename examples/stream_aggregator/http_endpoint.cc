#include "examples/stream_aggregator/http_endpoint.h"

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "examples/stream_aggregator/pipeline_metrics.h"
#include "examples/stream_aggregator/results_page.h"
#include "examples/stream_aggregator/tcp_input.h"
#include "executor/join_handle.h"
#include "executor/sleep.h"
#include "net/close_codes.h"
#include "net/http_request.h"
#include "net/http_response.h"
#include "net/http_server_connection.h"
#include "net/websocket_connection.h"

namespace troupe::aggregator {
namespace {

net::HttpResponse Metrics(const Pipeline& pipeline,
                          const net::HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    net::HttpResponse refused(405);
    refused.AddHeader("Allow", "GET, HEAD");
    refused.SetBody("use GET\n", "text/plain");
    return refused;
  }
  std::string body;
  AppendPrometheus(pipeline.Snapshot(), &body);
  net::HttpResponse response(200);
  response.SetBody(std::move(body), "text/plain; version=0.0.4");
  return response;
}

// One /ingest connection: an input of the pipeline until the peer closes,
// the pipeline stops taking events, or `stop`.
Task<void> Ingest(net::WebSocketConnection ws, Pipeline* pipeline,
                  CancellationToken stop, LogFn log, std::string name) {
  Task<absl::StatusOr<std::unique_ptr<InputPort>>> open =
      pipeline->OpenInput(name);
  absl::StatusOr<std::unique_ptr<InputPort>> port = co_await std::move(open);
  if (!port.ok()) {
    Task<absl::Status> close =
        ws.Close(net::close_code::kGoingAway, "not taking inputs any more");
    (void)co_await std::move(close);
    co_return;
  }
  absl::Status fed;
  while (!stop.IsCancelled()) {
    Task<absl::StatusOr<net::WebSocketMessage>> receive = ws.Receive();
    // An abandoned Receive loses no message (websocket_connection.h: the
    // incoming channel keeps it for the next Receive).
    absl::StatusOr<absl::StatusOr<net::WebSocketMessage>> received =
        co_await Timeout(kStopPollInterval, std::move(receive));
    if (!received.ok()) continue;  // nothing for a while: check the stop
    if (!received->ok()) {
      // The connection is over. A Close handshake (OutOfRange) is the
      // normal end; anything else is worth a line.
      if (log && !absl::IsOutOfRange(received->status())) {
        log(absl::StrCat("input '", name, "': ", received->status().message(),
                         "; closing the input"));
      }
      break;
    }
    std::string text = (*received)->TakeData();
    if (text.empty()) continue;
    if (text.back() != '\n') text.push_back('\n');  // the message ends a line
    fed = co_await (*port)->FeedText(text);
    if (!fed.ok()) break;
  }
  (void)co_await (*port)->Close();
  if (ws.finished()) co_return;
  Task<absl::Status> close =
      fed.ok()
          ? ws.Close(net::close_code::kGoingAway, "stream aggregator stopping")
          : ws.Close(net::close_code::kInternalError, "pipeline stopped");
  (void)co_await std::move(close);
}

}  // namespace

std::shared_ptr<net::HttpRouter> MakeHttpRouter(
    Pipeline& pipeline, const CancellationToken& stop, const LogFn& log,
    const std::shared_ptr<ResultsTee>& results) {
  auto router = std::make_shared<net::HttpRouter>();
  Pipeline* const p = &pipeline;
  router->Handle("/metrics",
                 [p](const net::HttpRequest& request, std::string_view) {
                   return Metrics(*p, request);
                 });
  router->HandleStatic("/healthz", 200, "ok\n", "text/plain");
  auto connections = std::make_shared<std::atomic<int>>(0);
  router->HandleWebSocket("/ingest", [p, stop, log, connections](
                                         net::WebSocketConnection ws,
                                         const net::HttpRequest& /*request*/) {
    // Relaxed: the counter only has to hand out distinct numbers.
    const int n = connections->fetch_add(1, std::memory_order_relaxed) + 1;
    return Ingest(std::move(ws), p, stop, log, absl::StrCat("ws ", n));
  });
  if (results != nullptr) {
    router->HandleStatic("/", 200, std::string(kResultsPage),
                         "text/html; charset=utf-8");
    router->HandleWebSocket(
        "/results", [results, log](net::WebSocketConnection ws,
                                   const net::HttpRequest& /*request*/) {
          return StreamResults(std::move(ws), results, log);
        });
  }
  return router;
}

Task<absl::Status> ServeHttp(net::TcpListener listener,
                             std::shared_ptr<const net::HttpRouter> router,
                             CancellationToken until, LogFn log) {
  std::vector<JoinHandle<absl::Status>> connections;
  absl::Status status;
  while (!until.IsCancelled()) {
    Task<absl::StatusOr<net::TcpStream>> accept = listener.Accept();
    // An abandoned Accept leaves the connection queued (tcp_listener.h).
    absl::StatusOr<absl::StatusOr<net::TcpStream>> accepted =
        co_await Timeout(kStopPollInterval, std::move(accept));
    if (!accepted.ok()) continue;  // nobody connected: check `until`
    if (!accepted->ok()) {
      status = accepted->status();
      if (log) log(absl::StrCat("--http: ", status.message()));
      co_await until.Cancelled();
      break;
    }
    std::erase_if(connections, [](const JoinHandle<absl::Status>& c) {
      return c.IsFinished();
    });
    connections.push_back(
        Spawn(net::ServeHttpConnection(**std::move(accepted), router)));
  }
  listener.Close();
  // Let the connections end on their own for a while (a /results stream
  // sends its last lines and closes), then abort the rest.
  const Instant drained_by = CurrentClock().Now() + kHttpDrainTime;
  auto all_finished = [&connections] {
    for (const JoinHandle<absl::Status>& c : connections) {
      if (!c.IsFinished()) return false;
    }
    return true;
  };
  while (!all_finished() && CurrentClock().Now() < drained_by) {
    co_await SleepFor(std::chrono::milliseconds(10));
  }
  for (JoinHandle<absl::Status>& connection : connections) connection.Abort();
  for (JoinHandle<absl::Status>& connection : connections) {
    try {
      (void)co_await connection;
    } catch (const CancelledError&) {
      // Aborted above: that is how an idle keep-alive connection ends here.
    }
  }
  co_return status;
}

}  // namespace troupe::aggregator

// The WebSocket hub of issue 7: rooms, presence, history and ordered
// fan-out over WebSocket, built from troupe actors. What it serves and how
// it shuts down: hub_server.h. Flags and exit codes: --help.
//
//   bazel run //examples/websocket_hub              # then open
//   http://127.0.0.1:8080/ in two browser tabs

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "examples/service/process.h"
#include "examples/websocket_hub/hub_server.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "net/socket_address.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:8080",
          "HOST:PORT to listen on (an IP address, [::1]:8080 for IPv6, or a "
          "name); port 0 picks a free port, named in the log line");
ABSL_FLAG(int, worker_threads, 0,
          "executor worker threads (0: one per CPU this process may use)");
ABSL_FLAG(int64_t, history, 50,
          "messages each room keeps and sends to a member who joins");
ABSL_FLAG(int64_t, max_message_bytes, 65536,
          "largest WebSocket message accepted; a larger one closes the "
          "connection with 1009");
ABSL_FLAG(int64_t, outbound_queue, 1024,
          "frames that may wait to be sent to one client; when they "
          "overflow, the client is closed with 1008 \"slow consumer\"");
ABSL_FLAG(int64_t, max_connections, 10000,
          "open TCP connections served at once (0: no limit); past it new "
          "ones are answered 503");
ABSL_FLAG(double, rate_limit, 0,
          "messages per second a client may send (0: no limit); excess "
          "messages get an error rate_limited, persistent excess closes the "
          "connection with 1008");
ABSL_FLAG(std::string, allowed_origins, "",
          "comma-separated origins (https://chat.example.com) whose pages "
          "may open a WebSocket besides the hub's own; * allows any");
ABSL_FLAG(std::string, auth_token_file, "",
          "file of accepted tokens, one per line; when set, a WebSocket "
          "upgrade needs 'Authorization: Bearer TOKEN' or ?token=TOKEN (else "
          "401)");

namespace troupe::hub {
namespace {

constexpr int kExitCannotListen = 2;  // 1: service::kExitBadFlags
constexpr int64_t kMaxHistory = 1'000'000;
constexpr int64_t kMaxMessageBytesLimit = int64_t{64} << 20;
constexpr int64_t kMaxOutboundQueue = 1'000'000;

void Log(std::string_view line) {
  std::fprintf(stderr, "websocket_hub: %.*s\n", static_cast<int>(line.size()),
               line.data());
}

struct Config {
  net::SocketAddress address;
  int worker_threads = 0;
  HubServerOptions server;
};

absl::Status OutOfRange(const char* flag, int64_t value, int64_t low,
                        int64_t high) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, "=", value, ": must be ", low, " to ", high));
}

absl::StatusOr<std::vector<std::string>> ReadTokens(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth_token_file=", path, ": cannot be read"));
  }
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    const absl::string_view token = absl::StripAsciiWhitespace(line);
    if (!token.empty()) tokens.emplace_back(token);
  }
  if (tokens.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth_token_file=", path, ": holds no token"));
  }
  return tokens;
}

absl::StatusOr<Config> ConfigFromFlags() {
  Config config;
  absl::StatusOr<net::SocketAddress> address =
      service::ResolveListenFlag(absl::GetFlag(FLAGS_listen));
  if (!address.ok()) return address.status();
  config.address = *address;

  absl::StatusOr<int> workers =
      service::WorkerThreadsFromFlag(absl::GetFlag(FLAGS_worker_threads));
  if (!workers.ok()) return workers.status();
  config.worker_threads = *workers;

  HubServerOptions& server = config.server;
  const int64_t history = absl::GetFlag(FLAGS_history);
  if (history < 0 || history > kMaxHistory) {
    return OutOfRange("history", history, 0, kMaxHistory);
  }
  server.history = static_cast<size_t>(history);
  const int64_t max_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  if (max_bytes < 1 || max_bytes > kMaxMessageBytesLimit) {
    return OutOfRange("max_message_bytes", max_bytes, 1, kMaxMessageBytesLimit);
  }
  server.max_message_bytes = static_cast<uint64_t>(max_bytes);
  const int64_t queue = absl::GetFlag(FLAGS_outbound_queue);
  if (queue < 1 || queue > kMaxOutboundQueue) {
    return OutOfRange("outbound_queue", queue, 1, kMaxOutboundQueue);
  }
  server.outbound_queue = static_cast<size_t>(queue);
  const int64_t max_connections = absl::GetFlag(FLAGS_max_connections);
  if (max_connections < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_connections=", max_connections,
                     ": must be 0 (no limit) or more"));
  }
  server.max_connections = static_cast<size_t>(max_connections);
  const double rate = absl::GetFlag(FLAGS_rate_limit);
  if (!std::isfinite(rate) || rate < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--rate_limit=", rate, ": must be 0 (no limit) or a positive number"));
  }
  server.session.rate_limit = rate;
  for (absl::string_view origin :
       absl::StrSplit(absl::GetFlag(FLAGS_allowed_origins), ',')) {
    origin = absl::StripAsciiWhitespace(origin);
    if (!origin.empty()) server.gate.allowed_origins.emplace_back(origin);
  }
  const std::string token_file = absl::GetFlag(FLAGS_auth_token_file);
  if (!token_file.empty()) {
    absl::StatusOr<std::vector<std::string>> tokens = ReadTokens(token_file);
    if (!tokens.ok()) return tokens.status();
    server.gate.auth_tokens = *std::move(tokens);
  }
  server.log = Log;
  return config;
}

Task<int> Serve(Config config) {
  absl::StatusOr<std::unique_ptr<HubServer>> server =
      HubServer::Listen(config.address, config.server);
  if (!server.ok()) {
    Log(absl::StrCat("cannot listen: ", server.status().message()));
    co_return kExitCannotListen;
  }
  const std::string address = (*server)->address().ToString();
  Log(absl::StrCat("listening on ", address, " (http://", address,
                   "/ the page, ws://", address, "/ws, /healthz, /metrics; ",
                   config.worker_threads, " worker thread",
                   config.worker_threads == 1 ? "" : "s", ")"));
  CancellationToken stop;
  JoinHandle<void> signals = Spawn(
      service::CancelOnShutdownSignal(stop, "websocket_hub", "shutting down"));
  co_await (*server)->Run(stop);
  signals.Abort();
  const HubMetrics& m = (*server)->metrics();
  Log(absl::StrCat("stopped; ", m.messages_out(), " frames delivered, ",
                   m.slow_consumer_drops(), " slow consumers dropped"));
  co_return 0;
}

}  // namespace
}  // namespace troupe::hub

int main(int argc, char** argv) {
  namespace hub = troupe::hub;
  absl::SetProgramUsageMessage(
      "A WebSocket chat/pub-sub hub on troupe actors: rooms, presence, "
      "history, ordered fan-out.\n"
      "Usage: websocket_hub [--listen=HOST:PORT] [flags]\n"
      "Serves GET / (a browser page), GET /ws (the WebSocket protocol of "
      "proto/hub.proto: JSON text frames or protobuf binary frames), "
      "/healthz and /metrics (Prometheus text).\n"
      "Logs on stderr: 'listening on HOST:PORT' once bound.\n"
      "SIGTERM/SIGINT: stop accepting, close every client with 1001 after "
      "flushing what was queued, exit 0; a second signal ends it at once.\n"
      "Exit: 0 stopped by a signal, 1 bad flags, 2 cannot listen (e.g. the "
      "port is taken).");
  // Before the runtime's threads exist (see examples/service/process.h).
  troupe::service::PrepareShutdownSignals();
  if (!troupe::service::ParseFlagsOnly("websocket_hub", argc, argv)) {
    return troupe::service::kExitBadFlags;
  }
  absl::StatusOr<hub::Config> config = hub::ConfigFromFlags();
  if (!config.ok()) {
    return troupe::service::RefuseFlags("websocket_hub", config.status());
  }
  const int workers = config->worker_threads;
  return troupe::RunMain([&config] { return hub::Serve(*std::move(config)); },
                         {.worker_threads = workers});
}

// The WebSocket echo server of issue 6. What it serves and how it shuts
// down: echo_server.h. Flags and exit codes: --help.
//
//   bazel run --config=opt //examples/echo -- --listen=127.0.0.1:9001
//   curl http://127.0.0.1:9001/metrics

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "examples/echo/echo_server.h"
#include "examples/service/process.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "net/socket_address.h"
#include "tools/cli/flags.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:9001",
          "HOST:PORT to listen on: an IP address ([::1]:9001 for IPv6) or a "
          "name; port 0 picks a free port (the log line says which)");
ABSL_FLAG(int, worker_threads, 0,
          "executor worker threads (0: one per CPU this process may run on, "
          "so `taskset -c 0` gives one)");
ABSL_FLAG(uint64_t, max_message_size, uint64_t{16} << 20,
          "largest message accepted, in bytes after decompression; a larger "
          "one fails the connection with 1009");
ABSL_FLAG(bool, deflate, true,
          "accept permessage-deflate when a client offers it (--nodeflate: "
          "never compress)");
ABSL_FLAG(troupe::DurationFlag, shutdown_timeout,
          troupe::DurationFlag(std::chrono::seconds(5)),
          "on SIGTERM/SIGINT, how long open WebSocket sessions get to finish "
          "their closing handshake before they are cut");

namespace troupe::echo {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitCannotListen = 2;  // 1: kExitBadFlags
constexpr uint64_t kMaxMessageSizeLimit = uint64_t{1} << 30;

void Log(std::string_view line) {
  std::fprintf(stderr, "echo: %.*s\n", static_cast<int>(line.size()),
               line.data());
}

struct Config {
  net::SocketAddress address;
  int worker_threads = 0;
  EchoServerOptions server;
};

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

  config.server.max_message_size = absl::GetFlag(FLAGS_max_message_size);
  if (config.server.max_message_size == 0 ||
      config.server.max_message_size > kMaxMessageSizeLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_message_size=", config.server.max_message_size,
                     ": must be 1 to ", kMaxMessageSizeLimit, " bytes"));
  }
  config.server.deflate = absl::GetFlag(FLAGS_deflate);
  config.server.shutdown_timeout =
      absl::GetFlag(FLAGS_shutdown_timeout).value();
  config.server.log = Log;
  return config;
}

Task<int> Serve(Config config) {
  absl::StatusOr<std::unique_ptr<EchoServer>> server =
      EchoServer::Listen(config.address, config.server);
  if (!server.ok()) {
    Log(absl::StrCat("cannot listen: ", server.status().message()));
    co_return kExitCannotListen;
  }
  const std::string address = (*server)->address().ToString();
  Log(absl::StrCat("listening on ", address, " (ws://", address,
                   "/ echoes; /healthz, /metrics; ", config.worker_threads,
                   " worker thread", config.worker_threads == 1 ? "" : "s",
                   "; messages up to ", config.server.max_message_size,
                   " bytes; permessage-deflate ",
                   config.server.deflate ? "when offered" : "off", ")"));

  CancellationToken stop;
  JoinHandle<void> signals =
      Spawn(service::CancelOnShutdownSignal(stop, "echo", "shutting down"));
  Task<ShutdownReport> run = (*server)->Run(stop);
  const ShutdownReport report = co_await std::move(run);
  signals.Abort();  // finished already when a signal stopped us
  const EchoMetrics& m = (*server)->metrics();
  Log(absl::StrCat("stopped: ", m.connections_accepted(), " connections, ",
                   m.sessions_started(), " WebSocket sessions, ",
                   m.messages_sent(), " messages echoed"));
  if (report.timed_out) {
    Log(absl::StrCat(report.tasks_aborted,
                     " connections were cut off after --shutdown_timeout"));
  }
  co_return kExitOk;
}

}  // namespace
}  // namespace troupe::echo

int main(int argc, char** argv) {
  namespace echo = troupe::echo;
  absl::SetProgramUsageMessage(
      "A WebSocket echo server on troupe: every text and binary message "
      "comes back unchanged.\n"
      "Usage: echo [--listen=HOST:PORT] [--worker_threads=N] "
      "[--max_message_size=BYTES] [--nodeflate] [--shutdown_timeout=5s]\n"
      "Serves on one port: ws://HOST:PORT/ (the echo; permessage-deflate "
      "when offered), GET /healthz, GET /metrics (Prometheus text).\n"
      "Logs on stderr: 'listening on HOST:PORT' once bound, and the "
      "shutdown.\n"
      "SIGTERM/SIGINT: stop accepting, close WebSocket sessions with 1001 "
      "(waiting up to --shutdown_timeout), exit 0; a second signal ends it "
      "at once.\n"
      "Exit: 0 stopped by a signal, 1 bad flags, 2 cannot listen (e.g. the "
      "port is taken).");
  // Before the runtime's threads exist (see process.h).
  namespace service = troupe::service;
  service::PrepareShutdownSignals();
  if (!service::ParseFlagsOnly("echo", argc, argv)) {
    return service::kExitBadFlags;
  }
  absl::StatusOr<echo::Config> config = echo::ConfigFromFlags();
  if (!config.ok()) return service::RefuseFlags("echo", config.status());
  const int workers = config->worker_threads;
  return troupe::RunMain([&config] { return echo::Serve(*std::move(config)); },
                         {.worker_threads = workers});
}

#include "examples/stream_aggregator/service.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "actors/actor.h"
#include "examples/stream_aggregator/event_generator.h"
#include "examples/stream_aggregator/file_input.h"
#include "examples/stream_aggregator/http_endpoint.h"
#include "examples/stream_aggregator/pipeline.h"
#include "examples/stream_aggregator/results_stream.h"
#include "examples/stream_aggregator/tcp_input.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/shutdown_signal.h"
#include "net/tcp_listener.h"

namespace troupe::aggregator {
namespace {

void LogToStderr(std::string_view message) {
  std::fprintf(stderr, "stream_aggregator: %.*s\n",
               static_cast<int>(message.size()), message.data());
}

void SetShutdownSignalsBlocked(bool blocked) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &signals, nullptr);
}

// "1 input", "2 inputs".
std::string Count(int64_t n, const char* noun) {
  return absl::StrCat(n, " ", noun, n == 1 ? "" : "s");
}

// After the first signal: let a second one in (on this worker), so that it
// can end the process if the graceful stop hangs.
Task<void> AllowASecondSignal() {
  co_await ShutdownToken().Cancelled();
  SetShutdownSignalsBlocked(false);
}

// Chunks of result lines kept for slow /results subscribers (each chunk at
// most a shard's result_chunk_lines plus one step's firings).
constexpr size_t kResultsKeptChunks = 32;

// Opens what `config` names into *io, stopping at the first failure.
absl::Status OpenAll(const ServiceConfig& config, ServiceIo* io) {
  for (const std::string& path : config.inputs) {
    absl::StatusOr<int> fd = OpenInputFile(path);
    if (!fd.ok()) return fd.status();
    io->inputs.push_back({path == "-" ? "stdin" : path, *fd});
  }
  absl::StatusOr<std::shared_ptr<OutputWriter>> results =
      OpenOutput(config.output);
  if (!results.ok()) return results.status();
  io->results = *std::move(results);
  if (config.late_output.empty()) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<OutputWriter>> late =
      OpenOutput(config.late_output);
  if (!late.ok()) return late.status();
  io->late = *std::move(late);
  return absl::OkStatus();
}

// Binds `address` (if not empty) into *listener; the error names `flag`.
absl::Status BindListener(std::string_view flag, const std::string& address,
                          std::optional<net::TcpListener>* listener) {
  if (address.empty()) return absl::OkStatus();
  absl::StatusOr<net::TcpListener> bound = net::TcpListener::Bind(address);
  if (!bound.ok()) {
    return absl::Status(
        bound.status().code(),
        absl::StrCat("--", std::string(flag), ": ", bound.status().message()));
  }
  listener->emplace(*std::move(bound));
  return absl::OkStatus();
}

}  // namespace

void RouteShutdownSignalsToTheWatcher() {
  (void)ShutdownToken();  // starts the watcher thread, signals unblocked
  SetShutdownSignalsBlocked(true);
}

absl::StatusOr<ServiceIo> OpenServiceIo(const ServiceConfig& config) {
  ServiceIo io;
  const absl::Status opened = OpenAll(config, &io);
  if (opened.ok()) return io;
  for (const ServiceIo::Input& input : io.inputs) {
    if (input.fd != STDIN_FILENO) ::close(input.fd);
  }
  return opened;
}

Task<int> RunService(ServiceConfig config, ServiceIo io) {
  const auto started = std::chrono::steady_clock::now();
  Runtime& runtime = *Runtime::Current();
  // Handlers blocked on a full mailbox are the back-pressure working, not
  // a hang: the watchdog would report them, so it is off.
  ActorSystem system(runtime, ActorSystemOptions{.watchdog = false});

  // The listeners first: a taken port fails the run before anything is read.
  std::optional<net::TcpListener> tcp_listener;
  std::optional<net::TcpListener> http_listener;
  absl::Status bound = BindListener("listen", config.listen, &tcp_listener);
  if (bound.ok()) bound = BindListener("http", config.http, &http_listener);
  if (!bound.ok()) {
    LogToStderr(std::string(bound.message()));
    for (const ServiceIo::Input& input : io.inputs) {
      if (input.fd != STDIN_FILENO) ::close(input.fd);
    }
    (void)co_await system.Shutdown(std::chrono::seconds(5));
    co_return kExitBadConfig;
  }

  PipelineOptions options;
  options.window = config.window;
  options.max_out_of_orderness_ms = config.max_out_of_orderness_ms;
  options.allowed_lateness_ms = config.allowed_lateness_ms;
  options.idle_timeout_ms = config.idle_timeout_ms;
  options.shards =
      config.shards > 0 ? config.shards : 4 * runtime.worker_threads();
  options.results = io.results;
  // With --http the results also stream to /results subscribers.
  std::shared_ptr<ResultsTee> results_tee;
  if (!config.http.empty()) {
    results_tee = std::make_shared<ResultsTee>(io.results, kResultsKeptChunks);
    options.results = results_tee;
  }
  options.late = io.late;
  options.log = LogToStderr;
  options.stop = ShutdownToken().Child();
  Pipeline pipeline(system, options);
  JoinHandle<void> second_signal = Spawn(AllowASecondSignal());

  // Every input known at the start is registered before any of them
  // starts, so that the first one cannot move the watermark past the
  // others (rule 3).
  std::vector<std::unique_ptr<InputPort>> ports;
  int exit_code = kExitOk;
  const size_t wanted = io.inputs.size() + (config.generator ? 1 : 0);
  for (size_t i = 0; i < wanted; ++i) {
    std::string name =
        i < io.inputs.size() ? io.inputs[i].name : std::string("generator");
    Task<absl::StatusOr<std::unique_ptr<InputPort>>> open =
        pipeline.OpenInput(std::move(name));
    absl::StatusOr<std::unique_ptr<InputPort>> port = co_await std::move(open);
    if (!port.ok()) {
      LogToStderr(std::string(port.status().message()));
      exit_code = kExitIoError;
      break;
    }
    ports.push_back(*std::move(port));
  }
  std::vector<JoinHandle<absl::Status>> sources;
  for (size_t i = 0; i < ports.size(); ++i) {
    if (i < io.inputs.size()) {
      sources.push_back(Spawn(
          ReadNdjson(std::move(ports[i]), io.inputs[i].fd, pipeline.stop())));
    } else {
      sources.push_back(Spawn(RunGenerator(
          std::move(ports[i]), *config.generator, pipeline.stop())));
    }
  }
  std::string listening;
  std::optional<JoinHandle<absl::Status>> tcp_server;
  if (tcp_listener.has_value()) {
    absl::StrAppend(&listening,
                    ", NDJSON or binary protobuf frames over TCP on ",
                    tcp_listener->LocalAddress().ToString());
    tcp_server = Spawn(ServeTcpInputs(*std::move(tcp_listener), pipeline,
                                      pipeline.stop(), LogToStderr));
  }
  CancellationToken http_until;
  std::optional<JoinHandle<absl::Status>> http_server;
  if (http_listener.has_value()) {
    absl::StrAppend(&listening, ", HTTP on ",
                    http_listener->LocalAddress().ToString(),
                    " (/, /metrics, /healthz, WebSocket /ingest and /results)");
    http_server = Spawn(ServeHttp(
        *std::move(http_listener),
        MakeHttpRouter(pipeline, pipeline.stop(), LogToStderr, results_tee),
        http_until, LogToStderr));
  }
  // Without a network input the run ends when the inputs above do.
  if (!config.network()) co_await pipeline.NoMoreInputs();
  LogToStderr(absl::StrCat(
      "started: ", Count(static_cast<int64_t>(ports.size()), "input"), ", ",
      Count(options.shards, "shard"), ", ",
      Count(runtime.worker_threads(), "worker thread"), ", window ",
      config.window.ToString(), listening));

  if (config.network()) {
    // Connections come and go until a signal (or a write error) stops the
    // run; then no input opens any more, and the open ones close.
    co_await pipeline.stop().Cancelled();
    if (tcp_server.has_value()) {
      const absl::Status served = co_await *tcp_server;
      if (!served.ok()) exit_code = kExitIoError;
    }
    co_await pipeline.NoMoreInputs();
  }
  for (JoinHandle<absl::Status>& source : sources) {
    const absl::Status status = co_await source;
    if (!status.ok()) {
      LogToStderr(std::string(status.message()));
      exit_code = kExitIoError;
    }
  }
  const absl::Status finished = co_await pipeline.Finished();
  if (!finished.ok()) exit_code = kExitIoError;
  if (http_server.has_value()) {
    http_until.Cancel();
    const absl::Status served = co_await *http_server;
    if (!served.ok()) exit_code = kExitIoError;
  }
  if (const int signal = ReceivedShutdownSignal(); signal != 0) {
    LogToStderr(absl::StrCat("stopped by signal ", signal,
                             "; windows with unemitted changes were emitted"));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  LogToStderr(FormatSummary(pipeline.Snapshot(), seconds));
  second_signal.Abort();
  (void)co_await system.Shutdown(std::chrono::seconds(5));
  co_return exit_code;
}

}  // namespace troupe::aggregator

// A closed-loop WebSocket load client on troupe's own client: N
// connections, one message of S bytes in flight on each, for a duration or
// a message count; reports messages/s and round-trip percentiles. The loop
// and the phases: load_run.h. Flags, output and exit codes: --help.
//
//   bazel run --config=opt //examples/echo:load_client --
//       --url=ws://127.0.0.1:9001/ --connections=100 --size=32 --duration=10s
// (one command).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "examples/echo/load_run.h"
#include "examples/echo/ws_url.h"
#include "examples/service/process.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "tools/cli/flags.h"

ABSL_FLAG(std::string, url, "ws://127.0.0.1:9001/", "the echo server");
ABSL_FLAG(int, connections, 100,
          "connections, each with one message in flight");
ABSL_FLAG(uint64_t, size, 32, "message size in bytes");
ABSL_FLAG(std::string, type, "text", "message type: text or binary");
ABSL_FLAG(bool, deflate, false, "offer permessage-deflate");
ABSL_FLAG(troupe::DurationFlag, duration,
          troupe::DurationFlag(std::chrono::seconds(10)),
          "how long to measure (after --warmup); ignored with --messages");
ABSL_FLAG(troupe::DurationFlag, warmup, troupe::DurationFlag(),
          "run this long before measuring");
ABSL_FLAG(uint64_t, messages, 0,
          "if > 0: stop after this many round trips in total (all measured)");
ABSL_FLAG(troupe::DurationFlag, stall_timeout,
          troupe::DurationFlag(std::chrono::seconds(10)),
          "fail if no round trip completes for this long");
ABSL_FLAG(troupe::DurationFlag, progress,
          troupe::DurationFlag(std::chrono::seconds(1)),
          "progress line on stderr this often (0: none)");
ABSL_FLAG(int, server_pid, 0,
          "also report this process's CPU time per message (/proc/PID/stat), "
          "e.g. the server's");
ABSL_FLAG(int, worker_threads, 0,
          "executor worker threads (0: one per CPU this process may run on)");

namespace troupe::echo {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitCannotConnect = service::kExitBadFlags;  // 1
constexpr int kExitRunFailed = 2;
constexpr uint64_t kMaxSize = uint64_t{1} << 30;

void Log(std::string_view line) {
  std::fprintf(stderr, "load_client: %.*s\n", static_cast<int>(line.size()),
               line.data());
}

absl::StatusOr<LoadOptions> OptionsFromFlags() {
  LoadOptions o;
  absl::StatusOr<WsUrl> url = ParseWsUrl(absl::GetFlag(FLAGS_url));
  if (!url.ok()) return url.status();
  o.url = *std::move(url);
  o.connections = absl::GetFlag(FLAGS_connections);
  if (o.connections < 1 || o.connections > 1'000'000) {
    return absl::InvalidArgumentError("--connections must be 1 to 1000000");
  }
  o.message_size = absl::GetFlag(FLAGS_size);
  if (o.message_size > kMaxSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("--size must be at most ", kMaxSize));
  }
  const std::string type = absl::GetFlag(FLAGS_type);
  if (type != "text" && type != "binary") {
    return absl::InvalidArgumentError(
        absl::StrCat("--type=", type, ": must be text or binary"));
  }
  o.binary = type == "binary";
  o.deflate = absl::GetFlag(FLAGS_deflate);
  o.messages = absl::GetFlag(FLAGS_messages);
  o.duration = absl::GetFlag(FLAGS_duration).value();
  o.warmup = absl::GetFlag(FLAGS_warmup).value();
  o.stall_timeout = absl::GetFlag(FLAGS_stall_timeout).value();
  o.progress_interval = absl::GetFlag(FLAGS_progress).value();
  if ((o.messages == 0 && o.duration.count() == 0) ||
      o.stall_timeout.count() == 0) {
    return absl::InvalidArgumentError(
        "--duration (without --messages) and --stall_timeout must be positive");
  }
  o.server_pid = absl::GetFlag(FLAGS_server_pid);
  if (o.server_pid < 0) return absl::InvalidArgumentError("bad --server_pid");
  if (o.server_pid > 0 && !ProcessCpuSeconds(o.server_pid).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--server_pid=", o.server_pid, ": no such process"));
  }
  o.log = Log;
  return o;
}

double Micros(uint64_t nanoseconds) {
  return static_cast<double>(nanoseconds) / 1e3;
}

// The one line on stdout: space-separated key=value pairs.
std::string FormatReport(const LoadOptions& o, const LoadReport& r) {
  const double per_message =
      r.messages > 0 ? 1e6 / static_cast<double>(r.messages) : 0;
  std::string line = absl::StrFormat(
      "connections=%d size=%d type=%s deflate=%s seconds=%.2f messages=%d "
      "msgs_per_s=%.0f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f "
      "max_us=%.1f mean_us=%.1f errors=%d client_cpu_us_per_msg=%.2f",
      o.connections, o.message_size, o.binary ? "binary" : "text",
      o.deflate ? "on" : "off", r.seconds, r.messages, r.messages_per_second(),
      Micros(r.latency.Percentile(0.50)), Micros(r.latency.Percentile(0.90)),
      Micros(r.latency.Percentile(0.99)), Micros(r.latency.Percentile(0.999)),
      Micros(r.latency.max()), r.latency.mean() / 1e3, r.errors,
      r.client_cpu_seconds * per_message);
  if (r.server_cpu_seconds.has_value()) {
    absl::StrAppendFormat(&line, " server_cpu_us_per_msg=%.2f",
                          *r.server_cpu_seconds * per_message);
  }
  return line;
}

Task<int> Run(LoadOptions o) {
  o.stop = CancellationToken();
  JoinHandle<void> signals = Spawn(
      service::CancelOnShutdownSignal(o.stop, "load_client", "stopping early"));
  const LoadOptions shown = o;
  Task<absl::StatusOr<LoadReport>> run = RunLoad(std::move(o));
  absl::StatusOr<LoadReport> report = co_await std::move(run);
  signals.Abort();
  if (!report.ok()) {
    Log(std::string(report.status().message()));
    co_return report.status().code() == absl::StatusCode::kDeadlineExceeded
        ? kExitRunFailed
        : kExitCannotConnect;
  }
  std::printf("%s\n", FormatReport(shown, *report).c_str());
  std::fflush(stdout);
  if (report->errors > 0) {
    Log(absl::StrCat(report->errors, " connection(s) failed; the first: ",
                     report->first_error));
    co_return kExitRunFailed;
  }
  if (report->close_failures > 0) {
    Log(absl::StrCat(report->close_failures,
                     " connection(s) did not close cleanly"));
  }
  co_return kExitOk;
}

}  // namespace
}  // namespace troupe::echo

int main(int argc, char** argv) {
  namespace echo = troupe::echo;
  absl::SetProgramUsageMessage(
      "A closed-loop WebSocket load client: --connections connections, one "
      "--size byte message in flight on each, each echo checked.\n"
      "Usage: load_client [--url=ws://HOST:PORT/] [--connections=N] "
      "[--size=BYTES] [--type=text|binary] [--duration=10s | --messages=N] "
      "[--warmup=D] [--deflate] [--server_pid=PID]\n"
      "stderr: progress every --progress. stdout, at the end, one line of "
      "key=value pairs: connections size type deflate seconds messages "
      "msgs_per_s p50_us p90_us p99_us p999_us max_us mean_us errors "
      "client_cpu_us_per_msg [server_cpu_us_per_msg] (round trips in "
      "microseconds, CPU per measured message).\n"
      "SIGINT/SIGTERM: stop early and report what was measured.\n"
      "Exit: 0 ok, 1 bad flags or cannot connect, 2 a connection failed "
      "(wrong echo, closed) or the server stalled.");
  namespace service = troupe::service;
  service::PrepareShutdownSignals();
  if (!service::ParseFlagsOnly("load_client", argc, argv)) {
    return service::kExitBadFlags;
  }
  absl::StatusOr<echo::LoadOptions> options = echo::OptionsFromFlags();
  if (!options.ok()) {
    return service::RefuseFlags("load_client", options.status());
  }
  absl::StatusOr<int> workers =
      service::WorkerThreadsFromFlag(absl::GetFlag(FLAGS_worker_threads));
  if (!workers.ok()) {
    return service::RefuseFlags("load_client", workers.status());
  }
  return troupe::RunMain([&options] { return echo::Run(*std::move(options)); },
                         {.worker_threads = *workers});
}

#include "examples/echo/load_run.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "executor/join_handle.h"
#include "executor/sleep.h"
#include "net/tcp_stream.h"
#include "net/websocket_client.h"
#include "net/websocket_connection.h"

namespace troupe::echo {
namespace {

using SteadyClock = std::chrono::steady_clock;
using net::WebSocketConnection;
using net::WebSocketMessage;

// One connection of the run. `completed` is written by its driver only
// and read by the progress monitor; the rest belongs to the driver until
// RunLoad has joined it.
struct Connection {
  explicit Connection(WebSocketConnection connection)
      : ws(std::move(connection)) {}

  WebSocketConnection ws;
  std::atomic<uint64_t> completed{0};
  LatencyHistogram latency;
  uint64_t measured = 0;
  absl::Status error;
};

// What every driver reads; fixed before they start (except `remaining`).
struct Plan {
  WebSocketMessage::Type type = WebSocketMessage::Type::kText;
  std::string payload;
  bool count_mode = false;
  Instant measure_from;
  Instant end = Instant::max();
  std::atomic<int64_t> remaining{0};  // count mode: round trips not claimed
  CancellationToken stop;
};

// Deterministic pseudo-random content: letters for text (valid UTF-8
// that compresses like prose would not - about 4.7 bits per byte),
// arbitrary bytes for binary.
std::string MakePayload(size_t size, bool binary) {
  std::string out(size, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = binary ? static_cast<char>(x >> 56)
               : static_cast<char>('a' + (x >> 32) % 26);
  }
  return out;
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

Task<void> WaitCancelled(CancellationToken token) {
  co_await token.Cancelled();
}

Task<absl::StatusOr<WebSocketConnection>> Connect(const LoadOptions* o) {
  absl::StatusOr<net::TcpStream> tcp =
      co_await net::TcpStream::Connect(o->url.connect);
  if (!tcp.ok()) co_return tcp.status();
  (void)tcp->SetNoDelay(true);
  net::WebSocketClientOptions client;
  client.deflate.enabled = o->deflate;
  const uint64_t limit =
      std::max<uint64_t>(uint64_t{16} << 20, o->message_size);
  client.connection.max_message_size = limit;
  client.connection.max_frame_size = limit;
  Task<absl::StatusOr<WebSocketConnection>> handshake = net::WebSocketConnect(
      *std::move(tcp), o->url.host, o->url.target, std::move(client));
  co_return co_await std::move(handshake);
}

// The closed loop of one connection (phase 2).
Task<void> Drive(Connection* c, Plan* plan) {
  WebSocketMessage message(plan->type, plan->payload);
  for (;;) {
    if (plan->stop.IsCancelled()) break;
    if (plan->count_mode &&
        plan->remaining.fetch_sub(1, std::memory_order_relaxed) <= 0) {
      break;
    }
    const Instant start = SteadyClock::now();
    if (start >= plan->end) break;
    const absl::Status sent = co_await c->ws.Send(std::move(message));
    if (!sent.ok()) {
      c->error = sent;
      break;
    }
    absl::StatusOr<WebSocketMessage> echo = co_await c->ws.Receive();
    const Instant done = SteadyClock::now();
    if (!echo.ok()) {
      c->error = echo.status();
      break;
    }
    if (echo->type() != plan->type || echo->data() != plan->payload) {
      c->error = absl::DataLossError("an echo differs from the message sent");
      break;
    }
    if (start >= plan->measure_from) {
      c->latency.Record(static_cast<uint64_t>((done - start).count()));
      ++c->measured;
    }
    c->completed.store(c->completed.load(std::memory_order_relaxed) + 1,
                       std::memory_order_relaxed);
    message = *std::move(echo);
  }
}

uint64_t Completed(const std::vector<std::unique_ptr<Connection>>& conns) {
  uint64_t total = 0;
  for (const auto& c : conns)
    total += c->completed.load(std::memory_order_relaxed);
  return total;
}

// Progress lines, and the stall check: with no round trip completed for
// stall_timeout, aborts every driver and sets *stalled.
Task<void> Monitor(const std::vector<std::unique_ptr<Connection>>* conns,
                   std::vector<JoinHandle<void>>* drivers, const LoadOptions* o,
                   Instant started, std::atomic<bool>* stalled) {
  const bool report = o->progress_interval.count() > 0 && o->log;
  const Duration period =
      report ? std::min(o->progress_interval, o->stall_timeout)
             : std::min<Duration>(std::chrono::seconds(1), o->stall_timeout);
  const int64_t ticks_per_report =
      report
          ? std::max<int64_t>(1, (o->progress_interval + period / 2) / period)
          : 0;
  Interval every(period, MissedTick::kSkip);
  (void)co_await every.Tick();  // the first tick is now
  uint64_t seen = 0;            // completed round trips at the last tick
  uint64_t reported = 0;        // ... at the last progress line
  Instant last_report = started;
  Instant last_progress = started;
  for (int64_t tick = 1;; ++tick) {
    (void)co_await every.Tick();
    const Instant now = SteadyClock::now();
    const uint64_t total = Completed(*conns);
    if (total != seen) {
      seen = total;
      last_progress = now;
    } else if (now - last_progress >= o->stall_timeout) {
      stalled->store(true);
      for (JoinHandle<void>& d : *drivers) d.Abort();
      co_return;
    }
    if (report && tick % ticks_per_report == 0) {
      o->log(absl::StrFormat(
          "%.1f s: %d round trips (%.0f/s)", Seconds(now - started), total,
          static_cast<double>(total - reported) / Seconds(now - last_report)));
      last_report = now;
      reported = total;
    }
  }
}

Task<void> CloseOne(Connection* c, std::atomic<uint64_t>* failures) {
  Task<absl::Status> close = c->ws.Close();
  const absl::Status closed = co_await std::move(close);
  if (!closed.ok()) failures->fetch_add(1);
}

}  // namespace

absl::StatusOr<double> ProcessCpuSeconds(int pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!file || !std::getline(file, line)) {
    return absl::NotFoundError(
        absl::StrCat("cannot read /proc/", pid, "/stat"));
  }
  // The command name may hold spaces and parentheses: fields are counted
  // from the last ')'. After it come field 3 (state) onwards; utime and
  // stime are fields 14 and 15.
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return absl::DataLossError("bad /proc stat");
  std::istringstream fields(line.substr(paren + 1));
  std::string field;
  uint64_t utime = 0;
  uint64_t stime = 0;
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

Task<absl::StatusOr<LoadReport>> RunLoad(LoadOptions o) {
  if (o.connections < 1) co_return absl::InvalidArgumentError("no connections");
  auto log = [&o](std::string_view line) {
    if (o.log) o.log(line);
  };

  // 1. Connect.
  std::vector<JoinHandle<absl::StatusOr<WebSocketConnection>>> connecting;
  connecting.reserve(static_cast<size_t>(o.connections));
  for (int i = 0; i < o.connections; ++i)
    connecting.push_back(Spawn(Connect(&o)));
  std::vector<std::unique_ptr<Connection>> conns;
  absl::Status failed;
  for (auto& handle : connecting) {
    absl::StatusOr<WebSocketConnection> ws = co_await handle;
    if (ws.ok()) {
      conns.push_back(std::make_unique<Connection>(*std::move(ws)));
    } else if (failed.ok()) {
      failed = ws.status();
    }
  }
  if (!failed.ok()) {
    co_return absl::Status(
        failed.code(),
        absl::StrCat("connecting to ", o.url.connect, ": ", failed.message()));
  }
  log(absl::StrCat(conns.size(), " connections open to ", o.url.connect,
                   o.url.target));

  // 2. Run.
  Plan plan;
  plan.type = o.binary ? WebSocketMessage::Type::kBinary
                       : WebSocketMessage::Type::kText;
  plan.payload = MakePayload(o.message_size, o.binary);
  plan.count_mode = o.messages > 0;
  plan.remaining.store(static_cast<int64_t>(o.messages));
  plan.stop = o.stop;
  const Instant started = SteadyClock::now();
  plan.measure_from = plan.count_mode ? started : started + o.warmup;
  if (!plan.count_mode) plan.end = plan.measure_from + o.duration;

  double client_cpu = SelfCpuSeconds();
  absl::StatusOr<double> server_cpu = absl::UnavailableError("not measured");
  if (o.server_pid > 0) server_cpu = ProcessCpuSeconds(o.server_pid);
  std::vector<JoinHandle<void>> drivers;
  drivers.reserve(conns.size());
  for (auto& c : conns) drivers.push_back(Spawn(Drive(c.get(), &plan)));
  std::atomic<bool> stalled{false};
  JoinHandle<void> monitor =
      Spawn(Monitor(&conns, &drivers, &o, started, &stalled));

  Instant window_start = started;
  Instant window_end;
  if (!plan.count_mode) {
    (void)co_await TimeoutAt(plan.measure_from, WaitCancelled(o.stop));
    window_start = std::min(SteadyClock::now(), plan.measure_from);
    client_cpu = SelfCpuSeconds();
    if (o.server_pid > 0) server_cpu = ProcessCpuSeconds(o.server_pid);
    (void)co_await TimeoutAt(plan.end, WaitCancelled(o.stop));
    window_end = std::min(SteadyClock::now(), plan.end);
  }
  for (JoinHandle<void>& d : drivers) {
    try {
      co_await d;
    } catch (const CancelledError&) {
      // Aborted by the stall check.
    }
  }
  if (plan.count_mode) window_end = SteadyClock::now();
  LoadReport report;
  report.client_cpu_seconds = SelfCpuSeconds() - client_cpu;
  if (o.server_pid > 0 && server_cpu.ok()) {
    absl::StatusOr<double> after = ProcessCpuSeconds(o.server_pid);
    if (after.ok()) report.server_cpu_seconds = *after - *server_cpu;
  }
  monitor.Abort();
  try {
    co_await monitor;
  } catch (const CancelledError&) {
    // Expected.
  }
  if (stalled.load()) {
    co_return absl::DeadlineExceededError(
        absl::StrCat("no round trip completed for ", Seconds(o.stall_timeout),
                     " s: the server stalled"));
  }

  report.seconds = Seconds(std::max(window_end - window_start, Duration(0)));
  for (const auto& c : conns) {
    report.latency.Merge(c->latency);
    report.messages += c->measured;
    report.total_messages += c->completed.load(std::memory_order_relaxed);
    if (!c->error.ok()) {
      if (report.errors++ == 0) report.first_error = c->error.ToString();
    }
  }

  // 3. Close.
  std::atomic<uint64_t> close_failures{0};
  std::vector<JoinHandle<void>> closing;
  for (auto& c : conns) {
    if (c->error.ok())
      closing.push_back(Spawn(CloseOne(c.get(), &close_failures)));
  }
  for (JoinHandle<void>& handle : closing) co_await handle;
  report.close_failures = close_failures.load();
  co_return report;
}

}  // namespace troupe::echo

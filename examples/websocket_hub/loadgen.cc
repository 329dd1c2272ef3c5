// Load generator for the WebSocket hub (issue 7): N clients in R rooms,
// each publishing at a given rate, speaking the binary (protobuf) form of
// proto/hub.proto. Every message carries its send time; every receiver
// measures publish-to-receipt latency (clients and hub on one machine
// share the monotonic clock). With --rate=0 the clients stay idle, to
// measure the hub's memory per connection (--server_pid).
//
//   bazel run --config=opt //examples/websocket_hub:loadgen --
//     --hub=127.0.0.1:8080 --connections=1000 --rooms=10 --rate=20
//     --server_pid=$(pgrep -n websocket_hub)
//
// Prints one line of results: deliveries per second, latency p50, p99 and
// p999, and the server's RSS if --server_pid: before connecting, once
// every client joined, and after the run, with the growth per connection
// at the last two (with --rate=0, per_connection_after_run is the memory
// of an idle connection once the join traffic has settled).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "net/socket_address.h"
#include "net/tcp_stream.h"
#include "net/websocket_client.h"
#include "net/websocket_connection.h"
#include "proto/hub.pb.h"
#include "tools/cli/flags.h"

ABSL_FLAG(std::string, hub, "127.0.0.1:8080", "the hub's HOST:PORT");
ABSL_FLAG(int, connections, 1000, "clients");
ABSL_FLAG(int, rooms, 10, "rooms; client i joins room i % rooms");
ABSL_FLAG(double, rate, 10,
          "messages per second each client publishes (0: idle clients)");
ABSL_FLAG(int, seconds, 10, "measured seconds, after --warmup_seconds");
ABSL_FLAG(int, warmup_seconds, 2, "seconds of load before measuring");
ABSL_FLAG(int, message_bytes, 32, "text bytes per message (at least 20)");
ABSL_FLAG(int, server_pid, 0, "the hub's pid, to report its RSS (0: none)");
ABSL_FLAG(int, worker_threads, 2, "the load generator's worker threads");

namespace troupe::hub {
namespace {

using Clock = std::chrono::steady_clock;

// Clients connecting or joining at a time (the hub's listen backlog is
// 1,024 by default).
constexpr int kOpening = 500;

// Latencies in log-linear buckets: 16 per power of two of nanoseconds.
// Each worker thread counts into its own shard, so that the receivers do
// not bounce one cache line between cores per message (at 200k deliveries
// per second that costs the machine the hub is measured on).
class LatencyHistogram {
 public:
  void Record(int64_t nanos) {
    shards_[ShardOfThisThread()]
        .counts[Bucket(nanos < 1 ? 1 : nanos)]
        .fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t Count() const {
    uint64_t n = 0;
    for (int i = 0; i < kBuckets; ++i) n += CountOf(i);
    return n;
  }
  // The upper bound of the bucket holding quantile q, in nanoseconds.
  double Quantile(double q) const {
    const uint64_t total = Count();
    if (total == 0) return 0;
    const auto rank =
        static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += CountOf(i);
      if (seen >= rank) return UpperBound(i);
    }
    return UpperBound(kBuckets - 1);
  }

 private:
  static constexpr int kSub = 16;
  static constexpr int kBuckets = 64 * kSub;
  static int Bucket(int64_t nanos) {
    const int power = 63 - __builtin_clzll(static_cast<uint64_t>(nanos));
    if (power < 4) return static_cast<int>(nanos);
    const int sub = static_cast<int>((nanos >> (power - 4)) & (kSub - 1));
    return power * kSub + sub;
  }
  static double UpperBound(int bucket) {
    const int power = bucket / kSub;
    const int sub = bucket % kSub;
    if (power < 4) return bucket + 1;
    return std::ldexp(1.0 + (sub + 1) / static_cast<double>(kSub), power);
  }
  static constexpr int kShards = 8;
  static int ShardOfThisThread() {
    static std::atomic<int> next{0};
    thread_local const int shard = next.fetch_add(1) % kShards;
    return shard;
  }
  uint64_t CountOf(int bucket) const {
    uint64_t n = 0;
    for (const Shard& shard : shards_) {
      n += shard.counts[bucket].load(std::memory_order_relaxed);
    }
    return n;
  }
  struct alignas(64) Shard {
    std::atomic<uint64_t> counts[kBuckets] = {};
  };
  Shard shards_[kShards];
};

struct Shared {
  net::SocketAddress address;
  std::string host;
  int rooms = 10;
  double rate = 0;
  int message_bytes = 32;
  std::atomic<int> ready{0};
  std::atomic<int> failed{0};
  std::mutex first_failure_mu;
  std::string first_failure;  // guarded by first_failure_mu
  CancellationToken go;       // every client joined: start publishing
  CancellationToken stop;     // the run is over
  std::atomic<bool> measuring{false};
  LatencyHistogram latency;  // its count is the deliveries measured
};

void Fail(Shared* s, const absl::Status& why) {
  s->failed.fetch_add(1);
  std::lock_guard<std::mutex> lock(s->first_failure_mu);
  if (s->first_failure.empty()) s->first_failure = std::string(why.message());
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             Clock::now().time_since_epoch())
      .count();
}

net::WebSocketMessage Binary(const ClientFrame& frame) {
  return net::WebSocketMessage::Binary(frame.SerializeAsString());
}

// `s` is shared: a publisher may outlive Run (it stops at its next tick).
Task<void> PublishLoop(std::shared_ptr<Shared> s,
                       std::shared_ptr<net::WebSocketConnection> ws,
                       std::string room, int index) {
  co_await s->go.Cancelled();
  // Spread the clients' ticks over one period.
  const auto period = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(1.0 / s->rate));
  co_await SleepFor(period * (index % 1000) / 1000);
  Interval every(period, MissedTick::kSkip);
  while (!s->stop.IsCancelled()) {
    co_await every.Tick();
    ClientFrame frame;
    Publish* publish = frame.mutable_publish();
    publish->set_room(room);
    std::string text = absl::StrCat(NowNanos(), " ");
    text.resize(static_cast<size_t>(s->message_bytes), 'x');
    publish->set_text(std::move(text));
    net::WebSocketMessage message = Binary(frame);
    const absl::Status sent = co_await ws->Send(std::move(message));
    if (!sent.ok()) co_return;
  }
}

Task<void> Client(std::shared_ptr<Shared> s, int index) {
  absl::StatusOr<net::TcpStream> tcp =
      co_await net::TcpStream::Connect(s->address);
  if (!tcp.ok()) {
    Fail(s.get(), tcp.status());
    co_return;
  }
  (void)tcp->SetNoDelay(true);
  net::WebSocketClientOptions options;
  options.connection.read_buffer_size = 4096;
  // 10,000 clients joining at once keep the hub busy with presence
  // fan-out for a while: a slow answer is not a failure here.
  options.handshake_timeout = std::chrono::seconds(60);
  absl::StatusOr<net::WebSocketConnection> opened =
      co_await net::WebSocketConnect(*std::move(tcp), s->host, "/ws",
                                     std::move(options));
  if (!opened.ok()) {
    Fail(s.get(), opened.status());
    co_return;
  }
  auto ws = std::make_shared<net::WebSocketConnection>(*std::move(opened));
  const std::string room = absl::StrCat("load-", index % s->rooms);
  ClientFrame join;
  join.mutable_join()->set_room(room);
  join.mutable_join()->set_name(absl::StrCat("c", index));
  net::WebSocketMessage join_message = Binary(join);
  (void)co_await ws->Send(std::move(join_message));
  JoinHandle<void> publisher;
  bool joined = false;
  ServerFrame frame;  // reused: parsing into it keeps its buffers
  for (;;) {
    absl::StatusOr<net::WebSocketMessage> m = co_await ws->Receive();
    if (!m.ok()) break;
    if (!frame.ParseFromString(m->data())) continue;
    if (frame.has_joined() && !joined) {
      joined = true;
      s->ready.fetch_add(1);
      if (s->rate > 0) publisher = Spawn(PublishLoop(s, ws, room, index));
    } else if (frame.has_message() && s->measuring.load()) {
      int64_t sent = 0;
      const absl::string_view text = frame.message().text();
      if (absl::SimpleAtoi(text.substr(0, text.find(' ')), &sent)) {
        s->latency.Record(NowNanos() - sent);
      }
    }
  }
  if (publisher.valid()) publisher.Abort();
}

double PerConnectionKib(int64_t bytes, int connections) {
  return connections > 0 ? static_cast<double>(bytes) / 1024.0 /
                               static_cast<double>(connections)
                         : 0.0;
}

int64_t RssBytes(int pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    int64_t kib = 0;
    if (line.rfind("VmRSS:", 0) == 0 &&
        absl::SimpleAtoi(
            absl::StripAsciiWhitespace(line.substr(6, line.size() - 9)),
            &kib)) {
      return kib * 1024;
    }
  }
  return 0;
}

Task<int> Run() {
  auto s = std::make_shared<Shared>();
  const std::string hub = absl::GetFlag(FLAGS_hub);
  absl::StatusOr<net::SocketAddress> address = net::SocketAddress::Parse(hub);
  if (!address.ok()) {
    std::fprintf(stderr, "loadgen: --hub=%s: %s\n", hub.c_str(),
                 std::string(address.status().message()).c_str());
    co_return 1;
  }
  s->address = *address;
  s->host = hub;
  s->rooms = std::max(1, absl::GetFlag(FLAGS_rooms));
  s->rate = absl::GetFlag(FLAGS_rate);
  s->message_bytes = std::max(20, absl::GetFlag(FLAGS_message_bytes));
  const int n = absl::GetFlag(FLAGS_connections);
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const int64_t rss_before = pid > 0 ? RssBytes(pid) : 0;

  std::vector<JoinHandle<void>> clients;
  clients.reserve(n);
  for (int i = 0; i < n; ++i) {
    clients.push_back(Spawn(Client(s, i)));
    // Do not flood the listener's backlog: at most kOpening clients
    // between connect and joined.
    if (i % 100 == 99) co_await SleepFor(std::chrono::milliseconds(5));
    while (i + 1 - s->ready.load() - s->failed.load() >= kOpening) {
      co_await SleepFor(std::chrono::milliseconds(5));
    }
  }
  while (s->ready.load() + s->failed.load() < n) {
    co_await SleepFor(std::chrono::milliseconds(20));
  }
  const int64_t rss_connected = pid > 0 ? RssBytes(pid) : 0;
  std::fprintf(stderr, "loadgen: %d connected, %d failed%s%s\n",
               s->ready.load(), s->failed.load(),
               s->failed.load() > 0 ? "; the first: " : "",
               s->first_failure.c_str());
  s->go.Cancel();
  co_await SleepFor(std::chrono::seconds(absl::GetFlag(FLAGS_warmup_seconds)));
  s->measuring.store(true);
  const auto start = Clock::now();
  co_await SleepFor(std::chrono::seconds(absl::GetFlag(FLAGS_seconds)));
  s->measuring.store(false);
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  const int64_t rss_loaded = pid > 0 ? RssBytes(pid) : 0;
  s->stop.Cancel();
  const double us = 1e-3;
  std::printf(
      "connections=%d rooms=%d rate=%.1f/s/client message_bytes=%d: "
      "delivered=%.0f/s p50=%.1fus p99=%.1fus p999=%.1fus",
      s->ready.load(), s->rooms, s->rate, s->message_bytes,
      static_cast<double>(s->latency.Count()) / seconds,
      s->latency.Quantile(0.5) * us, s->latency.Quantile(0.99) * us,
      s->latency.Quantile(0.999) * us);
  if (pid > 0) {
    std::printf(
        " server_rss: before=%.1fMiB connected=%.1fMiB loaded=%.1fMiB "
        "per_connection=%.1fKiB per_connection_after_run=%.1fKiB",
        static_cast<double>(rss_before) / 1048576.0,
        static_cast<double>(rss_connected) / 1048576.0,
        static_cast<double>(rss_loaded) / 1048576.0,
        PerConnectionKib(rss_connected - rss_before, s->ready.load()),
        PerConnectionKib(rss_loaded - rss_before, s->ready.load()));
  }
  std::printf("\n");
  std::fflush(stdout);
  for (JoinHandle<void>& c : clients) c.Abort();
  for (JoinHandle<void>& c : clients) {
    try {
      co_await c;
    } catch (const CancelledError&) {
      // Expected.
    }
  }
  co_return 0;
}

}  // namespace
}  // namespace troupe::hub

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Load generator for //examples/websocket_hub (see the top of "
      "loadgen.cc).");
  troupe::ParseFlags(argc, argv);
  return troupe::RunMain(
      troupe::hub::Run,
      {.worker_threads = absl::GetFlag(FLAGS_worker_threads)});
}

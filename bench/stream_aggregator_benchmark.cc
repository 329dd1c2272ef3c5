// The stream aggregator benchmark of issue 8: events per second for tumbling
// 10 s windows over 100,000 keys (every window keeps its quantile sketch),
// through the actor pipeline, beside the same aggregation done by a plain
// single-threaded loop with no actors (the baseline), in the same binary.
//
//   bazel run --config=bench //bench:stream_aggregator_benchmark
//   bazel run --config=bench //bench:stream_aggregator_benchmark --
//       --events=4000000 --shards=2,4,8 --runs=5   (one command)
//
// Three sources:
//   generator  events come from the built-in generator (no parsing);
//   ndjson     the generator's stream as NDJSON text in memory, parsed by the
//              input (the pipeline's input port / the sequential driver);
//   tcp        the same NDJSON over a loopback TCP connection (the issue's
//              second bar, >= 1 million events/s): a plain thread writes it
//              with blocking send(), and the pipeline reads the socket with
//              the --listen connection reader (ReadTcpConnection,
//              tcp_input.h). Pipeline only (the baseline has no socket).
// The pipeline runs on a runtime of --worker_threads workers (2: the bar is
// ">= 1.6x the baseline with 2 workers"); results go to a writer that
// counts bytes, so output formatting is measured but no I/O. Each
// configuration: one warm-up run, then --runs runs; the median is printed,
// with the median CPU time per event (user + system, all threads): on a
// busy machine the wall-clock rates swing with the load, the CPU cost far
// less, and the pipeline's CPU per event over the baseline's is the
// overhead of going through actors.
// Every run checks its own result: both sides must emit the same number of
// result lines and bytes.

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "actors/actor.h"
#include "examples/stream_aggregator/aggregator.h"
#include "examples/stream_aggregator/event_generator.h"
#include "examples/stream_aggregator/output_writer.h"
#include "examples/stream_aggregator/pipeline.h"
#include "examples/stream_aggregator/result_format.h"
#include "examples/stream_aggregator/sequential_driver.h"
#include "examples/stream_aggregator/tcp_input.h"
#include "examples/stream_aggregator/watermark.h"
#include "examples/stream_aggregator/window_spec.h"
#include "executor/cancellation_token.h"
#include "executor/runtime.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "tools/cli/flags.h"

ABSL_FLAG(int64_t, events, 4'000'000, "events per run");
ABSL_FLAG(int, keys, 100'000, "distinct keys");
ABSL_FLAG(int64_t, events_per_ms, 100,
          "generator pace: events per millisecond of event time");
ABSL_FLAG(int64_t, disorder_ms, 100,
          "generator disorder (also the max out-of-orderness)");
ABSL_FLAG(std::string, shards, "2,4,8", "pipeline shard counts to run");
ABSL_FLAG(int, worker_threads, 2, "pipeline worker threads");
ABSL_FLAG(int, runs, 5, "timed runs per configuration (after a warm-up)");
ABSL_FLAG(bool, ndjson, true, "also run the NDJSON (parsing) source");
ABSL_FLAG(bool, tcp, true, "also run the NDJSON source over loopback TCP");
ABSL_FLAG(bool, baseline, true,
          "run the baseline (without it nothing checks the pipeline's "
          "output against it)");

namespace troupe::aggregator {
namespace {

using Clock = std::chrono::steady_clock;

// Counts what the sink writes.
class CountingWriter final : public OutputWriter {
 public:
  absl::Status Write(std::string_view bytes) override {
    bytes_ += bytes.size();
    for (char c : bytes) lines_ += c == '\n';
    return absl::OkStatus();
  }
  bool may_block() const override { return false; }
  uint64_t bytes() const { return bytes_; }
  uint64_t lines() const { return lines_; }

 private:
  uint64_t bytes_ = 0;
  uint64_t lines_ = 0;
};

struct Outcome {
  double seconds = 0;      // wall clock
  double cpu_seconds = 0;  // user + system, all threads
  uint64_t lines = 0;
  uint64_t bytes = 0;
};

// User + system CPU time of the whole process so far.
double CpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Times `run` (wall and CPU) into its outcome.
template <typename F>
Outcome Timed(F run) {
  const double cpu = CpuSeconds();
  const auto start = Clock::now();
  Outcome out = run();
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.cpu_seconds = CpuSeconds() - cpu;
  return out;
}

struct Setup {
  GeneratorOptions generator;
  AggregatorOptions options;
  std::string ndjson;  // empty unless the ndjson source runs
};

// The baseline: generator -> watermark -> one engine -> formatted lines, in
// one loop (the sequential driver's work without the parsing).
Outcome BaselineGenerator(const Setup& setup) {
  Outcome out;
  std::string line;
  KeyedWindowEngine engine(
      {setup.options.window, setup.options.allowed_lateness_ms},
      [&](const WindowResult& result) {
        line.clear();
        AppendResultLine(result, &line);
        out.bytes += line.size() + 1;
        ++out.lines;
      });
  WatermarkTracker tracker(setup.options.max_out_of_orderness_ms, kNeverIdle);
  const int input = tracker.AddInput(0);
  EventGenerator generator(setup.generator);
  EventView event;
  while (generator.Next(&event)) {
    engine.OnEvent(event.key, event.ts_ms, event.value, tracker.watermark());
    tracker.OnEvent(input, event.ts_ms, 0);
    engine.OnWatermark(tracker.watermark());
  }
  engine.Flush();
  return out;
}

// The baseline with parsing: the sequential driver over the NDJSON text.
Outcome BaselineNdjson(const Setup& setup) {
  Outcome out;
  SequentialAggregator aggregator(
      setup.options,
      [&](std::string_view line) {
        out.bytes += line.size() + 1;
        ++out.lines;
      },
      [](std::string_view) {});
  const int input = aggregator.AddInput(0);
  SplitLines(setup.ndjson,
             [&](std::string_view line) { aggregator.OnLine(input, line, 0); });
  aggregator.Finish();
  return out;
}

enum class Source { kGenerator, kNdjson, kTcp };

// The producer of the tcp source: connects to 127.0.0.1:port and sends
// `text` with blocking writes, then closes.
void SendOverLoopback(uint16_t port, std::string_view text) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&address),
                          sizeof(address)) != 0) {
    std::perror("benchmark producer: connect");
    std::exit(1);
  }
  while (!text.empty()) {
    const ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    if (n < 0) {
      std::perror("benchmark producer: send");
      std::exit(1);
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
  ::close(fd);
}

// Accepts one connection on a loopback port and reads it into `port` with
// the --listen connection reader (tcp_input.h) until the peer closes.
Task<absl::Status> ReadOneConnection(const std::string& text,
                                     std::unique_ptr<InputPort> port) {
  absl::StatusOr<net::TcpListener> listener =
      net::TcpListener::Bind("127.0.0.1:0");
  if (!listener.ok()) co_return listener.status();
  std::thread producer(SendOverLoopback, listener->LocalAddress().port(),
                       std::string_view(text));
  Task<absl::StatusOr<net::TcpStream>> accept = listener->Accept();
  absl::StatusOr<net::TcpStream> stream = co_await std::move(accept);
  listener->Close();
  if (!stream.ok()) {
    producer.join();
    (void)co_await port->Close();
    co_return stream.status();
  }
  Task<absl::Status> read = ReadTcpConnection(
      *std::move(stream), std::move(port), CancellationToken(), nullptr);
  const absl::Status status = co_await std::move(read);
  producer.join();
  co_return status;
}

Outcome RunPipeline(const Setup& setup, int shards, int workers,
                    Source source) {
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = workers});
  ActorSystem system(runtime, ActorSystemOptions{.watchdog = false});
  auto writer = std::make_shared<CountingWriter>();
  PipelineOptions options;
  options.window = setup.options.window;
  options.max_out_of_orderness_ms = setup.options.max_out_of_orderness_ms;
  options.allowed_lateness_ms = setup.options.allowed_lateness_ms;
  options.shards = shards;
  options.results = writer;
  Outcome out;
  const absl::Status status = runtime.BlockOn([&]() -> Task<absl::Status> {
    Pipeline pipeline(system, options);
    Task<absl::StatusOr<std::unique_ptr<InputPort>>> open =
        pipeline.OpenInput("bench");
    absl::StatusOr<std::unique_ptr<InputPort>> port = co_await std::move(open);
    if (!port.ok()) co_return port.status();
    co_await pipeline.NoMoreInputs();
    if (source == Source::kTcp) {
      Task<absl::Status> read =
          ReadOneConnection(setup.ndjson, *std::move(port));
      const absl::Status fed = co_await std::move(read);
      if (!fed.ok()) co_return fed;
    } else if (source == Source::kNdjson) {
      const std::string_view text = setup.ndjson;
      constexpr size_t kChunk = size_t{256} << 10;
      for (size_t at = 0; at < text.size(); at += kChunk) {
        const absl::Status fed =
            co_await (*port)->FeedText(text.substr(at, kChunk));
        if (!fed.ok()) co_return fed;
      }
      const absl::Status closed = co_await (*port)->Close();
      if (!closed.ok()) co_return closed;
    } else {
      Task<absl::Status> generate =
          RunGenerator(*std::move(port), setup.generator, pipeline.stop());
      const absl::Status generated = co_await std::move(generate);
      if (!generated.ok()) co_return generated;
    }
    co_return co_await pipeline.Finished();
  }());
  system.BlockingShutdown(std::chrono::seconds(10));
  if (!status.ok()) {
    std::fprintf(stderr, "pipeline failed: %s\n", status.ToString().c_str());
    std::exit(1);
  }
  out.lines = writer->lines();
  out.bytes = writer->bytes();
  return out;
}

// Warm-up, then `runs` runs; the median events/s. Checks every run's
// output against `expected` (when given).
template <typename F>
double MedianRate(const char* name, int64_t events, int runs, F run,
                  Outcome* expected) {
  std::vector<double> rates;
  std::vector<double> cpu_ns;
  for (int i = 0; i <= runs; ++i) {
    const Outcome out = Timed(run);
    if (expected->lines == 0) *expected = out;
    if (out.lines != expected->lines || out.bytes != expected->bytes) {
      std::fprintf(stderr,
                   "SELF-CHECK FAILED: %s wrote %llu lines / %llu bytes, "
                   "expected %llu / %llu\n",
                   name, static_cast<unsigned long long>(out.lines),
                   static_cast<unsigned long long>(out.bytes),
                   static_cast<unsigned long long>(expected->lines),
                   static_cast<unsigned long long>(expected->bytes));
      std::exit(1);
    }
    if (i == 0) continue;  // the warm-up
    rates.push_back(static_cast<double>(events) / out.seconds);
    cpu_ns.push_back(out.cpu_seconds * 1e9 / static_cast<double>(events));
  }
  std::sort(rates.begin(), rates.end());
  std::sort(cpu_ns.begin(), cpu_ns.end());
  const double median = rates[rates.size() / 2];
  std::printf(
      "%-34s %8.3f Mevents/s  %6.0f ns CPU/event  (%llu result lines)\n", name,
      median / 1e6, cpu_ns[cpu_ns.size() / 2],
      static_cast<unsigned long long>(expected->lines));
  std::fflush(stdout);
  return median;
}

int Main() {
  Setup setup;
  setup.generator.events = absl::GetFlag(FLAGS_events);
  setup.generator.keys = absl::GetFlag(FLAGS_keys);
  setup.generator.events_per_ms = absl::GetFlag(FLAGS_events_per_ms);
  setup.generator.disorder_ms = absl::GetFlag(FLAGS_disorder_ms);
  setup.options.window = WindowSpec::Tumbling(10'000);
  setup.options.max_out_of_orderness_ms = setup.generator.disorder_ms;
  const int runs = std::max(1, absl::GetFlag(FLAGS_runs));
  const int workers = absl::GetFlag(FLAGS_worker_threads);
  const int64_t events = setup.generator.events;
  std::vector<int> shard_counts;
  for (absl::string_view s :
       absl::StrSplit(absl::GetFlag(FLAGS_shards), ',', absl::SkipEmpty())) {
    int n = 0;
    if (!absl::SimpleAtoi(s, &n) || n < 1) {
      std::fprintf(stderr, "bad --shards\n");
      return 1;
    }
    shard_counts.push_back(n);
  }
  std::printf(
      "tumbling:10s, %lld events, %d keys, %lld events/ms, %lld ms "
      "disorder; pipeline on %d workers; median of %d runs\n",
      static_cast<long long>(events), setup.generator.keys,
      static_cast<long long>(setup.generator.events_per_ms),
      static_cast<long long>(setup.generator.disorder_ms), workers, runs);

  std::printf(
      "bars: generator pipeline >= 1.6x its baseline; tcp >= 1 Mevents/s\n");
  const bool with_baseline = absl::GetFlag(FLAGS_baseline);
  // The pipeline's rows for one source, each checked against `expected`.
  auto pipeline_rows = [&](const char* label, Source source, Outcome* expected,
                           double baseline_rate) {
    for (int shards : shard_counts) {
      const std::string name = std::string(label) + ": pipeline, " +
                               std::to_string(shards) + " shards";
      const double rate = MedianRate(
          name.c_str(), events, runs,
          [&] { return RunPipeline(setup, shards, workers, source); },
          expected);
      if (baseline_rate > 0) {
        std::printf("%-34s %8.2fx the baseline\n", "", rate / baseline_rate);
      }
    }
  };
  Outcome expected;
  const double baseline =
      with_baseline ? MedianRate(
                          "generator: baseline (1 thread)", events, runs,
                          [&] { return BaselineGenerator(setup); }, &expected)
                    : 0;
  pipeline_rows("generator", Source::kGenerator, &expected, baseline);

  const bool ndjson = absl::GetFlag(FLAGS_ndjson);
  const bool tcp = absl::GetFlag(FLAGS_tcp);
  if (!ndjson && !tcp) return 0;
  setup.ndjson = GenerateNdjson(setup.generator);
  Outcome expected_ndjson;
  const double ndjson_baseline =
      with_baseline
          ? MedianRate(
                "ndjson: baseline (1 thread)", events, runs,
                [&] { return BaselineNdjson(setup); }, &expected_ndjson)
          : 0;
  if (ndjson) {
    pipeline_rows("ndjson", Source::kNdjson, &expected_ndjson, ndjson_baseline);
  }
  if (tcp)
    pipeline_rows("tcp", Source::kTcp, &expected_ndjson, ndjson_baseline);
  return 0;
}

}  // namespace
}  // namespace troupe::aggregator

int main(int argc, char** argv) {
  (void)troupe::ParseFlags(argc, argv);  // --help exits 0
  return troupe::aggregator::Main();
}

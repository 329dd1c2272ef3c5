// Throughput of the stream aggregator's deterministic core, single-threaded:
// the NDJSON event parser (against protobuf's JSON parser, the reference),
// the window engine on pre-parsed events, and the whole sequential driver
// (parse, watermark, engine, output formatting).
//
//   bazel run --config=bench //bench:aggregator_benchmark
//
// The stream: 1000 keys, one event per millisecond of event time, up to
// 200 ms of disorder and 1% stragglers up to 5 s late; values mostly
// normal. items_per_second is events per second.

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "benchmark/benchmark.h"
#include "examples/stream_aggregator/aggregator.h"
#include "examples/stream_aggregator/event_parser.h"
#include "examples/stream_aggregator/sequential_driver.h"
#include "examples/stream_aggregator/window_spec.h"
#include "google/protobuf/util/json_util.h"
#include "proto/aggregator.pb.h"

namespace troupe::aggregator {
namespace {

constexpr int kEvents = 200'000;

struct Stream {
  std::vector<std::string> keys;
  std::vector<EventView> events;  // keys point into `keys`
  std::vector<std::string> lines;
  std::string ndjson;
};

const Stream& TheStream() {
  static const Stream* stream = [] {
    auto* s = new Stream;
    std::mt19937_64 rng(7);
    std::normal_distribution<double> value(20, 5);
    for (int k = 0; k < 1000; ++k)
      s->keys.push_back("sensor-" + std::to_string(k));
    const int64_t base = 1'764'288'000'000;
    for (int i = 0; i < kEvents; ++i) {
      int64_t ts = base + i - static_cast<int64_t>(rng() % 200);
      if (rng() % 100 == 0) ts -= static_cast<int64_t>(rng() % 5'000);
      const std::string& key = s->keys[rng() % s->keys.size()];
      const double v = value(rng);
      s->events.push_back({key, ts, v});
      // Alternate the canonical form (string timestamp) and plain numbers.
      char line[160];
      if (i % 2 == 0) {
        std::snprintf(line, sizeof(line),
                      "{\"key\":\"%s\",\"tsMs\":\"%lld\",\"value\":%.3f}",
                      key.c_str(), static_cast<long long>(ts), v);
      } else {
        std::snprintf(line, sizeof(line),
                      "{\"key\": \"%s\", \"ts_ms\": %lld, \"value\": %.6g}",
                      key.c_str(), static_cast<long long>(ts), v);
      }
      s->lines.emplace_back(line);
      s->ndjson += line;
      s->ndjson += '\n';
    }
    return s;
  }();
  return *stream;
}

void BM_ParseEvent(benchmark::State& state) {
  const Stream& stream = TheStream();
  EventParser parser;
  EventView event;
  size_t i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    const std::string& line = stream.lines[i];
    benchmark::DoNotOptimize(parser.Parse(line, &event));
    benchmark::DoNotOptimize(event);
    bytes += static_cast<int64_t>(line.size());
    if (++i == stream.lines.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_ParseEvent);

void BM_ParseEventProtobufReference(benchmark::State& state) {
  const Stream& stream = TheStream();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  Event event;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(google::protobuf::util::JsonStringToMessage(
                                 stream.lines[i], &event, options)
                                 .ok());
    if (++i == stream.lines.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseEventProtobufReference);

// The engine alone: every event with the watermark before it, then the
// watermark after it, as the driver does.
void EngineBenchmark(benchmark::State& state, const char* spec_text,
                     int64_t max_ooo_ms, int64_t lateness_ms) {
  const Stream& stream = TheStream();
  const WindowSpec spec = *ParseWindowSpec(spec_text);
  int64_t results = 0;
  for (auto _ : state) {
    KeyedWindowEngine engine({spec, lateness_ms},
                             [&](const WindowResult&) { ++results; });
    int64_t max_ts = kNoWatermark;
    int64_t watermark = kNoWatermark;
    for (const EventView& e : stream.events) {
      const EventOutcome outcome =
          engine.OnEvent(e.key, e.ts_ms, e.value, watermark);
      if (outcome != EventOutcome::kDroppedLate) {
        if (e.ts_ms > max_ts) max_ts = e.ts_ms;
        watermark = max_ts - max_ooo_ms;
        engine.OnWatermark(watermark);
      }
    }
    engine.Flush();
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(stream.events.size()));
  state.counters["lines_per_event"] = benchmark::Counter(
      static_cast<double>(results) /
      static_cast<double>(state.iterations() * stream.events.size()));
}

void BM_EngineTumbling10s(benchmark::State& state) {
  EngineBenchmark(state, "tumbling:10s", 200, 5'000);
}
BENCHMARK(BM_EngineTumbling10s)->Unit(benchmark::kMillisecond);

void BM_EngineSliding10sBy2s(benchmark::State& state) {
  EngineBenchmark(state, "sliding:10s/2s", 200, 5'000);
}
BENCHMARK(BM_EngineSliding10sBy2s)->Unit(benchmark::kMillisecond);

void BM_EngineSession2s(benchmark::State& state) {
  EngineBenchmark(state, "session:2s", 200, 5'000);
}
BENCHMARK(BM_EngineSession2s)->Unit(benchmark::kMillisecond);

// Everything: NDJSON text in, result lines out (the baseline the actor
// pipeline is measured against).
void SequentialBenchmark(benchmark::State& state, const char* spec_text) {
  const Stream& stream = TheStream();
  AggregatorOptions options;
  options.window = *ParseWindowSpec(spec_text);
  options.max_out_of_orderness_ms = 200;
  options.allowed_lateness_ms = 5'000;
  int64_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    SequentialAggregator aggregator(
        options,
        [&](std::string_view line) {
          bytes += static_cast<int64_t>(line.size());
        },
        [](std::string_view) {});
    const int input = aggregator.AddInput(0);
    SplitLines(stream.ndjson, [&](std::string_view line) {
      aggregator.OnLine(input, line, 0);
    });
    aggregator.Finish();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(stream.lines.size()));
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(stream.ndjson.size()));
}

void BM_SequentialTumbling10s(benchmark::State& state) {
  SequentialBenchmark(state, "tumbling:10s");
}
BENCHMARK(BM_SequentialTumbling10s)->Unit(benchmark::kMillisecond);

void BM_SequentialSliding10sBy2s(benchmark::State& state) {
  SequentialBenchmark(state, "sliding:10s/2s");
}
BENCHMARK(BM_SequentialSliding10sBy2s)->Unit(benchmark::kMillisecond);

void BM_SequentialSession2s(benchmark::State& state) {
  SequentialBenchmark(state, "session:2s");
}
BENCHMARK(BM_SequentialSession2s)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace troupe::aggregator

#include "tests/examples/stream_aggregator/pipeline_test_util.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "actors/actor.h"
#include "examples/stream_aggregator/output_writer.h"
#include "gtest/gtest.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator::testing {

std::vector<std::string> DisorderedStream(uint64_t seed, int events, int keys) {
  static const char* const kBadLines[] = {
      "{not an event}",
      R"({"key":"k","value":1})",
      R"({"key":7,"tsMs":1,"value":1})",
      R"({"key":"k","tsMs":1.5,"value":1})",
      "",
  };
  std::mt19937_64 rng(seed);
  std::vector<std::string> lines;
  int64_t t = 1'000'000;
  for (int i = 0; i < events; ++i) {
    t += static_cast<int64_t>(rng() % 200);
    int64_t ts = t + static_cast<int64_t>(rng() % 4'000) - 2'000;
    if (rng() % 25 == 0) ts = t - static_cast<int64_t>(rng() % 30'000);
    lines.push_back(EventLine("key" + std::to_string(rng() % keys), ts,
                              static_cast<double>(rng() % 10'000) / 100 - 20));
    if (rng() % 50 == 0) lines.emplace_back(kBadLines[rng() % 5]);
  }
  return lines;
}

LogFn LogCollector::Fn() {
  return [this](std::string_view message) {
    std::lock_guard<std::mutex> lock(mu_);
    messages_.emplace_back(message);
  };
}

std::vector<std::string> LogCollector::messages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return messages_;
}

PipelineOptions MakePipelineOptions(const AggregatorOptions& options,
                                    int shards,
                                    std::shared_ptr<OutputWriter> results,
                                    std::shared_ptr<OutputWriter> late) {
  PipelineOptions p;
  p.window = options.window;
  p.max_out_of_orderness_ms = options.max_out_of_orderness_ms;
  p.allowed_lateness_ms = options.allowed_lateness_ms;
  p.idle_timeout_ms = options.idle_timeout_ms;
  p.shards = shards;
  p.results = std::move(results);
  p.late = std::move(late);
  return p;
}

Task<absl::Status> RunOneInput(Pipeline& pipeline, InputFn input) {
  Task<absl::StatusOr<std::unique_ptr<InputPort>>> open =
      pipeline.OpenInput("feed");
  absl::StatusOr<std::unique_ptr<InputPort>> port = co_await std::move(open);
  if (!port.ok()) co_return port.status();
  co_await pipeline.NoMoreInputs();
  Task<absl::Status> run = input(*std::move(port), pipeline);
  const absl::Status ran = co_await std::move(run);
  if (!ran.ok()) co_return ran;
  co_return co_await pipeline.Finished();
}

PipelineRun RunPipeline(Runtime& runtime, std::string_view ndjson,
                        const AggregatorOptions& options,
                        const RunOptions& run) {
  auto results = std::make_shared<MemoryWriter>();
  auto late = std::make_shared<MemoryWriter>();
  LogCollector log;
  PipelineOptions pipeline_options =
      MakePipelineOptions(options, run.shards, results, late);
  pipeline_options.batch_events = run.batch_events;
  pipeline_options.log = log.Fn();
  pipeline_options.log_burst = run.log_burst;
  PipelineRun out;
  ActorSystem system(runtime, ActorSystemOptions{.watchdog = false});
  auto feed = [&](std::unique_ptr<InputPort> port,
                  Pipeline& /*pipeline*/) -> Task<absl::Status> {
    for (size_t at = 0; at < ndjson.size(); at += run.chunk_bytes) {
      const absl::Status fed =
          co_await port->FeedText(ndjson.substr(at, run.chunk_bytes));
      if (!fed.ok()) co_return fed;
    }
    co_return co_await port->Close();
  };
  runtime.BlockOn([&]() -> Task<void> {
    Pipeline pipeline(system, pipeline_options);
    Task<absl::Status> run_input = RunOneInput(pipeline, feed);
    out.status = co_await std::move(run_input);
    out.metrics = pipeline.Snapshot();
  }());
  system.BlockingShutdown(std::chrono::seconds(5));
  out.results = results->lines();
  out.late = late->lines();
  out.log = log.messages();
  return out;
}

std::vector<std::string> CanonicalOrder(std::vector<std::string> lines) {
  using Window = std::tuple<std::string, int64_t, int64_t>;
  std::vector<std::pair<Window, std::string>> keyed;
  keyed.reserve(lines.size());
  for (std::string& line : lines) {
    const ResultLine r = ReadResultLine(line);
    keyed.emplace_back(Window{r.key, r.start, r.end}, std::move(line));
  }
  std::stable_sort(
      keyed.begin(), keyed.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  out.reserve(keyed.size());
  for (auto& [window, line] : keyed) out.push_back(std::move(line));
  return out;
}

void ExpectSameCounters(const MetricsSnapshot& pipeline,
                        const Counters& sequential) {
  EXPECT_EQ(pipeline.on_time, sequential.on_time);
  EXPECT_EQ(pipeline.late_accepted, sequential.late_accepted);
  EXPECT_EQ(pipeline.late_dropped, sequential.late_dropped);
  EXPECT_EQ(pipeline.bad_lines, sequential.bad_lines());
  for (int r = 1; r < kParseErrorCount; ++r) {
    EXPECT_EQ(pipeline.bad[r], sequential.bad[r])
        << ParseErrorToken(static_cast<ParseError>(r));
  }
}

}  // namespace troupe::aggregator::testing

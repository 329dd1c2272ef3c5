// Helpers for the tests of the stream aggregator's actor pipeline: a
// disordered input stream, a one-input run of the pipeline, and the
// canonical order in which two outputs are compared.
//
// Canonical order. Rule 5: "Lines of one window appear in revision order;
// different windows may interleave." With several shards the pipeline
// interleaves windows differently from the sequential driver (and from run
// to run), so outputs are compared after a STABLE sort by (key,
// windowStartMs, windowEndMs): that moves lines of different windows past
// each other - which the rule allows - and never reorders the lines of one
// window, so the revision order is still checked.
//
// Example:
//   PipelineRun run = RunPipeline(runtime, text, options, {.shards = 3});
//   EXPECT_EQ(CanonicalOrder(run.results),
//             CanonicalOrder(RunSequential(text, options).results));

#ifndef TROUPE_TESTS_EXAMPLES_STREAM_AGGREGATOR_PIPELINE_TEST_UTIL_H_
#define TROUPE_TESTS_EXAMPLES_STREAM_AGGREGATOR_PIPELINE_TEST_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "examples/stream_aggregator/pipeline.h"
#include "examples/stream_aggregator/pipeline_metrics.h"
#include "examples/stream_aggregator/sequential_driver.h"
#include "executor/runtime.h"
#include "executor/task.h"

namespace troupe::aggregator::testing {

// `events` events over `keys` keys: up to 2 s of disorder, one in 25 events
// up to 30 s late, and one bad line (of various reasons) in about 50.
std::vector<std::string> DisorderedStream(uint64_t seed, int events, int keys);

// Collects log messages; thread-safe.
class LogCollector {
 public:
  LogFn Fn();
  std::vector<std::string> messages() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> messages_;  // guarded by mu_
};

struct RunOptions {
  int shards = 1;
  size_t chunk_bytes = 4096;  // FeedText chunk size
  size_t batch_events = 1024;
  int log_burst = 10;
};

struct PipelineRun {
  std::vector<std::string> results;
  std::vector<std::string> late;
  std::vector<std::string> log;
  MetricsSnapshot metrics;
  absl::Status status;
};

// What a test's input does with its port; it must close the port.
using InputFn = std::function<Task<absl::Status>(
    std::unique_ptr<InputPort> port, Pipeline& pipeline)>;

// Opens one input named "feed" on `pipeline`, seals the inputs, runs
// `input`, and waits for the end of the run; returns the first error.
Task<absl::Status> RunOneInput(Pipeline& pipeline, InputFn input);

// Feeds `ndjson` as one input named "feed" through a fresh pipeline on
// `runtime` and waits for the end of the run.
PipelineRun RunPipeline(Runtime& runtime, std::string_view ndjson,
                        const AggregatorOptions& options,
                        const RunOptions& run);

// Pipeline options for `options`, writing to `results` and `late`.
PipelineOptions MakePipelineOptions(const AggregatorOptions& options,
                                    int shards,
                                    std::shared_ptr<OutputWriter> results,
                                    std::shared_ptr<OutputWriter> late);

// Stable sort by (key, windowStartMs, windowEndMs); see the file comment.
std::vector<std::string> CanonicalOrder(std::vector<std::string> lines);

// The counters the pipeline shares with the sequential driver are equal.
void ExpectSameCounters(const MetricsSnapshot& pipeline,
                        const Counters& sequential);

}  // namespace troupe::aggregator::testing

#endif  // TROUPE_TESTS_EXAMPLES_STREAM_AGGREGATOR_PIPELINE_TEST_UTIL_H_

// The actor pipeline emits exactly the sequential driver's lines (rule 3,
// one input), for every window kind, with disorder and lateness, for 1 to 4
// shards, on both runtime flavours. With several shards lines of different
// windows may interleave differently (rule 5), so those runs are compared
// in canonical order (pipeline_test_util.h); with one shard the order is
// the sequential order itself.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/actor.h"
#include "examples/stream_aggregator/event_generator.h"
#include "examples/stream_aggregator/output_writer.h"
#include "examples/stream_aggregator/pipeline.h"
#include "examples/stream_aggregator/sequential_driver.h"
#include "gtest/gtest.h"
#include "tests/examples/stream_aggregator/pipeline_test_util.h"
#include "tests/examples/stream_aggregator/test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::aggregator {
namespace {

using testing::CanonicalOrder;
using testing::RunPipeline;

template <typename F>
class PipelineEquivalenceTest : public ::testing::Test {
 protected:
  // Runs `text` through the pipeline with 1..4 shards (and small batches and
  // chunks, so that lines span chunks and batches split) and compares each
  // run with the sequential driver.
  void ExpectPipelineEqualsSequential(const std::string& text,
                                      const AggregatorOptions& options) {
    const SequentialOutput sequential = RunSequential(text, options);
    ASSERT_GT(sequential.results.size(), 100u);
    ASSERT_GT(sequential.counters.late_accepted, 0u);
    ASSERT_GT(sequential.counters.late_dropped, 0u);
    ASSERT_GT(sequential.counters.bad_lines(), 0u);
    const std::vector<std::string> expected =
        CanonicalOrder(sequential.results);
    for (int shards = 1; shards <= 4; ++shards) {
      SCOPED_TRACE(::testing::Message() << shards << " shards");
      const testing::PipelineRun run =
          RunPipeline(runtime_, text, options,
                      {.shards = shards,
                       .chunk_bytes = 997,
                       .batch_events = static_cast<size_t>(5 + 30 * shards)});
      ASSERT_TRUE(run.status.ok()) << run.status;
      EXPECT_EQ(CanonicalOrder(run.results), expected);
      if (shards == 1) {
        EXPECT_EQ(run.results, sequential.results);
      }
      EXPECT_EQ(run.late, sequential.late);  // one router: input order
      testing::ExpectSameCounters(run.metrics, sequential.counters);
      EXPECT_EQ(run.metrics.results_written, sequential.results.size());
      EXPECT_EQ(run.metrics.inputs.at(0).lines, sequential.counters.lines);
    }
  }

  // The same for a disordered stream of 3,000 events over 13 keys.
  void ExpectStreamMatches(uint64_t seed, const AggregatorOptions& options) {
    ExpectPipelineEqualsSequential(testing::Lines(testing::DisorderedStream(
                                       testing::TestSeed(seed), 3'000, 13)),
                                   options);
  }

  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(PipelineEquivalenceTest, test::RuntimeFlavours);

TYPED_TEST(PipelineEquivalenceTest,
           TumblingWindowsWithDisorderAndLatenessMatchTheSequentialDriver) {
  this->ExpectStreamMatches(81, testing::Options("tumbling:5s", 1'000, 10'000));
}

TYPED_TEST(PipelineEquivalenceTest,
           SlidingWindowsWithDisorderAndLatenessMatchTheSequentialDriver) {
  this->ExpectStreamMatches(82, testing::Options("sliding:6s/2s", 500, 4'000));
}

TYPED_TEST(PipelineEquivalenceTest,
           SessionWindowsWithDisorderAndLatenessMatchTheSequentialDriver) {
  this->ExpectStreamMatches(83,
                            testing::Options("session:700ms", 1'000, 20'000));
}

TYPED_TEST(PipelineEquivalenceTest,
           WithoutOutOfOrdernessEveryDisorderedEventIsLateYetTheLinesMatch) {
  this->ExpectStreamMatches(84, testing::Options("tumbling:3s", 0, 2'000));
}

// The generator through a port equals its own NDJSON through the driver.
TYPED_TEST(PipelineEquivalenceTest, TheGeneratorsEventsMatchItsNdjsonLines) {
  GeneratorOptions generator{.events = 20'000,
                             .keys = 50,
                             .disorder_ms = 40,
                             .seed = testing::TestSeed(85),
                             .events_per_ms = 5};
  AggregatorOptions options = testing::Options("tumbling:1s", 30, 0);
  const SequentialOutput sequential =
      RunSequential(GenerateNdjson(generator), options);
  ASSERT_GT(sequential.counters.late_dropped, 0u);
  for (int shards : {1, 3}) {
    auto results = std::make_shared<MemoryWriter>();
    auto late = std::make_shared<MemoryWriter>();
    ActorSystem system(this->runtime_, ActorSystemOptions{.watchdog = false});
    const absl::Status status =
        this->runtime_.BlockOn([&]() -> Task<absl::Status> {
          Pipeline pipeline(system, testing::MakePipelineOptions(
                                        options, shards, results, late));
          Task<absl::Status> run = testing::RunOneInput(
              pipeline, [&](std::unique_ptr<InputPort> port, Pipeline& p) {
                return RunGenerator(std::move(port), generator, p.stop());
              });
          co_return co_await std::move(run);
        }());
    system.BlockingShutdown(std::chrono::seconds(5));
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(CanonicalOrder(results->lines()),
              CanonicalOrder(sequential.results))
        << shards << " shards";
    // Generated events have no line: their late lines are written in the
    // canonical JSON form, which is what GenerateNdjson printed.
    EXPECT_EQ(late->lines(), sequential.late);
  }
}

}  // namespace
}  // namespace troupe::aggregator

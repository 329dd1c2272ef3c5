// Bad input through the pipeline (rule 9): every bad line is counted by
// reason, reported with its input and line number (rate-limited), and
// skipped; nothing else is lost, and the final line without '\n' is still
// an event.

#include <string>
#include <vector>

#include "examples/stream_aggregator/sequential_driver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/examples/stream_aggregator/pipeline_test_util.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

using ::testing::ElementsAre;
using testing::EventLine;
using ::testing::HasSubstr;
using testing::RunPipeline;

class PipelineBadInputTest : public ::testing::Test {
 protected:
  Runtime runtime_{{.flavor = Flavor::kMultiThread, .worker_threads = 2}};
};

TEST_F(PipelineBadInputTest, BadLinesAreReportedWithTheirLineNumberAndSkipped) {
  const std::string text = testing::Lines({
      EventLine("a", 1'000, 1),
      "{not json",                              // line 2
      R"({"key":"a","value":2})",               // line 3
      R"({"key":"a","tsMs":"x","value":2})",    // line 4
      R"({"key":"a","tsMs":1.5,"value":2})",    // line 5
      R"({"key":"a","tsMs":2,"value":"NaN"})",  // line 6
      EventLine("a", 2'000, 3),
      R"({"key":"a","tsMs":3,"value":4} trailing)",  // line 8
  });
  const AggregatorOptions options = testing::Options("tumbling:10s");
  const testing::PipelineRun run =
      RunPipeline(runtime_, text, options, {.shards = 2, .chunk_bytes = 5});
  ASSERT_TRUE(run.status.ok()) << run.status;
  EXPECT_THAT(run.log,
              ElementsAre("input 'feed' line 2: malformed_json; skipped",
                          "input 'feed' line 3: missing_field; skipped",
                          "input 'feed' line 4: wrong_type; skipped",
                          "input 'feed' line 5: bad_timestamp; skipped",
                          "input 'feed' line 6: bad_value; skipped",
                          "input 'feed' line 8: malformed_json; skipped"));
  EXPECT_EQ(run.metrics.bad_lines, 6u);
  EXPECT_EQ(run.metrics.bad[static_cast<int>(ParseError::kMalformedJson)], 2u);
  EXPECT_EQ(run.metrics.inputs.at(0).lines, 8u);
  EXPECT_EQ(run.metrics.events, 2u);
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(testing::ReadResultLine(run.results[0]).count, 2u);
  testing::ExpectSameCounters(run.metrics,
                              RunSequential(text, options).counters);
}

TEST_F(PipelineBadInputTest, TheFinalLineWithoutANewlineIsStillAnEvent) {
  const std::string text =
      EventLine("a", 1'000, 1) + "\n" + EventLine("a", 2'000, 2);  // no '\n'
  const testing::PipelineRun run = RunPipeline(
      runtime_, text, testing::Options("tumbling:10s"), {.chunk_bytes = 7});
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(testing::ReadResultLine(run.results[0]).count, 2u);
  EXPECT_EQ(run.metrics.bad_lines, 0u);
}

TEST_F(PipelineBadInputTest, BadLinesNeverMoveTheWatermark) {
  // A bad line with a huge timestamp must not fire the open window.
  const std::string text = testing::Lines({
      EventLine("a", 1'000, 1),
      R"({"key":"a","tsMs":99999999,"value":"oops"})",
      EventLine("a", 2'000, 2),
  });
  const AggregatorOptions options = testing::Options("tumbling:10s");
  const testing::PipelineRun run = RunPipeline(runtime_, text, options, {});
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(testing::ReadResultLine(run.results[0]).count, 2u);
  EXPECT_EQ(run.metrics.late_dropped, 0u);
  EXPECT_EQ(run.metrics.watermark, 2'000);
}

TEST_F(PipelineBadInputTest, BadLineLogsAreRateLimitedButEveryOneIsCounted) {
  std::vector<std::string> lines(10, "garbage");
  lines.push_back(EventLine("a", 1'000, 1));
  const testing::PipelineRun run =
      RunPipeline(runtime_, testing::Lines(lines),
                  testing::Options("tumbling:10s"), {.log_burst = 3});
  EXPECT_EQ(run.metrics.bad_lines, 10u);
  ASSERT_EQ(run.log.size(), 4u);
  EXPECT_EQ(run.log[2], "input 'feed' line 3: malformed_json; skipped");
  EXPECT_EQ(run.log[3], "input 'feed': 7 more bad lines were not logged");
  EXPECT_EQ(run.results.size(), 1u);
}

TEST_F(PipelineBadInputTest, AnOverlongLineIsSkippedWithoutBeingKept) {
  const std::string huge(3 << 20, 'x');  // 3 MiB, over the 1 MiB limit
  const std::string text = EventLine("a", 1'000, 1) + "\n" + huge + "\n" +
                           EventLine("a", 2'000, 2) + "\n";
  const testing::PipelineRun run = RunPipeline(
      runtime_, text, testing::Options("tumbling:10s"), {.chunk_bytes = 65536});
  ASSERT_EQ(run.log.size(), 1u);
  EXPECT_THAT(run.log[0], HasSubstr("line 2: malformed_json (longer than"));
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(testing::ReadResultLine(run.results[0]).count, 2u);
}

}  // namespace
}  // namespace troupe::aggregator

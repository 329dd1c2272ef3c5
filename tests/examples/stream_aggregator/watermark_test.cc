// The watermark over several inputs with an idle timeout (rule 3).

#include "examples/stream_aggregator/watermark.h"

#include <cstdint>
#include <string>
#include <vector>

#include "examples/stream_aggregator/sequential_driver.h"
#include "gtest/gtest.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

using testing::EventLine;
using testing::Options;
using testing::ReadResultLine;

TEST(WatermarkTrackerTest,
     OneInputGivesTheLargestTimestampMinusOutOfOrderness) {
  WatermarkTracker tracker(1'000, kNeverIdle);
  const int in = tracker.AddInput(0);
  EXPECT_EQ(tracker.watermark(), kNoWatermark);
  tracker.OnEvent(in, 5'000, 0);
  EXPECT_EQ(tracker.watermark(), 4'000);
  tracker.OnEvent(in, 3'000, 0);
  EXPECT_EQ(tracker.watermark(), 4'000);
  tracker.OnEvent(in, 9'000, 0);
  EXPECT_EQ(tracker.watermark(), 8'000);
}

TEST(WatermarkTrackerTest, SeveralInputsGiveTheMinimumOverTheLiveOnes) {
  WatermarkTracker tracker(0, kNeverIdle);
  const int a = tracker.AddInput(0);
  const int b = tracker.AddInput(0);
  tracker.OnEvent(a, 10'000, 0);
  EXPECT_EQ(tracker.watermark(), kNoWatermark);  // b has said nothing
  tracker.OnEvent(b, 20'000, 0);
  EXPECT_EQ(tracker.watermark(), 10'000);
  tracker.OnEvent(b, 30'000, 0);
  EXPECT_EQ(tracker.watermark(), 10'000);
  tracker.OnEvent(a, 25'000, 0);
  EXPECT_EQ(tracker.watermark(), 25'000);
  tracker.OnEvent(a, 40'000, 0);
  EXPECT_EQ(tracker.watermark(), 30'000);
}

TEST(WatermarkTrackerTest, AnIdleInputStopsHoldingTheWatermarkBack) {
  WatermarkTracker tracker(0, /*idle_timeout_ms=*/5'000);
  const int a = tracker.AddInput(0);
  const int b = tracker.AddInput(0);
  tracker.OnEvent(a, 10'000, 1'000);
  tracker.OnEvent(b, 20'000, 1'000);
  EXPECT_EQ(tracker.watermark(), 10'000);
  tracker.OnEvent(b, 30'000, 5'999);  // a is quiet for 4999 ms: not idle
  EXPECT_EQ(tracker.watermark(), 10'000);
  tracker.OnEvent(b, 31'000, 6'000);  // 5000 ms: idle
  EXPECT_EQ(tracker.watermark(), 31'000);
}

TEST(WatermarkTrackerTest, TimePassingAloneReleasesAnIdleHolder) {
  WatermarkTracker tracker(0, 5'000);
  const int a = tracker.AddInput(0);
  const int b = tracker.AddInput(0);
  tracker.OnEvent(a, 10'000, 0);
  tracker.OnEvent(b, 20'000, 3'000);
  EXPECT_EQ(tracker.watermark(), 10'000);
  tracker.AdvanceTime(5'000);  // a idle, b not
  EXPECT_EQ(tracker.watermark(), 20'000);
}

TEST(WatermarkTrackerTest, AnInputThatNeverSpeaksIsReleasedByTheTimeout) {
  WatermarkTracker tracker(0, 5'000);
  const int a = tracker.AddInput(0);
  tracker.AddInput(0);
  tracker.OnEvent(a, 10'000, 1'000);
  EXPECT_EQ(tracker.watermark(), kNoWatermark);
  tracker.OnEvent(a, 11'000, 5'000);
  EXPECT_EQ(tracker.watermark(), 11'000);
}

TEST(WatermarkTrackerTest, AReturningInputHoldsItBackAgainButNeverMovesItBack) {
  WatermarkTracker tracker(0, 5'000);
  const int a = tracker.AddInput(0);
  const int b = tracker.AddInput(0);
  tracker.OnEvent(a, 10'000, 0);
  tracker.OnEvent(b, 50'000, 10'000);
  EXPECT_EQ(tracker.watermark(), 50'000);  // a idle
  tracker.OnEvent(a, 20'000, 11'000);      // a is back, behind
  EXPECT_EQ(tracker.watermark(), 50'000);
  tracker.OnEvent(b, 70'000, 11'000);
  EXPECT_EQ(tracker.watermark(), 50'000);  // a holds it now
  tracker.OnEvent(a, 60'000, 12'000);
  EXPECT_EQ(tracker.watermark(), 60'000);
}

TEST(WatermarkTrackerTest, WhenEveryInputIsIdleTheWatermarkStays) {
  WatermarkTracker tracker(0, 5'000);
  const int a = tracker.AddInput(0);
  const int b = tracker.AddInput(0);
  tracker.OnEvent(a, 10'000, 0);
  tracker.OnEvent(b, 20'000, 0);
  tracker.AdvanceTime(100'000);
  EXPECT_EQ(tracker.watermark(), 10'000);
  tracker.OnEvent(b, 30'000, 100'000);
  EXPECT_EQ(tracker.watermark(), 30'000);
}

TEST(WatermarkTrackerTest, AClosedInputNoLongerHoldsTheWatermark) {
  WatermarkTracker tracker(0, kNeverIdle);
  const int a = tracker.AddInput(0);
  const int b = tracker.AddInput(0);
  tracker.OnEvent(a, 10'000, 0);
  tracker.OnEvent(b, 20'000, 0);
  tracker.RemoveInput(a, 0);
  EXPECT_EQ(tracker.watermark(), 20'000);
  tracker.RemoveInput(b, 0);
  EXPECT_EQ(tracker.watermark(), 20'000);
}

TEST(WatermarkTrackerTest, ManyBalancedInputsTrackTheSlowestOne) {
  WatermarkTracker tracker(100, kNeverIdle);
  std::vector<int> inputs;
  inputs.reserve(50);
  for (int i = 0; i < 50; ++i) inputs.push_back(tracker.AddInput(0));
  int64_t expected = kNoWatermark;
  for (int64_t round = 1; round <= 100; ++round) {
    for (int i = 0; i < 50; ++i) {
      tracker.OnEvent(inputs[i], round * 1'000 + i, 0);
      // The slowest input is the next one to speak, or input 0 after a
      // full round.
      const int64_t slowest =
          i == 49 ? round * 1'000 : (round - 1) * 1'000 + i + 1;
      expected = round == 1 && i < 49 ? kNoWatermark : slowest - 100;
      ASSERT_EQ(tracker.watermark(), expected) << round << " " << i;
    }
  }
}

// Through the driver: two inputs, windows fire only when both have passed.
TEST(WatermarkTrackerTest, WindowsFireWhenTheSlowestLiveInputPassesTheirEnd) {
  AggregatorOptions options = Options("tumbling:10s");
  options.idle_timeout_ms = 5'000;
  std::vector<std::string> results;
  SequentialAggregator aggregator(
      options, [&](std::string_view line) { results.emplace_back(line); },
      [](std::string_view) {});
  const int fast = aggregator.AddInput(0);
  const int slow = aggregator.AddInput(0);
  aggregator.OnLine(fast, EventLine("a", 1'000, 1), 0);
  aggregator.OnLine(slow, EventLine("b", 2'000, 1), 0);
  aggregator.OnLine(fast, EventLine("a", 15'000, 1), 1'000);
  EXPECT_TRUE(results.empty());  // slow is at 2000
  aggregator.OnLine(slow, EventLine("b", 12'000, 1), 2'000);
  ASSERT_EQ(results.size(), 2u);  // both passed 10000
  EXPECT_EQ(ReadResultLine(results[0]).key, "a");
  EXPECT_EQ(ReadResultLine(results[1]).key, "b");
  // slow goes quiet; after the idle timeout fast alone drives it.
  aggregator.OnLine(fast, EventLine("a", 25'000, 1), 6'000);
  EXPECT_EQ(results.size(), 2u);
  aggregator.AdvanceTime(7'000);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(aggregator.watermark(), 25'000);
}

}  // namespace
}  // namespace troupe::aggregator

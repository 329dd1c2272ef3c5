// Tumbling and sliding windows (rule 1): which windows an event belongs to,
// when they fire (rule 5), and that fired windows are freed.

#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "examples/stream_aggregator/aggregator.h"
#include "examples/stream_aggregator/sequential_driver.h"
#include "gtest/gtest.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

using testing::EventLine;
using testing::Options;
using testing::ResultLine;
using testing::RunByStep;

using Span = std::tuple<std::string, int64_t, int64_t, uint64_t>;

// (key, start, end, count) of every line, as a set.
std::set<Span> Spans(const std::vector<ResultLine>& lines) {
  std::set<Span> spans;
  for (const ResultLine& l : lines)
    spans.insert({l.key, l.start, l.end, l.count});
  return spans;
}

TEST(AlignedWindowsTest, TumblingWindowsAreHalfOpenIntervals) {
  const auto out = RunByStep({EventLine("a", 0, 1), EventLine("a", 9'999, 2),
                              EventLine("a", 10'000, 3)},
                             Options("tumbling:10s"));
  EXPECT_EQ(Spans(out.All()),
            (std::set<Span>{{"a", 0, 10'000, 2}, {"a", 10'000, 20'000, 1}}));
}

TEST(AlignedWindowsTest, NegativeTimestampsAreFlooredNotTruncated) {
  const auto out =
      RunByStep({EventLine("a", -10'001, 1), EventLine("a", -10'000, 1),
                 EventLine("a", -1, 1), EventLine("a", 0, 1)},
                Options("tumbling:10s"));
  EXPECT_EQ(Spans(out.All()), (std::set<Span>{{"a", -20'000, -10'000, 1},
                                              {"a", -10'000, 0, 2},
                                              {"a", 0, 10'000, 1}}));
}

TEST(AlignedWindowsTest, ASlidingEventBelongsToSizeOverSlideWindows) {
  const auto out =
      RunByStep({EventLine("a", 12'345, 1)}, Options("sliding:10s/2s"));
  EXPECT_EQ(Spans(out.All()), (std::set<Span>{{"a", 4'000, 14'000, 1},
                                              {"a", 6'000, 16'000, 1},
                                              {"a", 8'000, 18'000, 1},
                                              {"a", 10'000, 20'000, 1},
                                              {"a", 12'000, 22'000, 1}}));
}

TEST(AlignedWindowsTest, SlidingWindowsOverlapAndCountSharedEvents) {
  const auto out =
      RunByStep({EventLine("a", 1'000, 1), EventLine("a", 3'000, 10),
                 EventLine("a", 5'000, 100)},
                Options("sliding:4s/2s"));
  EXPECT_EQ(Spans(out.All()), (std::set<Span>{{"a", -2'000, 2'000, 1},
                                              {"a", 0, 4'000, 2},
                                              {"a", 2'000, 6'000, 2},
                                              {"a", 4'000, 8'000, 1}}));
  for (const ResultLine& l : out.All()) {
    if (l.start == 2'000) {
      EXPECT_EQ(l.sum, 110);
    }
  }
}

TEST(AlignedWindowsTest,
     SlidingWindowsOfNegativeTimestampsStartOnSlideMultiples) {
  const auto out = RunByStep({EventLine("a", -1, 1)}, Options("sliding:6s/2s"));
  EXPECT_EQ(Spans(out.All()), (std::set<Span>{{"a", -6'000, 0, 1},
                                              {"a", -4'000, 2'000, 1},
                                              {"a", -2'000, 4'000, 1}}));
}

TEST(AlignedWindowsTest, AnEventAtAWindowEndBelongsToTheNextWindowOnly) {
  const auto out =
      RunByStep({EventLine("a", 4'000, 1)}, Options("sliding:4s/2s"));
  EXPECT_EQ(Spans(out.All()),
            (std::set<Span>{{"a", 2'000, 6'000, 1}, {"a", 4'000, 8'000, 1}}));
}

TEST(AlignedWindowsTest, KeysHaveSeparateWindows) {
  const auto out = RunByStep(
      {EventLine("a", 1, 1), EventLine("b", 2, 2), EventLine("a", 3, 3)},
      Options("tumbling:10s"));
  EXPECT_EQ(Spans(out.All()),
            (std::set<Span>{{"a", 0, 10'000, 2}, {"b", 0, 10'000, 1}}));
}

TEST(AlignedWindowsTest, AWindowFiresAsSoonAsTheWatermarkReachesItsEnd) {
  const auto out =
      RunByStep({EventLine("a", 1'000, 1), EventLine("a", 9'999, 2),
                 EventLine("b", 10'000, 3), EventLine("a", 25'000, 4)},
                Options("tumbling:10s"));
  ASSERT_EQ(out.results.size(), 5u);
  EXPECT_TRUE(out.results[0].empty());
  EXPECT_TRUE(out.results[1].empty());
  // The watermark reaches 10000 after the third event: [0,10000) fires.
  ASSERT_EQ(out.results[2].size(), 1u);
  EXPECT_EQ(out.results[2][0].key, "a");
  EXPECT_EQ(out.results[2][0].end, 10'000);
  EXPECT_EQ(out.results[2][0].count, 2u);
  EXPECT_EQ(out.results[2][0].revision, 0);
  // 25000 passes [10000,20000) of b.
  ASSERT_EQ(out.results[3].size(), 1u);
  EXPECT_EQ(out.results[3][0].key, "b");
  // The end of input flushes a's [20000,30000).
  ASSERT_EQ(out.results[4].size(), 1u);
  EXPECT_EQ(out.results[4][0].start, 20'000);
}

TEST(AlignedWindowsTest, MaxOutOfOrdernessHoldsWindowsOpen) {
  const auto out =
      RunByStep({EventLine("a", 1'000, 1), EventLine("a", 14'999, 2),
                 EventLine("a", 9'999, 3), EventLine("a", 15'000, 4)},
                Options("tumbling:10s", /*max_ooo_ms=*/5'000));
  // The watermark is 9999 after 14999, so 9999 is on time and joins
  // [0,10000), which fires when 15000 lifts the watermark to 10000.
  EXPECT_TRUE(out.results[2].empty());
  ASSERT_EQ(out.results[3].size(), 1u);
  EXPECT_EQ(out.results[3][0].count, 2u);
  EXPECT_EQ(out.results[3][0].sum, 4);
  EXPECT_EQ(out.counters.late_accepted, 0u);
}

TEST(AlignedWindowsTest, AResultLineCarriesEveryAggregate) {
  const auto out = RunByStep({EventLine("a", 1, 4), EventLine("a", 2, -2),
                              EventLine("a", 3, 10), EventLine("a", 4, 0)},
                             Options("tumbling:10s"));
  ASSERT_EQ(out.All().size(), 1u);
  const ResultLine l = out.All()[0];
  EXPECT_EQ(l.count, 4u);
  EXPECT_EQ(l.sum, 12);
  EXPECT_EQ(l.min, -2);
  EXPECT_EQ(l.max, 10);
  EXPECT_EQ(l.mean, 3);
  EXPECT_EQ(l.p50, 0);  // rank 2 of {-2, 0, 4, 10}
  EXPECT_NEAR(l.p90, 10, 0.1);
  EXPECT_NEAR(l.p99, 10, 0.1);
}

TEST(AlignedWindowsTest, FiredWindowsAreFreedSoMemoryStaysBounded) {
  std::vector<WindowResult> results;
  KeyedWindowEngine engine(
      EngineOptions{WindowSpec::Sliding(10'000, 1'000), 5'000},
      [&](const WindowResult& r) { results.push_back(r); });
  size_t peak = 0;
  int64_t watermark = kNoWatermark;
  for (int64_t ts = 0; ts < 1'000'000; ts += 7) {
    engine.OnEvent("k" + std::to_string(ts % 13), ts, 1.0, watermark);
    watermark = ts;
    engine.OnWatermark(watermark);
    peak = std::max(peak, engine.live_windows());
  }
  // Open windows of 13 keys: size / slide + allowed_lateness / slide + 1.
  EXPECT_LE(peak, 13u * (10 + 5 + 1));
  EXPECT_GT(results.size(), 12'000u);
}

}  // namespace
}  // namespace troupe::aggregator

// The watermark, lateness and firing rules 3-6 with one input.

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
using testing::ResultLine;
using testing::RunByStep;

TEST(LatenessTest, TheWatermarkIsUpdatedAfterEachEventNotBefore) {
  // 10000 lifts the watermark to 10000 only after it is placed, so it is
  // on time; 9999 then is late.
  const auto out =
      RunByStep({EventLine("a", 5'000, 1), EventLine("a", 10'000, 1),
                 EventLine("a", 9'999, 1)},
                Options("tumbling:10s"));
  EXPECT_EQ(out.counters.on_time, 2u);
  EXPECT_EQ(out.counters.late_dropped, 1u);
}

TEST(LatenessTest, AnEventExactlyAtTheWatermarkIsNotLate) {
  const auto out =
      RunByStep({EventLine("a", 15'000, 1), EventLine("a", 12'000, 1)},
                Options("tumbling:10s", /*max_ooo_ms=*/3'000));
  EXPECT_EQ(out.counters.on_time, 2u);
  EXPECT_EQ(out.counters.late_accepted + out.counters.late_dropped, 0u);
}

TEST(LatenessTest, ALateEventBeyondAllowedLatenessIsDroppedAndWrittenVerbatim) {
  const std::string late = R"({ "value":7, "tsMs": "1000", "key":"a" })";
  const auto out =
      RunByStep({EventLine("a", 500, 1), EventLine("a", 12'000, 1), late},
                Options("tumbling:10s", 0, /*allowed_lateness_ms=*/10'999));
  // watermark 12000 - 1000 = 11000 > 10999.
  EXPECT_EQ(out.counters.late_dropped, 1u);
  EXPECT_EQ(out.late, std::vector<std::string>{late});
  EXPECT_TRUE(out.results[2].empty());
  for (const ResultLine& l : out.All()) EXPECT_EQ(l.revision, 0);
}

TEST(LatenessTest, AnEventExactlyAllowedLatenessBehindIsAccepted) {
  const auto out =
      RunByStep({EventLine("a", 500, 1), EventLine("a", 12'000, 1),
                 EventLine("a", 1'000, 1)},
                Options("tumbling:10s", 0, /*allowed_lateness_ms=*/11'000));
  EXPECT_EQ(out.counters.late_accepted, 1u);
  EXPECT_EQ(out.counters.late_dropped, 0u);
}

TEST(LatenessTest, ADroppedEventIsDroppedFromWindowsThatHaveNotFiredToo) {
  // sliding 10s/5s: 1000 belongs to [-5000,5000) (fired) and [0,10000)
  // (not fired at watermark 6001), but it is 5001 late with lateness 5000.
  const auto out =
      RunByStep({EventLine("a", 6'001, 1), EventLine("a", 1'000, 1)},
                Options("sliding:10s/5s", 0, /*allowed_lateness_ms=*/5'000));
  EXPECT_EQ(out.counters.late_dropped, 1u);
  for (const ResultLine& l : out.All()) EXPECT_EQ(l.count, 1u) << l;
}

TEST(LatenessTest, AnAcceptedLateEventReEmitsAFiredWindowAtOnce) {
  const auto out =
      RunByStep({EventLine("a", 1'000, 1), EventLine("a", 10'000, 5),
                 EventLine("a", 2'000, 2), EventLine("a", 3'000, 3)},
                Options("tumbling:10s", 0, /*allowed_lateness_ms=*/60'000));
  ASSERT_EQ(out.results[1].size(), 1u);
  EXPECT_EQ(out.results[1][0].revision, 0);
  EXPECT_EQ(out.results[1][0].count, 1u);
  ASSERT_EQ(out.results[2].size(), 1u);
  EXPECT_EQ(out.results[2][0].start, 0);
  EXPECT_EQ(out.results[2][0].revision, 1);
  EXPECT_EQ(out.results[2][0].count, 2u);
  ASSERT_EQ(out.results[3].size(), 1u);
  EXPECT_EQ(out.results[3][0].revision, 2);
  EXPECT_EQ(out.results[3][0].sum, 6);
  EXPECT_EQ(out.counters.late_accepted, 2u);
}

TEST(LatenessTest, ALateEventOpeningAPassedWindowFiresItAtOnceAsRevisionZero) {
  const auto out =
      RunByStep({EventLine("a", 25'000, 1), EventLine("b", 3'000, 2)},
                Options("tumbling:10s", 0, /*allowed_lateness_ms=*/60'000));
  ASSERT_EQ(out.results[1].size(), 1u);
  EXPECT_EQ(out.results[1][0].key, "b");
  EXPECT_EQ(out.results[1][0].start, 0);
  EXPECT_EQ(out.results[1][0].revision, 0);
}

TEST(LatenessTest, ALateEventInAWindowThatHasNotFiredWaitsForTheWatermark) {
  // sliding 10s/5s at watermark 12000: 4000 is late, [-5000,5000) and
  // [0,10000) have passed, but nothing of b was there: both fire at once.
  // a's late 11000 lands in [5000,15000) and [10000,20000), not fired.
  const auto out =
      RunByStep({EventLine("a", 12'000, 1), EventLine("b", 4'000, 1),
                 EventLine("a", 11'000, 1), EventLine("a", 15'000, 1)},
                Options("sliding:10s/5s", 0, /*allowed_lateness_ms=*/60'000));
  ASSERT_EQ(out.results[1].size(), 2u);
  EXPECT_EQ(out.results[1][0].start, -5'000);
  EXPECT_EQ(out.results[1][1].start, 0);
  EXPECT_TRUE(out.results[2].empty());
  ASSERT_EQ(out.results[3].size(), 1u);
  EXPECT_EQ(out.results[3][0].start, 5'000);
  EXPECT_EQ(out.results[3][0].count, 2u);
  EXPECT_EQ(out.results[3][0].revision, 0);
}

TEST(LatenessTest, LinesOfOneWindowComeInRevisionOrder) {
  std::vector<std::string> lines = {EventLine("a", 0, 0),
                                    EventLine("a", 10'000, 0)};
  for (int i = 1; i <= 20; ++i)
    lines.push_back(EventLine("a", int64_t{100} * i, i));
  const auto out = RunByStep(lines, Options("tumbling:10s", 0, 60'000));
  int64_t expected = 0;
  for (const ResultLine& l : out.All()) {
    if (l.start != 0) continue;
    EXPECT_EQ(l.revision, expected++);
    EXPECT_EQ(l.count, static_cast<uint64_t>(l.revision + 1));
  }
  EXPECT_EQ(expected, 21);
}

TEST(LatenessTest, AtEndOfInputOnlyWindowsWithUnemittedChangesFire) {
  const auto out =
      RunByStep({EventLine("a", 1'000, 1), EventLine("a", 15'000, 1),
                 EventLine("b", 2'000, 1), EventLine("c", 18'000, 1)},
                Options("tumbling:10s", 0, /*allowed_lateness_ms=*/60'000));
  // Flushed: [10000,20000) of a and of c, revision 0. Not again: [0,10000)
  // of a (fired at 15000) and of b (fired at once when it came late).
  const std::vector<ResultLine>& flushed = out.results.back();
  ASSERT_EQ(flushed.size(), 2u);
  EXPECT_EQ(flushed[0].key, "a");
  EXPECT_EQ(flushed[0].start, 10'000);
  EXPECT_EQ(flushed[0].revision, 0);
  EXPECT_EQ(flushed[1].key, "c");
  EXPECT_EQ(out.All().size(), 4u);
}

TEST(LatenessTest, AtEndOfInputAReEmittedWindowIsNotRepeated) {
  const auto out =
      RunByStep({EventLine("a", 1'000, 1), EventLine("a", 10'000, 1),
                 EventLine("a", 2'000, 1)},
                Options("tumbling:10s", 0, 60'000));
  ASSERT_EQ(out.results.back().size(), 1u);
  EXPECT_EQ(out.results.back()[0].start, 10'000);
}

TEST(LatenessTest, EmptyInputProducesNothing) {
  const SequentialOutput out = RunSequential("", Options("tumbling:10s"));
  EXPECT_TRUE(out.results.empty());
  EXPECT_EQ(out.counters.lines, 0u);
}

}  // namespace
}  // namespace troupe::aggregator

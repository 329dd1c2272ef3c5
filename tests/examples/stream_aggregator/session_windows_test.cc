// Session windows (rule 2): runs of events closer than the gap, extended and
// merged by late events, with the revisions that merging implies.

#include <cstdint>
#include <string>
#include <vector>

#include "examples/stream_aggregator/aggregator.h"
#include "gtest/gtest.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

using testing::EventLine;
using testing::Options;
using testing::ResultLine;
using testing::RunByStep;

void ExpectLine(const ResultLine& l, const std::string& key, int64_t start,
                int64_t end, uint64_t count, int64_t revision) {
  EXPECT_EQ(l.key, key) << l;
  EXPECT_EQ(l.start, start) << l;
  EXPECT_EQ(l.end, end) << l;
  EXPECT_EQ(l.count, count) << l;
  EXPECT_EQ(l.revision, revision) << l;
}

TEST(SessionWindowsTest,
     EventsCloserThanTheGapFormOneSessionEndingAtLastPlusGap) {
  const auto out =
      RunByStep({EventLine("a", 1'000, 1), EventLine("a", 5'000, 1),
                 EventLine("a", 14'999, 1), EventLine("a", 24'999, 1)},
                Options("session:10s"));
  // 24999 is exactly one gap after 14999: a new session, and the watermark
  // (24999) reaches the first session's end.
  ASSERT_EQ(out.results[3].size(), 1u);
  ExpectLine(out.results[3][0], "a", 1'000, 24'999, 3, 0);
  ASSERT_EQ(out.results.back().size(), 1u);
  ExpectLine(out.results.back()[0], "a", 24'999, 34'999, 1, 0);
}

TEST(SessionWindowsTest, SessionsOfNegativeTimestampsWork) {
  const auto out =
      RunByStep({EventLine("a", -5'000, 1), EventLine("a", -1'000, 2)},
                Options("session:10s"));
  ASSERT_EQ(out.All().size(), 1u);
  ExpectLine(out.All()[0], "a", -5'000, 9'000, 2, 0);
}

TEST(SessionWindowsTest, ASessionFiresWhenTheWatermarkReachesItsEnd) {
  const auto out = RunByStep({EventLine("a", 0, 1), EventLine("b", 9'999, 1),
                              EventLine("b", 10'000, 1)},
                             Options("session:10s"));
  EXPECT_TRUE(out.results[1].empty());
  ASSERT_EQ(out.results[2].size(), 1u);
  ExpectLine(out.results[2][0], "a", 0, 10'000, 1, 0);
}

TEST(SessionWindowsTest, KeysHaveSeparateSessions) {
  const auto out = RunByStep({EventLine("a", 0, 1), EventLine("b", 1'000, 1),
                              EventLine("a", 2'000, 1)},
                             Options("session:10s"));
  // At the end of input, sessions come in order of their ends.
  ASSERT_EQ(out.All().size(), 2u);
  ExpectLine(out.All()[0], "b", 1'000, 11'000, 1, 0);
  ExpectLine(out.All()[1], "a", 0, 12'000, 2, 0);
}

TEST(SessionWindowsTest, ALateEventExtendsAnEmittedSessionAndReEmitsItAtOnce) {
  const auto out =
      RunByStep({EventLine("a", 0, 1), EventLine("b", 20'000, 1),
                 EventLine("a", 9'000, 1)},
                Options("session:10s", 0, /*allowed_lateness_ms=*/60'000));
  ASSERT_EQ(out.results[1].size(), 1u);
  ExpectLine(out.results[1][0], "a", 0, 10'000, 1, 0);
  ASSERT_EQ(out.results[2].size(), 1u);
  ExpectLine(out.results[2][0], "a", 0, 19'000, 2, 1);
}

TEST(SessionWindowsTest, AnExtensionPastTheWatermarkIsStillEmittedAtOnce) {
  // Our reading of rule 5 for sessions: the late event changed an emitted
  // window, so it is re-emitted at once, though its new end (15000) is
  // ahead of the watermark (12000). Nothing changes after, so the watermark
  // passing 15000 emits nothing more.
  const auto out =
      RunByStep({EventLine("a", 0, 1), EventLine("b", 12'000, 1),
                 EventLine("a", 5'000, 1), EventLine("b", 16'000, 1)},
                Options("session:10s", 0, /*allowed_lateness_ms=*/60'000));
  ASSERT_EQ(out.results[2].size(), 1u);
  ExpectLine(out.results[2][0], "a", 0, 15'000, 2, 1);
  EXPECT_TRUE(out.results[3].empty());
  ASSERT_EQ(out.results.back().size(), 1u);
  EXPECT_EQ(out.results.back()[0].key, "b");
}

TEST(SessionWindowsTest, AMergedSessionTakesTheLargestRevisionPlusOne) {
  const auto out =
      RunByStep({EventLine("a", 0, 1), EventLine("a", 20'000, 1),
                 EventLine("b", 40'000, 1), EventLine("a", 5'000, 1),
                 EventLine("a", 21'000, 1), EventLine("a", 22'000, 1),
                 EventLine("a", 13'000, 1)},
                Options("session:10s", 0, /*allowed_lateness_ms=*/60'000));
  ASSERT_EQ(out.results[1].size(), 1u);
  ExpectLine(out.results[1][0], "a", 0, 10'000, 1, 0);
  ASSERT_EQ(out.results[2].size(), 1u);
  ExpectLine(out.results[2][0], "a", 20'000, 30'000, 1, 0);
  ExpectLine(out.results[3][0], "a", 0, 15'000, 2, 1);
  ExpectLine(out.results[4][0], "a", 20'000, 31'000, 2, 1);
  ExpectLine(out.results[5][0], "a", 20'000, 32'000, 3, 2);
  // 13000 bridges [0,15000) (revision 1) and [20000,32000) (revision 2):
  // one line, revision 3, whose span contains both earlier spans.
  ASSERT_EQ(out.results[6].size(), 1u);
  ExpectLine(out.results[6][0], "a", 0, 32'000, 6, 3);
  ASSERT_EQ(out.results.back().size(), 1u);
  EXPECT_EQ(out.results.back()[0].key, "b");
}

TEST(SessionWindowsTest, MergingWithASessionNotYetEmittedStillCountsAsEmitted) {
  const auto out =
      RunByStep({EventLine("a", 0, 1), EventLine("a", 15'000, 1),
                 EventLine("a", 8'000, 1), EventLine("a", 20'000, 1)},
                Options("session:10s", 0, /*allowed_lateness_ms=*/60'000));
  ExpectLine(out.results[1][0], "a", 0, 10'000, 1, 0);
  ASSERT_EQ(out.results[2].size(), 1u);
  ExpectLine(out.results[2][0], "a", 0, 25'000, 3, 1);
  // 20000 is on time and extends the merged session: it waits for the
  // watermark (here, the end of input) and comes as revision 2.
  EXPECT_TRUE(out.results[3].empty());
  ASSERT_EQ(out.results.back().size(), 1u);
  ExpectLine(out.results.back()[0], "a", 0, 30'000, 4, 2);
}

TEST(SessionWindowsTest, ALateEventOpeningAPassedSessionFiresItAtOnce) {
  const auto out =
      RunByStep({EventLine("a", 50'000, 1), EventLine("a", 1'000, 1)},
                Options("session:10s", 0, /*allowed_lateness_ms=*/60'000));
  ASSERT_EQ(out.results[1].size(), 1u);
  ExpectLine(out.results[1][0], "a", 1'000, 11'000, 1, 0);
}

TEST(SessionWindowsTest, AnOnTimeOutOfOrderEventMergesOpenSessionsIntoOneLine) {
  const auto out = RunByStep({EventLine("a", 0, 1), EventLine("a", 15'000, 1),
                              EventLine("a", 7'000, 1)},
                             Options("session:10s", /*max_ooo_ms=*/20'000));
  ASSERT_EQ(out.All().size(), 1u);
  ExpectLine(out.All()[0], "a", 0, 25'000, 3, 0);
  EXPECT_EQ(out.counters.late_accepted, 0u);
}

TEST(SessionWindowsTest, AnEventBeforeASessionMovesItsStart) {
  const auto out =
      RunByStep({EventLine("a", 10'000, 1), EventLine("a", 4'000, 1),
                 EventLine("b", 30'000, 1)},
                Options("session:10s", /*max_ooo_ms=*/10'000));
  ASSERT_EQ(out.results[2].size(), 1u);
  ExpectLine(out.results[2][0], "a", 4'000, 20'000, 2, 0);
}

TEST(SessionWindowsTest, ADroppedLateEventLeavesSessionsUntouched) {
  const auto out = RunByStep({EventLine("a", 0, 1), EventLine("b", 20'000, 1),
                              EventLine("a", 5'000, 1)},
                             Options("session:10s"));
  EXPECT_EQ(out.counters.late_dropped, 1u);
  ASSERT_EQ(out.All().size(), 2u);
  ExpectLine(out.All()[0], "a", 0, 10'000, 1, 0);
}

TEST(SessionWindowsTest, SessionsAndKeysAreFreedSoMemoryStaysBounded) {
  size_t emitted = 0;
  KeyedWindowEngine engine(EngineOptions{WindowSpec::Session(1'000), 2'000},
                           [&](const WindowResult&) { ++emitted; });
  size_t peak = 0;
  int64_t watermark = kNoWatermark;
  for (int64_t i = 0; i < 200'000; ++i) {
    // Each key is active for a while, then never again.
    const int64_t ts = i * 10;
    const std::string key =
        "k" + std::to_string(i / 500) + "-" + std::to_string(i % 7);
    engine.OnEvent(key, ts, 1.0, watermark);
    watermark = ts;
    engine.OnWatermark(watermark);
    peak = std::max(peak, engine.live_windows());
  }
  EXPECT_LE(peak, 2u * 7);
  EXPECT_GE(emitted, 200'000u / 500 * 7 - 14);
}

}  // namespace
}  // namespace troupe::aggregator

// Rule 9 through the driver: bad lines are counted by reason and skipped,
// never stop the stream and never move the watermark.

#include <cstdint>
#include <string>
#include <vector>

#include "examples/stream_aggregator/sequential_driver.h"
#include "gtest/gtest.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

using testing::EventLine;
using testing::Lines;
using testing::Options;

// One bad line per rule-9 case, each of which would, if it were taken as
// an event, move the watermark far ahead (ts 10^12).
const std::vector<std::pair<std::string, ParseError>>& BadLines() {
  static const auto* lines =
      new std::vector<std::pair<std::string, ParseError>>{
          {R"({"key":"a","tsMs":1000000000000,"value":1} trailing)",
           ParseError::kMalformedJson},
          {R"({"key":"a","tsMs":1000000000000,"value":1)",
           ParseError::kMalformedJson},
          {"", ParseError::kMalformedJson},
          {R"({"key":"a","tsMs":1000000000000})", ParseError::kMissingField},
          {R"({"key":null,"tsMs":1000000000000,"value":1})",
           ParseError::kMissingField},
          {R"({"key":"a","tsMs":1000000000000.5,"value":1})",
           ParseError::kBadTimestamp},
          {R"({"key":"a","tsMs":"1000000000000.5","value":1})",
           ParseError::kBadTimestamp},
          {R"({"key":"a","tsMs":9223372036854775807,"value":1})",
           ParseError::kBadTimestamp},  // its window would end past INT64_MAX
          {R"({"key":"a","tsMs":1000000000000,"value":"NaN"})",
           ParseError::kBadValue},
          {R"({"key":"a","tsMs":1000000000000,"value":"Infinity"})",
           ParseError::kBadValue},
          {R"({"key":"a","tsMs":1000000000000,"value":1e999})",
           ParseError::kBadValue},
          {R"({"key":"a","tsMs":1000000000000,"value":"warm"})",
           ParseError::kWrongType},
          {R"({"key":"a","tsMs":1000000000000,"value":true})",
           ParseError::kWrongType},
          {R"({"key":7,"tsMs":1000000000000,"value":1})",
           ParseError::kWrongType},
      };
  return *lines;
}

std::vector<std::string> GoodLines() {
  return {EventLine("a", 1'000, 1), EventLine("a", 4'000, 2),
          EventLine("b", 9'000, 3), EventLine("a", 11'000, 4),
          EventLine("a", 7'000, 5), EventLine("b", 21'000, 6),
          EventLine("a", 30'000, 7)};
}

TEST(BadInputTest, EachBadLineIsCountedUnderItsReason) {
  for (const auto& [line, reason] : BadLines()) {
    const SequentialOutput out =
        RunSequential(line + "\n", Options("tumbling:10s"));
    EXPECT_EQ(out.counters.lines, 1u) << line;
    EXPECT_EQ(out.counters.bad_count(reason), 1u)
        << line << " expected " << ParseErrorToken(reason);
    EXPECT_EQ(out.counters.bad_lines(), 1u) << line;
    EXPECT_TRUE(out.results.empty()) << line;
  }
}

TEST(BadInputTest, BadLinesChangeNothingInTheResults) {
  const AggregatorOptions options = Options("tumbling:10s", 0, 5'000);
  const std::vector<std::string> good = GoodLines();
  const SequentialOutput clean = RunSequential(Lines(good), options);
  // The same events with every bad line in between each pair.
  std::vector<std::string> mixed;
  for (const std::string& line : good) {
    for (const auto& bad : BadLines()) mixed.push_back(bad.first);
    mixed.push_back(line);
  }
  const SequentialOutput noisy = RunSequential(Lines(mixed), options);
  EXPECT_EQ(noisy.results, clean.results);
  EXPECT_EQ(noisy.late, clean.late);
  EXPECT_EQ(noisy.counters.bad_lines(), good.size() * BadLines().size());
  EXPECT_EQ(noisy.counters.on_time, clean.counters.on_time);
  EXPECT_EQ(noisy.counters.late_accepted, clean.counters.late_accepted);
  EXPECT_EQ(noisy.counters.late_dropped, clean.counters.late_dropped);
}

TEST(BadInputTest, BadLinesNeverMoveTheWatermark) {
  SequentialAggregator aggregator(
      Options("tumbling:10s"), [](std::string_view) {},
      [](std::string_view) {});
  const int input = aggregator.AddInput(0);
  aggregator.OnLine(input, EventLine("a", 1'000, 1), 0);
  for (const auto& [line, reason] : BadLines()) {
    aggregator.OnLine(input, line, 0);
    EXPECT_EQ(aggregator.watermark(), 1'000) << line;
  }
}

TEST(BadInputTest, AFinalLineWithoutNewlineIsStillAnEvent) {
  const SequentialOutput out =
      RunSequential(EventLine("a", 1'000, 1) + "\n" + EventLine("a", 2'000, 2),
                    Options("tumbling:10s"));
  EXPECT_EQ(out.counters.on_time, 2u);
  ASSERT_EQ(out.results.size(), 1u);
  EXPECT_EQ(testing::ReadResultLine(out.results[0]).count, 2u);
}

TEST(BadInputTest, CrlfLineEndingsAreAccepted) {
  const SequentialOutput out = RunSequential(
      EventLine("a", 1'000, 1) + "\r\n" + EventLine("a", 2'000, 2) + "\r\n",
      Options("tumbling:10s"));
  EXPECT_EQ(out.counters.on_time, 2u);
  EXPECT_EQ(out.counters.bad_lines(), 0u);
}

TEST(BadInputTest, EmptyLinesInTheMiddleAreMalformedButTheLastNewlineIsNot) {
  const SequentialOutput out = RunSequential(
      EventLine("a", 1'000, 1) + "\n\n" + EventLine("a", 2'000, 2) + "\n",
      Options("tumbling:10s"));
  EXPECT_EQ(out.counters.lines, 3u);
  EXPECT_EQ(out.counters.bad_count(ParseError::kMalformedJson), 1u);
  EXPECT_EQ(out.counters.on_time, 2u);
}

TEST(BadInputTest, SplitLinesCutsAtNewlines) {
  std::vector<std::string> pieces;
  auto collect = [&](std::string_view line) { pieces.emplace_back(line); };
  SplitLines("a\nb\n\nc", collect);
  EXPECT_EQ(pieces, (std::vector<std::string>{"a", "b", "", "c"}));
  pieces.clear();
  SplitLines("a\n", collect);
  EXPECT_EQ(pieces, (std::vector<std::string>{"a"}));
  pieces.clear();
  SplitLines("\n", collect);
  EXPECT_EQ(pieces, (std::vector<std::string>{""}));
  pieces.clear();
  SplitLines("", collect);
  EXPECT_TRUE(pieces.empty());
}

}  // namespace
}  // namespace troupe::aggregator

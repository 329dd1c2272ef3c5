// ParseDurationMs: digits plus one unit, nothing else, with clear errors.

#include "examples/stream_aggregator/duration.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace troupe::aggregator {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(const char* text) {
  absl::StatusOr<int64_t> ms = ParseDurationMs(text);
  EXPECT_FALSE(ms.ok()) << text << " parsed as " << *ms;
  return ms.ok() ? "" : std::string(ms.status().message());
}

TEST(DurationTest, EachUnitConvertsToMilliseconds) {
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("5s"), 5'000);
  EXPECT_EQ(*ParseDurationMs("2m"), 120'000);
  EXPECT_EQ(*ParseDurationMs("1h"), 3'600'000);
  EXPECT_EQ(*ParseDurationMs("0s"), 0);
  EXPECT_EQ(*ParseDurationMs("007ms"), 7);
}

TEST(DurationTest, TheLargestRepresentableDurationIsAccepted) {
  EXPECT_EQ(*ParseDurationMs("9223372036854775807ms"),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(*ParseDurationMs("9223372036854775s"), 9223372036854775000);
}

TEST(DurationTest, AMissingUnitIsAnErrorThatSaysSo) {
  EXPECT_THAT(ErrorOf("30"), HasSubstr("no unit"));
  EXPECT_THAT(ErrorOf("0"), HasSubstr("no unit"));
  EXPECT_THAT(ErrorOf("30"), HasSubstr("\"30\""));
}

TEST(DurationTest, NegativeDurationsAreErrors) {
  EXPECT_THAT(ErrorOf("-5s"), HasSubstr("negative"));
}

TEST(DurationTest, OverflowIsAnErrorNotAWrappedValue) {
  EXPECT_THAT(ErrorOf("9223372036854775808ms"), HasSubstr("too large"));
  EXPECT_THAT(ErrorOf("9223372036854776s"), HasSubstr("too large"));
  EXPECT_THAT(ErrorOf("2562047788016h"), HasSubstr("too large"));
  EXPECT_THAT(ErrorOf("99999999999999999999999h"), HasSubstr("too large"));
}

TEST(DurationTest, UnknownUnitsFractionsAndJunkAreErrors) {
  EXPECT_THAT(ErrorOf("5d"), HasSubstr("unknown unit \"d\""));
  EXPECT_THAT(ErrorOf("5sec"), HasSubstr("unknown unit"));
  EXPECT_THAT(ErrorOf("5S"), HasSubstr("unknown unit"));
  EXPECT_THAT(ErrorOf("1.5s"), HasSubstr("fraction"));
  EXPECT_THAT(ErrorOf("1m30s"), HasSubstr("unknown unit"));
  EXPECT_THAT(ErrorOf(" 5s"), HasSubstr("digit"));
  EXPECT_THAT(ErrorOf("5s "), HasSubstr("unknown unit"));
  EXPECT_THAT(ErrorOf("+5s"), HasSubstr("sign"));
  EXPECT_THAT(ErrorOf("s"), HasSubstr("digit"));
  EXPECT_THAT(ErrorOf(""), HasSubstr("empty"));
}

TEST(DurationTest, FormattingPicksTheLargestExactUnit) {
  EXPECT_EQ(FormatDurationMs(120'000), "2m");
  EXPECT_EQ(FormatDurationMs(7'200'000), "2h");
  EXPECT_EQ(FormatDurationMs(1'500), "1500ms");
  EXPECT_EQ(FormatDurationMs(10'000), "10s");
  EXPECT_EQ(FormatDurationMs(0), "0ms");
}

}  // namespace
}  // namespace troupe::aggregator

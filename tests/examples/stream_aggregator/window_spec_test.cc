// Window specs: parsing, validation, and aligned window arithmetic.

#include "examples/stream_aggregator/window_spec.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace troupe::aggregator {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(const char* text) {
  absl::StatusOr<WindowSpec> spec = ParseWindowSpec(text);
  EXPECT_FALSE(spec.ok()) << text << " parsed as " << spec->ToString();
  return spec.ok() ? "" : std::string(spec.status().message());
}

TEST(WindowSpecTest, TumblingSpecsHaveTheirSizeAsSlide) {
  const WindowSpec spec = *ParseWindowSpec("tumbling:10s");
  EXPECT_EQ(spec.kind, WindowKind::kTumbling);
  EXPECT_EQ(spec.size_ms, 10'000);
  EXPECT_EQ(spec.slide_ms, 10'000);
  EXPECT_EQ(spec.WindowsPerEvent(), 1);
  EXPECT_EQ(spec.ToString(), "tumbling:10s");
}

TEST(WindowSpecTest, SlidingSpecsReadSizeThenSlide) {
  const WindowSpec spec = *ParseWindowSpec("sliding:10s/2s");
  EXPECT_EQ(spec.kind, WindowKind::kSliding);
  EXPECT_EQ(spec.size_ms, 10'000);
  EXPECT_EQ(spec.slide_ms, 2'000);
  EXPECT_EQ(spec.WindowsPerEvent(), 5);
  EXPECT_EQ(spec.ToString(), "sliding:10s/2s");
  EXPECT_EQ(ParseWindowSpec("sliding:1m/500ms")->WindowsPerEvent(), 120);
}

TEST(WindowSpecTest, SessionSpecsReadTheGap) {
  const WindowSpec spec = *ParseWindowSpec("session:30s");
  EXPECT_EQ(spec.kind, WindowKind::kSession);
  EXPECT_EQ(spec.gap_ms, 30'000);
  EXPECT_FALSE(spec.aligned());
  EXPECT_EQ(spec.ToString(), "session:30s");
}

TEST(WindowSpecTest, ASlidingSizeThatIsNotAMultipleOfTheSlideIsRejected) {
  EXPECT_THAT(ErrorOf("sliding:10s/3s"), HasSubstr("not a multiple"));
  EXPECT_THAT(ErrorOf("sliding:2s/10s"), HasSubstr("not a multiple"));
}

TEST(WindowSpecTest, MalformedSpecsAreRejectedWithTheReason) {
  EXPECT_THAT(ErrorOf("hopping:10s"), HasSubstr("unknown window kind"));
  EXPECT_THAT(ErrorOf("tumbling"), HasSubstr("no ':'"));
  EXPECT_THAT(ErrorOf("tumbling:"), HasSubstr("bad size"));
  EXPECT_THAT(ErrorOf("tumbling:10"), HasSubstr("no unit"));
  EXPECT_THAT(ErrorOf("tumbling:0s"), HasSubstr("must be positive"));
  EXPECT_THAT(ErrorOf("session:0ms"), HasSubstr("gap must be positive"));
  EXPECT_THAT(ErrorOf("session:-1s"), HasSubstr("negative"));
  EXPECT_THAT(ErrorOf("sliding:10s"), HasSubstr("<size>/<slide>"));
  EXPECT_THAT(ErrorOf("sliding:10s/0s"), HasSubstr("slide must be positive"));
  EXPECT_THAT(ErrorOf("sliding:10s/2s/1s"), HasSubstr("bad slide"));
  EXPECT_THAT(ErrorOf("Tumbling:10s"), HasSubstr("unknown window kind"));
  EXPECT_THAT(ErrorOf(""), HasSubstr("expected \"tumbling:<size>\""));
}

TEST(WindowSpecTest, FloorDivisionRoundsTowardsNegativeInfinity) {
  EXPECT_EQ(FloorDiv(7, 2), 3);
  EXPECT_EQ(FloorDiv(-7, 2), -4);
  EXPECT_EQ(FloorDiv(-8, 2), -4);
  EXPECT_EQ(FloorDiv(-1, 10'000), -1);
  EXPECT_EQ(FloorDiv(0, 10'000), 0);
}

TEST(WindowSpecTest, TheLatestWindowStartIsFlooredEvenForNegativeTimes) {
  const WindowSpec spec = WindowSpec::Sliding(10'000, 2'000);
  EXPECT_EQ(spec.LatestStart(12'345), 12'000);
  EXPECT_EQ(spec.LatestStart(12'000), 12'000);
  EXPECT_EQ(spec.LatestStart(11'999), 10'000);
  EXPECT_EQ(spec.LatestStart(-1), -2'000);
  EXPECT_EQ(spec.LatestStart(-2'000), -2'000);
  EXPECT_EQ(spec.LatestStart(-2'001), -4'000);
}

TEST(WindowSpecTest, TimestampsWhoseWindowsOverflowDoNotFit) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const WindowSpec tumbling = WindowSpec::Tumbling(10'000);
  EXPECT_TRUE(tumbling.Fits(1'764'288'000'123));
  EXPECT_TRUE(tumbling.Fits(-1'764'288'000'123));
  EXPECT_FALSE(tumbling.Fits(kMax));
  EXPECT_FALSE(tumbling.Fits(kMin));
  EXPECT_TRUE(tumbling.Fits(kMin + 10'000 - kMin % 10'000 + 1));
  const WindowSpec session = WindowSpec::Session(30'000);
  EXPECT_TRUE(session.Fits(kMin));
  EXPECT_TRUE(session.Fits(kMax - 30'000));
  EXPECT_FALSE(session.Fits(kMax - 29'999));
}

TEST(WindowSpecTest, SaturatingArithmeticClampsInsteadOfWrapping) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(SaturatingAdd(kMax, 1), kMax);
  EXPECT_EQ(SaturatingAdd(kMin, -1), kMin);
  EXPECT_EQ(SaturatingAdd(1, 2), 3);
  EXPECT_EQ(SaturatingSub(kMin, 1), kMin);
  EXPECT_EQ(SaturatingSub(kMax, -1), kMax);
  EXPECT_EQ(SaturatingSub(5, 7), -2);
}

}  // namespace
}  // namespace troupe::aggregator

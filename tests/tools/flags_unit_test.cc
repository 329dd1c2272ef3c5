// Tests of tools/cli/flags.h: --help exits 0 whatever the Abseil
// release, refused flags still exit 1, and DurationFlag parses, prints and
// (being one word) builds under --config=tsan too.

#include <chrono>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/marshalling.h"
#include "gtest/gtest.h"
#include "tools/cli/flags.h"

ABSL_FLAG(troupe::DurationFlag, test_timeout,
          troupe::DurationFlag(std::chrono::milliseconds(1500)),
          "a duration flag of the test");

namespace troupe {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

static_assert(sizeof(DurationFlag) == 8 &&
                  std::is_trivially_copyable_v<DurationFlag>,
              "absl keeps one-word, trivially copyable flag values in an "
              "atomic word; anything else goes through a sequence lock that "
              "does not build under ThreadSanitizer");

// Runs ParseFlags on `args` (after a program name) and exits 7 if
// it returns.
[[noreturn]] void ParseAndExit(std::vector<std::string> args) {
  std::vector<char*> argv;
  std::string program = "flags_test";
  argv.push_back(program.data());
  for (std::string& arg : args) argv.push_back(arg.data());
  (void)ParseFlags(static_cast<int>(argv.size()), argv.data());
  std::exit(7);
}

class ParseFlagsDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(ParseFlagsDeathTest, HelpExitsZero) {
  for (const char* help : {"--help", "-help", "--helpfull", "--helpshort",
                           "--helpmatch=test_timeout"}) {
    EXPECT_EXIT(ParseAndExit({help}), ::testing::ExitedWithCode(0), "") << help;
  }
}

TEST_F(ParseFlagsDeathTest, ValidFlagsReturn) {
  EXPECT_EXIT(ParseAndExit({"--test_timeout=2s"}), ::testing::ExitedWithCode(7),
              "");
}

TEST_F(ParseFlagsDeathTest, RefusedFlagsStillExitOne) {
  EXPECT_EXIT(ParseAndExit({"--no_such_flag"}), ::testing::ExitedWithCode(1),
              "no_such_flag");
  EXPECT_EXIT(ParseAndExit({"--test_timeout=-1s"}),
              ::testing::ExitedWithCode(1), "not negative");
}

TEST(DurationFlag, ParsesAbslDurations) {
  const struct {
    const char* text;
    Duration expected;
  } cases[] = {
      {"0", Duration(0)},     {"500ms", milliseconds(500)}, {"2s", seconds(2)},
      {"1m30s", seconds(90)}, {"1.5s", milliseconds(1500)},
  };
  for (const auto& c : cases) {
    DurationFlag flag;
    std::string error;
    EXPECT_TRUE(AbslParseFlag(c.text, &flag, &error)) << c.text << error;
    EXPECT_EQ(flag.value(), c.expected) << c.text;
  }
}

TEST(DurationFlag, RefusesNegativeInfiniteAndMalformedValues) {
  for (const char* text : {"-1s", "inf", "", "5", "soon", "2 s"}) {
    DurationFlag flag(seconds(3));
    std::string error;
    EXPECT_FALSE(AbslParseFlag(text, &flag, &error)) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
}

TEST(DurationFlag, PrintsWhatItParses) {
  for (Duration d : {Duration(0), Duration(milliseconds(250)),
                     Duration(seconds(5)), Duration(milliseconds(1500))}) {
    const std::string text = AbslUnparseFlag(DurationFlag(d));
    DurationFlag back;
    std::string error;
    ASSERT_TRUE(AbslParseFlag(text, &back, &error)) << text;
    EXPECT_EQ(back.value(), d) << text;
  }
  EXPECT_EQ(AbslUnparseFlag(DurationFlag(seconds(5))), "5s");
}

TEST(DurationFlag, WorksAsAnAbslFlag) {
  EXPECT_EQ(absl::GetFlag(FLAGS_test_timeout).value(), milliseconds(1500));
  absl::SetFlag(&FLAGS_test_timeout, DurationFlag(seconds(4)));
  EXPECT_EQ(absl::GetFlag(FLAGS_test_timeout).value(), seconds(4));
  EXPECT_EQ(absl::UnparseFlag(absl::GetFlag(FLAGS_test_timeout)), "4s");
}

}  // namespace
}  // namespace troupe

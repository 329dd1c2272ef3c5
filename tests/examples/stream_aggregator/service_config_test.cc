// The service's flags: every value rule, and --input given several times.

#include "examples/stream_aggregator/service_config.h"

#include <string>
#include <vector>

#include "examples/stream_aggregator/watermark.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace troupe::aggregator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

FlagValues WithInput() {
  FlagValues flags;
  flags.inputs = {"events.ndjson"};
  return flags;
}

std::string ErrorOf(const FlagValues& flags) {
  absl::StatusOr<ServiceConfig> config = MakeServiceConfig(flags);
  EXPECT_FALSE(config.ok());
  return config.ok() ? "" : std::string(config.status().message());
}

TEST(ServiceConfigTest, TheDefaultsGiveTumblingTenSecondsAndNoIdleness) {
  absl::StatusOr<ServiceConfig> config = MakeServiceConfig(WithInput());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->window.ToString(), "tumbling:10s");
  EXPECT_EQ(config->max_out_of_orderness_ms, 0);
  EXPECT_EQ(config->allowed_lateness_ms, 0);
  EXPECT_EQ(config->idle_timeout_ms, kNeverIdle);
  EXPECT_EQ(config->output, "-");
  EXPECT_FALSE(config->generator.has_value());
}

TEST(ServiceConfigTest, DurationsTakeAUnit) {
  FlagValues flags = WithInput();
  flags.window = "sliding:10s/2s";
  flags.max_out_of_orderness = "500ms";
  flags.allowed_lateness = "2m";
  flags.idle_timeout = "30s";
  absl::StatusOr<ServiceConfig> config = MakeServiceConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->window.slide_ms, 2'000);
  EXPECT_EQ(config->max_out_of_orderness_ms, 500);
  EXPECT_EQ(config->allowed_lateness_ms, 120'000);
  EXPECT_EQ(config->idle_timeout_ms, 30'000);

  flags.max_out_of_orderness = "500";
  EXPECT_THAT(ErrorOf(flags), HasSubstr("--max_out_of_orderness: "));
}

TEST(ServiceConfigTest, ASlidingSizeThatIsNotAMultipleOfTheSlideIsRefused) {
  FlagValues flags = WithInput();
  flags.window = "sliding:10s/3s";
  EXPECT_THAT(ErrorOf(flags), HasSubstr("--window: "));
  EXPECT_THAT(ErrorOf(flags), HasSubstr("multiple"));
}

TEST(ServiceConfigTest, BadValuesNameTheirFlag) {
  FlagValues flags = WithInput();
  flags.window = "hopping:1s";
  EXPECT_THAT(ErrorOf(flags), HasSubstr("--window: "));
  flags = WithInput();
  flags.shards = -1;
  EXPECT_EQ(ErrorOf(flags), "--shards: must be >= 0");
  flags = WithInput();
  flags.worker_threads = -2;
  EXPECT_EQ(ErrorOf(flags), "--worker_threads: must be >= 0");
  flags = WithInput();
  flags.late_output = "-";
  EXPECT_EQ(ErrorOf(flags), "--late_output: must differ from --output");
  flags = WithInput();
  flags.inputs = {"-", "-"};
  EXPECT_THAT(ErrorOf(flags), HasSubstr("more than once"));
}

TEST(ServiceConfigTest, AtLeastOneInputIsRequired) {
  EXPECT_THAT(ErrorOf(FlagValues{}), HasSubstr("no input"));
}

TEST(ServiceConfigTest, ANetworkInputIsAnInputAndEndsTheRunAtASignal) {
  FlagValues flags;
  flags.listen = "127.0.0.1:7000";
  absl::StatusOr<ServiceConfig> config = MakeServiceConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "127.0.0.1:7000");
  EXPECT_TRUE(config->network());
  flags = FlagValues{};
  flags.http = "[::1]:0";
  config = MakeServiceConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->network());
  EXPECT_FALSE(MakeServiceConfig(WithInput())->network());
}

TEST(ServiceConfigTest, ListenAddressesMustBeIpAndPort) {
  FlagValues flags = WithInput();
  flags.listen = "localhost:7000";
  EXPECT_THAT(ErrorOf(flags), HasSubstr("--listen: "));
  flags.listen = "127.0.0.1";
  EXPECT_THAT(ErrorOf(flags), HasSubstr("--listen: "));
  flags.listen = "";
  flags.http = "127.0.0.1:65536";
  EXPECT_THAT(ErrorOf(flags), HasSubstr("--http: "));
}

TEST(ServiceConfigTest, TheGeneratorTakesItsOwnFlags) {
  FlagValues flags;
  flags.generate = 1000;
  flags.keys = 10;
  flags.disorder = "200ms";
  flags.seed = 9;
  absl::StatusOr<ServiceConfig> config = MakeServiceConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(config->generator.has_value());
  EXPECT_EQ(config->generator->events, 1000);
  EXPECT_EQ(config->generator->keys, 10);
  EXPECT_EQ(config->generator->disorder_ms, 200);
  EXPECT_EQ(config->generator->seed, 9u);
  flags.keys = 0;
  EXPECT_EQ(ErrorOf(flags), "--keys: must be >= 1");
  flags.keys = 10;
  flags.disorder = "soon";
  EXPECT_THAT(ErrorOf(flags), HasSubstr("--disorder: "));
}

TEST(ServiceConfigTest, RepeatedInputFlagsAreAllCollectedInOrder) {
  const char* argv[] = {
      "stream_aggregator", "--input=a.ndjson",    "-input=b", "--input", "c",
      "--inputs=x",        "--window=session:1s", "--input",  "-",       "--",
      "--input=after"};
  EXPECT_THAT(CollectRepeatedFlag(sizeof(argv) / sizeof(argv[0]),
                                  const_cast<char* const*>(argv), "input"),
              ElementsAre("a.ndjson", "b", "c", "-"));
}

}  // namespace
}  // namespace troupe::aggregator

// Several inputs (rule 3): the watermark is the minimum over the live
// inputs, an input idle for --idle_timeout stops holding it back, a closed
// input no longer holds it, and the end of every input flushes every window
// (rule 6).
//
// These run on a current-thread runtime with a ManualClock that advances
// only when nothing is runnable (auto_advance): Settle() (executor/settle.h)
// returns once the pipeline has handled everything sent so far, without
// time passing, and idle timeouts pass in manual time, without real sleeps.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/actor.h"
#include "examples/stream_aggregator/output_writer.h"
#include "examples/stream_aggregator/pipeline.h"
#include "examples/stream_aggregator/sequential_driver.h"
#include "executor/clock.h"
#include "executor/runtime.h"
#include "executor/settle.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"
#include "tests/examples/stream_aggregator/pipeline_test_util.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

using testing::EventLine;
using testing::ReadResultLine;
using Port = std::unique_ptr<InputPort>;

Task<void> ExpectFinishes(Pipeline& pipeline) {
  const absl::Status finished = co_await pipeline.Finished();
  EXPECT_TRUE(finished.ok()) << finished;
}

// Feeds one line (with its '\n') to `port`.
Task<void> Feed(InputPort& port, std::string line) {
  line += '\n';
  const absl::Status fed = co_await port.FeedText(line);
  EXPECT_TRUE(fed.ok()) << fed;
}

class MultipleInputsTest : public ::testing::Test {
 protected:
  MultipleInputsTest()
      : runtime_({.flavor = Flavor::kCurrentThread,
                  .clock = &clock_,
                  .auto_advance = true}),
        system_(runtime_, ActorSystemOptions{.watchdog = false}) {}
  ~MultipleInputsTest() override {
    system_.BlockingShutdown(std::chrono::seconds(5));
  }

  PipelineOptions Options(std::string_view window, int64_t idle_timeout_ms) {
    AggregatorOptions options = testing::Options(window);
    options.idle_timeout_ms = idle_timeout_ms;
    return testing::MakePipelineOptions(options, /*shards=*/2, results_, late_);
  }

  static Task<Port> Open(Pipeline& pipeline, std::string name) {
    Task<absl::StatusOr<Port>> open = pipeline.OpenInput(std::move(name));
    absl::StatusOr<Port> port = co_await std::move(open);
    EXPECT_TRUE(port.ok()) << port.status();
    co_return port.ok() ? *std::move(port) : nullptr;
  }

  // Opens inputs named `first` and `second`; no other input will open.
  static Task<std::pair<Port, Port>> OpenTwo(Pipeline& pipeline,
                                             std::string first,
                                             std::string second) {
    Port a = co_await Open(pipeline, std::move(first));
    Port b = co_await Open(pipeline, std::move(second));
    co_await pipeline.NoMoreInputs();
    co_return std::pair<Port, Port>(std::move(a), std::move(b));
  }

  // Closes both inputs and waits for the end of the run.
  static Task<void> CloseBoth(Pipeline& pipeline, InputPort& a, InputPort& b) {
    (void)co_await a.Close();
    (void)co_await b.Close();
    co_await ExpectFinishes(pipeline);
  }

  size_t ResultCount() const { return results_->lines().size(); }

  ManualClock clock_;
  Runtime runtime_;
  ActorSystem system_;
  std::shared_ptr<MemoryWriter> results_ = std::make_shared<MemoryWriter>();
  std::shared_ptr<MemoryWriter> late_ = std::make_shared<MemoryWriter>();
};

TEST_F(MultipleInputsTest, TheWatermarkIsTheMinimumOverTheLiveInputs) {
  // The same interleaving through the sequential driver, for reference.
  const std::vector<std::pair<int, std::string>> steps = {
      {0, EventLine("a", 1'000, 1)},  {1, EventLine("b", 2'000, 2)},
      {0, EventLine("a", 15'000, 3)}, {1, EventLine("b", 12'000, 4)},
      {0, EventLine("a", 25'000, 5)}, {1, EventLine("b", 26'000, 6)},
  };
  std::vector<std::string> expected;
  SequentialAggregator sequential(
      testing::Options("tumbling:10s"),
      [&](std::string_view line) { expected.emplace_back(line); },
      [](std::string_view) {});
  const int inputs[2] = {sequential.AddInput(0), sequential.AddInput(0)};
  for (const auto& [input, line] : steps) {
    sequential.OnLine(inputs[input], line, 0);
  }
  sequential.CloseInput(inputs[0], 0);
  sequential.CloseInput(inputs[1], 0);
  sequential.Finish();

  runtime_.BlockOn([&]() -> Task<void> {
    Pipeline pipeline(system_, Options("tumbling:10s", kNeverIdle));
    auto [a, b] = co_await OpenTwo(pipeline, "a", "b");
    InputPort* ports[2] = {a.get(), b.get()};
    for (int i = 0; i < 3; ++i)
      co_await Feed(*ports[steps[i].first], steps[i].second);
    co_await Settle();
    // a is at 15000 but b at 2000: nothing may fire.
    EXPECT_EQ(pipeline.Snapshot().watermark, 2'000);
    EXPECT_EQ(ResultCount(), 0u);
    co_await Feed(*ports[1], steps[3].second);  // b reaches 12000
    co_await Settle();
    EXPECT_EQ(pipeline.Snapshot().watermark, 12'000);
    EXPECT_EQ(ResultCount(), 2u);  // [0,10000) of a and of b
    for (int i = 4; i < 6; ++i)
      co_await Feed(*ports[steps[i].first], steps[i].second);
    co_await Settle();
    EXPECT_EQ(pipeline.Snapshot().watermark, 25'000);
    EXPECT_EQ(ResultCount(), 4u);
    co_await CloseBoth(pipeline, *a, *b);
  }());
  EXPECT_EQ(testing::CanonicalOrder(results_->lines()),
            testing::CanonicalOrder(expected));
  EXPECT_EQ(expected.size(), 6u);
}

TEST_F(MultipleInputsTest, AnIdleInputStopsHoldingTheWatermarkBack) {
  constexpr auto kIdle = std::chrono::seconds(5);
  runtime_.BlockOn([&]() -> Task<void> {
    Pipeline pipeline(system_, Options("tumbling:10s", 5'000));
    auto [active, quiet] = co_await OpenTwo(pipeline, "active", "quiet");
    co_await Feed(*active, EventLine("a", 1'000, 1));
    // The manual clock stands still until everything runnable has run: this
    // is the time the router handles the quiet input's last event.
    const Instant quiet_since = clock_.Now();
    co_await Feed(*quiet, EventLine("q", 2'000, 1));
    co_await Feed(*active, EventLine("a", 15'000, 1));
    co_await Settle();
    EXPECT_EQ(pipeline.Snapshot().watermark, 2'000);
    // The active input keeps talking; the quiet one holds the watermark
    // until it has been silent for the idle timeout.
    Instant fired_at{};
    for (int64_t t = 15'001; ResultCount() == 0 && t < 15'100; ++t) {
      co_await SleepFor(std::chrono::milliseconds(250));
      co_await Feed(*active, EventLine("a", t, 1));
      co_await Settle();
      fired_at = clock_.Now();
    }
    EXPECT_EQ(ResultCount(), 2u);  // [0,10000) of a and of q
    EXPECT_GE(fired_at - quiet_since, kIdle);
    EXPECT_LE(fired_at - quiet_since, kIdle + std::chrono::milliseconds(1'500));
    EXPECT_GT(pipeline.Snapshot().watermark, 15'000);
    // Back from idleness it holds the watermark again, but never moves it
    // back: its late event is dropped.
    co_await Feed(*quiet, EventLine("q", 3'000, 1));
    co_await Settle();
    EXPECT_EQ(pipeline.Snapshot().late_dropped, 1u);
    co_await CloseBoth(pipeline, *active, *quiet);
  }());
  EXPECT_EQ(late_->lines(), std::vector<std::string>{EventLine("q", 3'000, 1)});
}

TEST_F(MultipleInputsTest, AClosedInputNoLongerHoldsTheWatermarkBack) {
  runtime_.BlockOn([&]() -> Task<void> {
    Pipeline pipeline(system_, Options("tumbling:10s", kNeverIdle));
    auto [a, b] = co_await OpenTwo(pipeline, "a", "b");
    co_await Feed(*a, EventLine("a", 1'000, 1));
    co_await Feed(*b, EventLine("b", 2'000, 1));
    co_await Feed(*a, EventLine("a", 15'000, 1));
    co_await Settle();
    EXPECT_EQ(ResultCount(), 0u);
    (void)co_await b->Close();
    co_await Settle();
    EXPECT_EQ(ResultCount(), 2u);
    EXPECT_EQ(pipeline.Snapshot().watermark, 15'000);
    (void)co_await a->Close();
    co_await ExpectFinishes(pipeline);
  }());
  EXPECT_EQ(ResultCount(), 3u);  // and a's [10000,20000) at the end
}

TEST_F(MultipleInputsTest,
       AnInputThatNeverSpeaksHoldsTheWatermarkUntilItCloses) {
  runtime_.BlockOn([&]() -> Task<void> {
    Pipeline pipeline(system_, Options("tumbling:10s", kNeverIdle));
    auto [a, silent] = co_await OpenTwo(pipeline, "a", "silent");
    co_await Feed(*a, EventLine("a", 1'000, 1));
    co_await Feed(*a, EventLine("a", 25'000, 1));
    co_await SleepFor(std::chrono::seconds(60));
    EXPECT_EQ(ResultCount(), 0u);  // no idle timeout: held for ever
    (void)co_await silent->Close();
    co_await Settle();
    EXPECT_EQ(ResultCount(), 1u);
    (void)co_await a->Close();
    co_await ExpectFinishes(pipeline);
  }());
}

TEST_F(MultipleInputsTest, EndOfEveryInputFlushesEveryWindowOnce) {
  runtime_.BlockOn([&]() -> Task<void> {
    Pipeline pipeline(system_, Options("sliding:10s/5s", kNeverIdle));
    auto [a, b] = co_await OpenTwo(pipeline, "a", "b");
    co_await Feed(*a, EventLine("k", 1'000, 1));
    co_await Feed(*b, EventLine("k", 12'000, 2));
    co_await Feed(*a, EventLine("k", 13'000, 3));
    co_await Settle();
    // The watermark is 12000: [-5000,5000) and [0,10000) have fired.
    EXPECT_EQ(ResultCount(), 2u);
    co_await CloseBoth(pipeline, *a, *b);
  }());
  // The end emits the windows with unemitted changes - [5000,15000) and
  // [10000,20000) - and not the two already emitted and unchanged.
  const std::vector<std::string> lines = results_->lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(ReadResultLine(lines[2]).start, 5'000);
  EXPECT_EQ(ReadResultLine(lines[2]).count, 2u);
  EXPECT_EQ(ReadResultLine(lines[3]).start, 10'000);
  EXPECT_EQ(ReadResultLine(lines[3]).count, 2u);
}

TEST_F(MultipleInputsTest, NoInputOpensAfterNoMoreInputs) {
  runtime_.BlockOn([&]() -> Task<void> {
    Pipeline pipeline(system_, Options("tumbling:10s", kNeverIdle));
    co_await pipeline.NoMoreInputs();
    const absl::Status finished = co_await pipeline.Finished();
    EXPECT_TRUE(finished.ok()) << finished;  // nothing to wait for
    Task<absl::StatusOr<Port>> open = pipeline.OpenInput("late");
    absl::StatusOr<Port> port = co_await std::move(open);
    EXPECT_EQ(port.status().code(), absl::StatusCode::kFailedPrecondition);
  }());
}

}  // namespace
}  // namespace troupe::aggregator

// Timers on a runtime: SleepFor/SleepUntil, Interval and Timeout, driven
// by a ManualClock - on a current-thread runtime in the deterministic test
// mode (auto_advance: the clock jumps to the next timer whenever nothing is
// runnable), and moved by hand on a multi-thread runtime.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/clock.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "tests/executor/test_util.h"

namespace troupe {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

int64_t PendingTimers() {
  return Scheduler::Current()->time_driver().PendingTimers();
}

Task<void> Sleep(Duration d) { co_await SleepFor(d); }

Task<void> Await(JoinHandle<void> handle) { co_await handle; }

// The deterministic test mode.
class ManualTimeTest : public ::testing::Test {
 protected:
  Duration Elapsed() const { return clock_.Now() - start_; }
  int64_t RuntimePendingTimers() {
    return runtime_.scheduler().time_driver().PendingTimers();
  }

  ManualClock clock_;
  const Instant start_ = clock_.Now();
  Runtime runtime_{{.flavor = Flavor::kCurrentThread,
                    .clock = &clock_,
                    .auto_advance = true}};
};

TEST_F(ManualTimeTest, SleepingAnHourTakesNoWallTimeAndMovesTheClockAnHour) {
  const auto wall_start = std::chrono::steady_clock::now();
  runtime_.BlockOn(Sleep(hours(1)));
  EXPECT_EQ(Elapsed(), hours(1));
  // The one timed assertion here, with a bound far from both outcomes: an
  // hour of test time must not cost anything like an hour of wall time.
  EXPECT_LT(std::chrono::steady_clock::now() - wall_start, minutes(1));
  EXPECT_EQ(RuntimePendingTimers(), 0);
}

TEST_F(ManualTimeTest, ASleepWhoseDeadlineHasPassedCompletesWithoutATimer) {
  auto body = []() -> Task<int64_t> {
    co_await SleepUntil(CurrentClock().Now() - seconds(1));
    co_await SleepFor(Duration(0));
    co_return PendingTimers();
  };
  EXPECT_EQ(runtime_.BlockOn(body()), 0);
  EXPECT_EQ(Elapsed(), Duration(0));
}

using WakeLog = std::vector<std::pair<int, Duration>>;

Task<void> SleepAndLog(int id, Duration d, Instant start, WakeLog* log) {
  co_await SleepFor(d);
  log->emplace_back(id, CurrentClock().Now() - start);
}

TEST_F(ManualTimeTest, SleepsCompleteInDeadlineOrderEachAtItsDeadline) {
  const std::vector<Duration> durations = {
      milliseconds(30), milliseconds(10), hours(1),          milliseconds(20),
      seconds(5),       milliseconds(1),  milliseconds(64),  milliseconds(4096),
      minutes(3),       milliseconds(63), milliseconds(4095)};
  auto body = [](std::vector<Duration> ds, Instant start,
                 WakeLog* log) -> Task<void> {
    std::vector<JoinHandle<void>> handles;
    for (std::size_t i = 0; i < ds.size(); ++i) {
      handles.push_back(
          Spawn(SleepAndLog(static_cast<int>(i), ds[i], start, log)));
    }
    for (JoinHandle<void>& h : handles) co_await h;
  };
  WakeLog log;
  runtime_.BlockOn(body(durations, start_, &log));

  WakeLog expected;
  for (std::size_t i = 0; i < durations.size(); ++i) {
    expected.emplace_back(static_cast<int>(i), durations[i]);
  }
  std::sort(expected.begin(), expected.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  EXPECT_EQ(log, expected);
  EXPECT_EQ(Elapsed(), hours(1));
}

constexpr Duration kThreeYears = hours(3 * 365 * 24);

TEST_F(ManualTimeTest, ASleepLongerThanTheTimerWheelSpansEndsExactlyOnTime) {
  // The wheel spans ~2.2 years of milliseconds. Once time has moved at all,
  // a longer sleep wraps its top level.
  auto body = []() -> Task<void> {
    co_await SleepFor(milliseconds(1));
    co_await SleepFor(kThreeYears);
  };
  runtime_.BlockOn(body());
  EXPECT_EQ(Elapsed(), milliseconds(1) + kThreeYears);
}

// Ticks of an Interval of 10 ms that stalls for 35 ms after its first tick:
// (when each tick was scheduled, when it completed), both from the start.
using TickLog = std::vector<std::pair<Duration, Duration>>;

Task<TickLog> StalledInterval(MissedTick missed) {
  const Instant start = CurrentClock().Now();
  Interval every(milliseconds(10), missed);
  TickLog ticks;
  auto tick = [&](Instant due) {
    ticks.emplace_back(due - start, CurrentClock().Now() - start);
  };
  tick(co_await every.Tick());
  co_await SleepFor(milliseconds(35));
  for (int i = 0; i < 4; ++i) tick(co_await every.Tick());
  co_return ticks;
}

TEST_F(ManualTimeTest, AnIntervalThatBurstsFiresMissedTicksBackToBack) {
  const TickLog ticks = runtime_.BlockOn(StalledInterval(MissedTick::kBurst));
  const TickLog expected = {
      {milliseconds(0), milliseconds(0)},    // the first tick is immediate
      {milliseconds(10), milliseconds(35)},  // three missed ticks, at once
      {milliseconds(20), milliseconds(35)},
      {milliseconds(30), milliseconds(35)},
      {milliseconds(40), milliseconds(40)},  // back on schedule
  };
  EXPECT_EQ(ticks, expected);
}

TEST_F(ManualTimeTest, AnIntervalThatSkipsDropsMissedTicks) {
  const TickLog ticks = runtime_.BlockOn(StalledInterval(MissedTick::kSkip));
  const TickLog expected = {
      {milliseconds(0), milliseconds(0)},
      {milliseconds(10), milliseconds(35)},  // the late one, once
      {milliseconds(40), milliseconds(40)},  // 20 and 30 are skipped
      {milliseconds(50), milliseconds(50)},
      {milliseconds(60), milliseconds(60)},
  };
  EXPECT_EQ(ticks, expected);
}

Task<int> SleepThenAnswer(Duration d, test::DestroyCounter guard) {
  co_await SleepFor(d);
  (void)guard;
  co_return 42;
}

TEST_F(ManualTimeTest, TimeoutAbandonsATaskStillSleepingAtTheDeadline) {
  auto destroyed = test::NewCounter();
  auto body =
      [](std::shared_ptr<std::atomic<int>> d) -> Task<absl::StatusOr<int>> {
    // Built outside the co_await expression (GCC 12, see runtime_test.cc).
    Task<int> slow = SleepThenAnswer(hours(1), test::DestroyCounter(d));
    co_return co_await Timeout(seconds(1), std::move(slow));
  };
  const absl::StatusOr<int> r = runtime_.BlockOn(body(destroyed));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  EXPECT_EQ(Elapsed(), seconds(1));
  EXPECT_EQ(destroyed->load(), 1);       // the abandoned task's frame is gone
  EXPECT_EQ(RuntimePendingTimers(), 0);  // and so is its sleep's timer
}

TEST_F(ManualTimeTest, TimeoutReturnsTheResultOfATaskThatFinishesInTime) {
  auto destroyed = test::NewCounter();
  auto body =
      [](std::shared_ptr<std::atomic<int>> d) -> Task<absl::StatusOr<int>> {
    Task<int> quick = SleepThenAnswer(seconds(1), test::DestroyCounter(d));
    co_return co_await Timeout(hours(1), std::move(quick));
  };
  const absl::StatusOr<int> r = runtime_.BlockOn(body(destroyed));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(Elapsed(), seconds(1));      // the clock never jumped to the hour
  EXPECT_EQ(RuntimePendingTimers(), 0);  // the Timeout's own timer is gone
}

TEST_F(ManualTimeTest, TimeoutWhoseDeadlineHasPassedNeverStartsTheTask) {
  auto body = [](std::shared_ptr<std::atomic<bool>> started) -> Task<bool> {
    Task<void> work = [](std::shared_ptr<std::atomic<bool>> s) -> Task<void> {
      s->store(true);
      co_return;
    }(started);
    absl::Status s = co_await TimeoutAt(CurrentClock().Now(), std::move(work));
    co_return absl::IsDeadlineExceeded(s);
  };
  auto started = std::make_shared<std::atomic<bool>>(false);
  EXPECT_TRUE(runtime_.BlockOn(body(started)));
  EXPECT_FALSE(started->load());
  EXPECT_EQ(Elapsed(), Duration(0));
}

TEST_F(ManualTimeTest, AnAbortedSleepingTaskLeavesNoTimerRegistered) {
  auto body = []() -> Task<void> {
    JoinHandle<void> sleeper = Spawn(Sleep(hours(1)));
    while (PendingTimers() == 0) co_await YieldNow();  // let it register
    EXPECT_EQ(PendingTimers(), 1);
    sleeper.Abort();
    bool cancelled = false;
    try {
      co_await sleeper;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(PendingTimers(), 0);
  };
  runtime_.BlockOn(body());
  EXPECT_EQ(RuntimePendingTimers(), 0);
  EXPECT_EQ(Elapsed(), Duration(0));  // the hour never had to pass
}

// Without auto_advance: the clock moves only when the test says so.
TEST(ManualClock, SleepsThatBecomeDueTogetherWakeInDeadlineOrder) {
  ManualClock clock;
  Runtime runtime({.flavor = Flavor::kCurrentThread, .clock = &clock});
  auto body = [](ManualClock* c, std::vector<int>* order) -> Task<void> {
    std::vector<JoinHandle<void>> handles;
    for (int ms : {5, 1, 4, 2, 3}) {
      handles.push_back(Spawn([](int id, std::vector<int>* o) -> Task<void> {
        co_await SleepFor(milliseconds(id));
        o->push_back(id);
      }(ms, order)));
    }
    while (PendingTimers() < 5) co_await YieldNow();
    // All five become due at once: one poll of the driver fires them all.
    c->Advance(milliseconds(10));
    for (JoinHandle<void>& h : handles) co_await h;
  };
  std::vector<int> order;
  runtime.BlockOn(body(&clock, &order));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST(ManualClock, AdvancingItFiresSleepingTasksOnAMultiThreadRuntime) {
  ManualClock clock;
  Runtime runtime(
      {.flavor = Flavor::kMultiThread, .worker_threads = 2, .clock = &clock});
  TimeDriver& driver = runtime.scheduler().time_driver();
  std::vector<JoinHandle<void>> sleepers;
  for (int s = 1; s <= 5; ++s)
    sleepers.push_back(runtime.Spawn(Sleep(seconds(s))));
  test::WaitUntil([&] { return driver.PendingTimers() == 5; });
  for (std::size_t k = 0; k < sleepers.size(); ++k) {
    clock.Advance(seconds(1));
    runtime.BlockOn(Await(std::move(sleepers[k])));
    // Nobody else can have woken: their deadlines are still ahead.
    for (std::size_t j = k + 1; j < sleepers.size(); ++j) {
      EXPECT_FALSE(sleepers[j].IsFinished()) << "sleeper " << j + 1 << "s";
    }
  }
  EXPECT_EQ(driver.PendingTimers(), 0);
}

}  // namespace
}  // namespace troupe

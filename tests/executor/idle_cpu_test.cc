// An idle runtime sleeps in the kernel: over one idle second, a
// multi-thread runtime with two workers uses next to no CPU - with nothing
// to do, and with a timer pending far in the future. (A timed test by
// nature: the bound, 50 ms per second, is far above the few microseconds
// an idle runtime needs and far below what any spinning would cost.)

#include <time.h>

#include <chrono>
#include <thread>

#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"
#include "tests/executor/test_util.h"

namespace troupe {
namespace {

using std::chrono::milliseconds;

Duration ProcessCpuTime() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

Task<int> Work(int i) { co_return i; }

Task<int> Burst() {
  int sum = 0;
  for (int i = 0; i < 1000; ++i) {
    JoinHandle<int> h = Spawn(Work(i));
    sum += co_await h;
  }
  co_return sum;
}

// CPU used by the whole process while the test thread sleeps one second.
Duration IdleSecondCpu(Runtime& runtime) {
  // Warm up: some work on the workers, then let them all go to sleep.
  runtime.BlockOn(Burst());
  test::WaitUntil([&] {
    for (const WorkerMetrics& w : runtime.Metrics().workers) {
      if (w.parks == 0) return false;
    }
    return true;
  });
  std::this_thread::sleep_for(milliseconds(100));
  const Duration start = ProcessCpuTime();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  return ProcessCpuTime() - start;
}

TEST(IdleCpu, AnIdleRuntimeWithTwoWorkersUsesAlmostNoCpu) {
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  const Duration cpu = IdleSecondCpu(runtime);
  EXPECT_LT(cpu, milliseconds(50))
      << std::chrono::duration_cast<std::chrono::microseconds>(cpu).count()
      << " us of CPU in an idle second";
}

TEST(IdleCpu, AFarFutureTimerDoesNotMakeAnIdleRuntimeSpin) {
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  JoinHandle<void> sleeper = runtime.Spawn(
      []() -> Task<void> { co_await SleepFor(std::chrono::hours(1)); }());
  test::WaitUntil(
      [&] { return runtime.scheduler().time_driver().PendingTimers() == 1; });
  const Duration cpu = IdleSecondCpu(runtime);
  EXPECT_LT(cpu, milliseconds(50))
      << std::chrono::duration_cast<std::chrono::microseconds>(cpu).count()
      << " us of CPU in an idle second";
  sleeper.Abort();
}

}  // namespace
}  // namespace troupe

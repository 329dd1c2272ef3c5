// Resumable tasks (executor/resumable.h): runs until done, parks and is
// woken, runs again after a wake that came during a run, is cancelled
// instead of run after Abort or at shutdown, is released exactly once
// after its last reference; and, under --config=tsan, never runs on two
// threads at once while many threads wake it.

#include "executor/resumable.h"

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdio>
#include <thread>
#include <utility>
#include <vector>

#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/scheduler.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "tests/executor/test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::test {
namespace {

template <typename F>
class ResumableTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(ResumableTest, RuntimeFlavours);

// Records what happened to it; parks (kIdle) unless told to yield or to
// finish. The test owns it: OnReleased only records.
class Probe final : public Resumable {
 public:
  RunResult Run() override {
    // Relaxed: overlaps are caught by the exchange itself; ordering
    // between runs and claims is the task state's to give (TSan checks it
    // through turns_, a plain field both touch).
    if (inside_.exchange(true, std::memory_order_relaxed)) {
      overlaps_.fetch_add(1, std::memory_order_relaxed);
    }
    turns_ += 1;
    const int run = runs_.fetch_add(1, std::memory_order_acq_rel) + 1;
    RunResult result = RunResult::kIdle;
    if (run == wake_self_on_run) {
      WakeByRef();  // woken while running: must run once more
    } else if (run < yield_until_run) {
      result = RunResult::kYield;
    } else if (run >= done_on_run) {
      result = RunResult::kDone;
    }
    inside_.store(false, std::memory_order_relaxed);
    return result;
  }
  void OnCancelled() override {
    cancelled_.fetch_add(1, std::memory_order_acq_rel);
  }
  // A claim's work (resumable.h, "Claiming"), checked for overlap with
  // runs like Run(). False if the task could not be claimed.
  bool ClaimAndTouch(bool run_after) {
    if (!TryClaim()) return false;
    if (inside_.exchange(true, std::memory_order_relaxed)) {
      overlaps_.fetch_add(1, std::memory_order_relaxed);
    }
    claims_ += 1;
    turns_ += 1;  // plain, as in Run(): claims and runs must be ordered
    inside_.store(false, std::memory_order_relaxed);
    EndClaim(run_after);
    return true;
  }
  int claims() const { return claims_; }
  // Read once nothing runs or claims the task any more.
  int turns() const { return turns_; }
  void OnReleased() override {
    released_.fetch_add(1, std::memory_order_acq_rel);
  }

  int runs() const { return runs_.load(std::memory_order_acquire); }
  int cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  int released() const { return released_.load(std::memory_order_acquire); }
  int overlaps() const { return overlaps_.load(std::memory_order_acquire); }

  int yield_until_run = 0;    // runs before this one yield
  int done_on_run = 1 << 30;  // this run (and later) returns kDone
  int wake_self_on_run = 0;   // this run wakes itself and parks

 private:
  std::atomic<bool> inside_{false};
  std::atomic<int> overlaps_{0};
  std::atomic<int> runs_{0};
  std::atomic<int> cancelled_{0};
  std::atomic<int> released_{0};
  int claims_ = 0;
  int turns_ = 0;  // runs and claims: plain (see Run)
};

// Lets the runtime run whatever is queued (a few turns of the queue).
Task<void> LetOthersRun() {
  for (int i = 0; i < 8; ++i) co_await YieldNow();
}

// Drives the runtime (a current-thread one runs only inside BlockOn) until
// `done()` holds. A hang is reported by the test timeout.
template <typename P>
Task<void> YieldUntil(P done) {
  while (!done()) co_await YieldNow();
}

TYPED_TEST(ResumableTest, ATaskThatYieldsRunsAgainUntilItIsDone) {
  Probe probe;
  probe.yield_until_run = 5;
  probe.done_on_run = 5;
  SpawnResumable(this->runtime_.scheduler(), &probe);
  this->runtime_.BlockOn(YieldUntil([&] { return probe.released() == 1; }));
  EXPECT_EQ(probe.runs(), 5);
  EXPECT_EQ(probe.cancelled(), 0);
}

TYPED_TEST(ResumableTest, AParkedTaskRunsOnlyWhenWoken) {
  Probe probe;
  probe.done_on_run = 3;
  SpawnResumable(this->runtime_.scheduler(), &probe);
  this->runtime_.BlockOn(YieldUntil([&] { return probe.runs() == 1; }));
  this->runtime_.BlockOn(LetOthersRun());
  EXPECT_EQ(probe.runs(), 1);  // parked: nothing runs it
  probe.WakeByRef();
  this->runtime_.BlockOn(YieldUntil([&] { return probe.runs() == 2; }));
  this->runtime_.BlockOn(LetOthersRun());
  EXPECT_EQ(probe.runs(), 2);
  EXPECT_EQ(probe.released(), 0);  // idle, not done: still referenced
  probe.WakeByRef();
  this->runtime_.BlockOn(YieldUntil([&] { return probe.released() == 1; }));
  EXPECT_EQ(probe.runs(), 3);
  EXPECT_EQ(probe.cancelled(), 0);
}

TYPED_TEST(ResumableTest, AWakeDuringARunMakesItRunOnceMore) {
  Probe probe;
  probe.wake_self_on_run = 1;
  probe.done_on_run = 2;
  SpawnResumable(this->runtime_.scheduler(), &probe);
  this->runtime_.BlockOn(YieldUntil([&] { return probe.released() == 1; }));
  EXPECT_EQ(probe.runs(), 2);
}

TYPED_TEST(ResumableTest, AnAbortedTaskIsCancelledInsteadOfRunThenReleased) {
  Probe probe;
  SpawnResumable(this->runtime_.scheduler(), &probe);
  this->runtime_.BlockOn(YieldUntil([&] { return probe.runs() == 1; }));
  probe.Abort();
  this->runtime_.BlockOn(YieldUntil([&] { return probe.released() == 1; }));
  EXPECT_EQ(probe.runs(), 1);
  EXPECT_EQ(probe.cancelled(), 1);
  probe.Abort();  // a second abort of a finished task: nothing happens
  EXPECT_EQ(probe.cancelled(), 1);
}

TYPED_TEST(ResumableTest, AFinishedTaskIsNeverCancelled) {
  Probe probe;
  probe.done_on_run = 1;
  SpawnResumable(this->runtime_.scheduler(), &probe);
  this->runtime_.BlockOn(YieldUntil([&] { return probe.released() == 1; }));
  probe.Abort();
  EXPECT_EQ(probe.cancelled(), 0);
}

// ---- claiming (resumable.h, "Claiming") ----

// The probe has run once and parked: idle.
void StartAndPark(Runtime& runtime, Probe& probe) {
  SpawnResumable(runtime.scheduler(), &probe);
  runtime.BlockOn(YieldUntil([&] { return probe.runs() == 1; }));
  runtime.BlockOn(LetOthersRun());
}

// Ends a parked probe's test: aborted, it is cancelled and released.
void AbortAndAwaitRelease(Runtime& runtime, Probe& probe) {
  probe.Abort();
  runtime.BlockOn(YieldUntil([&] { return probe.released() == 1; }));
}

TYPED_TEST(ResumableTest, AnIdleTaskIsClaimedOnlyFromATaskOfItsScheduler) {
  Probe probe;
  StartAndPark(this->runtime_, probe);
  EXPECT_FALSE(probe.ClaimAndTouch(false));  // this thread runs no task
  Runtime other({.flavor = Flavor::kCurrentThread});
  EXPECT_FALSE(other.BlockOn([](Probe* p) -> Task<bool> {
    co_return p->ClaimAndTouch(false);
  }(&probe)));
  EXPECT_TRUE(this->runtime_.BlockOn([](Probe* p) -> Task<bool> {
    co_return p->ClaimAndTouch(false);
  }(&probe)));
  this->runtime_.BlockOn(LetOthersRun());
  EXPECT_EQ(probe.runs(), 1);  // given back idle: nothing ran it
  EXPECT_EQ(probe.claims(), 1);
  AbortAndAwaitRelease(this->runtime_, probe);
}

TYPED_TEST(ResumableTest, AQueuedOrRunningTaskCannotBeClaimed) {
  Probe probe;
  StartAndPark(this->runtime_, probe);
  const bool claimed_while_queued =
      this->runtime_.BlockOn([](Probe* p) -> Task<bool> {
        p->WakeByRef();  // queued now (this task still runs)
        co_return p->ClaimAndTouch(false);
      }(&probe));
  EXPECT_FALSE(claimed_while_queued);
  this->runtime_.BlockOn(YieldUntil([&] { return probe.runs() == 2; }));
  // Inside a claim the task counts as running: a second claim fails.
  const bool nested = this->runtime_.BlockOn([](Probe* p) -> Task<bool> {
    if (!p->TryClaim()) co_return true;
    const bool again = p->TryClaim();
    p->EndClaim(false);
    co_return again;
  }(&probe));
  EXPECT_FALSE(nested);
  AbortAndAwaitRelease(this->runtime_, probe);
}

TYPED_TEST(ResumableTest, AWakeDuringAClaimRunsTheTaskAfterTheClaim) {
  Probe probe;
  StartAndPark(this->runtime_, probe);
  const int runs_in_claim = this->runtime_.BlockOn([](Probe* p) -> Task<int> {
    if (!p->TryClaim()) co_return -1;
    // A waker's own reference (WakeByVal): dropped, as for a running task;
    // EndClaim queues the task with a new one.
    TaskRef::Clone(p).Wake();
    // Without suspending (the claim must not): time for another worker to
    // run the task, if the wake had queued it.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const int runs = p->runs();
    p->EndClaim(false);
    co_return runs;
  }(&probe));
  EXPECT_EQ(runs_in_claim, 1);  // the wake waited for the end of the claim
  this->runtime_.BlockOn(YieldUntil([&] { return probe.runs() == 2; }));
  EXPECT_EQ(probe.overlaps(), 0);
  AbortAndAwaitRelease(this->runtime_, probe);
}

TYPED_TEST(ResumableTest, AClaimEndedWithRunRunsTheTask) {
  Probe probe;
  StartAndPark(this->runtime_, probe);
  EXPECT_TRUE(this->runtime_.BlockOn([](Probe* p) -> Task<bool> {
    co_return p->ClaimAndTouch(/*run_after=*/true);
  }(&probe)));
  this->runtime_.BlockOn(YieldUntil([&] { return probe.runs() == 2; }));
  AbortAndAwaitRelease(this->runtime_, probe);
}

TYPED_TEST(ResumableTest, AnAbortDuringAClaimCancelsTheTaskAfterTheClaim) {
  Probe probe;
  StartAndPark(this->runtime_, probe);
  const int cancelled_in_claim =
      this->runtime_.BlockOn([](Probe* p) -> Task<int> {
        if (!p->TryClaim()) co_return -1;
        p->Abort();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        const int cancelled = p->cancelled();
        p->EndClaim(false);
        co_return cancelled;
      }(&probe));
  EXPECT_EQ(cancelled_in_claim, 0);
  this->runtime_.BlockOn(YieldUntil([&] { return probe.released() == 1; }));
  EXPECT_EQ(probe.cancelled(), 1);
  EXPECT_EQ(probe.runs(), 1);
}

// Claimants on every worker race wakers on plain threads: claims and runs
// never overlap, and each claim sees the runs before it (TSan).
TEST(ResumableClaimStressTest, ClaimsAndRunsNeverOverlap) {
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  Probe probe;
  TaskRef hold = TaskRef::Clone(&probe);
  StartAndPark(runtime, probe);
  constexpr int kClaimants = 4;
  constexpr int kTries = 20000;
  std::atomic<bool> stop{false};
  std::thread waker([&] {
    while (!stop.load(std::memory_order_acquire)) probe.WakeByRef();
  });
  auto claimant = [](Probe* p) -> Task<int> {
    int claimed = 0;
    for (int i = 0; i < kTries; ++i) {
      if (p->ClaimAndTouch(/*run_after=*/i % 7 == 0)) ++claimed;
      if (i % 64 == 0) co_await YieldNow();
    }
    co_return claimed;
  };
  const int claimed = runtime.BlockOn([&]() -> Task<int> {
    std::vector<JoinHandle<int>> all;
    all.reserve(kClaimants);
    for (int i = 0; i < kClaimants; ++i) all.push_back(Spawn(claimant(&probe)));
    int n = 0;
    for (auto& h : all) n += co_await h;
    co_return n;
  }());
  stop.store(true, std::memory_order_release);
  waker.join();
  probe.Abort();
  hold.Reset();
  runtime.BlockOn(YieldUntil([&] { return probe.released() == 1; }));
  EXPECT_EQ(probe.overlaps(), 0);
  EXPECT_EQ(probe.claims(), claimed);
  EXPECT_GT(claimed, 0) << "no claim succeeded: the race was not exercised";
  EXPECT_EQ(probe.turns(), probe.runs() + claimed);
  std::printf("claimed %d of %d, runs %d\n", claimed, kClaimants * kTries,
              probe.runs());
}

// A Resumable that records its release (the test owns the object).
class Released : public Resumable {
 public:
  void OnReleased() override {
    released_.store(true, std::memory_order_release);
  }
  bool released() const { return released_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> released_{false};
};

// Hosts a coroutine that yields `yields` times; counts Run() calls and
// whether Run() ever saw the coroutine unfinished.
class Host final : public Released {
 public:
  explicit Host(int yields) : yields_(yields) {}

  RunResult Run() override {
    ++runs_;
    if (hosted_) {
      if (!hosted_.done()) ++runs_mid_coroutine_;
      std::exchange(hosted_, nullptr).destroy();
      return RunResult::kDone;
    }
    hosted_ = Work(this).Release();
    if (!RunCoroutine(hosted_)) return RunResult::kIdle;  // it owns the task
    std::exchange(hosted_, nullptr).destroy();
    return RunResult::kDone;
  }
  void OnCancelled() override {
    ++cancelled_;
    if (hosted_) std::exchange(hosted_, nullptr).destroy();
  }

  int steps() const { return steps_; }
  int runs() const { return runs_; }
  int runs_mid_coroutine() const { return runs_mid_coroutine_; }
  int cancelled() const { return cancelled_; }
  // Steps the coroutine took, readable while it waits (its last step was
  // before it parked; the reader drives the runtime on the same thread or
  // looks after the release).
  std::atomic<int> progress{0};

 private:
  static Task<void> Work(Host* self) {
    for (int i = 0; i < self->yields_; ++i) {
      ++self->steps_;
      self->progress.store(self->steps_, std::memory_order_release);
      co_await YieldNow();
    }
    ++self->steps_;
  }

  const int yields_;
  std::coroutine_handle<> hosted_;
  int steps_ = 0;
  int runs_ = 0;
  int runs_mid_coroutine_ = 0;
  int cancelled_ = 0;
};

TYPED_TEST(ResumableTest, ACoroutineItStartsOwnsTheTaskUntilItFinishes) {
  Host host(/*yields=*/5);
  SpawnResumable(this->runtime_.scheduler(), &host);
  this->runtime_.BlockOn(YieldUntil([&] { return host.released(); }));
  EXPECT_EQ(host.steps(), 6);
  // Once to start the coroutine, once after it finished: the five
  // wake-ups in between resumed the coroutine, not Run().
  EXPECT_EQ(host.runs(), 2);
  EXPECT_EQ(host.runs_mid_coroutine(), 0);
  EXPECT_EQ(host.cancelled(), 0);
}

TYPED_TEST(ResumableTest, ACoroutineThatFinishesAtOnceLeavesRunInCharge) {
  Host host(/*yields=*/0);
  SpawnResumable(this->runtime_.scheduler(), &host);
  this->runtime_.BlockOn(YieldUntil([&] { return host.released(); }));
  EXPECT_EQ(host.steps(), 1);
  EXPECT_EQ(host.runs(), 1);
}

TEST(ResumableShutdownTest, ShutdownCancelsATaskWhoseCoroutineWaits) {
  Host host(/*yields=*/1 << 30);
  {
    Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
    SpawnResumable(runtime.scheduler(), &host);
    WaitUntil(
        [&] { return host.progress.load(std::memory_order_acquire) > 10; });
  }
  EXPECT_EQ(host.cancelled(), 1);
  EXPECT_TRUE(host.released());
  EXPECT_EQ(host.runs(), 1);
}

// An awaiter whose event is already there when it gets to suspend: it
// records its resume point, then declines to suspend (as channel and
// token awaiters do when they lose a race to their own event).
struct AlreadyThere {
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> handle) const noexcept {
    CurrentTask()->SetResumePoint(handle, nullptr);
    return false;
  }
  void await_resume() const noexcept {}
};

// Runs a coroutine that passes an AlreadyThere and ends; then parks
// (kIdle) until woken; the next run finishes.
class Declined final : public Released {
 public:
  RunResult Run() override {
    if (runs_.fetch_add(1, std::memory_order_acq_rel) == 0) {
      std::coroutine_handle<> h = Work().Release();
      finished_at_once_ = RunCoroutine(h);
      h.destroy();
      return RunResult::kIdle;
    }
    return RunResult::kDone;
  }
  void OnCancelled() override {}
  int runs() const { return runs_.load(std::memory_order_acquire); }
  bool finished_at_once() const { return finished_at_once_; }

 private:
  static Task<void> Work() { co_await AlreadyThere(); }
  std::atomic<int> runs_{0};
  bool finished_at_once_ = false;
};

TYPED_TEST(ResumableTest,
           AResumePointLeftByAnAwaiterThatDidNotSuspendIsForgotten) {
  Declined task;
  SpawnResumable(this->runtime_.scheduler(), &task);
  this->runtime_.BlockOn(YieldUntil([&] { return task.runs() == 1; }));
  this->runtime_.BlockOn(LetOthersRun());  // parked: it stays at one run
  EXPECT_EQ(task.runs(), 1);
  // The next wake runs Run() - not the coroutine, whose frame is gone.
  task.WakeByRef();
  this->runtime_.BlockOn(YieldUntil([&] { return task.released(); }));
  EXPECT_TRUE(task.finished_at_once());
  EXPECT_EQ(task.runs(), 2);
}

// Throws from its first run.
class Thrower final : public Released {
 public:
  RunResult Run() override {
    runs_.fetch_add(1, std::memory_order_acq_rel);
    throw 7;
  }
  void OnCancelled() override {
    cancelled_.fetch_add(1, std::memory_order_acq_rel);
  }
  int runs() const { return runs_.load(std::memory_order_acquire); }
  int cancelled() const { return cancelled_.load(std::memory_order_acquire); }

 private:
  std::atomic<int> runs_{0};
  std::atomic<int> cancelled_{0};
};

TYPED_TEST(ResumableTest, ARunThatThrowsCancelsTheTaskAndTheWorkerGoesOn) {
  Thrower task;
  SpawnResumable(this->runtime_.scheduler(), &task);
  this->runtime_.BlockOn(YieldUntil([&] { return task.released(); }));
  EXPECT_EQ(task.runs(), 1);
  EXPECT_EQ(task.cancelled(), 1);
  // The runtime still runs tasks.
  EXPECT_EQ(this->runtime_.BlockOn([]() -> Task<int> { co_return 5; }()), 5);
}

TEST(ResumableShutdownTest, ShutdownCancelsAParkedTaskAndReleasesIt) {
  Probe probe;
  {
    Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
    SpawnResumable(runtime.scheduler(), &probe);
    WaitUntil([&] { return probe.runs() == 1; });
  }
  EXPECT_EQ(probe.cancelled(), 1);
  EXPECT_EQ(probe.released(), 1);
  EXPECT_EQ(probe.runs(), 1);
}

TEST(ResumableShutdownTest, ATaskSpawnedAfterShutdownIsCancelledAtOnce) {
  Probe probe;
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  runtime.scheduler().Shutdown();
  SpawnResumable(runtime.scheduler(), &probe);
  EXPECT_EQ(probe.runs(), 0);
  EXPECT_EQ(probe.cancelled(), 1);
  EXPECT_EQ(probe.released(), 1);
}

// Counts work that many threads hand it, each through its own reference
// (a TaskRef taken before its work is published, so that the task cannot
// be released under a wake in flight). Finishes when all work is in.
class Collector final : public Released {
 public:
  explicit Collector(int expected) : expected_(expected) {}

  RunResult Run() override {
    if (inside_.exchange(true, std::memory_order_acq_rel)) {
      overlaps_.fetch_add(1, std::memory_order_relaxed);
    }
    ++runs_;  // plain: only runs touch it (TSan checks that claim)
    // acq_rel: sees every increment made before the wake that ran us.
    collected_ += pending_.exchange(0, std::memory_order_acq_rel);
    inside_.store(false, std::memory_order_release);
    return collected_ == expected_ ? RunResult::kDone : RunResult::kIdle;
  }
  void OnCancelled() override { cancelled_ = true; }

  void Hand(int n) {
    TaskRef ref = TaskRef::Clone(this);
    pending_.fetch_add(n, std::memory_order_acq_rel);
    ref.Wake();
  }

  int collected() const { return collected_; }
  int runs() const { return runs_; }
  bool cancelled() const { return cancelled_; }
  int overlaps() const { return overlaps_.load(std::memory_order_acquire); }

 private:
  const int expected_;
  std::atomic<int> pending_{0};
  std::atomic<bool> inside_{false};
  std::atomic<int> overlaps_{0};
  int collected_ = 0;
  int runs_ = 0;
  bool cancelled_ = false;
};

TYPED_TEST(ResumableTest, ManyWakersNeverMakeItRunTwiceAtOnceNorLoseWork) {
  constexpr int kThreads = 4;
  constexpr int kHandsPerThread = 2000;
  Collector collector(kThreads * kHandsPerThread);
  // Held until every thread has handed its work in: the collector cannot
  // be released (even if it finished) while a thread may still take a
  // reference to it.
  TaskRef hold = TaskRef::Clone(&collector);
  SpawnResumable(this->runtime_.scheduler(), &collector);
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kHandsPerThread; ++i) collector.Hand(1);
      finished.fetch_add(1, std::memory_order_acq_rel);
    });
  }
  this->runtime_.BlockOn(YieldUntil(
      [&] { return finished.load(std::memory_order_acquire) == kThreads; }));
  for (std::thread& t : threads) t.join();
  hold.Reset();
  this->runtime_.BlockOn(YieldUntil([&] { return collector.released(); }));
  EXPECT_EQ(collector.collected(), kThreads * kHandsPerThread);
  EXPECT_EQ(collector.overlaps(), 0);
  EXPECT_FALSE(collector.cancelled());
  // At most one run per wake, plus the first.
  EXPECT_LE(collector.runs(), kThreads * kHandsPerThread + 1);
}

}  // namespace
}  // namespace troupe::test

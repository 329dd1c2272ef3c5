// The shutdown protocol of scheduler.h, one test per numbered step, then
// ShutdownTimeout, shutting down from inside the runtime, and BlockOn
// across a shutdown. Under AddressSanitizer these also prove that shutdown
// leaks nothing: every task block is freed by the time the runtime is gone.

#include <dirent.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "executor/cancellation_token.h"
#include "executor/clock.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/scheduler.h"
#include "executor/sleep.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "tests/executor/test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe {
namespace {

using Counter = std::shared_ptr<std::atomic<int>>;
using Flag = std::shared_ptr<std::atomic<bool>>;

Flag NewFlag() { return std::make_shared<std::atomic<bool>>(false); }

using test::CurrentThread;
using test::MultiThread;
using Flavours = test::RuntimeFlavours;

template <typename F>
class ShutdownTest : public ::testing::Test {
 protected:
  static RuntimeOptions Options() { return F::Options(); }
};
TYPED_TEST_SUITE(ShutdownTest, Flavours);

// Threads of this process whose name starts with `prefix`.
int NamedThreads(const std::string& prefix) {
  int n = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
      std::string name;
      if (std::getline(comm, name) && name.rfind(prefix, 0) == 0) ++n;
    }
    closedir(dir);
  }
  return n;
}

Task<int> RecordRun(Counter runs, test::DestroyCounter guard) {
  (void)guard;
  runs->fetch_add(1);
  co_return 42;
}

// Awaits a handle, typically on a second runtime after the first is gone:
// a JoinHandle stays valid (and reports the outcome) after its runtime
// shut down.
template <typename T>
Task<T> AwaitOn(JoinHandle<T> handle) {
  co_return co_await handle;
}

// ---- step 1 ----------------------------------------------------------------

TYPED_TEST(ShutdownTest,
           Step1SpawnsAfterShutdownAreCancelledAtOnceAndNeverRun) {
  Runtime runtime(this->Options());
  runtime.Shutdown();
  Counter runs = test::NewCounter();
  Counter destroyed = test::NewCounter();
  JoinHandle<int> h =
      runtime.Spawn(RecordRun(runs, test::DestroyCounter(destroyed)));
  EXPECT_TRUE(h.IsFinished());      // cancelled on the spot,
  EXPECT_EQ(destroyed->load(), 1);  // its frame destroyed right away
  Runtime other({.flavor = Flavor::kCurrentThread});
  EXPECT_THROW(other.BlockOn(AwaitOn(std::move(h))), CancelledError);
  // BlockOn on the shut-down runtime is cancelled the same way.
  EXPECT_THROW(
      runtime.BlockOn(RecordRun(runs, test::DestroyCounter(destroyed))),
      CancelledError);
  EXPECT_EQ(destroyed->load(), 2);
  EXPECT_EQ(runs->load(), 0);
}

// ---- steps 2 and 3 ---------------------------------------------------------

TEST(Shutdown, Step2And3ParkedWorkersAreWokenAndJoined) {
  Runtime runtime({.flavor = Flavor::kMultiThread,
                   .worker_threads = 4,
                   .thread_name = "step3"});
  // Every worker has nothing to do: wait until each has parked.
  test::WaitUntil([&] {
    for (const WorkerMetrics& w : runtime.Metrics().workers) {
      if (w.parks == 0) return false;
    }
    return true;
  });
  test::WaitUntil([] { return NamedThreads("step3-") == 4; });
  // A worker left asleep would make this hang (the test's timeout), and
  // one left unjoined would end the process when its std::thread goes.
  runtime.Shutdown();
  // The threads are gone, not merely told to go. (Polled: a thread that
  // was joined can linger in /proc for a moment while the kernel reaps it.)
  test::WaitUntil([] { return NamedThreads("step3-") == 0; });
}

// ---- step 4 ----------------------------------------------------------------

// Spawns `n` recording tasks from inside the runtime (into the worker's
// LIFO slot and local queue, overflowing into the injection queue), then
// occupies its worker until the runtime shuts down, so none of them runs.
Task<void> SpawnThenHoldTheWorker(int n, Counter runs, Counter destroyed,
                                  Scheduler* scheduler, Flag holding) {
  for (int i = 0; i < n; ++i) {
    SpawnDetached(RecordRun(runs, test::DestroyCounter(destroyed)));
  }
  holding->store(true);
  while (!scheduler->IsShutdown()) std::this_thread::yield();
  co_return;
}

TEST(Shutdown, Step4QueuedTasksAreDroppedWithoutRunningOnAMultiThreadRuntime) {
  constexpr int kLocal = 1000;  // more than a local queue holds
  constexpr int kRemote = 1000;
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 1});
  Counter runs = test::NewCounter();
  Counter destroyed = test::NewCounter();
  Flag holding = NewFlag();
  JoinHandle<void> holder = runtime.Spawn(SpawnThenHoldTheWorker(
      kLocal, runs, destroyed, &runtime.scheduler(), holding));
  test::WaitUntil([&] { return holding->load(); });
  // The only worker is busy: these wait in the injection queue.
  for (int i = 0; i < kRemote; ++i) {
    runtime.Spawn(RecordRun(runs, test::DestroyCounter(destroyed))).Detach();
  }
  runtime.Shutdown();
  EXPECT_EQ(runs->load(), 0);
  EXPECT_EQ(destroyed->load(), kLocal + kRemote);
  EXPECT_TRUE(holder.IsFinished());
}

TEST(Shutdown,
     Step4QueuedTasksAreDroppedWithoutRunningOnACurrentThreadRuntime) {
  constexpr int kLocal = 1000;
  constexpr int kRemote = 1000;
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  Counter runs = test::NewCounter();
  Counter destroyed = test::NewCounter();
  // Spawned by a task: into the worker's queues. Its last spawn takes the
  // LIFO slot and runs right after it; the rest stay queued once BlockOn
  // has returned, as nobody drives the runtime any more.
  auto body = [](Counter r, Counter d) -> Task<void> {
    for (int i = 0; i < kLocal; ++i) {
      SpawnDetached(RecordRun(r, test::DestroyCounter(d)));
    }
    SpawnDetached([]() -> Task<void> { co_return; }());  // the LIFO one
    co_return;
  };
  runtime.BlockOn(body(runs, destroyed));
  // Spawned from outside: into the injection queue.
  for (int i = 0; i < kRemote; ++i) {
    runtime.Spawn(RecordRun(runs, test::DestroyCounter(destroyed))).Detach();
  }
  EXPECT_EQ(destroyed->load(), 0);
  runtime.Shutdown();
  EXPECT_EQ(runs->load(), 0);
  EXPECT_EQ(destroyed->load(), kLocal + kRemote);
}

// ---- step 5 ----------------------------------------------------------------

// Four ways to be parked forever; each task counts itself as parked just
// before it suspends.
Task<int> ParkOnToken(CancellationToken token, Counter parked,
                      test::DestroyCounter guard) {
  (void)guard;
  parked->fetch_add(1);
  co_await token.Cancelled();
  co_return 1;
}
Task<int> ParkOnHandle(JoinHandle<int> other, Counter parked,
                       test::DestroyCounter guard) {
  (void)guard;
  parked->fetch_add(1);
  co_return co_await other;
}
Task<int> ParkOnTimer(Counter parked, test::DestroyCounter guard) {
  (void)guard;
  parked->fetch_add(1);
  co_await SleepFor(std::chrono::hours(24));
  co_return 1;
}

// Spawns n parked tasks, by i % 5: 0 on a token, 1 on a child of it, 2 on
// a day-long timer, 3 on the JoinHandle of task i - 1 and 4 on that of task
// i - 1 again - chains of tasks parked on each other's handles, ending in a
// timer. Returns the handles of the last few tasks nobody else awaits.
using SpawnFn = std::function<JoinHandle<int>(Task<int>)>;
std::vector<JoinHandle<int>> SpawnParked(int n, const CancellationToken& never,
                                         const Counter& parked,
                                         const Counter& destroyed,
                                         const SpawnFn& spawn) {
  std::vector<JoinHandle<int>> kept;
  JoinHandle<int> previous;
  CancellationToken child = never.Child();
  for (int i = 0; i < n; ++i) {
    Task<int> task;
    switch (i % 5) {
      case 0:
        task = ParkOnToken(never, parked, test::DestroyCounter(destroyed));
        break;
      case 1:
        task = ParkOnToken(child, parked, test::DestroyCounter(destroyed));
        break;
      case 2:
        task = ParkOnTimer(parked, test::DestroyCounter(destroyed));
        break;
      default:
        task = ParkOnHandle(std::exchange(previous, JoinHandle<int>()), parked,
                            test::DestroyCounter(destroyed));
        break;
    }
    JoinHandle<int> h = spawn(std::move(task));
    if (i % 5 == 2 || i % 5 == 3) {
      previous = std::move(h);  // the next task awaits it
    } else if (i >= n - 10) {
      kept.push_back(std::move(h));
    }
  }
  return kept;
}

TEST(Shutdown,
     Step5EveryUnfinishedFrameIsDestroyedExactlyOnceOnAMultiThreadRuntime) {
  constexpr int kTasks = 10'000;
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  CancellationToken never;
  Counter parked = test::NewCounter();
  Counter destroyed = test::NewCounter();
  std::vector<JoinHandle<int>> kept = SpawnParked(
      kTasks, never, parked, destroyed,
      [&runtime](Task<int> t) { return runtime.Spawn(std::move(t)); });
  test::WaitUntil([&] { return parked->load() == kTasks; });
  EXPECT_EQ(runtime.Metrics().tasks_alive, kTasks);
  runtime.Shutdown();
  EXPECT_EQ(destroyed->load(), kTasks);
  // The sleepers' timers went with their frames.
  EXPECT_EQ(runtime.scheduler().time_driver().PendingTimers(), 0);
  Runtime other({.flavor = Flavor::kCurrentThread});
  for (JoinHandle<int>& h : kept) {
    EXPECT_TRUE(h.IsFinished());
    EXPECT_THROW(other.BlockOn(AwaitOn(std::move(h))), CancelledError);
  }
}

TEST(Shutdown,
     Step5EveryUnfinishedFrameIsDestroyedExactlyOnceOnACurrentThreadRuntime) {
  constexpr int kTasks = 10'000;
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  CancellationToken never;
  Counter parked = test::NewCounter();
  Counter destroyed = test::NewCounter();
  std::vector<JoinHandle<int>> kept;
  auto body = [](std::vector<JoinHandle<int>>* k, CancellationToken t,
                 Counter p, Counter d) -> Task<void> {
    *k = SpawnParked(kTasks, t, p, d,
                     [](Task<int> task) { return Spawn(std::move(task)); });
    while (p->load() < kTasks) co_await YieldNow();
  };
  runtime.BlockOn(body(&kept, never, parked, destroyed));
  EXPECT_EQ(destroyed->load(), 0);
  runtime.Shutdown();
  EXPECT_EQ(destroyed->load(), kTasks);
  EXPECT_EQ(runtime.scheduler().time_driver().PendingTimers(), 0);
  Runtime other({.flavor = Flavor::kCurrentThread});
  for (JoinHandle<int>& h : kept) {
    EXPECT_THROW(other.BlockOn(AwaitOn(std::move(h))), CancelledError);
  }
}

// A destructor run by step 5 that spawns finds the runtime closed: its
// task is cancelled on the spot rather than queued or run.
struct SpawnsOnDestruction {
  Runtime* runtime;
  Counter runs;
  Flag spawned_finished;
  SpawnsOnDestruction(Runtime* r, Counter c, Flag f)
      : runtime(r), runs(std::move(c)), spawned_finished(std::move(f)) {}
  SpawnsOnDestruction(SpawnsOnDestruction&& o) noexcept
      : runtime(std::exchange(o.runtime, nullptr)),
        runs(std::move(o.runs)),
        spawned_finished(std::move(o.spawned_finished)) {}
  ~SpawnsOnDestruction() {
    if (runtime == nullptr) return;
    JoinHandle<int> h =
        runtime->Spawn(RecordRun(runs, test::DestroyCounter(nullptr)));
    spawned_finished->store(h.IsFinished());
  }
};

Task<void> ParkWithSpawningGuard(CancellationToken token, Flag parked,
                                 SpawnsOnDestruction guard) {
  (void)guard;
  parked->store(true);
  co_await token.Cancelled();
}

TYPED_TEST(ShutdownTest, Step5ADestructorThatSpawnsDuringShutdownIsRefused) {
  Runtime runtime(this->Options());
  CancellationToken never;
  Counter runs = test::NewCounter();
  Flag spawned_finished = NewFlag();
  Flag parked = NewFlag();
  runtime
      .Spawn(ParkWithSpawningGuard(
          never, parked, SpawnsOnDestruction(&runtime, runs, spawned_finished)))
      .Detach();
  if (runtime.flavor() == Flavor::kCurrentThread) {
    auto yield_until = [](Flag f) -> Task<void> {
      while (!f->load()) co_await YieldNow();
    };
    runtime.BlockOn(yield_until(parked));
  }
  test::WaitUntil([&] { return parked->load(); });
  runtime.Shutdown();
  EXPECT_TRUE(spawned_finished->load());
  EXPECT_EQ(runs->load(), 0);
}

// ---- ShutdownTimeout -------------------------------------------------------

Task<void> SleepThenFinish(Instant until, Flag finished) {
  co_await SleepUntil(until);
  finished->store(true);
}

TYPED_TEST(ShutdownTest,
           ShutdownTimeoutLetsTasksFinishAndDestroysTheStuckOnesAfterIt) {
  // With a manual clock the grace period ends exactly when the test moves
  // the clock past it: no wall-clock timing involved.
  ManualClock clock;
  RuntimeOptions options = this->Options();
  options.clock = &clock;
  Runtime runtime(options);
  CancellationToken never;
  Flag finished = NewFlag();
  Counter stuck_parked = test::NewCounter();
  Counter stuck_destroyed = test::NewCounter();
  // Needs the clock at +1 s: it cannot finish before the test moves it.
  JoinHandle<void> quick = runtime.Spawn(
      SleepThenFinish(clock.Now() + std::chrono::seconds(1), finished));
  JoinHandle<int> stuck = runtime.Spawn(
      ParkOnToken(never, stuck_parked, test::DestroyCounter(stuck_destroyed)));
  std::thread mover([&] {
    // Best effort to start the clock once ShutdownTimeout is waiting (the
    // test holds either way: nothing else can move the clock).
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    clock.Advance(std::chrono::seconds(1));
    test::WaitUntil([&] { return finished->load(); });
    // The quick task is done; the stuck one is still alive and waiting.
    EXPECT_EQ(stuck_destroyed->load(), 0);
    clock.Advance(std::chrono::seconds(10));  // the grace period is over
  });
  runtime.ShutdownTimeout(std::chrono::seconds(10));
  mover.join();
  EXPECT_TRUE(finished->load());
  EXPECT_EQ(stuck_destroyed->load(), 1);
  Runtime other({.flavor = Flavor::kCurrentThread});
  EXPECT_NO_THROW(other.BlockOn(AwaitOn(std::move(quick))));
  EXPECT_THROW(other.BlockOn(AwaitOn(std::move(stuck))), CancelledError);
}

TYPED_TEST(ShutdownTest, ShutdownTimeoutReturnsAtOnceWhenNothingIsAlive) {
  ManualClock clock;  // never moved: only "nothing alive" can end the wait
  RuntimeOptions options = this->Options();
  options.clock = &clock;
  Runtime runtime(options);
  Counter runs = test::NewCounter();
  JoinHandle<int> h =
      runtime.Spawn(RecordRun(runs, test::DestroyCounter(nullptr)));
  runtime.ShutdownTimeout(std::chrono::hours(1));
  EXPECT_EQ(runs->load(), 1);  // it ran during the grace period
  Runtime other({.flavor = Flavor::kCurrentThread});
  EXPECT_EQ(other.BlockOn(AwaitOn(std::move(h))), 42);
}

// ---- shutting down from inside
// -----------------------------------------------

TYPED_TEST(ShutdownTest, ShuttingDownFromInsideATaskThrowsLogicError) {
  Runtime runtime(this->Options());
  auto body = []() -> Task<int> {
    int refused = 0;
    try {
      Runtime::Current()->Shutdown();
    } catch (const std::logic_error&) {
      ++refused;
    }
    try {
      Runtime::Current()->ShutdownTimeout(std::chrono::milliseconds(1));
    } catch (const std::logic_error&) {
      ++refused;
    }
    co_return refused;
  };
  EXPECT_EQ(runtime.BlockOn(body()), 2);
  // The runtime was left intact: it still runs tasks, and shuts down
  // properly from outside.
  Counter runs = test::NewCounter();
  EXPECT_EQ(runtime.BlockOn(RecordRun(runs, test::DestroyCounter(nullptr))),
            42);
  runtime.Shutdown();
  EXPECT_TRUE(runtime.scheduler().IsShutdown());
}

// ---- BlockOn across a shutdown ---------------------------------------------

Task<void> ParkForever(CancellationToken token, Flag started) {
  started->store(true);
  co_await token.Cancelled();
}

TYPED_TEST(ShutdownTest, BlockOnThrowsCancelledErrorWhenTheRuntimeShutsDown) {
  Runtime runtime(this->Options());
  CancellationToken never;
  Flag started = NewFlag();
  std::exception_ptr error;
  bool returned = false;
  std::thread blocker([&] {
    try {
      runtime.BlockOn(ParkForever(never, started));
      returned = true;
    } catch (...) {
      error = std::current_exception();
    }
  });
  test::WaitUntil([&] { return started->load(); });
  runtime.ShutdownTimeout(std::chrono::milliseconds(1));
  blocker.join();
  EXPECT_FALSE(returned);
  ASSERT_NE(error, nullptr);
  EXPECT_THROW(std::rethrow_exception(error), CancelledError);
}

}  // namespace
}  // namespace troupe

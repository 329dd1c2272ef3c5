// Scenarios every runtime flavour must pass: the same typed tests run on the
// multi-thread and the current-thread runtime.

#include "executor/runtime.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "executor/cancellation_token.h"
#include "executor/coop.h"
#include "executor/sleep.h"
#include "executor/yield.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/runtime_flavours.h"

namespace troupe {
namespace {

using ::testing::ElementsAre;

using test::CurrentThread;
using test::MultiThread;

template <typename F>
class RuntimeTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
using Flavours = test::RuntimeFlavours;
TYPED_TEST_SUITE(RuntimeTest, Flavours);

Task<int> Answer() { co_return 42; }
Task<int> AddOne(int x) { co_return x + 1; }
Task<std::unique_ptr<int>> MakeBox(int v) {
  co_return std::make_unique<int>(v);
}
Task<int> Thrower() {
  throw std::runtime_error("boom");
  co_return 0;
}

TYPED_TEST(RuntimeTest, BlockOnReturnsTheTaskValue) {
  EXPECT_EQ(this->runtime_.BlockOn(Answer()), 42);
}

// Sets its flag when destroyed, a little late: a frame destroyed after
// BlockOn returned would be seen unset.
class SlowToDestroy {
 public:
  explicit SlowToDestroy(std::atomic<bool>* destroyed)
      : destroyed_(destroyed) {}
  SlowToDestroy(SlowToDestroy&& other) noexcept
      : destroyed_(std::exchange(other.destroyed_, nullptr)) {}
  SlowToDestroy& operator=(SlowToDestroy&&) = delete;
  ~SlowToDestroy() {
    if (destroyed_ == nullptr) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    destroyed_->store(true);
  }

 private:
  std::atomic<bool>* destroyed_;
};

Task<int> HoldUntilDestroyed(SlowToDestroy /*held*/) { co_return 7; }

TYPED_TEST(RuntimeTest, BlockOnReturnsOnlyAfterTheTaskFrameIsGone) {
  std::atomic<bool> destroyed{false};
  EXPECT_EQ(
      this->runtime_.BlockOn(HoldUntilDestroyed(SlowToDestroy(&destroyed))), 7);
  EXPECT_TRUE(destroyed.load());
}

TYPED_TEST(RuntimeTest, ATaskCanAwaitAnotherTask) {
  auto outer = []() -> Task<int> {
    const int a = co_await Answer();
    co_return co_await AddOne(a);
  };
  EXPECT_EQ(this->runtime_.BlockOn(outer()), 43);
}

TYPED_TEST(RuntimeTest, MoveOnlyResultsArriveIntact) {
  std::unique_ptr<int> box = this->runtime_.BlockOn(MakeBox(7));
  ASSERT_NE(box, nullptr);
  EXPECT_EQ(*box, 7);
}

TYPED_TEST(RuntimeTest, ExceptionsPropagateToTheAwaiter) {
  auto outer = []() -> Task<std::string> {
    try {
      co_await Thrower();
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(this->runtime_.BlockOn(outer()), "boom");
}

TYPED_TEST(RuntimeTest, BlockOnRethrowsTheTaskException) {
  EXPECT_THROW(this->runtime_.BlockOn(Thrower()), std::runtime_error);
}

TYPED_TEST(RuntimeTest, AJoinHandleDeliversTheSpawnedResult) {
  auto outer = []() -> Task<int> {
    JoinHandle<int> h = Spawn(AddOne(99));
    co_return co_await h;
  };
  EXPECT_EQ(this->runtime_.BlockOn(outer()), 100);
}

TYPED_TEST(RuntimeTest, AJoinHandleRethrowsTheSpawnedException) {
  auto outer = []() -> Task<bool> {
    JoinHandle<int> h = Spawn(Thrower());
    try {
      co_await h;
    } catch (const std::runtime_error&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(this->runtime_.BlockOn(outer()));
}

TYPED_TEST(RuntimeTest, ADetachedTaskStillRuns) {
  auto flag = std::make_shared<std::atomic<bool>>(false);
  auto outer = [](std::shared_ptr<std::atomic<bool>> f) -> Task<void> {
    Spawn([](std::shared_ptr<std::atomic<bool>> g) -> Task<void> {
      g->store(true);
      co_return;
    }(f))
        .Detach();
    while (!f->load()) co_await YieldNow();
  };
  this->runtime_.BlockOn(outer(flag));
  EXPECT_TRUE(flag->load());
}

TYPED_TEST(RuntimeTest, AbortingAParkedTaskCancelsItAndTheJoinReportsIt) {
  auto outer = []() -> Task<bool> {
    CancellationToken never;
    auto destroyed = std::make_shared<bool>(false);
    struct Flag {
      std::shared_ptr<bool> f;
      ~Flag() { *f = true; }
    };
    JoinHandle<void> h =
        Spawn([](CancellationToken t, Flag flag) -> Task<void> {
          co_await t.Cancelled();
          (void)flag;
        }(never, Flag{destroyed}));
    co_await YieldNow();  // let it park
    h.Abort();
    bool cancelled = false;
    try {
      co_await h;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    co_return cancelled&&* destroyed;
  };
  EXPECT_TRUE(this->runtime_.BlockOn(outer()));
}

TYPED_TEST(RuntimeTest, AbortingATaskThatNeverStartedCancelsIt) {
  auto outer = []() -> Task<bool> {
    JoinHandle<int> h = Spawn(Answer());
    h.Abort();
    try {
      co_await h;
    } catch (const CancelledError&) {
      co_return true;
    }
    co_return false;  // it may legitimately have finished first on 2 workers
  };
  // On the current-thread runtime the task cannot have started.
  const bool cancelled = this->runtime_.BlockOn(outer());
  if (this->runtime_.flavor() == Flavor::kCurrentThread) {
    EXPECT_TRUE(cancelled);
  }
}

TYPED_TEST(RuntimeTest, AbortingAFinishedTaskKeepsItsResult) {
  auto outer = []() -> Task<int> {
    JoinHandle<int> h = Spawn(Answer());
    while (!h.IsFinished()) co_await YieldNow();
    h.Abort();
    co_return co_await h;
  };
  EXPECT_EQ(this->runtime_.BlockOn(outer()), 42);
}

TYPED_TEST(RuntimeTest, RuntimeSpawnFromAPlainThreadRuns) {
  JoinHandle<int> h = this->runtime_.Spawn(Answer());
  auto outer = [](JoinHandle<int> handle) -> Task<int> {
    co_return co_await handle;
  };
  EXPECT_EQ(this->runtime_.BlockOn(outer(std::move(h))), 42);
}

TYPED_TEST(RuntimeTest, YieldNowLetsOtherTasksRunInBetween) {
  auto outer = []() -> Task<std::vector<int>> {
    auto order = std::make_shared<std::vector<int>>();
    auto mu = std::make_shared<std::mutex>();
    auto worker = [](int id, std::shared_ptr<std::vector<int>> o,
                     std::shared_ptr<std::mutex> m) -> Task<void> {
      for (int i = 0; i < 3; ++i) {
        {
          std::lock_guard<std::mutex> g(*m);
          o->push_back(id);
        }
        co_await YieldNow();
      }
    };
    JoinHandle<void> a = Spawn(worker(1, order, mu));
    JoinHandle<void> b = Spawn(worker(2, order, mu));
    co_await a;
    co_await b;
    co_return *order;
  };
  std::vector<int> order = this->runtime_.BlockOn(outer());
  ASSERT_EQ(order.size(), 6u);
  if (this->runtime_.flavor() == Flavor::kCurrentThread) {
    // One thread: a yield sends the task behind the other, so they
    // alternate (which one starts depends on the LIFO slot: the last
    // spawned).
    EXPECT_THAT(order, ElementsAre(2, 1, 2, 1, 2, 1));
  }
}

TYPED_TEST(RuntimeTest, SleepForWaitsAtLeastTheDuration) {
  auto outer = []() -> Task<Duration> {
    const Instant start = CurrentClock().Now();
    co_await SleepFor(std::chrono::milliseconds(20));
    co_return CurrentClock().Now() - start;
  };
  EXPECT_GE(this->runtime_.BlockOn(outer()), std::chrono::milliseconds(20));
}

TYPED_TEST(RuntimeTest, TimeoutReturnsTheValueWhenTheTaskIsFast) {
  auto outer = []() -> Task<absl::StatusOr<int>> {
    co_return co_await Timeout(std::chrono::seconds(10), Answer());
  };
  absl::StatusOr<int> r = this->runtime_.BlockOn(outer());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
}

TYPED_TEST(RuntimeTest, TimeoutAbandonsASlowTaskAndReportsDeadlineExceeded) {
  auto outer = []() -> Task<bool> {
    auto destroyed = std::make_shared<bool>(false);
    struct Flag {
      std::shared_ptr<bool> f;
      ~Flag() { *f = true; }
    };
    CancellationToken never;
    // Built outside the co_await expression: GCC 12 mishandles temporaries
    // with destructors inside a co_await full-expression.
    Task<void> slow = [](CancellationToken t, Flag flag) -> Task<void> {
      co_await t.Cancelled();
      (void)flag;
    }(never, Flag{destroyed});
    absl::Status s =
        co_await Timeout(std::chrono::milliseconds(10), std::move(slow));
    co_return absl::IsDeadlineExceeded(s) && *destroyed;
  };
  EXPECT_TRUE(this->runtime_.BlockOn(outer()));
}

TYPED_TEST(RuntimeTest, CancellingATokenWakesItsWaitersAndChildren) {
  auto outer = []() -> Task<int> {
    CancellationToken parent;
    CancellationToken child = parent.Child();
    auto waiter = [](CancellationToken t) -> Task<int> {
      co_await t.Cancelled();
      co_return 1;
    };
    JoinHandle<int> a = Spawn(waiter(parent));
    JoinHandle<int> b = Spawn(waiter(child));
    co_await YieldNow();
    parent.Cancel();
    co_return co_await a + co_await b;
  };
  EXPECT_EQ(this->runtime_.BlockOn(outer()), 2);
}

TYPED_TEST(RuntimeTest, CancellingAChildLeavesTheParentAlone) {
  CancellationToken parent;
  CancellationToken child = parent.Child();
  child.Cancel();
  EXPECT_TRUE(child.IsCancelled());
  EXPECT_FALSE(parent.IsCancelled());
  parent.Cancel();
  EXPECT_TRUE(parent.Child().IsCancelled());
}

TYPED_TEST(RuntimeTest, SpawnBlockingRunsOffTheWorkersAndReturnsItsValue) {
  auto outer = []() -> Task<int> {
    absl::StatusOr<BlockingHandle<int>> h = SpawnBlocking([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return 5;
    });
    if (!h.ok()) co_return -1;
    co_return co_await *h;
  };
  EXPECT_EQ(this->runtime_.BlockOn(outer()), 5);
}

}  // namespace
}  // namespace troupe

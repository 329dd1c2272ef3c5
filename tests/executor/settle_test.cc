// Settle(): the deterministic test mode's "run everything that is ready".

#include "executor/settle.h"

#include <chrono>
#include <stdexcept>

#include "channels/mpsc.h"
#include "executor/clock.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

using std::chrono::milliseconds;

Runtime CurrentThreadRuntime(ManualClock* clock) {
  return Runtime(
      {.flavor = Flavor::kCurrentThread, .clock = clock, .auto_advance = true});
}

TEST(Settle, RunsEveryTaskThatIsReadyIncludingTheOnesTheySpawn) {
  ManualClock clock;
  Runtime rt({.flavor = Flavor::kCurrentThread, .clock = &clock});
  int steps = 0;
  rt.BlockOn([](int* steps) -> Task<void> {
    SpawnDetached([](int* steps) -> Task<void> {
      ++*steps;
      SpawnDetached([](int* steps) -> Task<void> {
        for (int i = 0; i < 10; ++i) co_await YieldNow();
        ++*steps;
      }(steps));
      co_return;
    }(steps));
    EXPECT_EQ(*steps, 0);
    co_await Settle();
    EXPECT_EQ(*steps, 2);
  }(&steps));
  EXPECT_EQ(steps, 2);
}

TEST(Settle, DeliversEveryMessageOfAChannelConversation) {
  ManualClock clock;
  Runtime rt({.flavor = Flavor::kCurrentThread, .clock = &clock});
  rt.BlockOn([]() -> Task<void> {
    auto [tx, rx] = MakeMpsc<int>(4).value();
    int received = 0;
    SpawnDetached([](Receiver<int> rx, int* received) -> Task<void> {
      while (std::optional<int> v = co_await rx.Recv()) *received += *v;
    }(std::move(rx), &received));
    SpawnDetached([](Sender<int> tx) -> Task<void> {
      for (int i = 1; i <= 100; ++i) (void)co_await tx.Send(i);
    }(tx));
    co_await Settle();
    EXPECT_EQ(received, 5050);
  }());
}

TEST(Settle, DoesNotMoveTimeForward) {
  ManualClock clock;
  Runtime rt = CurrentThreadRuntime(&clock);
  rt.BlockOn([](ManualClock* clock) -> Task<void> {
    const Instant start = clock->Now();
    bool woke = false;
    JoinHandle<void> sleeper = Spawn([](bool* woke) -> Task<void> {
      co_await SleepFor(milliseconds(50));
      *woke = true;
    }(&woke));
    co_await Settle();
    EXPECT_FALSE(woke);
    EXPECT_EQ(clock->Now(), start);
    // Time moves when the test says so: auto-advance jumps to the timer.
    co_await SleepFor(milliseconds(50));
    co_await Settle();
    EXPECT_TRUE(woke);
    co_await sleeper;
  }(&clock));
}

TEST(Settle, FiresTimersThatAreAlreadyDue) {
  ManualClock clock;
  Runtime rt({.flavor = Flavor::kCurrentThread, .clock = &clock});
  rt.BlockOn([](ManualClock* clock) -> Task<void> {
    bool woke = false;
    SpawnDetached([](bool* woke) -> Task<void> {
      co_await SleepFor(milliseconds(10));
      *woke = true;
    }(&woke));
    co_await Settle();
    EXPECT_FALSE(woke);
    clock->Advance(milliseconds(10));
    co_await Settle();
    EXPECT_TRUE(woke);
  }(&clock));
}

TEST(Settle, OnAMultiThreadRuntimeIsALogicError) {
  Runtime rt({.worker_threads = 2});
  EXPECT_THROW(rt.BlockOn(Settle()), std::logic_error);
}

}  // namespace
}  // namespace troupe

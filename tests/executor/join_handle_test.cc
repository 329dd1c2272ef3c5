// JoinHandle: awaiting, detaching, dropping and aborting spawned tasks, on
// both runtime flavours. (runtime_test.cc covers the basic value, exception
// and abort-while-parked cases.)

#include "executor/join_handle.h"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <utility>

#include "executor/cancellation_token.h"
#include "executor/runtime.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "tests/executor/test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe {
namespace {

using Counter = std::shared_ptr<std::atomic<int>>;

using test::CurrentThread;
using test::MultiThread;

template <typename F>
class JoinHandleTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
using Flavours = test::RuntimeFlavours;
TYPED_TEST_SUITE(JoinHandleTest, Flavours);

Task<void> YieldForever(Counter iterations, test::DestroyCounter guard) {
  (void)guard;
  for (;;) {
    iterations->fetch_add(1);
    co_await YieldNow();
  }
}

Task<int> WaitForToken(CancellationToken token, test::DestroyCounter guard) {
  (void)guard;
  co_await token.Cancelled();
  co_return 42;
}

Task<void> Await(JoinHandle<void> handle) { co_await handle; }

TYPED_TEST(JoinHandleTest,
           AbortingATaskThatLoopsWithYieldNowStopsItAtItsNextSuspension) {
  auto body = [](Counter iterations, Counter destroyed) -> Task<void> {
    JoinHandle<void> h =
        Spawn(YieldForever(iterations, test::DestroyCounter(destroyed)));
    while (iterations->load() < 3) co_await YieldNow();
    h.Abort();
    // It may be in the middle of a run (on another worker): that run ends
    // at its next YieldNow, and no further run starts.
    const int at_abort = iterations->load();
    bool cancelled = false;
    try {
      co_await h;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_LE(iterations->load(), at_abort + 1);
    EXPECT_EQ(destroyed->load(), 1);  // its frame is gone when we resume
    EXPECT_TRUE(h.IsFinished());
  };
  this->runtime_.BlockOn(body(test::NewCounter(), test::NewCounter()));
}

Task<bool> AbortAndJoin(JoinHandle<int> victim) {
  victim.Abort();
  try {
    co_await victim;
  } catch (const CancelledError&) {
    co_return true;
  }
  co_return false;
}

TYPED_TEST(JoinHandleTest, ATaskCanAbortAnotherTaskThroughItsHandle) {
  auto body = [](Counter destroyed) -> Task<void> {
    CancellationToken never;
    JoinHandle<int> victim =
        Spawn(WaitForToken(never, test::DestroyCounter(destroyed)));
    co_await YieldNow();
    JoinHandle<bool> aborter = Spawn(AbortAndJoin(std::move(victim)));
    EXPECT_TRUE(co_await aborter);
    EXPECT_EQ(destroyed->load(), 1);
  };
  this->runtime_.BlockOn(body(test::NewCounter()));
}

TYPED_TEST(JoinHandleTest, AbortingFromAPlainThreadCancelsARunningTask) {
  Counter iterations = test::NewCounter();
  Counter destroyed = test::NewCounter();
  JoinHandle<void> h = this->runtime_.Spawn(
      YieldForever(iterations, test::DestroyCounter(destroyed)));
  if (this->runtime_.flavor() == Flavor::kMultiThread) {
    test::WaitUntil([&] { return iterations->load() > 0; });  // it is running
  }
  std::thread([&h] { h.Abort(); }).join();
  EXPECT_THROW(this->runtime_.BlockOn(Await(std::move(h))), CancelledError);
  EXPECT_EQ(destroyed->load(), 1);
}

TYPED_TEST(JoinHandleTest, AbortingTwiceIsTheSameAsAbortingOnce) {
  auto body = [](Counter destroyed) -> Task<void> {
    CancellationToken never;
    JoinHandle<int> h =
        Spawn(WaitForToken(never, test::DestroyCounter(destroyed)));
    co_await YieldNow();
    h.Abort();
    h.Abort();
    EXPECT_THROW(co_await h, CancelledError);
    h.Abort();  // after completion: nothing
    EXPECT_EQ(destroyed->load(), 1);
  };
  this->runtime_.BlockOn(body(test::NewCounter()));
}

struct CodedError : std::runtime_error {
  explicit CodedError(int c) : std::runtime_error("coded"), code(c) {}
  int code;
};

Task<int> FailAfterYields(int yields, int code) {
  for (int i = 0; i < yields; ++i) co_await YieldNow();
  throw CodedError(code);
  co_return 0;
}

TYPED_TEST(JoinHandleTest, AwaitingAHandleRethrowsTheTasksOwnException) {
  auto body = []() -> Task<void> {
    // Awaited while it still runs: the joiner parks, then is woken.
    JoinHandle<int> late = Spawn(FailAfterYields(5, 7));
    int code = 0;
    try {
      co_await late;
    } catch (const CodedError& e) {
      code = e.code;
    }
    EXPECT_EQ(code, 7);
    // Awaited after it finished: no suspension at all.
    JoinHandle<int> early = Spawn(FailAfterYields(0, 9));
    while (!early.IsFinished()) co_await YieldNow();
    code = 0;
    try {
      co_await early;
    } catch (const CodedError& e) {
      code = e.code;
    }
    EXPECT_EQ(code, 9);
  };
  this->runtime_.BlockOn(body());
}

Task<void> SignalWhenDone(CancellationToken go, CancellationToken done,
                          test::DestroyCounter guard) {
  (void)guard;
  co_await go.Cancelled();
  done.Cancel();
}

TYPED_TEST(JoinHandleTest, ATaskWhoseHandleIsDroppedWhileParkedStillFinishes) {
  auto body = [](Counter destroyed) -> Task<void> {
    CancellationToken go;
    CancellationToken done;
    {
      JoinHandle<void> dropped =
          Spawn(SignalWhenDone(go, done, test::DestroyCounter(destroyed)));
      co_await YieldNow();
    }
    EXPECT_EQ(destroyed->load(), 0);  // dropping the handle cancels nothing
    go.Cancel();
    co_await done.Cancelled();
    // Finished and unreferenced: its frame goes (perhaps on another worker
    // a moment after it signalled us).
    while (destroyed->load() == 0) co_await YieldNow();
    EXPECT_EQ(destroyed->load(), 1);
  };
  this->runtime_.BlockOn(body(test::NewCounter()));
}

TYPED_TEST(JoinHandleTest, ADetachedTaskRunsToCompletionAndIsThenDestroyed) {
  auto body = [](Counter destroyed) -> Task<void> {
    CancellationToken go;
    CancellationToken done;
    go.Cancel();
    Spawn(SignalWhenDone(go, done, test::DestroyCounter(destroyed))).Detach();
    co_await done.Cancelled();
    while (destroyed->load() == 0) co_await YieldNow();
    EXPECT_EQ(destroyed->load(), 1);
  };
  this->runtime_.BlockOn(body(test::NewCounter()));
}

Task<int> AwaitHandle(JoinHandle<int> handle) { co_return co_await handle; }

TYPED_TEST(JoinHandleTest, AbortingAJoinerLeavesTheTaskItAwaitsRunning) {
  auto body = [](Counter destroyed) -> Task<void> {
    CancellationToken go;
    JoinHandle<int> inner =
        Spawn(WaitForToken(go, test::DestroyCounter(destroyed)));
    JoinHandle<int> joiner = Spawn(AwaitHandle(std::move(inner)));
    for (int i = 0; i < 3; ++i) co_await YieldNow();  // let it park on inner
    joiner.Abort();
    EXPECT_THROW(co_await joiner, CancelledError);
    EXPECT_EQ(destroyed->load(), 0);  // inner is not the one aborted
    // Inner finishes later, with nobody joining it any more (under ASAN a
    // wake-up of the destroyed joiner would be a use after free).
    go.Cancel();
    while (destroyed->load() == 0) co_await YieldNow();
  };
  this->runtime_.BlockOn(body(test::NewCounter()));
}

Task<int> ReturnSeven(test::DestroyCounter guard) {
  (void)guard;
  co_return 7;
}

// Whatever a finished task's parameters own (a channel sender, a lock
// guard, a socket) must not live on for as long as someone holds its
// handle: a receiver waiting for "sender dropped" would wait forever.
TYPED_TEST(JoinHandleTest,
           AFinishedTasksParametersAreReleasedWhileItsHandleIsHeld) {
  auto body = [](Counter destroyed) -> Task<void> {
    JoinHandle<int> h = Spawn(ReturnSeven(test::DestroyCounter(destroyed)));
    while (!h.IsFinished()) co_await YieldNow();
    EXPECT_EQ(destroyed->load(), 1);
    EXPECT_EQ(co_await h, 7);
  };
  this->runtime_.BlockOn(body(test::NewCounter()));
}

}  // namespace
}  // namespace troupe

// CancellationToken: shared state, the parent/child tree, waking waiters,
// abandoned waits, and concurrent use.

#include "executor/cancellation_token.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "tests/executor/test_util.h"

namespace troupe {
namespace {

using Counter = std::shared_ptr<std::atomic<int>>;

TEST(CancellationToken, CancelIsIdempotentAndSeenThroughEveryCopy) {
  CancellationToken token;
  // The copy is what is under test.
  // NOLINTNEXTLINE(performance-unnecessary-copy-initialization)
  const CancellationToken copy = token;
  EXPECT_FALSE(copy.IsCancelled());
  token.Cancel();
  token.Cancel();
  EXPECT_TRUE(token.IsCancelled());
  EXPECT_TRUE(copy.IsCancelled());
  copy.Cancel();
  EXPECT_TRUE(token.IsCancelled());
}

TEST(CancellationToken, CancellingAParentCancelsItsWholeSubtreeButNoAncestor) {
  CancellationToken root;
  CancellationToken a = root.Child();
  CancellationToken b = root.Child();
  CancellationToken a1 = a.Child();
  CancellationToken a11 = a1.Child();
  a.Cancel();
  EXPECT_TRUE(a.IsCancelled());
  EXPECT_TRUE(a1.IsCancelled());
  EXPECT_TRUE(a11.IsCancelled());
  EXPECT_FALSE(root.IsCancelled());
  EXPECT_FALSE(b.IsCancelled());
  root.Cancel();
  EXPECT_TRUE(b.IsCancelled());
}

TEST(CancellationToken, AChildOfACancelledTokenStartsCancelled) {
  CancellationToken root;
  root.Cancel();
  CancellationToken child = root.Child();
  EXPECT_TRUE(child.IsCancelled());
  EXPECT_TRUE(child.Child().IsCancelled());
}

TEST(CancellationToken, ChildrenDroppedBeforeTheParentIsCancelledAreForgotten) {
  // Under AddressSanitizer: cancelling must not touch the dropped ones.
  CancellationToken root;
  CancellationToken kept = root.Child();
  for (int i = 0; i < 1000; ++i) {
    CancellationToken dropped = root.Child();
    CancellationToken grandchild = dropped.Child();
  }
  root.Cancel();
  EXPECT_TRUE(kept.IsCancelled());
}

TEST(CancellationToken, AwaitingACancelledTokenDoesNotSuspend) {
  CancellationToken token;
  EXPECT_FALSE(token.Cancelled().await_ready());
  token.Cancel();
  EXPECT_TRUE(token.Cancelled().await_ready());
}

struct MultiThread {
  static RuntimeOptions Options() {
    return {.flavor = Flavor::kMultiThread, .worker_threads = 2};
  }
};
struct CurrentThread {
  static RuntimeOptions Options() { return {.flavor = Flavor::kCurrentThread}; }
};

template <typename F>
class CancellationTokenTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
using Flavours = ::testing::Types<MultiThread, CurrentThread>;
TYPED_TEST_SUITE(CancellationTokenTest, Flavours);

Task<void> WaitFor(CancellationToken token, Counter waiting, Counter woke) {
  waiting->fetch_add(1);
  co_await token.Cancelled();
  woke->fetch_add(1);
}

Task<void> AwaitAll(std::vector<JoinHandle<void>> handles) {
  for (JoinHandle<void>& h : handles) co_await h;
}

TYPED_TEST(CancellationTokenTest, CancelFromAPlainThreadWakesEveryWaiter) {
  constexpr int kWaiters = 200;
  CancellationToken root;
  CancellationToken child = root.Child();
  CancellationToken grandchild = child.Child();
  Counter waiting = test::NewCounter();
  Counter woke = test::NewCounter();
  std::vector<JoinHandle<void>> handles;
  handles.reserve(kWaiters);
  for (int i = 0; i < kWaiters; ++i) {
    const CancellationToken& t = i % 3 == 0   ? root
                                 : i % 3 == 1 ? child
                                              : grandchild;
    handles.push_back(this->runtime_.Spawn(WaitFor(t, waiting, woke)));
  }
  if (this->runtime_.flavor() == Flavor::kCurrentThread) {
    auto until_waiting = [](Counter w) -> Task<void> {
      while (w->load() < kWaiters) co_await YieldNow();
    };
    this->runtime_.BlockOn(until_waiting(waiting));
  }
  test::WaitUntil([&] { return waiting->load() == kWaiters; });
  EXPECT_EQ(woke->load(), 0);
  std::thread([root] { root.Cancel(); }).join();
  this->runtime_.BlockOn(AwaitAll(std::move(handles)));
  EXPECT_EQ(woke->load(), kWaiters);
}

Task<void> WaitWithGuard(CancellationToken token, test::DestroyCounter guard) {
  (void)guard;
  co_await token.Cancelled();
}

TYPED_TEST(CancellationTokenTest, AnAbandonedWaitLeavesNothingBehind) {
  // An aborted waiter and a timed-out one unlink their waits: cancelling
  // afterwards must not wake (or touch - see AddressSanitizer) either.
  auto body = [](Counter destroyed) -> Task<void> {
    CancellationToken token;
    JoinHandle<void> aborted =
        Spawn(WaitWithGuard(token, test::DestroyCounter(destroyed)));
    co_await YieldNow();
    aborted.Abort();
    EXPECT_THROW(co_await aborted, CancelledError);
    Task<void> wait = WaitWithGuard(token, test::DestroyCounter(destroyed));
    absl::Status s =
        co_await Timeout(std::chrono::milliseconds(1), std::move(wait));
    EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
    EXPECT_EQ(destroyed->load(), 2);
    token.Cancel();
    // A later waiter still works.
    co_await token.Cancelled();
  };
  this->runtime_.BlockOn(body(test::NewCounter()));
}

TYPED_TEST(CancellationTokenTest, OneTaskCanWaitOnTheSameTokenRepeatedly) {
  auto body = []() -> Task<int> {
    CancellationToken token;
    for (int i = 0; i < 3; ++i) {
      Task<void> wait = [](CancellationToken t) -> Task<void> {
        co_await t.Cancelled();
      }(token);
      absl::Status s =
          co_await Timeout(std::chrono::milliseconds(1), std::move(wait));
      if (!absl::IsDeadlineExceeded(s)) co_return -1;
    }
    token.Cancel();
    co_await token.Cancelled();
    co_await token.Cancelled();
    co_return 3;
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), 3);
}

#ifdef TROUPE_TSAN
constexpr int kRounds = 20;
#else
constexpr int kRounds = 200;
#endif

// Children created, waited on and dropped on several threads while another
// thread cancels the root: every waiter wakes, every child made after the
// cancel starts cancelled, nothing is touched after it is gone.
TEST(CancellationToken, ConcurrentChildrenWaitsAndCancelAreSafe) {
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  for (int round = 0; round < kRounds; ++round) {
    CancellationToken root;
    Counter waiting = test::NewCounter();
    Counter woke = test::NewCounter();
    std::vector<JoinHandle<void>> handles;
    handles.reserve(8);
    for (int i = 0; i < 8; ++i) {
      handles.push_back(runtime.Spawn(WaitFor(root.Child(), waiting, woke)));
    }
    std::atomic<bool> cancelled{false};
    std::vector<std::thread> makers;
    makers.reserve(2);
    for (int t = 0; t < 2; ++t) {
      makers.emplace_back([&] {
        for (int i = 0; i < 50; ++i) {
          const bool after = cancelled.load(std::memory_order_acquire);
          CancellationToken child = root.Child();
          CancellationToken grandchild = child.Child();
          if (after) {
            EXPECT_TRUE(grandchild.IsCancelled());
          }
        }
      });
    }
    std::thread canceller([&] {
      root.Cancel();
      cancelled.store(true, std::memory_order_release);
    });
    for (std::thread& t : makers) t.join();
    canceller.join();
    runtime.BlockOn(AwaitAll(std::move(handles)));
    EXPECT_EQ(woke->load(), 8);
  }
}

}  // namespace
}  // namespace troupe

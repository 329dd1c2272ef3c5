// FutexMutex (executor/futex_mutex.h): mutual exclusion under contention,
// and try_lock. Run under --config=tsan too: the counter below is a plain
// int, so a lapse in exclusion or ordering is a reported race.

#include "executor/futex_mutex.h"

#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace troupe::internal {
namespace {

TEST(FutexMutex, IsOneWord) { EXPECT_EQ(sizeof(FutexMutex), 4u); }

TEST(FutexMutex, ContendingThreadsNeverLoseAnIncrement) {
  FutexMutex mu;
  int counter = 0;  // guarded by mu
  constexpr int kThreads = 4;
  constexpr int kIncrements = 20'000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        std::lock_guard<FutexMutex> guard(mu);
        ++counter;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::lock_guard<FutexMutex> guard(mu);
  EXPECT_EQ(counter, kThreads * kIncrements);
}

TEST(FutexMutex, TryLockFailsWhileHeldAndSucceedsOnceReleased) {
  FutexMutex mu;
  mu.lock();
  bool taken_elsewhere = true;
  std::thread([&] { taken_elsewhere = mu.try_lock(); }).join();
  EXPECT_FALSE(taken_elsewhere);
  mu.unlock();
  ASSERT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST(FutexMutex, AWaiterBlockedOnTheLockGetsItWhenReleased) {
  FutexMutex mu;
  mu.lock();
  bool entered = false;  // guarded by mu
  std::thread waiter([&] {
    std::lock_guard<FutexMutex> guard(mu);
    entered = true;
  });
  // Whether or not the waiter is asleep yet, the unlock lets it in.
  mu.unlock();
  waiter.join();
  std::lock_guard<FutexMutex> guard(mu);
  EXPECT_TRUE(entered);
}

}  // namespace
}  // namespace troupe::internal

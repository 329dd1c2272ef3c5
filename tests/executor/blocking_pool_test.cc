// BlockingPool and SpawnBlocking: the thread bound, the queue bound,
// shutdown dropping queued jobs, and exceptions.

#include "executor/blocking_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "gtest/gtest.h"
#include "tests/executor/test_util.h"

namespace troupe {
namespace {

// A one-way gate for blocking jobs to wait at.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> guard(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }
  // A bound only so that a broken pool fails the test instead of hanging
  // it; a working one opens the gate within microseconds.
  bool WaitForAWhile() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20),
                        [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;  // guarded by mu_
};

template <typename R>
Task<R> AwaitBlocking(BlockingHandle<R> handle) {
  co_return co_await handle;
}

// Awaits blocking handles from a small runtime of its own.
template <typename R>
R Await(BlockingHandle<R> handle) {
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  return runtime.BlockOn(AwaitBlocking<R>(std::move(handle)));
}

TEST(BlockingPool, NoMoreThanMaxThreadsJobsRunAtOnceTheRestWait) {
  BlockingPool pool({.max_threads = 2, .queue_capacity = 16});
  Gate gate;
  std::atomic<int> started{0};
  std::vector<BlockingHandle<int>> handles;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<BlockingHandle<int>> h = SpawnBlocking(
        [&gate, &started, i] {
          started.fetch_add(1);
          gate.Wait();
          return i;
        },
        pool);
    ASSERT_TRUE(h.ok()) << h.status();
    handles.push_back(std::move(*h));
  }
  test::WaitUntil([&] { return started.load() == 2; });
  // Two threads, both busy; the third job waits in the queue.
  const BlockingPool::Stats stats = pool.GetStats();
  EXPECT_EQ(stats.threads, 2);
  EXPECT_EQ(stats.queued, 1);
  EXPECT_EQ(started.load(), 2);
  gate.Open();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Await(std::move(handles[i])), i);
  EXPECT_EQ(started.load(), 3);
  EXPECT_LE(pool.GetStats().threads, 2);
}

TEST(BlockingPool, AFullQueueRefusesTheJobWithResourceExhaustedAndNeverRunsIt) {
  BlockingPool pool({.max_threads = 1, .queue_capacity = 1});
  Gate gate;
  std::atomic<int> started{0};
  auto first = SpawnBlocking(
      [&] {
        started.fetch_add(1);
        gate.Wait();
        return 1;
      },
      pool);
  ASSERT_TRUE(first.ok());
  test::WaitUntil([&] { return started.load() == 1; });  // off the queue
  auto second = SpawnBlocking([&] { return 2; }, pool);  // fills the queue
  ASSERT_TRUE(second.ok());

  std::atomic<bool> third_ran{false};
  auto third = SpawnBlocking(
      [&] {
        third_ran.store(true);
        return 3;
      },
      pool);
  EXPECT_TRUE(absl::IsResourceExhausted(third.status())) << third.status();
  bool called = false;
  EXPECT_TRUE(absl::IsResourceExhausted(
      pool.Submit([&called](bool) { called = true; })));
  EXPECT_FALSE(called);  // a refused job is dropped without being called

  gate.Open();
  EXPECT_EQ(Await(std::move(*first)), 1);
  EXPECT_EQ(Await(std::move(*second)), 2);
  EXPECT_FALSE(third_ran.load());
}

TEST(BlockingPool, ShutdownDropsQueuedJobsAndTheirAwaitersSeeCancelledError) {
  BlockingPool pool({.max_threads = 1, .queue_capacity = 8});
  Gate gate;
  std::atomic<bool> running_started{false};
  auto running = SpawnBlocking(
      [&] {
        running_started.store(true);
        gate.Wait();
        return 1;
      },
      pool);
  ASSERT_TRUE(running.ok());
  test::WaitUntil([&] { return running_started.load(); });
  std::atomic<bool> queued_ran{false};
  auto queued = SpawnBlocking(
      [&] {
        queued_ran.store(true);
        return 2;
      },
      pool);
  ASSERT_TRUE(queued.ok());

  // Shutdown drops the queued job at once, then waits for the running one.
  std::thread closer([&pool] { pool.Shutdown(std::nullopt); });
  test::WaitUntil([&] { return queued->IsFinished(); });
  EXPECT_FALSE(running->IsFinished());
  gate.Open();
  closer.join();

  EXPECT_EQ(Await(std::move(*running)), 1);  // a started job is never cut short
  EXPECT_THROW(Await(std::move(*queued)), CancelledError);
  EXPECT_FALSE(queued_ran.load());
  // And nothing more is accepted.
  auto late = SpawnBlocking([] { return 3; }, pool);
  EXPECT_TRUE(absl::IsFailedPrecondition(late.status())) << late.status();
}

TEST(BlockingPool, AJobsExceptionIsRethrownToItsAwaiter) {
  BlockingPool pool({.max_threads = 1});
  auto h = SpawnBlocking(
      []() -> int { throw std::invalid_argument("disk on fire"); }, pool);
  ASSERT_TRUE(h.ok());
  try {
    Await(std::move(*h));
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "disk on fire");
  }
}

TEST(BlockingPool, JobsSubmittedTogetherToAnIdleThreadStillGetTheirOwnThreads) {
  // One thread is up and idle. A then B are submitted back to back, and A
  // waits for B to start: B must get a second thread (the bound is 2), not
  // queue up behind A for the one idle thread both submissions woke.
  BlockingPool pool({.max_threads = 2});
  auto warm = SpawnBlocking([] { return 0; }, pool);
  ASSERT_TRUE(warm.ok());
  Await(std::move(*warm));
  test::WaitUntil([&] { return pool.GetStats().idle_threads == 1; });

  Gate b_started;
  std::atomic<bool> a_saw_b{false};
  auto a =
      SpawnBlocking([&] { a_saw_b.store(b_started.WaitForAWhile()); }, pool);
  auto b = SpawnBlocking([&] { b_started.Open(); }, pool);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  Await(std::move(*a));
  Await(std::move(*b));
  EXPECT_TRUE(a_saw_b.load());
}

TEST(BlockingPool, IdleThreadsRetireAfterKeepAlive) {
  BlockingPool pool(
      {.max_threads = 2, .keep_alive = std::chrono::milliseconds(10)});
  auto h = SpawnBlocking([] { return 1; }, pool);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(Await(std::move(*h)), 1);
  // A pool that kept its threads for ever would hang here.
  test::WaitUntil([&] { return pool.GetStats().threads == 0; });
}

TEST(BlockingPool, SpawnBlockingWithoutAPoolOutsideARuntimeIsALogicError) {
  EXPECT_THROW((void)SpawnBlocking([] { return 1; }), std::logic_error);
}

}  // namespace
}  // namespace troupe

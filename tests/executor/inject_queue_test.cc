// InjectQueue: FIFO order, batches, closing, and concurrent producers and
// consumers.

#include "executor/inject_queue.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/executor/fake_task.h"
#include "tests/executor/test_util.h"

namespace troupe {
namespace {

using test::FakeTasks;

int IdOf(TaskHeader* task) { return FakeTasks::IdOf(task); }

// Links tasks[from..to) into a chain for PushBatch; returns its last task.
TaskHeader* Chain(FakeTasks& tasks, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i + 1 < to; ++i) {
    TaskQueueLink::Link(tasks[i], tasks[i + 1]);
  }
  TaskQueueLink::Link(tasks[to - 1], nullptr);
  return tasks[to - 1];
}

TEST(InjectQueue, PopReturnsTasksInTheOrderTheyWerePushed) {
  FakeTasks tasks(5);
  InjectQueue queue;
  EXPECT_TRUE(queue.IsEmpty());
  EXPECT_EQ(queue.Pop(), nullptr);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_TRUE(queue.Push(tasks[i]));
  EXPECT_EQ(queue.Len(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(IdOf(queue.Pop()), i);
  EXPECT_EQ(queue.Pop(), nullptr);
  EXPECT_TRUE(queue.IsEmpty());
}

TEST(InjectQueue, PushBatchAppendsAWholeChainInOrder) {
  FakeTasks tasks(6);
  InjectQueue queue;
  queue.Push(tasks[0]);
  TaskHeader* last = Chain(tasks, 1, 5);
  EXPECT_TRUE(queue.PushBatch(tasks[1], last, 4));
  queue.Push(tasks[5]);
  EXPECT_EQ(queue.Len(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(IdOf(queue.Pop()), i);
}

TEST(InjectQueue, PopBatchTakesAtMostMaxTasksAsAChainFromTheFront) {
  FakeTasks tasks(5);
  InjectQueue queue;
  for (std::size_t i = 0; i < 5; ++i) queue.Push(tasks[i]);
  std::size_t count = 99;
  TaskHeader* first = queue.PopBatch(3, &count);
  ASSERT_EQ(count, 3u);
  std::vector<int> chain;
  for (TaskHeader* t = first; t != nullptr; t = TaskQueueLink::Next(t)) {
    chain.push_back(IdOf(t));
  }
  EXPECT_EQ(chain, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(queue.Len(), 2u);
  // More than is queued: the rest.
  first = queue.PopBatch(10, &count);
  ASSERT_EQ(count, 2u);
  EXPECT_EQ(IdOf(first), 3);
  EXPECT_EQ(IdOf(TaskQueueLink::Next(first)), 4);
  EXPECT_EQ(TaskQueueLink::Next(TaskQueueLink::Next(first)), nullptr);
  EXPECT_TRUE(queue.IsEmpty());
  // Nothing left, or nothing asked for.
  EXPECT_EQ(queue.PopBatch(4, &count), nullptr);
  EXPECT_EQ(count, 0u);
  queue.Push(tasks[0]);
  EXPECT_EQ(queue.PopBatch(0, &count), nullptr);
  EXPECT_EQ(count, 0u);
  EXPECT_EQ(queue.Len(), 1u);
}

TEST(InjectQueue, AClosedQueueRefusesPushesAndDropsTheirReferences) {
  FakeTasks tasks(5);
  InjectQueue queue;
  EXPECT_FALSE(queue.IsClosed());
  EXPECT_TRUE(queue.Close());
  EXPECT_TRUE(queue.IsClosed());
  EXPECT_FALSE(queue.Close());  // already closed

  ASSERT_EQ(tasks[0]->RefCountForTest(), 2u);
  EXPECT_FALSE(queue.Push(tasks[0]));
  EXPECT_EQ(tasks[0]->RefCountForTest(), 1u);  // the queue's ref is gone

  TaskHeader* last = Chain(tasks, 1, 5);
  EXPECT_FALSE(queue.PushBatch(tasks[1], last, 4));
  for (std::size_t i = 1; i < 5; ++i) {
    EXPECT_EQ(tasks[i]->RefCountForTest(), 1u) << "task " << i;
  }
  EXPECT_TRUE(queue.IsEmpty());
  EXPECT_EQ(queue.Pop(), nullptr);
}

TEST(InjectQueue, TasksQueuedBeforeCloseCanStillBeDrained) {
  FakeTasks tasks(3);
  InjectQueue queue;
  queue.Push(tasks[0]);
  queue.Push(tasks[1]);
  queue.Close();
  EXPECT_FALSE(queue.Push(tasks[2]));
  EXPECT_EQ(IdOf(queue.Pop()), 0);
  EXPECT_EQ(IdOf(queue.Pop()), 1);
  EXPECT_EQ(queue.Pop(), nullptr);
  // Draining drops no reference: the drainer now owns them.
  EXPECT_EQ(tasks[0]->RefCountForTest(), 2u);
  EXPECT_EQ(tasks[1]->RefCountForTest(), 2u);
}

#ifdef TROUPE_TSAN
constexpr int kPerProducer = 100'000;
#else
constexpr int kPerProducer = 500'000;
#endif

// Producers push their own range (singly and in batches of up to 7);
// consumers pop singly and in batches. Every task comes out exactly once.
TEST(InjectQueue, ConcurrentProducersAndConsumersSeeEveryTaskExactlyOnce) {
  constexpr int kProducers = 3;
  constexpr int kConsumers = 3;
  constexpr int kTotal = kProducers * kPerProducer;
  FakeTasks tasks(kTotal);
  std::vector<std::atomic<int>> seen(kTotal);
  std::atomic<int> taken{0};
  InjectQueue queue;

  std::vector<std::thread> threads;
  threads.reserve(kProducers + kConsumers);
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      const std::size_t begin = static_cast<std::size_t>(p) * kPerProducer;
      const std::size_t end = begin + kPerProducer;
      std::size_t i = begin;
      while (i < end) {
        const std::size_t n = std::min<std::size_t>(1 + i % 7, end - i);
        if (n == 1) {
          ASSERT_TRUE(queue.Push(tasks[i]));
        } else {
          TaskHeader* last = Chain(tasks, i, i + n);
          ASSERT_TRUE(queue.PushBatch(tasks[i], last, n));
        }
        i += n;
      }
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&, c] {
      while (taken.load(std::memory_order_acquire) < kTotal) {
        std::size_t count = 0;
        TaskHeader* first = nullptr;
        if (c == 0) {
          first = queue.Pop();
          count = first != nullptr ? 1 : 0;
        } else {
          first = queue.PopBatch(static_cast<std::size_t>(c) * 5, &count);
        }
        if (first == nullptr) {
          std::this_thread::yield();
          continue;
        }
        std::size_t walked = 0;
        for (TaskHeader* t = first; t != nullptr;) {
          TaskHeader* next = TaskQueueLink::Next(t);
          seen[static_cast<std::size_t>(IdOf(t))].fetch_add(
              1, std::memory_order_relaxed);
          ++walked;
          t = next;
        }
        EXPECT_EQ(walked, count);
        taken.fetch_add(static_cast<int>(count), std::memory_order_acq_rel);
      }
    });
  }
  for (std::thread& t : threads) t.join();

  int wrong = 0;
  for (const std::atomic<int>& n : seen) wrong += n.load() != 1 ? 1 : 0;
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(taken.load(), kTotal);
  EXPECT_TRUE(queue.IsEmpty());
}

// With a single consumer, each producer's tasks come out in the order that
// producer pushed them.
TEST(InjectQueue, ASingleConsumerSeesEachProducersTasksInPushOrder) {
  constexpr int kProducers = 3;
  constexpr int kTotal = kProducers * kPerProducer;
  FakeTasks tasks(kTotal);
  InjectQueue queue;
  std::vector<std::thread> producers;
  producers.reserve(kProducers);
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        queue.Push(tasks[static_cast<std::size_t>(p) * kPerProducer +
                         static_cast<std::size_t>(i)]);
      }
    });
  }
  std::vector<int> last(kProducers, -1);
  int out_of_order = 0;
  for (int received = 0; received < kTotal;) {
    TaskHeader* task = queue.Pop();
    if (task == nullptr) {
      std::this_thread::yield();
      continue;
    }
    const int id = IdOf(task);
    const int p = id / kPerProducer;
    if (id <= last[static_cast<std::size_t>(p)]) ++out_of_order;
    last[static_cast<std::size_t>(p)] = id;
    ++received;
  }
  for (std::thread& t : producers) t.join();
  EXPECT_EQ(out_of_order, 0);
}

}  // namespace
}  // namespace troupe

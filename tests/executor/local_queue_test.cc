// LocalQueue: FIFO order, wrap-around, overflow into the injection queue,
// steal-half, and a concurrent owner-versus-stealers stress run.

#include "executor/local_queue.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "executor/inject_queue.h"
#include "gtest/gtest.h"
#include "tests/executor/fake_task.h"
#include "tests/executor/test_util.h"

namespace troupe {
namespace {

using test::FakeTasks;

int IdOf(TaskHeader* task) { return FakeTasks::IdOf(task); }

TEST(LocalQueue, PopReturnsTasksInTheOrderTheyWerePushed) {
  FakeTasks tasks(3);
  LocalQueue<4> queue;
  InjectQueue overflow;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(queue.PushBack(tasks[i], overflow), 0u);
  EXPECT_EQ(queue.Len(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(IdOf(queue.Pop()), i);
  EXPECT_EQ(queue.Pop(), nullptr);
  EXPECT_TRUE(queue.IsEmpty());
  EXPECT_TRUE(overflow.IsEmpty());
}

TEST(LocalQueue, AFullQueueAcceptsNoMoreThanItsCapacityLocally) {
  FakeTasks tasks(4);
  LocalQueue<4> queue;
  InjectQueue overflow;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(queue.PushBack(tasks[i], overflow), 0u);
  EXPECT_EQ(queue.Len(), 4u);
  EXPECT_TRUE(overflow.IsEmpty());
}

TEST(LocalQueue, OverflowMovesTheOlderHalfAndTheNewTaskToTheInjectQueue) {
  FakeTasks tasks(5);
  LocalQueue<4> queue;
  InjectQueue overflow;
  for (int i = 0; i < 4; ++i) queue.PushBack(tasks[i], overflow);
  EXPECT_EQ(queue.PushBack(tasks[4], overflow), 3u);
  // The injection queue got the two oldest tasks and then the new one.
  EXPECT_EQ(overflow.Len(), 3u);
  EXPECT_EQ(IdOf(overflow.Pop()), 0);
  EXPECT_EQ(IdOf(overflow.Pop()), 1);
  EXPECT_EQ(IdOf(overflow.Pop()), 4);
  EXPECT_EQ(overflow.Pop(), nullptr);
  // The newer half stays local, in order.
  EXPECT_EQ(queue.Len(), 2u);
  EXPECT_EQ(IdOf(queue.Pop()), 2);
  EXPECT_EQ(IdOf(queue.Pop()), 3);
  EXPECT_EQ(queue.Pop(), nullptr);
}

TEST(LocalQueue, TheRingWrapsAroundManyTimesKeepingFifoOrder) {
  // Random pushes and pops on a 4-slot ring, checked against a deque: the
  // positions go round the ring thousands of times, and pushes into a full
  // ring overflow exactly as the model says.
  constexpr int kTasks = 50'000;
  FakeTasks tasks(kTasks);
  LocalQueue<4> queue;
  InjectQueue overflow;
  std::deque<int> model;
  std::deque<int> model_overflow;
  std::mt19937_64 rng(test::TestSeed());
  int next = 0;
  while (next < kTasks) {
    const int pushes = static_cast<int>(rng() % 4) + 1;
    for (int i = 0; i < pushes && next < kTasks; ++i, ++next) {
      uint32_t expected_moved = 0;
      if (model.size() == 4) {
        model_overflow.push_back(model[0]);
        model_overflow.push_back(model[1]);
        model_overflow.push_back(next);
        model.pop_front();
        model.pop_front();
        expected_moved = 3;
      } else {
        model.push_back(next);
      }
      ASSERT_EQ(queue.PushBack(tasks[next], overflow), expected_moved);
    }
    const int pops = static_cast<int>(rng() % 5);
    for (int i = 0; i < pops; ++i) {
      const int expected = model.empty() ? -1 : model.front();
      if (!model.empty()) model.pop_front();
      ASSERT_EQ(IdOf(queue.Pop()), expected);
    }
    ASSERT_EQ(queue.Len(), model.size());
  }
  while (!model.empty()) {
    ASSERT_EQ(IdOf(queue.Pop()), model.front());
    model.pop_front();
  }
  EXPECT_EQ(queue.Pop(), nullptr);
  ASSERT_EQ(overflow.Len(), model_overflow.size());
  for (int id : model_overflow) ASSERT_EQ(IdOf(overflow.Pop()), id);
}

// Pushes `queued` tasks into a victim whose positions were first moved
// `preroll` slots along the ring, steals once into an empty thief and
// checks who got what.
template <uint32_t kCapacity>
void ExpectStealTakesHalfRoundedUp(int queued, int preroll) {
  SCOPED_TRACE(testing::Message() << "capacity " << kCapacity << ", queued "
                                  << queued << ", preroll " << preroll);
  FakeTasks tasks(static_cast<std::size_t>(queued + 1));
  LocalQueue<kCapacity> victim;
  LocalQueue<kCapacity> thief;
  InjectQueue overflow;
  for (int i = 0; i < preroll; ++i) {
    victim.PushBack(tasks[static_cast<std::size_t>(queued)], overflow);
    ASSERT_NE(victim.Pop(), nullptr);
    thief.PushBack(tasks[static_cast<std::size_t>(queued)], overflow);
    ASSERT_NE(thief.Pop(), nullptr);
  }
  for (int i = 0; i < queued; ++i) {
    victim.PushBack(tasks[static_cast<std::size_t>(i)], overflow);
  }
  const int taken = (queued + 1) / 2;
  // The last task of the stolen run is handed back to be run at once; the
  // rest land in the thief's queue in their original order.
  EXPECT_EQ(IdOf(victim.StealInto(thief)), taken - 1);
  ASSERT_EQ(thief.Len(), static_cast<uint32_t>(taken - 1));
  for (int i = 0; i < taken - 1; ++i) EXPECT_EQ(IdOf(thief.Pop()), i);
  ASSERT_EQ(victim.Len(), static_cast<uint32_t>(queued - taken));
  for (int i = taken; i < queued; ++i) EXPECT_EQ(IdOf(victim.Pop()), i);
  EXPECT_EQ(victim.Pop(), nullptr);
  EXPECT_TRUE(overflow.IsEmpty());
}

TEST(LocalQueue, StealTakesHalfOfTheQueueRoundedUpAndReturnsOneOfThem) {
  for (int queued = 1; queued <= 4; ++queued) {
    for (int preroll : {0, 3, 6}) {
      ExpectStealTakesHalfRoundedUp<4>(queued, preroll);
    }
  }
  for (int queued : {1, 2, 3, 127, 128, 255, 256}) {
    ExpectStealTakesHalfRoundedUp<256>(queued, 0);
    ExpectStealTakesHalfRoundedUp<256>(queued, 200);
  }
}

TEST(LocalQueue, StealingFromAnEmptyQueueReturnsNullAndMovesNothing) {
  FakeTasks tasks(2);
  LocalQueue<4> victim;
  LocalQueue<4> thief;
  InjectQueue overflow;
  EXPECT_EQ(victim.StealInto(thief), nullptr);
  // Emptied again after use: the positions are no longer zero.
  victim.PushBack(tasks[0], overflow);
  victim.PushBack(tasks[1], overflow);
  victim.Pop();
  victim.Pop();
  EXPECT_EQ(victim.StealInto(thief), nullptr);
  EXPECT_TRUE(thief.IsEmpty());
  EXPECT_TRUE(victim.IsEmpty());
}

TEST(LocalQueue, SuccessiveStealsEachTakeHalfOfWhatIsLeft) {
  FakeTasks tasks(8);
  LocalQueue<8> victim;
  InjectQueue overflow;
  for (int i = 0; i < 8; ++i) victim.PushBack(tasks[i], overflow);
  LocalQueue<8> first;
  LocalQueue<8> second;
  EXPECT_EQ(IdOf(victim.StealInto(first)), 3);   // takes 0..3
  EXPECT_EQ(IdOf(victim.StealInto(second)), 5);  // takes 4..5
  EXPECT_EQ(first.Len(), 3u);
  EXPECT_EQ(second.Len(), 1u);
  EXPECT_EQ(victim.Len(), 2u);
  EXPECT_EQ(IdOf(victim.Pop()), 6);
  EXPECT_EQ(IdOf(second.Pop()), 4);
}

// The owner pushes and pops while stealers steal from it (and from each
// other) into their own queues; overflow goes to a shared injection queue.
// Every task must be taken exactly once.
template <uint32_t kCapacity>
void RunOwnerAgainstStealers(int num_tasks, int num_stealers) {
  FakeTasks tasks(static_cast<std::size_t>(num_tasks));
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(num_tasks));
  std::atomic<int> taken{0};
  std::atomic<int> steals{0};
  LocalQueue<kCapacity> owner_queue;
  std::vector<std::unique_ptr<LocalQueue<kCapacity>>> stealer_queues;
  stealer_queues.reserve(static_cast<std::size_t>(num_stealers));
  for (int i = 0; i < num_stealers; ++i) {
    stealer_queues.push_back(std::make_unique<LocalQueue<kCapacity>>());
  }
  InjectQueue overflow;

  auto take = [&](TaskHeader* task) {
    seen[static_cast<std::size_t>(IdOf(task))].fetch_add(
        1, std::memory_order_relaxed);
    taken.fetch_add(1, std::memory_order_acq_rel);
  };
  auto all_taken = [&] {
    return taken.load(std::memory_order_acquire) == num_tasks;
  };

  std::vector<std::thread> stealers;
  stealers.reserve(static_cast<std::size_t>(num_stealers));
  for (int s = 0; s < num_stealers; ++s) {
    stealers.emplace_back([&, s] {
      LocalQueue<kCapacity>& mine =
          *stealer_queues[static_cast<std::size_t>(s)];
      std::minstd_rand rng(static_cast<uint32_t>(test::TestSeed()) + s);
      while (!all_taken()) {
        // Work through our own queue one task at a time, so that the other
        // stealers get a chance to steal from it too.
        if (TaskHeader* task = mine.Pop()) {
          take(task);
          if (rng() % 8 == 0) std::this_thread::yield();
          continue;
        }
        // Victim 0 is the owner, 1..n the stealers (never ourselves).
        const auto v = static_cast<int>(rng() % (num_stealers + 1));
        LocalQueue<kCapacity>& victim =
            v == 0 ? owner_queue
                   : *stealer_queues[static_cast<std::size_t>(v - 1)];
        TaskHeader* task = &victim == &mine ? nullptr : victim.StealInto(mine);
        if (task != nullptr) {
          steals.fetch_add(1, std::memory_order_relaxed);
        } else {
          task = overflow.Pop();
        }
        if (task != nullptr) {
          take(task);
        } else {
          std::this_thread::yield();
        }
      }
    });
  }

  // The owner: push everything, popping a random amount in between.
  std::minstd_rand rng(static_cast<uint32_t>(test::TestSeed()));
  for (int i = 0; i < num_tasks; ++i) {
    owner_queue.PushBack(tasks[static_cast<std::size_t>(i)], overflow);
    for (uint32_t pops = rng() % 3; pops > 0; --pops) {
      if (TaskHeader* task = owner_queue.Pop()) take(task);
    }
  }
  while (!all_taken()) {
    TaskHeader* task = owner_queue.Pop();
    if (task == nullptr) task = overflow.Pop();
    if (task != nullptr) {
      take(task);
    } else {
      std::this_thread::yield();
    }
  }
  for (std::thread& t : stealers) t.join();
  // Not asserted (it depends on scheduling), but a run without steals
  // would prove little: report how many there were.
  testing::Test::RecordProperty("steals", steals.load());
  std::printf("%d tasks, %d steals\n", num_tasks, steals.load());

  int duplicates = 0;
  int missing = 0;
  for (const std::atomic<int>& count : seen) {
    const int n = count.load(std::memory_order_relaxed);
    if (n == 0) ++missing;
    if (n > 1) ++duplicates;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(taken.load(), num_tasks);
  EXPECT_TRUE(owner_queue.IsEmpty());
  EXPECT_TRUE(overflow.IsEmpty());
  for (auto& q : stealer_queues) EXPECT_TRUE(q->IsEmpty());
}

#ifdef TROUPE_TSAN
constexpr int kStressTasks = 600'000;
#else
constexpr int kStressTasks = 4'000'000;
#endif

TEST(LocalQueue, ConcurrentStealsFromATinyQueueHandOutEveryTaskExactlyOnce) {
  RunOwnerAgainstStealers<4>(kStressTasks, /*num_stealers=*/2);
}

TEST(LocalQueue,
     ConcurrentStealsFromAFullSizeQueueHandOutEveryTaskExactlyOnce) {
  RunOwnerAgainstStealers<256>(kStressTasks, /*num_stealers=*/3);
}

}  // namespace
}  // namespace troupe

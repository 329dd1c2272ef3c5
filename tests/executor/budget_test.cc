// The cooperative budget (coop.h): how much a task run may consume, when it
// is reset, that LIFO successors share it, and that spending it gives the
// run queue its turn.

#include <memory>
#include <string>
#include <vector>

#include "executor/cancellation_token.h"
#include "executor/coop.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/scheduler.h"
#include "executor/yield.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

// How many units the current run still grants (and spends them all).
int DrainBudget() {
  int n = 0;
  while (ConsumeBudget()) ++n;
  return n;
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
class BudgetTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
using Flavours = ::testing::Types<MultiThread, CurrentThread>;
TYPED_TEST_SUITE(BudgetTest, Flavours);

TYPED_TEST(BudgetTest, EveryRunOfATaskGetsExactlyTheDefaultBudget) {
  auto body = []() -> Task<std::vector<int>> {
    std::vector<int> per_run;
    for (int run = 0; run < 3; ++run) {
      per_run.push_back(DrainBudget());
      EXPECT_FALSE(HasBudget());
      EXPECT_FALSE(ConsumeBudget());  // spent stays spent within the run
      co_await YieldNow();            // the next run starts afresh
    }
    co_return per_run;
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()),
            (std::vector<int>{kDefaultBudget, kDefaultBudget, kDefaultBudget}));
}

TEST(Budget, OutsideATaskTheBudgetIsUnlimited) {
  EXPECT_TRUE(HasBudget());
  for (int i = 0; i < 1'000'000; ++i) ASSERT_TRUE(ConsumeBudget());
  // Driving a current-thread runtime on this thread spends task budgets
  // here; afterwards the thread is unlimited again.
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  auto spend = []() -> Task<int> { co_return DrainBudget(); };
  EXPECT_EQ(runtime.BlockOn(spend()), kDefaultBudget);
  EXPECT_TRUE(HasBudget());
  for (int i = 0; i < 1'000'000; ++i) ASSERT_TRUE(ConsumeBudget());
}

// The rest is about ordering, so it runs on the current-thread runtime,
// where it is deterministic.

Task<void> Setter(std::shared_ptr<bool> stop) {
  *stop = true;
  co_return;
}

struct GreedyStats {
  int steps_before_first_yield = -1;
  int yields = 0;
};

// Keeps finding "ready work" until told to stop; yields only when its
// budget runs out (what a budget-aware awaitable does on its own).
Task<void> Greedy(std::shared_ptr<bool> stop, GreedyStats* stats) {
  int steps = 0;
  while (!*stop) {
    if (!ConsumeBudget()) {
      if (stats->yields++ == 0) stats->steps_before_first_yield = steps;
      co_await YieldNow();
      continue;
    }
    ++steps;
  }
}

TEST(Budget, ALoopThatYieldsWhenItsBudgetIsSpentLetsQueuedTasksRun) {
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  auto body = [](GreedyStats* stats) -> Task<void> {
    auto stop = std::make_shared<bool>(false);
    JoinHandle<void> setter = Spawn(Setter(stop));  // queued behind greedy
    JoinHandle<void> greedy = Spawn(Greedy(stop, stats));
    co_await greedy;
    co_await setter;
  };
  GreedyStats stats;
  runtime.BlockOn(body(&stats));
  // Without the budget the greedy loop would never let the setter run.
  EXPECT_EQ(stats.steps_before_first_yield, kDefaultBudget);
  EXPECT_EQ(stats.yields, 1);
}

// A spawns B (which lands in the LIFO slot and runs right after A, as part
// of the same turn); B reports the budget it inherited.
Task<void> MeasureInherited(int* inherited, CancellationToken done) {
  *inherited = DrainBudget();
  done.Cancel();
  co_return;
}
Task<void> SpendThenSpawn(int spend, int* inherited, CancellationToken done) {
  for (int i = 0; i < spend; ++i) ConsumeBudget();
  SpawnDetached(MeasureInherited(inherited, done));
  co_return;
}

TEST(Budget, ALifoSuccessorSharesTheBudgetOfTheRunBeforeIt) {
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  auto body = [](int* inherited) -> Task<void> {
    CancellationToken done;
    SpawnDetached(SpendThenSpawn(10, inherited, done));
    co_await done.Cancelled();
  };
  int inherited = -1;
  runtime.BlockOn(body(&inherited));
  EXPECT_EQ(inherited, kDefaultBudget - 10);
}

Task<void> Append(std::string name, std::vector<std::string>* order,
                  CancellationToken done) {
  order->push_back(name);
  if (order->size() == 3) done.Cancel();
  co_return;
}
Task<void> AppendThenSpawnB(bool spend_all, std::vector<std::string>* order,
                            CancellationToken done) {
  order->push_back("A");
  if (spend_all) DrainBudget();
  SpawnDetached(Append("B", order, done));
  co_return;
}

std::vector<std::string> RunOrder(bool spend_all) {
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  auto body = [](bool spend, std::vector<std::string>* order) -> Task<void> {
    CancellationToken done;
    SpawnDetached(Append("C", order, done));              // to the queue
    SpawnDetached(AppendThenSpawnB(spend, order, done));  // LIFO slot
    co_await done.Cancelled();
  };
  std::vector<std::string> order;
  runtime.BlockOn(body(spend_all, &order));
  return order;
}

TEST(Budget, ATaskThatSpentItsBudgetSendsItsLifoSuccessorToTheQueue) {
  // With budget left, B runs straight after A, ahead of the queued C.
  EXPECT_EQ(RunOrder(/*spend_all=*/false),
            (std::vector<std::string>{"A", "B", "C"}));
  // With none left, B goes to the back of the queue: C runs first.
  EXPECT_EQ(RunOrder(/*spend_all=*/true),
            (std::vector<std::string>{"A", "C", "B"}));
}

// Each link of the chain spawns the next; a queued task must still get a
// turn after at most kMaxLifoPolls LIFO runs.
Task<void> Chain(int link, std::vector<std::string>* order,
                 CancellationToken done) {
  order->push_back("T" + std::to_string(link));
  if (link < 6) {
    SpawnDetached(Chain(link + 1, order, done));
  } else {
    done.Cancel();
  }
  co_return;
}

TEST(Budget, ALifoChainLetsTheQueueInAfterKMaxLifoPolls) {
  static_assert(Scheduler::kMaxLifoPolls == 3, "update the expectation");
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  auto body = [](std::vector<std::string>* order) -> Task<void> {
    CancellationToken done;
    CancellationToken unused;
    SpawnDetached(Append("Q", order, unused));  // queued
    SpawnDetached(Chain(1, order, done));       // LIFO
    co_await done.Cancelled();
  };
  std::vector<std::string> order;
  runtime.BlockOn(body(&order));
  EXPECT_EQ(order, (std::vector<std::string>{"T1", "T2", "T3", "Q", "T4", "T5",
                                             "T6"}));
}

}  // namespace
}  // namespace troupe

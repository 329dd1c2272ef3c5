// The system's table of live actors (actors/cell_table.h) under load:
// plain threads spawning and stopping top-level actors while they run on
// the workers, and children spawned and stopped under a parent. Run under
// --config=tsan: the table is sharded, each shard under its own lock.

#include <memory>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "gtest/gtest.h"
#include "tests/actors/actor_test_util.h"

namespace troupe::test {
namespace {

TEST(ActorTable, ActorsSpawnedAndStoppedFromSeveralThreadsAllLeaveTheTable) {
  ActorTestEnv env({.worker_threads = 2});
  ActorSystem& system = env.system();
  constexpr int kThreads = 3;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  std::vector<std::vector<ActorRef<Counter>>> spawned(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&system, &env, &mine = spawned[t]] {
      for (int i = 0; i < kPerThread; ++i) {
        ActorRef<Counter> c = system.Spawn<Counter>();
        EXPECT_TRUE(c.TrySend(Increment{1}).ok());
        if (i % 2 == 0) {
          // Half stop at once, racing the spawns of the other threads.
          RequestStop(c);
        } else {
          mine.push_back(c);
        }
      }
      // The rest answer, then stop.
      for (ActorRef<Counter>& c : mine) {
        absl::StatusOr<int> n = c.BlockingAsk(env.runtime(), Get{});
        EXPECT_EQ(n.value_or(-1), 1);
        RequestStop(c);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (auto& refs : spawned) {
    for (ActorRef<Counter>& c : refs) env.Run(AwaitTermination(c.cell()));
  }
  // The unreferenced half stops on its own requests; wait for the table
  // to drain (the system's shutdown waits for every top-level actor).
  ShutdownReport report = system.BlockingShutdown(std::chrono::seconds(30));
  EXPECT_TRUE(report.clean) << report.ToString();
  EXPECT_EQ(system.NumActors(), 0u);
}

// A child lives in its parent's list, not in the system's top level: a
// shutdown stops it through its parent, and the table forgets both.
TEST(ActorTable, ChildrenAreStoppedThroughTheirParentsAndLeaveTheTable) {
  ActorTestEnv env({.worker_threads = 2});
  ActorSystem& system = env.system();
  ActorRef<Supervisor<RestartPolicy>> parent =
      system.Spawn<Supervisor<RestartPolicy>>(NewLog());
  std::vector<ActorRef<Counter>> children;  // an actor lives while referenced
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<ActorRef<Counter>> child = parent.BlockingAsk(
        env.runtime(), SpawnCounter("child-" + std::to_string(i)));
    ASSERT_TRUE(child.ok()) << child.status();
    children.push_back(*std::move(child));
  }
  EXPECT_EQ(system.NumActors(), 51u);
  ShutdownReport report = system.BlockingShutdown(std::chrono::seconds(30));
  EXPECT_TRUE(report.clean) << report.ToString();
  EXPECT_EQ(system.NumActors(), 0u);
  for (ActorRef<Counter>& c : children) EXPECT_TRUE(c.cell()->IsTerminated());
}

}  // namespace
}  // namespace troupe::test

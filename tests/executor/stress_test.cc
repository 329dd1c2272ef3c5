// Stress: millions of spawns on the multi-thread runtime - trees of tasks
// with random yields, nested spawns, joins and detaches, and spawns from
// plain threads - and every task runs exactly once. Sized to run in a few
// seconds, also under ThreadSanitizer (scaled down there).

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "tests/executor/test_util.h"

namespace troupe {
namespace {

#ifdef TROUPE_TSAN
constexpr int kDrivers = 8;
constexpr int kRounds = 4;
constexpr int kTreeSize = 2000;
constexpr int kPlainThreads = 3;
constexpr int kSpawnsPerThread = 20'000;
#else
constexpr int kDrivers = 8;
constexpr int kRounds = 63;
constexpr int kTreeSize = 2000;
constexpr int kPlainThreads = 3;
constexpr int kSpawnsPerThread = 200'000;
#endif

// Per-task run counts, indexed by task id.
class Ledger {
 public:
  explicit Ledger(int n) : runs_(static_cast<std::size_t>(n)) {}
  void Ran(int id) {
    runs_[static_cast<std::size_t>(id)].fetch_add(1, std::memory_order_relaxed);
  }
  // Ids that ran a number of times other than once.
  int Wrong() const {
    int wrong = 0;
    for (const std::atomic<int>& r : runs_) {
      wrong += r.load(std::memory_order_relaxed) != 1 ? 1 : 0;
    }
    return wrong;
  }

 private:
  std::vector<std::atomic<int>> runs_;
};

// One tree of tasks; `done` is cancelled by the last task to finish (some
// are detached, so joining the root does not cover them).
struct Round {
  explicit Round(int n) : remaining(n) {}
  std::atomic<int> remaining;
  CancellationToken done;
  void Finished() {
    if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) done.Cancel();
  }
};

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// Task `first` of a subtree of `count` tasks: runs, yields 0-2 times, then
// spawns its subtree as 1-4 children - joining most, detaching some - and
// yields or not in between.
Task<void> Node(Ledger* ledger, std::shared_ptr<Round> round, int first,
                int count) {
  ledger->Ran(first);
  uint64_t rng = Mix(static_cast<uint64_t>(first) ^ test::TestSeed());
  auto next = [&rng] { return rng = Mix(rng + 0x9e3779b97f4a7c15ULL); };
  for (uint64_t y = next() % 3; y > 0; --y) co_await YieldNow();
  std::array<JoinHandle<void>, 4> joined;
  std::size_t num_joined = 0;
  int remaining = count - 1;
  int child = first + 1;
  const int fanout = 1 + static_cast<int>(next() % 4);
  for (int k = 0; remaining > 0; ++k) {
    const int size =
        k == fanout - 1 ? remaining : std::max(1, remaining / (fanout - k));
    JoinHandle<void> h = Spawn(Node(ledger, round, child, size));
    if (next() % 4 == 0) {
      h.Detach();
    } else {
      joined[num_joined++] = std::move(h);
    }
    if (next() % 8 == 0) co_await YieldNow();
    child += size;
    remaining -= size;
  }
  for (std::size_t i = 0; i < num_joined; ++i) co_await joined[i];
  round->Finished();
}

Task<void> Driver(Ledger* ledger, int first, int rounds, int tree_size) {
  for (int r = 0; r < rounds; ++r) {
    auto round = std::make_shared<Round>(tree_size);
    JoinHandle<void> root =
        Spawn(Node(ledger, round, first + r * tree_size, tree_size));
    co_await root;
    co_await round->done.Cancelled();
  }
}

Task<void> Drive(Ledger* ledger, int drivers, int rounds, int tree_size) {
  std::vector<JoinHandle<void>> handles;
  handles.reserve(static_cast<std::size_t>(drivers));
  for (int d = 0; d < drivers; ++d) {
    handles.push_back(
        Spawn(Driver(ledger, d * rounds * tree_size, rounds, tree_size)));
  }
  for (JoinHandle<void>& h : handles) co_await h;
}

void RunTrees(int worker_threads) {
  constexpr int kTotal = kDrivers * kRounds * kTreeSize;
  Ledger ledger(kTotal);
  Runtime runtime(
      {.flavor = Flavor::kMultiThread, .worker_threads = worker_threads});
  runtime.BlockOn(Drive(&ledger, kDrivers, kRounds, kTreeSize));
  EXPECT_EQ(ledger.Wrong(), 0) << "of " << kTotal << " tasks";
  // The last completions are counted just after they wake their joiners.
  test::WaitUntil([&] { return runtime.Metrics().tasks_alive == 0; });
  // Every tree task, every driver, and the BlockOn task itself.
  EXPECT_EQ(runtime.Metrics().tasks_spawned, kTotal + kDrivers + 1);
}

TEST(Stress, EveryTaskOfMillionsRunsExactlyOnceOnTwoWorkers) { RunTrees(2); }

TEST(Stress, EveryTaskRunsExactlyOnceWithMoreWorkersThanCores) { RunTrees(4); }

// Spawned from a plain thread: marks itself, and sometimes spawns (from
// the worker) one more task with the next id.
Task<void> Leaf(Ledger* ledger, int id, bool spawn_sibling,
                std::shared_ptr<std::atomic<int>> finished) {
  ledger->Ran(id);
  if (spawn_sibling) {
    SpawnDetached(Leaf(ledger, id + 1, false, finished));
  } else if (id % 3 == 0) {
    co_await YieldNow();
  }
  finished->fetch_add(1, std::memory_order_acq_rel);
}

Task<void> AwaitAll(std::vector<JoinHandle<void>> handles) {
  for (JoinHandle<void>& h : handles) co_await h;
}

TEST(Stress, SpawnsFromSeveralPlainThreadsEachRunExactlyOnce) {
  constexpr int kTotal = kPlainThreads * kSpawnsPerThread;
  Ledger ledger(kTotal);
  auto finished = test::NewCounter();
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  std::vector<std::vector<JoinHandle<void>>> kept(kPlainThreads);
  std::vector<std::thread> threads;
  threads.reserve(kPlainThreads);
  for (int t = 0; t < kPlainThreads; ++t) {
    threads.emplace_back([&, t] {
      const int base = t * kSpawnsPerThread;
      for (int i = 0; i < kSpawnsPerThread; ++i) {
        // Every fourth pair is spawned as one task that spawns its sibling.
        const bool pair = i % 8 == 0 && i + 1 < kSpawnsPerThread;
        JoinHandle<void> h =
            runtime.Spawn(Leaf(&ledger, base + i, pair, finished));
        if (i % 2 == 0) {
          kept[static_cast<std::size_t>(t)].push_back(std::move(h));
        }
        if (pair) ++i;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (auto& handles : kept) runtime.BlockOn(AwaitAll(std::move(handles)));
  test::WaitUntil([&] { return finished->load() == kTotal; });
  EXPECT_EQ(ledger.Wrong(), 0) << "of " << kTotal << " tasks";
}

}  // namespace
}  // namespace troupe

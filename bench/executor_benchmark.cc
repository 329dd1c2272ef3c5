// Micro-benchmarks of the executor's internals (single-threaded costs; the
// cross-thread behaviour is measured by //bench:workloads).
//
//   bazel run --config=bench //bench:executor_benchmark

#include <coroutine>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "executor/frame_allocator.h"
#include "executor/inject_queue.h"
#include "executor/join_handle.h"
#include "executor/local_queue.h"
#include "executor/runtime.h"
#include "executor/task_header.h"
#include "executor/timer_wheel.h"

namespace troupe {
namespace {

// Headers that are queued but never run (two references: never freed).
struct QueuedOnly : TaskHeader {
  QueuedOnly() : TaskHeader(std::coroutine_handle<>(), 2, false) {}
};

void BM_LocalQueuePushPop(benchmark::State& state) {
  LocalQueue<> queue;
  InjectQueue overflow;
  std::vector<QueuedOnly> tasks(128);
  for (auto _ : state) {
    for (auto& t : tasks) queue.PushBack(&t, overflow);
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      benchmark::DoNotOptimize(queue.Pop());
    }
  }
  state.SetItemsProcessed(state.iterations() * 128);
}
BENCHMARK(BM_LocalQueuePushPop);

void BM_LocalQueueStealHalf(benchmark::State& state) {
  LocalQueue<> victim;
  LocalQueue<> thief;
  InjectQueue overflow;
  std::vector<QueuedOnly> tasks(200);
  for (auto _ : state) {
    for (auto& t : tasks) victim.PushBack(&t, overflow);
    benchmark::DoNotOptimize(victim.StealInto(thief));  // takes 100
    while (thief.Pop() != nullptr) {
    }
    while (victim.Pop() != nullptr) {
    }
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_LocalQueueStealHalf);

void BM_InjectQueuePushPop(benchmark::State& state) {
  InjectQueue queue;
  QueuedOnly task;
  for (auto _ : state) {
    queue.Push(&task);
    benchmark::DoNotOptimize(queue.Pop());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InjectQueuePushPop);

void BM_TimerWheelInsertRemove(benchmark::State& state) {
  TimerWheel wheel;
  std::vector<TimerWheel::Entry> entries(1024);
  std::mt19937_64 rng(42);
  for (auto& e : entries) e.deadline_tick = 1 + rng() % 1'000'000;
  for (auto _ : state) {
    for (auto& e : entries) wheel.Insert(&e);
    for (auto& e : entries) wheel.Remove(&e);
  }
  state.SetItemsProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_TimerWheelInsertRemove);

void BM_TimerWheelFire(benchmark::State& state) {
  std::vector<TimerWheel::Entry> entries(1024);
  for (auto _ : state) {
    state.PauseTiming();
    TimerWheel wheel;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      entries[i].deadline_tick = 1 + i * 37;
      wheel.Insert(&entries[i]);
    }
    state.ResumeTiming();
    int fired = 0;
    wheel.Advance(1 + 1024 * 37, [&](TimerWheel::Entry*) { ++fired; });
    benchmark::DoNotOptimize(fired);
  }
  state.SetItemsProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_TimerWheelFire);

void BM_FrameAllocateFree(benchmark::State& state) {
  for (auto _ : state) {
    void* p = internal::AllocateFrame(192);
    benchmark::DoNotOptimize(p);
    internal::FreeFrame(p, 192);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FrameAllocateFree);

Task<int> Leaf(int x) { co_return x + 1; }

void BM_SpawnAndAwait(benchmark::State& state) {
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  const int64_t n = 10'000;
  for (auto _ : state) {
    auto body = [](int64_t n) -> Task<int64_t> {
      int64_t sum = 0;
      for (int64_t i = 0; i < n; ++i) sum += co_await Spawn(Leaf(1));
      co_return sum;
    };
    benchmark::DoNotOptimize(runtime.BlockOn(body(n)));
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_SpawnAndAwait);

void BM_AwaitSubTask(benchmark::State& state) {
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  const int64_t n = 100'000;
  for (auto _ : state) {
    auto body = [](int64_t n) -> Task<int64_t> {
      int64_t sum = 0;
      for (int64_t i = 0; i < n; ++i) sum += co_await Leaf(1);
      co_return sum;
    };
    benchmark::DoNotOptimize(runtime.BlockOn(body(n)));
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_AwaitSubTask);

}  // namespace
}  // namespace troupe

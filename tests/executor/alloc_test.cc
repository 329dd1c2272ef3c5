// Steady-state spawning allocates nothing: this binary counts allocations
// (tests/counting_allocator.h) and checks that 100,000
// spawn/await/complete cycles, after a warm-up, never reach them.
//
// Not run under the sanitizers (see BUILD.bazel): they replace operator
// new and delete themselves.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <thread>

#include "executor/frame_allocator.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "gtest/gtest.h"
#include "tests/counting_allocator.h"

namespace troupe {
namespace {

constexpr int kWarmUp = 1000;
constexpr int kCycles = 100'000;

using test::Allocations;

TEST(AllocationCounting, CountsEveryKindOfNew) {
  // The replacement really is in use (else the tests below prove nothing).
  // (Through volatile pointers, so the compiler cannot elide them.)
  struct alignas(64) Wide {
    char c[64];
  };
  const uint64_t before = Allocations();
  int* volatile one = new int(1);
  delete one;
  int* volatile many = new int[3];
  delete[] many;
  int* volatile nothrow = new (std::nothrow) int(2);
  delete nothrow;
  Wide* volatile wide = new Wide;
  delete wide;
  EXPECT_EQ(Allocations() - before, 4u);
}

Task<int> Child(int i) { co_return i; }

TEST(AllocationCounting, SeesTheExecutorsOwnAllocations) {
  // A new thread's frame cache is empty: its first spawn must reach the
  // (replaced) operator new from inside the executor library.
  uint64_t counted = 0;
  std::thread([&counted] {
    Runtime runtime({.flavor = Flavor::kCurrentThread});
    const uint64_t before = Allocations();
    EXPECT_EQ(runtime.BlockOn(Child(5)), 5);
    counted = Allocations() - before;
  }).join();
  EXPECT_GT(counted, 0u);
}

struct CycleResult {
  uint64_t allocations = 0;
  uint64_t frame_cache_misses = 0;
  int64_t sum = 0;
};

// On one worker: spawn a task, await its handle, drop it - kWarmUp times,
// then kCycles times under the counter.
Task<CycleResult> SpawnAwaitCycles() {
  CycleResult r;
  for (int i = 0; i < kWarmUp; ++i) {
    JoinHandle<int> h = Spawn(Child(i));
    r.sum += co_await h;
  }
  const uint64_t allocations = Allocations();
  const uint64_t misses = internal::ThisThreadFrameCacheStats().misses;
  test::TraceAllocations(true);
  for (int i = 0; i < kCycles; ++i) {
    JoinHandle<int> h = Spawn(Child(i));
    r.sum += co_await h;
  }
  test::TraceAllocations(false);
  r.allocations = Allocations() - allocations;
  r.frame_cache_misses = internal::ThisThreadFrameCacheStats().misses - misses;
  co_return r;
}

void ExpectNoAllocations(Runtime& runtime) {
  const CycleResult r = runtime.BlockOn(SpawnAwaitCycles());
  EXPECT_EQ(r.allocations, 0u);
  EXPECT_EQ(r.frame_cache_misses, 0u);
  int64_t expected = 0;
  for (int i = 0; i < kWarmUp; ++i) expected += i;
  for (int i = 0; i < kCycles; ++i) expected += i;
  EXPECT_EQ(r.sum, expected);
}

TEST(Alloc, SpawnAndAwaitAllocateNothingInSteadyStateOnACurrentThreadRuntime) {
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  ExpectNoAllocations(runtime);
}

TEST(Alloc, SpawnAndAwaitAllocateNothingInSteadyStateOnOneWorker) {
  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 1});
  ExpectNoAllocations(runtime);
}

}  // namespace
}  // namespace troupe

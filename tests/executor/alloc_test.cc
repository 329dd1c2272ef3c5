// Steady-state spawning allocates nothing: this binary replaces the global
// allocation functions with counting ones and checks that 100,000
// spawn/await/complete cycles, after a warm-up, never reach them.
//
// Not run under the sanitizers (see BUILD.bazel): they replace operator
// new and delete themselves.

#include <execinfo.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <thread>

#include "executor/frame_allocator.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "gtest/gtest.h"

namespace {

std::atomic<uint64_t> g_allocations{0};
// While set, the first few allocations print a backtrace (to stderr, with
// backtrace_symbols_fd, which does not allocate): what allocated.
std::atomic<bool> g_trace{false};
std::atomic<int> g_traced{0};

void Trace(std::size_t size) {
  if (!g_trace.load(std::memory_order_relaxed)) return;
  if (g_traced.fetch_add(1, std::memory_order_relaxed) >= 3) return;
  g_trace.store(false);  // backtrace() may allocate the first time
  std::fprintf(stderr, "allocation of %zu bytes from:\n", size);
  void* frames[24];
  const int n = backtrace(frames, 24);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  g_trace.store(true);
}

void* Allocate(std::size_t size, std::size_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  Trace(size);
  if (size == 0) size = 1;
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) {
    p = std::malloc(size);
  } else if (posix_memalign(&p, align, size) != 0) {
    p = nullptr;
  }
  return p;
}

void* AllocateOrThrow(std::size_t size, std::size_t align) {
  void* p = Allocate(size, align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

// The replaceable global allocation functions, all of them.
void* operator new(std::size_t n) { return AllocateOrThrow(n, 0); }
void* operator new[](std::size_t n) { return AllocateOrThrow(n, 0); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n, 0);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n, 0);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return AllocateOrThrow(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return AllocateOrThrow(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, std::align_val_t a,
                   const std::nothrow_t&) noexcept {
  return Allocate(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a,
                     const std::nothrow_t&) noexcept {
  return Allocate(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t,
                     const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t,
                       const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace troupe {
namespace {

constexpr int kWarmUp = 1000;
constexpr int kCycles = 100'000;

uint64_t Allocations() { return g_allocations.load(std::memory_order_relaxed); }

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
  g_trace.store(true);
  for (int i = 0; i < kCycles; ++i) {
    JoinHandle<int> h = Spawn(Child(i));
    r.sum += co_await h;
  }
  g_trace.store(false);
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

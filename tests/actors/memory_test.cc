// What an idle actor costs: one allocation (its cell, with the mailbox and
// the instance inside), of a bounded size. Counted with a replaced global
// operator new, so the numbers are exact - no resident-memory reading.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "actors/actor.h"
#include "actors/actor_cell.h"
#include "executor/frame_allocator.h"
#include "executor/runtime.h"
#include "executor/settle.h"
#include "gtest/gtest.h"

namespace {

std::atomic<bool> counting{false};
std::atomic<std::size_t> allocations{0};
std::atomic<std::size_t> other_sizes{0};
std::atomic<std::size_t> expected_size{0};

void* Allocate(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (size != expected_size.load(std::memory_order_relaxed)) {
      other_sizes.fetch_add(1, std::memory_order_relaxed);
    }
  }
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t /*size*/) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t /*size*/) noexcept { std::free(p); }

namespace troupe {
namespace {

class Idle : public Actor<Idle> {
 public:
  void Handle(int /*unused*/) {}
};

// What one idle actor's cell takes from operator new: the frame
// allocator's block for it - its size rounded up to a class (blocks of
// 64k - 8 bytes, one glibc chunk of 64k each) - or, under AddressSanitizer,
// the cell itself (cells then come straight from the heap).
constexpr std::size_t kCellBlock =
#if defined(__SANITIZE_ADDRESS__)
    sizeof(ActorCell<Idle>);
#else
    (sizeof(ActorCell<Idle>) + 8 + 63) / 64 * 64 - 8;
#endif

// An actor whose state asks for more than the default new alignment.
struct alignas(64) Wide {
  char bytes[64];
};
class WideActor : public Actor<WideActor> {
 public:
  uintptr_t Handle(int /*unused*/) {
    return reinterpret_cast<uintptr_t>(&wide_);
  }

 private:
  Wide wide_{};
};

TEST(ActorMemoryTest, AnOverAlignedActorGetsItsAlignment) {
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  ActorSystem system(runtime, {.watchdog = false});
  std::vector<ActorRef<WideActor>> refs;
  refs.reserve(8);
  for (int i = 0; i < 8; ++i) refs.push_back(system.Spawn<WideActor>());
  for (const auto& ref : refs) {
    absl::StatusOr<uintptr_t> address = ref.BlockingAsk(runtime, 0);
    ASSERT_TRUE(address.ok()) << address.status();
    EXPECT_EQ(*address % alignof(Wide), 0u);
  }
  refs.clear();
  (void)system.BlockingShutdown(std::chrono::seconds(5));
}

// The mailbox's waiter packs its flag into the wake target's padding.
static_assert(sizeof(internal::RecvWaiter) == 16);

TEST(ActorMemoryTest, AnIdleActorIsOneAllocationOfBoundedSize) {
  constexpr std::size_t kActors = 1000;
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  ActorSystemOptions options;
  options.watchdog = false;
  ActorSystem system(runtime, std::move(options));
  constexpr std::size_t kWarmUp = 100;
  std::vector<ActorRef<Idle>> warm;
  warm.reserve(kWarmUp);
  std::vector<ActorRef<Idle>> refs;
  refs.reserve(kActors);
  runtime.BlockOn([&]() -> Task<void> {
    // Cells come from the frame allocator's classes: empty its caches, so
    // that each cell below is a block fresh from operator new.
    internal::ReleaseFrameCaches();
    // Warm up: the first spawns may make the system's lazy structures, and
    // the transient coroutine frames of spawning and settling come back to
    // the (emptied) caches, to be reused below.
    for (std::size_t i = 0; i < kWarmUp; ++i) {
      warm.push_back(system.Spawn<Idle>());
    }
    co_await Settle();
    expected_size.store(kCellBlock);
    counting.store(true);
    for (std::size_t i = 1; i < kActors; ++i) {
      refs.push_back(system.Spawn<Idle>());
    }
    co_await Settle();  // every actor started and parked on its mailbox
    counting.store(false);
  }());
  const std::size_t spawned = kActors - 1;
  // One block per actor, all of the cell's class. A few more may show:
  // transient coroutine frames of the same class, made when the cells had
  // just taken every cached block (they go back to the cache, not to the
  // actors); and a few fewer: cell-class blocks the warm-up left cached.
  EXPECT_GE(allocations.load(), spawned - spawned / 50);
  EXPECT_LE(allocations.load(), spawned + spawned / 50)
      << "allocations per idle actor: "
      << static_cast<double>(allocations.load()) / spawned;
  EXPECT_EQ(other_sizes.load(), 0u) << "allocations of another size";
  // The cell alone (its reference count is inside it: no control block).
  // Raise the bound only with a reason; issue 5 asks for < 400 bytes per
  // idle actor in all.
  EXPECT_LE(kCellBlock, 376u) << "bytes per idle actor";
  std::printf("bytes per idle actor: %zu (a %zu-byte cell)\n", kCellBlock,
              sizeof(ActorCell<Idle>));
  (void)system.BlockingShutdown(std::chrono::seconds(5));
}

}  // namespace
}  // namespace troupe

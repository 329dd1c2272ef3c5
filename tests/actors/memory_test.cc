// What an idle actor costs: one allocation (its cell, with the mailbox and
// the instance inside), of a bounded size. Counted with a replaced global
// operator new, so the numbers are exact - no resident-memory reading.
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "actors/actor.h"
#include "actors/actor_cell.h"
#include "executor/runtime.h"
#include "executor/settle.h"
#include "gtest/gtest.h"

namespace {

std::atomic<bool> counting{false};
std::atomic<std::size_t> allocations{0};
std::atomic<std::size_t> bytes{0};

void* Allocate(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    bytes.fetch_add(size, std::memory_order_relaxed);
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

// The mailbox's waiter packs its flag into the wake target's padding.
static_assert(sizeof(internal::RecvWaiter) == 16);

TEST(ActorMemoryTest, AnIdleActorIsOneAllocationOfBoundedSize) {
  constexpr std::size_t kActors = 1000;
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  ActorSystemOptions options;
  options.watchdog = false;
  ActorSystem system(runtime, std::move(options));
  std::vector<ActorRef<Idle>> refs;
  refs.reserve(kActors);
  runtime.BlockOn([&]() -> Task<void> {
    // Warm up: the first spawn may make the system's lazy structures.
    refs.push_back(system.Spawn<Idle>());
    co_await Settle();
    counting.store(true);
    for (std::size_t i = 1; i < kActors; ++i) {
      refs.push_back(system.Spawn<Idle>());
    }
    co_await Settle();  // every actor started and parked on its mailbox
    counting.store(false);
  }());
  const std::size_t spawned = kActors - 1;
  EXPECT_EQ(allocations.load(), spawned)
      << "allocations per idle actor: "
      << static_cast<double>(allocations.load()) / spawned;
  // The cell alone (its reference count is inside it: no control block).
  // Raise the bound only with a reason; issue 5 asks for < 400 bytes per
  // idle actor in all.
  const std::size_t per_actor = bytes.load() / spawned;
  EXPECT_LE(per_actor, 376u) << "bytes per idle actor";
  std::printf("bytes per idle actor: %zu\n", per_actor);
  EXPECT_EQ(per_actor, sizeof(ActorCell<Idle>));
  (void)system.BlockingShutdown(std::chrono::seconds(5));
}

}  // namespace
}  // namespace troupe

// Frame allocator: recycles coroutine frames per thread, by size class, so
// that spawning and completing tasks in steady state never calls malloc.
//
// Contract:
//   AllocateFrame(n) returns storage for n bytes, aligned to
//   __STDCPP_DEFAULT_NEW_ALIGNMENT__ (16). FreeFrame(p, n) takes it back with
//   the same n. Any thread may free a frame another thread allocated: the
//   block joins the freeing thread's cache (as in tcmalloc's thread caches).
//   Sizes above kMaxCachedFrameSize, and frees once a thread's cache holds
//   kMaxCachedBytesPerThread, go straight to ::operator new / delete, so the
//   memory a thread keeps is bounded. A thread's cache is released when the
//   thread exits.
//
//   Under AddressSanitizer cached blocks are poisoned, so a use after free of
//   a recycled frame is still reported.
//
// Example (what Task<T>'s promise does):
//   static void* operator new(std::size_t n) { return AllocateFrame(n); }
//   static void operator delete(void* p, std::size_t n) { FreeFrame(p, n); }
#ifndef TROUPE_EXECUTOR_FRAME_ALLOCATOR_H_
#define TROUPE_EXECUTOR_FRAME_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>

namespace troupe::internal {

inline constexpr std::size_t kFrameSizeClass = 64;
inline constexpr std::size_t kMaxCachedFrameSize = 4096;
inline constexpr std::size_t kMaxCachedBytesPerThread = std::size_t{2} << 20;

void* AllocateFrame(std::size_t size);
void FreeFrame(void* frame, std::size_t size);

// Counters of the calling thread's cache, for tests and metrics.
struct FrameCacheStats {
  uint64_t hits = 0;    // allocations served from the cache
  uint64_t misses = 0;  // allocations that called ::operator new
  std::size_t cached_bytes = 0;
};
FrameCacheStats ThisThreadFrameCacheStats();

}  // namespace troupe::internal

#endif  // TROUPE_EXECUTOR_FRAME_ALLOCATOR_H_

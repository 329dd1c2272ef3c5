// Frame allocator: recycles coroutine frames by size class, so that spawning
// and completing tasks in steady state never calls malloc - even when frames
// are allocated on one worker and freed on another, which is the normal case
// once work is stolen.
//
// Contract:
//   AllocateFrame(n) returns storage for n bytes, aligned to
//   __STDCPP_DEFAULT_NEW_ALIGNMENT__ (16). FreeFrame(p, n) takes it back with
//   the same n. Any thread may free a frame another thread allocated.
//   Sizes above kMaxCachedFrameSize go straight to ::operator new / delete.
//
// Structure (in the manner of tcmalloc's thread and transfer caches):
//   - each thread keeps, per size class, a "current" free list of up to
//     kFrameBatch blocks and at most one full spare batch; no atomics;
//   - when a thread frees more than that (it runs tasks another thread
//     spawned), a whole batch moves to a global per-class stack of batches
//     (one spin lock per class, taken once per kFrameBatch frees);
//   - a thread whose lists are empty takes a whole batch from there before
//     it calls ::operator new.
//   So a producer/consumer pair of workers passes frames back in batches
//   instead of round-tripping them through malloc, which hands the pages
//   back to the kernel and re-faults them on the next burst.
//
// Memory bound: per thread, 2 x kFrameBatch blocks per class; globally,
// kMaxTransferCacheBytes over all classes (beyond it, frees go to
// ::operator delete). The global cache is the executor's high-water mark of
// frames up to that bound: it is not returned to the system until
// ReleaseFrameCaches() is called or the process exits. A thread's own lists
// go back to the global cache (or to the system) when the thread exits.
//
// Under AddressSanitizer cached blocks are poisoned (all but their first
// two words, the free-list links), so a use after free of a recycled frame
// is still reported.
//
// Example (what Task<T>'s promise does):
//   static void* operator new(std::size_t n) { return AllocateFrame(n); }
//   static void operator delete(void* p, std::size_t n) { FreeFrame(p, n); }
#ifndef TROUPE_EXECUTOR_FRAME_ALLOCATOR_H_
#define TROUPE_EXECUTOR_FRAME_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>

namespace troupe::internal {

// Size classes step by kFrameSizeClass; a class's blocks hold 8 bytes less
// than the step (56, 120, ..., 4088), so that each block fills a glibc
// chunk exactly (the allocator's 8-byte header makes up the rest): a
// cached 376-byte block costs 384 bytes of heap, as malloc(376) would.
inline constexpr std::size_t kFrameSizeClass = 64;
inline constexpr std::size_t kFrameChunkHeader = 8;
inline constexpr std::size_t kMaxCachedFrameSize = 4096 - kFrameChunkHeader;
inline constexpr int kFrameBatch = 64;
inline constexpr std::size_t kMaxTransferCacheBytes = std::size_t{32} << 20;

void* AllocateFrame(std::size_t size);
void FreeFrame(void* frame, std::size_t size);

// Returns every block of the global transfer cache to the system (the
// calling thread's own lists too). Safe at any time.
void ReleaseFrameCaches();

// Counters of the calling thread's cache, for tests and metrics.
struct FrameCacheStats {
  uint64_t hits = 0;           // allocations served from the thread's lists
  uint64_t transfers_in = 0;   // batches taken from the global cache
  uint64_t transfers_out = 0;  // batches given to the global cache
  uint64_t misses = 0;  // allocations that refilled a batch from the system
  std::size_t cached_bytes = 0;
};
FrameCacheStats ThisThreadFrameCacheStats();

// Bytes held by the global transfer cache.
std::size_t TransferCacheBytes();

}  // namespace troupe::internal

#endif  // TROUPE_EXECUTOR_FRAME_ALLOCATOR_H_

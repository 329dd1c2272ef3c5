#include "executor/frame_allocator.h"

#include <new>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define TROUPE_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define TROUPE_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define TROUPE_POISON(p, n) ((void)(p), (void)(n))
#define TROUPE_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace troupe::internal {
namespace {

constexpr std::size_t kNumClasses = kMaxCachedFrameSize / kFrameSizeClass;

struct FreeBlock {
  FreeBlock* next;
};

// One per thread. Only its own thread touches it, so nothing here is atomic.
struct ThreadCache {
  FreeBlock* lists[kNumClasses] = {};
  std::size_t cached_bytes = 0;
  FrameCacheStats stats;
  bool alive = true;

  ~ThreadCache() {
    for (std::size_t c = 0; c < kNumClasses; ++c) {
      FreeBlock* block = lists[c];
      while (block != nullptr) {
        TROUPE_UNPOISON(block, sizeof(FreeBlock));
        FreeBlock* next = block->next;
        TROUPE_UNPOISON(block, (c + 1) * kFrameSizeClass);
        ::operator delete(block);
        block = next;
      }
      lists[c] = nullptr;
    }
    alive = false;
  }
};

thread_local ThreadCache tls_cache;

std::size_t ClassOf(std::size_t size) {
  return (size + kFrameSizeClass - 1) / kFrameSizeClass - 1;
}

}  // namespace

void* AllocateFrame(std::size_t size) {
  if (size == 0 || size > kMaxCachedFrameSize) return ::operator new(size);
  ThreadCache& cache = tls_cache;
  const std::size_t cls = ClassOf(size);
  if (cache.alive) {
    if (FreeBlock* block = cache.lists[cls]; block != nullptr) {
      TROUPE_UNPOISON(block, sizeof(FreeBlock));
      cache.lists[cls] = block->next;
      cache.cached_bytes -= (cls + 1) * kFrameSizeClass;
      ++cache.stats.hits;
      TROUPE_UNPOISON(block, (cls + 1) * kFrameSizeClass);
      return block;
    }
    ++cache.stats.misses;
  }
  // Always allocate the full class size so any thread can cache the block.
  return ::operator new((cls + 1) * kFrameSizeClass);
}

void FreeFrame(void* frame, std::size_t size) {
  if (frame == nullptr) return;
  if (size == 0 || size > kMaxCachedFrameSize) {
    ::operator delete(frame);
    return;
  }
  ThreadCache& cache = tls_cache;
  const std::size_t cls = ClassOf(size);
  const std::size_t bytes = (cls + 1) * kFrameSizeClass;
  if (!cache.alive || cache.cached_bytes + bytes > kMaxCachedBytesPerThread) {
    ::operator delete(frame);
    return;
  }
  auto* block = static_cast<FreeBlock*>(frame);
  block->next = cache.lists[cls];
  cache.lists[cls] = block;
  cache.cached_bytes += bytes;
  TROUPE_POISON(frame, bytes);
  // The link word stays readable only through unpoisoning in Allocate.
}

FrameCacheStats ThisThreadFrameCacheStats() {
  FrameCacheStats stats = tls_cache.stats;
  stats.cached_bytes = tls_cache.cached_bytes;
  return stats;
}

}  // namespace troupe::internal

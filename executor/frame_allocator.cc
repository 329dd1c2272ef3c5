#include "executor/frame_allocator.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <new>

#include "executor/spin_lock.h"

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

constexpr std::size_t kNumClasses =
    (kMaxCachedFrameSize + kFrameChunkHeader) / kFrameSizeClass;
// A batch is about this many bytes (at least 2 and at most kFrameBatch
// blocks), so a thread's worst case over all classes stays near 1 MiB.
constexpr std::size_t kBatchBytes = 8192;

// The first words of a free block. Under ASan the rest of a free block is
// poisoned; these two words are not, because LeakSanitizer ignores pointers
// held in poisoned memory and would report every cached block as leaked.
struct FreeBlock {
  FreeBlock* next;        // next block of the same list
  FreeBlock* next_batch;  // in the global cache: the next batch
};

// What a block of class `cls` holds (see kFrameChunkHeader).
constexpr std::size_t ClassBytes(std::size_t cls) {
  return (cls + 1) * kFrameSizeClass - kFrameChunkHeader;
}
static_assert(ClassBytes(kNumClasses - 1) == kMaxCachedFrameSize);
static_assert(ClassBytes(0) >= 2 * sizeof(void*), "room for the free links");
constexpr int ComputeBatchCount(std::size_t cls) {
  return static_cast<int>(std::clamp<std::size_t>(kBatchBytes / ClassBytes(cls),
                                                  2, std::size_t{kFrameBatch}));
}
// A table, so that the free path's "is current full?" is a load, not a
// division.
constexpr std::array<uint8_t, kNumClasses> kBatchCounts = [] {
  std::array<uint8_t, kNumClasses> counts{};
  for (std::size_t cls = 0; cls < kNumClasses; ++cls) {
    counts[cls] = static_cast<uint8_t>(ComputeBatchCount(cls));
  }
  return counts;
}();
static_assert(kFrameBatch <= UINT8_MAX);
int BatchCount(std::size_t cls) { return kBatchCounts[cls]; }
// The smallest class whose blocks hold `size` bytes (1..kMaxCachedFrameSize).
std::size_t ClassOf(std::size_t size) {
  return (size + kFrameChunkHeader + kFrameSizeClass - 1) / kFrameSizeClass - 1;
}

// Poisons a block being cached, all but its link words.
void PoisonFree(void* block, std::size_t cls) {
  TROUPE_POISON(static_cast<char*>(block) + sizeof(FreeBlock),
                ClassBytes(cls) - sizeof(FreeBlock));
}
void UnpoisonForUse(void* block, std::size_t cls) {
  TROUPE_UNPOISON(block, ClassBytes(cls));
}

FreeBlock* Next(FreeBlock* block) { return block->next; }
FreeBlock* NextBatch(FreeBlock* block) { return block->next_batch; }
void SetLinks(FreeBlock* block, FreeBlock* next, FreeBlock* next_batch) {
  block->next = next;
  block->next_batch = next_batch;
}

void DeleteList(FreeBlock* block, std::size_t cls) {
  while (block != nullptr) {
    FreeBlock* next = Next(block);
    UnpoisonForUse(block, cls);
    ::operator delete(block);
    block = next;
  }
}

// The global transfer cache: per class, a stack of full batches (each
// batch a list of BatchCount(cls) blocks linked through `next`, batches
// linked through the head block's `next_batch`). The lock orders every
// access to the blocks' links, so handing a batch from one thread to
// another needs nothing more. bytes_ is accounting only (relaxed): it
// bounds the cache, it orders no data.
class TransferCache {
 public:
  // Takes a full batch; false (the caller keeps it) if the cache is full.
  bool Push(std::size_t cls, FreeBlock* batch) {
    const std::size_t bytes = ClassBytes(cls) * BatchCount(cls);
    if (bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes >
        kMaxTransferCacheBytes) {
      bytes_.fetch_sub(bytes, std::memory_order_relaxed);
      return false;
    }
    Central& c = central_[cls];
    std::lock_guard<SpinLock> lock(c.lock);
    SetLinks(batch, Next(batch), c.batches);
    c.batches = batch;
    return true;
  }

  // A full batch, or nullptr.
  FreeBlock* Pop(std::size_t cls) {
    Central& c = central_[cls];
    FreeBlock* batch;
    {
      std::lock_guard<SpinLock> lock(c.lock);
      batch = c.batches;
      if (batch == nullptr) return nullptr;
      c.batches = NextBatch(batch);
    }
    bytes_.fetch_sub(ClassBytes(cls) * BatchCount(cls),
                     std::memory_order_relaxed);
    return batch;
  }

  void Release() {
    for (std::size_t cls = 0; cls < kNumClasses; ++cls) {
      while (FreeBlock* batch = Pop(cls)) DeleteList(batch, cls);
    }
  }

  std::size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  struct alignas(64) Central {
    SpinLock lock;
    FreeBlock* batches = nullptr;  // guarded by lock
  };
  Central central_[kNumClasses];
  std::atomic<std::size_t> bytes_{0};
};

// Never destroyed: threads may free frames during static destruction.
TransferCache& Global() {
  static TransferCache* cache = new TransferCache;
  return *cache;
}

// One per thread. Only its own thread touches it, so nothing here is atomic.
struct ThreadCache {
  struct Lists {
    FreeBlock* current = nullptr;  // up to BatchCount(cls) blocks
    int count = 0;                 // blocks in current
    FreeBlock* spare = nullptr;    // nullptr or exactly one full batch
  };
  Lists lists[kNumClasses];
  FrameCacheStats stats;

  ~ThreadCache();

  void Drain() {
    for (std::size_t cls = 0; cls < kNumClasses; ++cls) {
      Lists& l = lists[cls];
      if (l.spare != nullptr && !Global().Push(cls, l.spare)) {
        DeleteList(l.spare, cls);
      }
      DeleteList(l.current, cls);
      l = Lists{};
    }
  }

  // BatchCount(cls) new blocks, linked. Each is allocated separately (the
  // full class size), so any thread can cache or delete it on its own.
  static FreeBlock* NewBatch(std::size_t cls) {
    FreeBlock* head = nullptr;
    for (int i = 0; i < BatchCount(cls); ++i) {
      auto* block = static_cast<FreeBlock*>(::operator new(ClassBytes(cls)));
      SetLinks(block, head, nullptr);
      PoisonFree(block, cls);
      head = block;
    }
    return head;
  }

  // The fast paths pop and push a block of the class's current list; the
  // rest (refills, handing a full batch on) is out of line.
  // A block of class `cls` from the current list, or nullptr if it is
  // empty.
  void* TryAllocate(std::size_t cls) {
    Lists& l = lists[cls];
    FreeBlock* block = l.current;
    if (block == nullptr) [[unlikely]] {
      return nullptr;
    }
    l.current = Next(block);
    --l.count;
    ++stats.hits;
    UnpoisonForUse(block, cls);
    return block;
  }
  void* Allocate(std::size_t cls) {
    if (void* block = TryAllocate(cls)) return block;
    return AllocateRefilling(cls);
  }

  // Takes `frame` into the current list; false if that is full.
  bool TryFree(void* frame, std::size_t cls) {
    Lists& l = lists[cls];
    if (l.count == BatchCount(cls)) [[unlikely]] {
      return false;
    }
    auto* block = static_cast<FreeBlock*>(frame);
    SetLinks(block, l.current, nullptr);
    PoisonFree(block, cls);
    l.current = block;
    ++l.count;
    return true;
  }
  void Free(void* frame, std::size_t cls) {
    if (TryFree(frame, cls)) return;
    RetireCurrent(cls);
    TryFree(frame, cls);  // current is empty now
  }

  // Bytes in this thread's lists (computed: the fast paths keep no count
  // of bytes).
  std::size_t CachedBytes() const {
    std::size_t bytes = 0;
    for (std::size_t cls = 0; cls < kNumClasses; ++cls) {
      const Lists& l = lists[cls];
      const std::size_t blocks =
          l.count + (l.spare != nullptr ? BatchCount(cls) : 0);
      bytes += blocks * ClassBytes(cls);
    }
    return bytes;
  }

 private:
  // current is empty: the spare, else a batch from the global cache, else
  // a new batch from the system, becomes current; then one block of it.
  [[gnu::noinline]] void* AllocateRefilling(std::size_t cls) {
    Lists& l = lists[cls];
    if (l.spare != nullptr) {
      l.current = l.spare;
      l.spare = nullptr;
      ++stats.hits;
    } else if (FreeBlock* batch = Global().Pop(cls)) {
      l.current = batch;
      ++stats.transfers_in;
      ++stats.hits;
    } else {
      // A miss refills a whole batch from the system, not one block: a
      // thread that allocates what another frees (a channel's producer
      // and consumer on two workers) then needs a handful of misses to
      // build the stock that circulates, rather than one miss per block
      // for as long as the stock is short - so a warm program really
      // stops calling operator new.
      ++stats.misses;
      l.current = NewBatch(cls);
    }
    l.count = BatchCount(cls);
    FreeBlock* block = l.current;
    l.current = Next(block);
    --l.count;
    UnpoisonForUse(block, cls);
    return block;
  }

  // current is full: it becomes the spare; an older spare moves to the
  // global cache (or back to the system if that is full).
  [[gnu::noinline]] void RetireCurrent(std::size_t cls) {
    Lists& l = lists[cls];
    if (l.spare != nullptr) {
      if (Global().Push(cls, l.spare)) {
        ++stats.transfers_out;
      } else {
        DeleteList(l.spare, cls);
      }
    }
    l.spare = l.current;
    l.current = nullptr;
    l.count = 0;
  }
};

thread_local ThreadCache tls_cache;
// &tls_cache while it is usable, else nullptr (before the thread's first
// slow path, and from its destruction on). A plain pointer needs no
// thread_local guard check, so the fast paths below compile to a few
// loads and stores with only tail calls - no register-saving prologue.
thread_local ThreadCache* tls_usable = nullptr;
// Set when tls_cache is destroyed. A flag of its own, not a member: GCC
// drops a member store at the end of a destructor as dead (lifetime DSE),
// and frees that come later in the thread's exit (other thread_locals'
// destructors) would cache blocks in the dead object - never returned.
thread_local bool tls_cache_destroyed = false;

ThreadCache::~ThreadCache() {
  tls_usable = nullptr;
  tls_cache_destroyed = true;
  Drain();
}

// The calling thread's cache (constructing it), or nullptr once it was
// destroyed (frees during thread exit).
ThreadCache* UsableCache() {
  if (tls_cache_destroyed) return nullptr;
  ThreadCache& cache = tls_cache;
  tls_usable = &cache;
  return &cache;
}

// Sizes 1..kMaxCachedFrameSize (0 wraps around to the largest value).
bool IsCachedSize(std::size_t size) { return size - 1 < kMaxCachedFrameSize; }

[[gnu::noinline]] void* AllocateFrameSlow(std::size_t size) {
  if (!IsCachedSize(size)) return ::operator new(size);
  const std::size_t cls = ClassOf(size);
  ThreadCache* const cache = UsableCache();
  if (cache == nullptr) return ::operator new(ClassBytes(cls));
  return cache->Allocate(cls);
}

[[gnu::noinline]] void FreeFrameSlow(void* frame, std::size_t size) {
  if (frame == nullptr) return;
  ThreadCache* const cache = IsCachedSize(size) ? UsableCache() : nullptr;
  if (cache == nullptr) {
    ::operator delete(frame);
    return;
  }
  cache->Free(frame, ClassOf(size));
}

}  // namespace

void* AllocateFrame(std::size_t size) {
  ThreadCache* const cache = tls_usable;
  if (cache != nullptr && IsCachedSize(size)) [[likely]] {
    if (void* block = cache->TryAllocate(ClassOf(size))) return block;
  }
  return AllocateFrameSlow(size);
}

void FreeFrame(void* frame, std::size_t size) {
  ThreadCache* const cache = tls_usable;
  if (cache != nullptr && frame != nullptr && IsCachedSize(size)) [[likely]] {
    if (cache->TryFree(frame, ClassOf(size))) return;
  }
  FreeFrameSlow(frame, size);
}

void ReleaseFrameCaches() {
  tls_cache.Drain();
  Global().Release();
}

FrameCacheStats ThisThreadFrameCacheStats() {
  FrameCacheStats stats = tls_cache.stats;
  stats.cached_bytes = tls_cache.CachedBytes();
  return stats;
}

std::size_t TransferCacheBytes() { return Global().bytes(); }

}  // namespace troupe::internal

// The frame allocator: per-thread lists plus the global transfer cache that
// carries frames freed on one thread back to the thread that allocates.

#include "executor/frame_allocator.h"

#include <malloc.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace troupe::internal {
namespace {

constexpr std::size_t kFrame = 200;  // the class of 248-byte blocks

std::vector<void*> AllocateMany(int n) {
  std::vector<void*> frames;
  frames.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    void* p = AllocateFrame(kFrame);
    std::memset(p, 0xab, kFrame);  // the whole frame is writable
    frames.push_back(p);
  }
  return frames;
}

void FreeOnAnotherThread(const std::vector<void*>& frames) {
  std::thread([&] {
    for (void* p : frames) FreeFrame(p, kFrame);
  }).join();  // the thread's own lists go to the transfer cache on exit
}

TEST(FrameAllocator, FramesFreedOnAnotherThreadComeBackWithoutMalloc) {
  ReleaseFrameCaches();
  FreeOnAnotherThread(AllocateMany(10'000));
  const FrameCacheStats before = ThisThreadFrameCacheStats();
  std::vector<void*> again = AllocateMany(10'000);
  const FrameCacheStats after = ThisThreadFrameCacheStats();
  EXPECT_GT(after.transfers_in, before.transfers_in);
  // Only the few blocks the exiting thread held in a partial list (and so
  // gave back to the system) need new memory.
  EXPECT_LT(after.misses - before.misses, 100u);
  for (void* p : again) FreeFrame(p, kFrame);
}

TEST(FrameAllocator, ReleaseFrameCachesEmptiesTheTransferCache) {
  FreeOnAnotherThread(AllocateMany(5'000));
  EXPECT_GT(TransferCacheBytes(), 0u);
  ReleaseFrameCaches();
  EXPECT_EQ(TransferCacheBytes(), 0u);
  EXPECT_EQ(ThisThreadFrameCacheStats().cached_bytes, 0u);
}

TEST(FrameAllocator, TheTransferCacheNeverHoldsMoreThanItsBound) {
  ReleaseFrameCaches();
  const int n = static_cast<int>(2 * kMaxTransferCacheBytes / 256);
  FreeOnAnotherThread(AllocateMany(n));
  EXPECT_LE(TransferCacheBytes(), kMaxTransferCacheBytes);
  EXPECT_GT(TransferCacheBytes(), kMaxTransferCacheBytes / 2);
  ReleaseFrameCaches();
}

TEST(FrameAllocator, AThreadKeepsAtMostTwoBatchesPerClass) {
  ReleaseFrameCaches();
  std::vector<void*> frames = AllocateMany(5'000);
  for (void* p : frames) FreeFrame(p, kFrame);
  EXPECT_LE(ThisThreadFrameCacheStats().cached_bytes,
            std::size_t{2} * kFrameBatch * 256);
  ReleaseFrameCaches();
}

TEST(FrameAllocator, ABlockFillsAGlibcChunkExactly) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizers' allocators lay out chunks their own way";
#else
  // A class's blocks hold 8 bytes less than the class step: what malloc
  // can use of a chunk of that step. So a cell of 376 bytes costs 384.
  for (std::size_t size : {std::size_t{1}, std::size_t{56}, std::size_t{57},
                           std::size_t{376}, kMaxCachedFrameSize}) {
    ReleaseFrameCaches();  // a fresh block from the system
    void* p = AllocateFrame(size);
    const std::size_t step = (size + 8 + 63) / 64 * 64;
    EXPECT_EQ(malloc_usable_size(p), step - 8) << "size " << size;
    FreeFrame(p, size);
  }
  ReleaseFrameCaches();
#endif
}

TEST(FrameAllocator, SizesAboveTheLargestClassBypassTheCache) {
  const FrameCacheStats before = ThisThreadFrameCacheStats();
  void* p = AllocateFrame(kMaxCachedFrameSize + 1);
  std::memset(p, 0, kMaxCachedFrameSize + 1);
  FreeFrame(p, kMaxCachedFrameSize + 1);
  const FrameCacheStats after = ThisThreadFrameCacheStats();
  EXPECT_EQ(after.hits, before.hits);
  EXPECT_EQ(after.misses, before.misses);
}

// Stress (run under TSan): two threads allocate, pass frames to each other
// through a mutex-free handoff, write them and free them, concurrently.
TEST(FrameAllocator, FramesPassedBetweenThreadsConcurrentlyStayIntact) {
  constexpr int kRounds = 200;
  constexpr int kPerRound = 500;
  std::atomic<int> turn{0};
  std::vector<void*> slots(kPerRound);
  auto side = [&](int me) {
    for (int r = 0; r < kRounds; ++r) {
      while (turn.load(std::memory_order_acquire) % 2 != me) {
        std::this_thread::yield();
      }
      // Take what the other side allocated, check it, free it here.
      for (void*& p : slots) {
        if (p != nullptr) {
          const auto* bytes = static_cast<const unsigned char*>(p);
          ASSERT_EQ(bytes[kFrame - 1], 0x40 + (1 - me));
          FreeFrame(p, kFrame);
        }
        p = AllocateFrame(kFrame);
        std::memset(p, 0x40 + me, kFrame);
      }
      turn.fetch_add(1, std::memory_order_release);
    }
  };
  std::thread a(side, 0);
  std::thread b(side, 1);
  a.join();
  b.join();
  for (void* p : slots) FreeFrame(p, kFrame);
}

}  // namespace
}  // namespace troupe::internal

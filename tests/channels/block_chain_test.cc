// BlockChain and BlockPool: FIFO order across blocks of both sizes, each
// value destroyed once, small first blocks, and which spares Trim and
// TrimLarge free.
#include "channels/block_chain.h"

#include <cstdint>
#include <optional>

#include "gtest/gtest.h"

namespace troupe::internal {
namespace {

// Counts live instances, so that a leak or a double destruction shows.
struct Tracked {
  static inline int live = 0;
  explicit Tracked(int v) : value(v) { ++live; }
  Tracked(Tracked&& o) noexcept : value(o.value) { ++live; }
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() { --live; }
  int value;
};

TEST(BlockChainTest, ValuesComeOutInOrderAcrossSmallAndFullBlocks) {
  {
    constexpr uint32_t kSlots = 8;
    BlockPool<Tracked> pool;
    BlockChain<Tracked> chain;
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < 21; ++i) chain.Push(Tracked(i), pool, kSlots);
      EXPECT_EQ(chain.size(), 21u);
      EXPECT_EQ(Tracked::live, 21);
      for (int i = 0; i < 21; ++i) {
        std::optional<Tracked> v = chain.Pop(pool);
        ASSERT_TRUE(v.has_value());
        EXPECT_EQ(v->value, i);
      }
      EXPECT_TRUE(chain.empty());
      EXPECT_EQ(Tracked::live, 0);
    }
    chain.Push(Tracked(7), pool, kSlots);
    chain.Clear(pool);
    EXPECT_EQ(Tracked::live, 0);
  }
  EXPECT_EQ(Tracked::live, 0);
}

TEST(BlockChainTest, TheFirstBlockOfAnEmptyChainIsSmallAndTheRestFull) {
  constexpr uint32_t kSlots = 32;
  BlockPool<uint64_t> pool;
  BlockChain<uint64_t> chain;
  // Five values: a small block (4) and a full one.
  for (uint64_t i = 0; i < 5; ++i) chain.Push(i, pool, kSlots);
  while (chain.Pop(pool).has_value()) {
  }
  ASSERT_EQ(pool.num_spare(), 2);
  // TrimLarge keeps only the small spare...
  pool.TrimLarge();
  ASSERT_EQ(pool.num_spare(), 1);
  Block<uint64_t>* b = pool.Get(/*small=*/false, kSlots);
  EXPECT_EQ(b->slots, kSmallBlockSlots);
  pool.Put(b);
  // ...and Trim frees every one.
  pool.Trim();
  EXPECT_EQ(pool.num_spare(), 0);
}

// Whatever the order of gets and puts (and a move to another pool), a
// full-size spare never survives TrimLarge, and a small one always does.
TEST(BlockChainTest, TrimLargeFreesAFullSizeSpareWhereverItSits) {
  constexpr uint32_t kSlots = 32;
  BlockPool<uint64_t> pool;
  Block<uint64_t>* full = pool.Get(/*small=*/false, kSlots);
  Block<uint64_t>* small = pool.Get(/*small=*/true, kSlots);
  // The full one under the small one: a Get takes the small one off the
  // top, the full one is still there to trim.
  pool.Put(full);
  pool.Put(small);
  small = pool.Get(/*small=*/true, kSlots);
  EXPECT_EQ(small->slots, kSmallBlockSlots);
  pool.TrimLarge();
  EXPECT_EQ(pool.num_spare(), 0);
  // Emptied by a Get, the list forgets the full block it held.
  full = pool.Get(/*small=*/false, kSlots);
  pool.Put(full);
  full = pool.Get(/*small=*/false, kSlots);
  EXPECT_EQ(full->slots, kSlots);
  pool.Put(small);
  pool.TrimLarge();
  EXPECT_EQ(pool.num_spare(), 1);
  // Moved to another pool, a full block is trimmed there too.
  BlockPool<uint64_t> other;
  pool.Put(full);
  pool.TransferTo(other);
  EXPECT_EQ(pool.num_spare(), 0);
  EXPECT_EQ(other.num_spare(), 2);
  other.TrimLarge();
  ASSERT_EQ(other.num_spare(), 1);
  Block<uint64_t>* left = other.Get(/*small=*/false, kSlots);
  EXPECT_EQ(left->slots, kSmallBlockSlots);
  other.Put(left);
}

TEST(BlockChainTest, ATinyChannelsBlocksAreNoLargerThanItsCapacity) {
  constexpr uint32_t kSlots = 2;
  BlockPool<uint64_t> pool;
  Block<uint64_t>* small = pool.Get(/*small=*/true, kSlots);
  Block<uint64_t>* full = pool.Get(/*small=*/false, kSlots);
  EXPECT_EQ(small->slots, 2);
  EXPECT_EQ(full->slots, 2);
  pool.Put(small);
  pool.Put(full);
}

TEST(BlockChainTest, SpliceMovesAWholeChainInOrder) {
  constexpr uint32_t kSlots = 4;
  BlockPool<uint64_t> pool;
  BlockChain<uint64_t> shared;
  BlockChain<uint64_t> local;
  for (uint64_t i = 0; i < 10; ++i) shared.Push(i, pool, kSlots);
  local.Splice(shared);
  EXPECT_TRUE(shared.empty());
  EXPECT_EQ(local.size(), 10u);
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(local.Pop(pool), i);
}

}  // namespace
}  // namespace troupe::internal

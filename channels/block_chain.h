// BlockChain: the storage layer of the mpsc channel. A FIFO of values in
// linked fixed-size blocks, plus a small pool of spare blocks.
//
// Contract: not thread-safe - the channel guards the shared chain with its
// lock, and the receiver owns the chain it has taken out. Blocks come from
// the frame allocator and are recycled through the pool (at most
// kMaxSpareBlocks kept), so a warm channel allocates nothing, while an idle
// channel holds at most its spares and a fresh one holds nothing.
//
// Two block sizes: the first block of an empty chain is small (at most
// kSmallBlockSlots values), the rest full-size. Traffic of one message at
// a time (an ask, a ping-pong) then cycles a small block, and the spares
// an idle actor keeps are small; TrimLarge() frees the full-size spares a
// burst left behind.
// Splice() moves a whole chain in O(1): that is how the receiver takes
// every queued message with one short lock hold.
//
// Example:
//   BlockPool<int> pool(/*slots_per_block=*/32);
//   BlockChain<int> chain;
//   chain.Push(7, pool);
//   std::optional<int> v = chain.Pop(pool);   // 7
#ifndef TROUPE_CHANNELS_BLOCK_CHAIN_H_
#define TROUPE_CHANNELS_BLOCK_CHAIN_H_

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <utility>

#include "executor/frame_allocator.h"

namespace troupe::internal {

inline constexpr uint32_t kSmallBlockSlots = 4;

template <typename T>
struct Block {
  explicit Block(uint32_t n) : slots(static_cast<uint16_t>(n)) {}
  Block* next = nullptr;
  // (16-bit: a block holds at most kMaxBlockSlots values; the header
  // stays 16 bytes.)
  uint16_t begin = 0;  // first live slot
  uint16_t end = 0;    // one past the last live slot
  const uint16_t slots;
  // Followed by `slots` slots of T (allocated with the block).
  T* Slot(uint32_t i) {
    auto* base = reinterpret_cast<char*>(this) + SlotsOffset();
    return std::launder(reinterpret_cast<T*>(base + i * sizeof(T)));
  }
  static constexpr std::size_t SlotsOffset() {
    return (sizeof(Block) + alignof(T) - 1) & ~(alignof(T) - 1);
  }
};

template <typename T>
class BlockPool {
 public:
  static constexpr int kMaxSpareBlocks = 2;

  // One pointer: the spares are counted by walking them (there are at
  // most kMaxSpareBlocks), and the size of a new block is the caller's.
  BlockPool() = default;
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;
  ~BlockPool() { Trim(); }

  // A spare block of either size, else a new one: a full one holds
  // `slots_per_block` values, a small one at most kSmallBlockSlots.
  Block<T>* Get(bool small, uint32_t slots_per_block) {
    Block<T>* b = spare_;
    if (b != nullptr) {
      spare_ = b->next;
    } else {
      assert(slots_per_block <= UINT16_MAX && "a block's counts are 16-bit");
      const uint32_t n =
          small ? std::min(slots_per_block, kSmallBlockSlots) : slots_per_block;
      b = new (AllocateFrame(BlockBytes(n))) Block<T>(n);
    }
    b->next = nullptr;
    b->begin = b->end = 0;
    return b;
  }
  // The block must hold no live values.
  void Put(Block<T>* b) {
    if (num_spare() >= kMaxSpareBlocks) {
      Free(b);
      return;
    }
    b->next = spare_;
    spare_ = b;
  }
  // At most kMaxSpareBlocks (a short walk).
  int num_spare() const {
    int n = 0;
    for (const Block<T>* b = spare_; b != nullptr; b = b->next) ++n;
    return n;
  }
  // Frees every spare block.
  void Trim() {
    while (spare_ != nullptr) {
      Block<T>* b = spare_;
      spare_ = b->next;
      Free(b);
    }
  }
  // Frees the spare blocks larger than small ones (an idle channel keeps
  // only small spares).
  void TrimLarge() {
    Block<T>** link = &spare_;
    while (*link != nullptr) {
      Block<T>* b = *link;
      if (b->slots > kSmallBlockSlots) {
        *link = b->next;
        Free(b);
      } else {
        link = &b->next;
      }
    }
  }
  // Moves spares into `other` while it has room; frees the rest.
  void TransferTo(BlockPool& other) {
    while (spare_ != nullptr) {
      Block<T>* b = spare_;
      spare_ = b->next;
      other.Put(b);
    }
  }

 private:
  static std::size_t BlockBytes(uint32_t slots) {
    return Block<T>::SlotsOffset() + std::size_t{slots} * sizeof(T);
  }
  static void Free(Block<T>* b) {
    const std::size_t bytes = BlockBytes(b->slots);
    b->~Block<T>();
    FreeFrame(b, bytes);
  }

  Block<T>* spare_ = nullptr;
};

template <typename T>
class BlockChain {
 public:
  BlockChain() = default;
  BlockChain(const BlockChain&) = delete;
  BlockChain& operator=(const BlockChain&) = delete;
  // The owner must call Clear(pool) before destruction if not empty.
  ~BlockChain() = default;

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  // Appends the value `make()` returns, constructed in place. A new block
  // holds `slots_per_block` values (the first of an empty chain fewer).
  template <typename Make>
  void PushWith(Make&& make, BlockPool<T>& pool, uint32_t slots_per_block) {
    new (NextSlot(pool, slots_per_block)) T(make());
    ++tail_->end;
    ++size_;
  }

  template <typename U>
  void Push(U&& value, BlockPool<T>& pool, uint32_t slots_per_block) {
    new (NextSlot(pool, slots_per_block)) T(std::forward<U>(value));
    ++tail_->end;
    ++size_;
  }

 private:
  void* NextSlot(BlockPool<T>& pool, uint32_t slots_per_block) {
    if (tail_ == nullptr || tail_->end == tail_->slots) {
      // The first block of an empty chain is small.
      Block<T>* b = pool.Get(/*small=*/tail_ == nullptr, slots_per_block);
      if (tail_ == nullptr) {
        head_ = b;
      } else {
        tail_->next = b;
      }
      tail_ = b;
    }
    return tail_->Slot(tail_->end);
  }

 public:
  // Removes and returns the front value (empty if the chain is).
  std::optional<T> Pop(BlockPool<T>& pool) {
    if (size_ == 0) return std::nullopt;
    T* slot = head_->Slot(head_->begin);
    std::optional<T> value(std::move(*slot));
    slot->~T();
    ++head_->begin;
    --size_;
    if (head_->begin == head_->end) ReleaseHead(pool);
    return value;
  }

  T& Front() { return *head_->Slot(head_->begin); }

  // Destroys the front value in place (after it was used there). Always
  // inlined: it is the per-message step of an actor's receive loop.
  [[gnu::always_inline]] void DropFront(BlockPool<T>& pool) {
    head_->Slot(head_->begin)->~T();
    ++head_->begin;
    --size_;
    if (head_->begin == head_->end) ReleaseHead(pool);
  }

  // Appends all of `other` (O(1)); `other` becomes empty.
  void Splice(BlockChain& other) {
    if (other.size_ == 0) return;
    if (tail_ == nullptr) {
      head_ = other.head_;
    } else {
      tail_->next = other.head_;
    }
    tail_ = other.tail_;
    size_ += other.size_;
    other.head_ = other.tail_ = nullptr;
    other.size_ = 0;
  }

  // Destroys every value (each exactly once) and returns the blocks.
  void Clear(BlockPool<T>& pool) {
    while (head_ != nullptr) {
      for (uint32_t i = head_->begin; i < head_->end; ++i) {
        head_->Slot(i)->~T();
      }
      head_->begin = head_->end;
      ReleaseHead(pool);
    }
    size_ = 0;
  }

 private:
  void ReleaseHead(BlockPool<T>& pool) {
    Block<T>* done = head_;
    head_ = done->next;
    if (head_ == nullptr) tail_ = nullptr;
    pool.Put(done);
  }

  Block<T>* head_ = nullptr;
  Block<T>* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace troupe::internal

#endif  // TROUPE_CHANNELS_BLOCK_CHAIN_H_

// LocalQueue: a worker's bounded run queue. One producer (the owning
// worker), many consumers (the owner pops from the front, other workers
// steal half from the front).
//
// Threading contract:
//   PushBack, Pop            only the owning worker.
//   StealInto(dst)           any other worker; dst must be the caller's own
//                            queue (the caller is dst's owner).
//   Len, IsEmpty             any thread; a snapshot that may be stale.
//
// Layout: a ring of kCapacity task pointers and two positions that only grow
// (u32, wrapping):
//   tail_          next slot the owner writes; only the owner stores it.
//   head_ (u64) =  (steal << 32) | real
//     real         next task to hand out (owner pops, stealers claim);
//     steal        == real when no steal is in progress; otherwise the first
//                  slot a stealer has claimed but not yet copied out. The
//                  owner never writes into [steal, steal + kCapacity) - so
//                  a stealer can copy its claimed slots without a lock.
//   Only one steal runs at a time (a second stealer sees steal != real and
//   gives up; it will try another victim).
//
// Steal protocol (stealer):
//   1. CAS head from (r, r) to (r, r + n), n = half of what is queued,
//      rounded up: the slots [r, r + n) are ours, real moves past them so
//      the owner stops popping them, steal stays at r so the owner does not
//      overwrite them.
//   2. Copy the n pointers into dst's ring (dst is ours, no contention).
//   3. CAS head from (r, x) to (x, x): the slots are released. The owner may
//      have popped meanwhile (x > r + n), hence a CAS loop.
//
// Overflow (owner, ring full and no steal in progress): move half of the
// ring plus the new task to the injection queue in one batch, claimed by a
// single CAS on head so stealers and the owner agree on what moved.
//
// Memory ordering:
//   - tail_ is stored with release after the slot write; stealers load it
//     with acquire, so the slots they read are initialised.
//   - Every head_ CAS is acq_rel: a stealer's release in step 3 pairs with
//     the owner's acquire load in PushBack, so the owner only reuses slots
//     after the stealer has finished reading them.
//   Slots are atomics accessed relaxed: the orderings above provide the
//   happens-before; the atomics keep the code free of formal data races.
//
// Capacity is a template parameter so tests can use a tiny queue (4) to hit
// overflow and wrap-around quickly; workers use kDefaultLocalQueueCapacity.
#ifndef TROUPE_EXECUTOR_LOCAL_QUEUE_H_
#define TROUPE_EXECUTOR_LOCAL_QUEUE_H_

#include <array>
#include <atomic>
#include <cstdint>

#include "executor/inject_queue.h"
#include "executor/task_header.h"

namespace troupe {

inline constexpr uint32_t kDefaultLocalQueueCapacity = 256;

template <uint32_t kCapacity = kDefaultLocalQueueCapacity>
class LocalQueue {
  static_assert(kCapacity >= 4 && (kCapacity & (kCapacity - 1)) == 0,
                "capacity must be a power of two, at least 4");

 public:
  static constexpr uint32_t kMask = kCapacity - 1;

  LocalQueue() {
    for (auto& slot : buffer_) slot.store(nullptr, std::memory_order_relaxed);
  }
  LocalQueue(const LocalQueue&) = delete;
  LocalQueue& operator=(const LocalQueue&) = delete;

  static constexpr uint32_t Capacity() { return kCapacity; }

  // Any thread. Approximate when called from a non-owner.
  uint32_t Len() const {
    const uint64_t head = head_.load(std::memory_order_acquire);
    const uint32_t tail = tail_.load(std::memory_order_acquire);
    return tail - Real(head);
  }
  bool IsEmpty() const { return Len() == 0; }

  // Owner only. Appends; when full, moves half the queue (and `task`) to
  // `overflow`. Returns the number of tasks that went to `overflow`.
  uint32_t PushBack(TaskHeader* task, InjectQueue& overflow) {
    // safety: only the owner stores tail_, so a relaxed load is exact.
    const uint32_t tail = tail_.load(std::memory_order_relaxed);
    for (;;) {
      // Acquire pairs with a stealer's release CAS (step 3): slots it has
      // released are free to overwrite.
      const uint64_t head = head_.load(std::memory_order_acquire);
      const uint32_t steal = Steal(head);
      const uint32_t real = Real(head);
      if (tail - steal < kCapacity) break;
      if (steal != real) {
        // A stealer is copying out; it will free half the ring shortly.
        // Rather than wait, send this one task to the injection queue.
        overflow.Push(task);
        return 1;
      }
      if (PushOverflow(task, real, tail, overflow)) return kCapacity / 2 + 1;
      // Lost the CAS to a stealer: retry with the new head.
    }
    buffer_[tail & kMask].store(task, std::memory_order_relaxed);
    // Release publishes the slot write to stealers (acquire load of tail_).
    tail_.store(tail + 1, std::memory_order_release);
    return 0;
  }

  // Owner only. Takes the front task, or nullptr if empty.
  TaskHeader* Pop() {
    uint64_t head = head_.load(std::memory_order_acquire);
    for (;;) {
      const uint32_t steal = Steal(head);
      const uint32_t real = Real(head);
      // safety: only the owner stores tail_.
      const uint32_t tail = tail_.load(std::memory_order_relaxed);
      if (real == tail) return nullptr;
      const uint32_t next_real = real + 1;
      // With no steal in progress both halves advance together.
      const uint64_t next =
          steal == real ? Pack(next_real, next_real) : Pack(steal, next_real);
      if (head_.compare_exchange_weak(head, next, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        return buffer_[real & kMask].load(std::memory_order_relaxed);
      }
    }
  }

  // A non-owner: moves half of this queue into `dst` (the caller's own
  // queue, which must be empty) and returns one of the moved tasks to run
  // now, or nullptr if nothing could be stolen.
  TaskHeader* StealInto(LocalQueue& dst) {
    // safety: the caller owns dst, so its tail is exact.
    const uint32_t dst_tail = dst.tail_.load(std::memory_order_relaxed);
    const uint64_t dst_head = dst.head_.load(std::memory_order_acquire);
    if (dst_tail - Steal(dst_head) > kCapacity / 2) return nullptr;

    uint32_t n = ClaimAndCopy(dst, dst_tail);
    if (n == 0) return nullptr;
    --n;  // The last task copied is returned rather than queued.
    TaskHeader* task =
        dst.buffer_[(dst_tail + n) & kMask].load(std::memory_order_relaxed);
    if (n > 0) dst.tail_.store(dst_tail + n, std::memory_order_release);
    return task;
  }

 private:
  static uint32_t Steal(uint64_t head) {
    return static_cast<uint32_t>(head >> 32);
  }
  static uint32_t Real(uint64_t head) { return static_cast<uint32_t>(head); }
  static uint64_t Pack(uint32_t steal, uint32_t real) {
    return (static_cast<uint64_t>(steal) << 32) | real;
  }

  bool PushOverflow(TaskHeader* task, uint32_t real, uint32_t tail,
                    InjectQueue& overflow) {
    constexpr uint32_t kTake = kCapacity / 2;
    (void)tail;
    const uint64_t expected = Pack(real, real);
    uint64_t prev = expected;
    if (!head_.compare_exchange_strong(prev, Pack(real + kTake, real + kTake),
                                       std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
      return false;
    }
    // The kTake slots from `real` are ours: link them through queue_next_.
    TaskHeader* first = buffer_[real & kMask].load(std::memory_order_relaxed);
    TaskHeader* last = first;
    for (uint32_t i = 1; i < kTake; ++i) {
      TaskHeader* next =
          buffer_[(real + i) & kMask].load(std::memory_order_relaxed);
      last->queue_next_ = next;
      last = next;
    }
    last->queue_next_ = task;
    task->queue_next_ = nullptr;
    overflow.PushBatch(first, task, kTake + 1);
    return true;
  }

  // Steal steps 1-3 (see the file comment). Returns how many tasks were
  // copied into dst's ring starting at dst_tail.
  uint32_t ClaimAndCopy(LocalQueue& dst, uint32_t dst_tail) {
    uint64_t prev = head_.load(std::memory_order_acquire);
    uint64_t next;
    uint32_t n;
    for (;;) {
      const uint32_t steal = Steal(prev);
      const uint32_t real = Real(prev);
      if (steal != real) return 0;  // Another stealer is at work.
      // Acquire pairs with the owner's release store of tail_.
      const uint32_t tail = tail_.load(std::memory_order_acquire);
      n = tail - real;
      n -= n / 2;
      if (n == 0) return 0;
      next = Pack(steal, real + n);
      // Step 1.
      if (head_.compare_exchange_weak(prev, next, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        break;
      }
    }
    // Step 2.
    const uint32_t first = Steal(next);
    for (uint32_t i = 0; i < n; ++i) {
      TaskHeader* task =
          buffer_[(first + i) & kMask].load(std::memory_order_relaxed);
      dst.buffer_[(dst_tail + i) & kMask].store(task,
                                                std::memory_order_relaxed);
    }
    // Step 3.
    prev = next;
    for (;;) {
      const uint32_t real = Real(prev);
      if (head_.compare_exchange_weak(prev, Pack(real, real),
                                      std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        return n;
      }
    }
  }

  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint32_t> tail_{0};
  alignas(64) std::array<std::atomic<TaskHeader*>, kCapacity> buffer_;
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_LOCAL_QUEUE_H_

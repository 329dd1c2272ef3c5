#include "executor/io_scheduled.h"

#include <cstddef>
#include <mutex>

namespace troupe {

void ScheduledIo::ClearReadiness(Interest interest, const ReadyEvent& seen) {
  const uint64_t clear = Readiness::Clearable(interest);
  uint64_t word = word_.load(std::memory_order_acquire);
  for (;;) {
    // A newer event (another tick) keeps its bits: see the EAGAIN protocol.
    if ((word >> kTickShift) != seen.tick || (word & clear) == 0) return;
    if (word_.compare_exchange_weak(word, word & ~clear,
                                    std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return;
    }
  }
}

void ScheduledIo::SetReadiness(uint32_t ready) {
  uint64_t word = word_.load(std::memory_order_acquire);
  uint64_t next;
  do {
    const uint64_t tick = (word >> kTickShift) + 1;
    next =
        (tick << kTickShift) | (word & kBitsMask) | (ready & Readiness::kMask);
  } while (!word_.compare_exchange_weak(word, next, std::memory_order_acq_rel,
                                        std::memory_order_acquire));
  const auto bits = static_cast<uint32_t>(next & kBitsMask);

  // Wake in batches whose wake-ups run outside the lock (a wake-up may
  // unpark a worker: a syscall). Each batch rescans from the head, since
  // the list may change while the lock is dropped; woken waiters are gone
  // from it, so the scan always progresses.
  constexpr std::size_t kBatch = 16;
  // Plain pointers, each holding a reference that its WakeByVal consumes:
  // nothing to construct or destroy per call (an array of TaskRefs cost
  // more than the rest of the dispatch; nothing in between can throw).
  TaskHeader* batch[kBatch];
  for (;;) {
    std::size_t n = 0;
    {
      std::lock_guard<internal::SpinLock> guard(lock_);
      for (IoWaiter* w = head_; w != nullptr && n < kBatch;) {
        IoWaiter* const next_waiter = w->next;
        if ((w->satisfying & bits) != 0) {
          UnlinkLocked(w);
          // The task is alive: its frame holds the linked waiter, and the
          // frame cannot go before RemoveWaiter gets this lock.
          w->task->RefInc();
          batch[n++] = w->task;
          // Last touch of the waiter; see RemoveWaiter.
          w->woken.store(true, std::memory_order_release);
        }
        w = next_waiter;
      }
    }
    for (std::size_t i = 0; i < n; ++i) batch[i]->WakeByVal();
    if (n < kBatch) return;
  }
}

bool ScheduledIo::AddWaiter(IoWaiter* waiter) {
  std::lock_guard<internal::SpinLock> guard(lock_);
  // Re-read under the lock: see "Memory ordering" in the header.
  const uint64_t word = word_.load(std::memory_order_acquire);
  if ((word & waiter->satisfying) != 0) return false;
  waiter->woken.store(false, std::memory_order_relaxed);
  waiter->linked = true;
  waiter->next = nullptr;
  waiter->prev = tail_;
  if (tail_ != nullptr) {
    tail_->next = waiter;
  } else {
    head_ = waiter;
  }
  tail_ = waiter;
  return true;
}

void ScheduledIo::RemoveWaiter(IoWaiter* waiter) {
  // Acquire pairs with the release store in SetReadiness: after it the
  // driver never touches the waiter again.
  if (waiter->woken.load(std::memory_order_acquire)) return;
  std::lock_guard<internal::SpinLock> guard(lock_);
  if (waiter->linked) UnlinkLocked(waiter);
}

void ScheduledIo::UnlinkLocked(IoWaiter* waiter) {
  if (waiter->prev != nullptr) {
    waiter->prev->next = waiter->next;
  } else {
    head_ = waiter->next;
  }
  if (waiter->next != nullptr) {
    waiter->next->prev = waiter->prev;
  } else {
    tail_ = waiter->prev;
  }
  waiter->prev = waiter->next = nullptr;
  waiter->linked = false;
}

int ScheduledIo::WaiterCount() {
  std::lock_guard<internal::SpinLock> guard(lock_);
  int n = 0;
  for (IoWaiter* w = head_; w != nullptr; w = w->next) ++n;
  return n;
}

}  // namespace troupe

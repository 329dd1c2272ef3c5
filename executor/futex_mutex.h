// FutexMutex: a mutex in one 32-bit word (std::mutex takes 40 bytes), for
// objects that exist by the hundred thousand - an actor cell, say - and
// whose lock is rarely contended but may be held across a blocking call
// (another lock, an allocation), where a SpinLock would not do.
//
// Contract: a plain, non-recursive mutex. Satisfies Lockable, so
// std::lock_guard<FutexMutex> works. Unfair: a thread that arrives while
// it is free may take it before the woken waiter.
//
// Memory ordering: lock() acquires (a successful acquire CAS or
// exchange), unlock() releases (a release exchange); everything written
// under the lock happens-before the next holder's reads. Being built on
// atomics, it is visible to ThreadSanitizer like any atomic (it does not
// take part in TSAN's lock-order checks).
//
// Algorithm: Drepper's "Futexes Are Tricky", mutex #2 - the word is 0
// (free), 1 (held) or 2 (held, and someone may be waiting); unlock()
// wakes one waiter only when it was 2.
//
// Example:
//   FutexMutex mu;
//   { std::lock_guard<FutexMutex> guard(mu); list.push_back(x); }
#ifndef TROUPE_EXECUTOR_FUTEX_MUTEX_H_
#define TROUPE_EXECUTOR_FUTEX_MUTEX_H_

#include <atomic>
#include <cstdint>
#include <optional>

#include "executor/futex.h"

namespace troupe::internal {

class FutexMutex {
 public:
  FutexMutex() = default;
  FutexMutex(const FutexMutex&) = delete;
  FutexMutex& operator=(const FutexMutex&) = delete;

  void lock() {
    uint32_t expected = kFree;
    if (word_.compare_exchange_strong(expected, kHeld,
                                      std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
      return;
    }
    // Contended: mark it so (the holder's unlock will wake someone), and
    // sleep while it stays held. The exchange that finds it free takes it
    // - as kContended, since other waiters may still sleep.
    while (word_.exchange(kContended, std::memory_order_acquire) != kFree) {
      FutexWait(&word_, kContended, std::nullopt);
    }
  }
  bool try_lock() {
    uint32_t expected = kFree;
    return word_.compare_exchange_strong(
        expected, kHeld, std::memory_order_acquire, std::memory_order_relaxed);
  }
  void unlock() {
    if (word_.exchange(kFree, std::memory_order_release) == kContended) {
      FutexWake(&word_, 1);
    }
  }

 private:
  static constexpr uint32_t kFree = 0, kHeld = 1, kContended = 2;
  std::atomic<uint32_t> word_{kFree};
};

}  // namespace troupe::internal

#endif  // TROUPE_EXECUTOR_FUTEX_MUTEX_H_

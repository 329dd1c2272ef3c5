// SpinLock: a test-and-test-and-set lock for very short critical sections
// (a few pointer writes), where a futex-based mutex costs more than it saves.
//
// Contract: never held across a suspension point, a syscall or a call into
// user code. After kSpinsBeforeYield failed spins it yields the CPU, so a
// descheduled holder cannot make a waiter burn its whole time slice.
// Satisfies Lockable, so std::lock_guard<SpinLock> works.
//
// Memory ordering: lock() is an acquire exchange, unlock() a release store;
// everything written under the lock happens-before the next holder's reads.
//
// Example:
//   SpinLock lock;
//   { std::lock_guard<SpinLock> guard(lock); list.PushBack(node); }
#ifndef TROUPE_EXECUTOR_SPIN_LOCK_H_
#define TROUPE_EXECUTOR_SPIN_LOCK_H_

#include <sched.h>

#include <atomic>
#include <mutex>

namespace troupe::internal {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

class SpinLock {
 public:
  // The uncontended exchange inline; the wait out of line.
  [[gnu::always_inline]] void lock() {
    if (!locked_.exchange(true, std::memory_order_acquire)) [[likely]] {
      return;
    }
    LockSlow();
  }
  // lock(), telling whether it had to wait (another thread held it).
  [[gnu::always_inline]] bool LockNotingContention() {
    if (!locked_.exchange(true, std::memory_order_acquire)) [[likely]] {
      return false;
    }
    LockSlow();
    return true;
  }
  bool try_lock() {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  [[gnu::noinline]] void LockSlow() {
    int spins = 0;
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins < kSpinsBeforeYield) {
          CpuRelax();
        } else {
          sched_yield();
        }
      }
    }
  }

  static constexpr int kSpinsBeforeYield = 64;
  std::atomic<bool> locked_{false};
};

// std::lock_guard for a SpinLock, inlined wherever it is used (GCC keeps
// std::lock_guard's constructor out of line in large functions, which
// costs a call on every channel operation).
class [[nodiscard]] SpinLockGuard {
 public:
  [[gnu::always_inline]] explicit SpinLockGuard(SpinLock& lock) : lock_(lock) {
    lock_.lock();
  }
  [[gnu::always_inline]] ~SpinLockGuard() { lock_.unlock(); }
  // Adopts a lock the caller already holds.
  [[gnu::always_inline]] SpinLockGuard(SpinLock& lock, std::adopt_lock_t)
      : lock_(lock) {}
  SpinLockGuard(const SpinLockGuard&) = delete;
  SpinLockGuard& operator=(const SpinLockGuard&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace troupe::internal

#endif  // TROUPE_EXECUTOR_SPIN_LOCK_H_

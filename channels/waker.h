// Waker: how a channel wakes whoever waits on it - a task (through its
// scheduler) or a plain thread blocked in BlockingSend/BlockingRecv
// (through a futex word). Intrusive waiters embed a WaitTarget; the channel
// turns it into a Waker under its lock and calls Wake() after unlocking, so
// no wake-up (which may enter the kernel) ever runs under a channel lock.
//
// Lifetime: a WaitTarget lives in the waiting coroutine frame or on the
// blocked thread's stack. Prepare() (under the channel lock, while the
// waiter is guaranteed alive) takes a task reference, so the task cannot be
// freed between unlock and Wake(). For a thread, Wake() stores the word and
// then calls FutexWake on its address: once the store is visible the thread
// may return and reuse that memory, and a futex wake on it is at worst a
// spurious wake-up for some later waiter, which always re-checks. So a
// blocked thread must wait for its word (BlockThread), never leave on some
// other sign of completion: the word is the waker's last touch.
#ifndef TROUPE_CHANNELS_WAKER_H_
#define TROUPE_CHANNELS_WAKER_H_

#include <atomic>
#include <cstdint>
#include <optional>

#include "executor/futex.h"
#include "executor/task_header.h"

namespace troupe::internal {

struct WaitTarget {
  TaskHeader* task = nullptr;     // a waiting task, or
  std::atomic<uint32_t> word{0};  // a blocked thread's futex word

  // A blocked thread sleeps until Wake(): spurious wake-ups are absorbed.
  void BlockThread() {
    while (word.load(std::memory_order_acquire) == 0) FutexWait(&word, 0, {});
    word.store(0, std::memory_order_relaxed);
  }
  // Blocks with a deadline; returns false on timeout.
  bool BlockThreadFor(std::chrono::nanoseconds timeout);
};

class Waker {
 public:
  Waker() = default;
  // Under the channel lock.
  [[gnu::always_inline]] static Waker Prepare(WaitTarget* target) {
    Waker w;
    if (target->task != nullptr) {
      w.task_ = TaskRef::Clone(target->task);
    } else {
      w.word_ = &target->word;
    }
    return w;
  }
  Waker(Waker&&) = default;
  Waker& operator=(Waker&&) = default;

  // After the channel lock is released.
  [[gnu::always_inline]] void Wake() {
    if (task_) {
      task_.Wake();
    } else if (word_ != nullptr) {
      std::atomic<uint32_t>* word = word_;
      word_ = nullptr;
      word->store(1, std::memory_order_release);
      FutexWake(word, 1);
    }
  }
  explicit operator bool() const { return task_ || word_ != nullptr; }

 private:
  TaskRef task_;
  std::atomic<uint32_t>* word_ = nullptr;
};

inline bool WaitTarget::BlockThreadFor(std::chrono::nanoseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (word.load(std::memory_order_acquire) == 0) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) return false;
    FutexWait(&word, 0, left);
  }
  word.store(0, std::memory_order_relaxed);
  return true;
}

}  // namespace troupe::internal

#endif  // TROUPE_CHANNELS_WAKER_H_

// Futex: the two Linux futex operations the executor parks on.
//
// Contract:
//   FutexWait(word, expected, timeout) blocks while *word == expected, until
//   FutexWake(word, n) wakes it, the timeout passes, or a spurious wake-up.
//   Callers always re-check their own condition after it returns.
//   Both are async-signal-safe (plain syscalls), so a signal handler may wake.
//
// Example:
//   std::atomic<uint32_t> flag{0};
//   // waiter:  while (flag.load(std::memory_order_acquire) == 0)
//   //            FutexWait(&flag, 0, std::nullopt);
//   // waker:   flag.store(1, std::memory_order_release); FutexWake(&flag, 1);
#ifndef TROUPE_EXECUTOR_FUTEX_H_
#define TROUPE_EXECUTOR_FUTEX_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace troupe::internal {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));

inline void FutexWait(std::atomic<uint32_t>* word, uint32_t expected,
                      std::optional<std::chrono::nanoseconds> timeout) {
  timespec ts;
  timespec* tsp = nullptr;
  if (timeout.has_value()) {
    const int64_t ns = timeout->count() < 0 ? 0 : timeout->count();
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    tsp = &ts;
  }
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE,
          expected, tsp, nullptr, 0);
}

inline void FutexWake(std::atomic<uint32_t>* word, int count) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE,
          count, nullptr, nullptr, 0);
}

}  // namespace troupe::internal

#endif  // TROUPE_EXECUTOR_FUTEX_H_

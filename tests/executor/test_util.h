// Small helpers shared by the executor tests.
#ifndef TROUPE_TESTS_EXECUTOR_TEST_UTIL_H_
#define TROUPE_TESTS_EXECUTOR_TEST_UTIL_H_

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <thread>

namespace troupe::test {

// The seed for randomised tests: $TROUPE_TEST_SEED if set (Bazel passes it
// through), else a fixed value so that runs are reproducible.
inline uint64_t TestSeed() {
  if (const char* s = std::getenv("TROUPE_TEST_SEED"); s != nullptr) {
    return std::strtoull(s, nullptr, 10);
  }
  return 20261128;
}

// Counts destructions: put one in a coroutine frame (as a parameter or a
// local) to see whether, and how often, the frame was destroyed.
struct DestroyCounter {
  explicit DestroyCounter(std::shared_ptr<std::atomic<int>> c)
      : count(std::move(c)) {}
  DestroyCounter(DestroyCounter&& other) noexcept = default;
  DestroyCounter& operator=(DestroyCounter&&) = delete;
  ~DestroyCounter() {
    // A moved-from guard counts nothing.
    if (count != nullptr) count->fetch_add(1, std::memory_order_acq_rel);
  }
  std::shared_ptr<std::atomic<int>> count;
};

inline std::shared_ptr<std::atomic<int>> NewCounter() {
  return std::make_shared<std::atomic<int>>(0);
}

// Waits (without a deadline: a hang is reported by the test timeout) until
// `done()` holds, giving the CPU away in between.
template <typename F>
void WaitUntil(F&& done) {
  while (!done()) std::this_thread::yield();
}

}  // namespace troupe::test

#endif  // TROUPE_TESTS_EXECUTOR_TEST_UTIL_H_

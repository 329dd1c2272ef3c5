// Clock: where the executor's timers read the time. SystemClock is the
// monotonic clock; ManualClock is a clock tests move by hand, so timer code
// runs deterministically without sleeping.
//
// Contract:
//   Now() never goes backwards. ManualClock starts at an arbitrary fixed
//   instant and moves only by Advance()/AdvanceTo(); each move calls the
//   listeners registered with AddListener (the runtimes using the clock), so
//   timers that became due fire. On a current-thread runtime built with
//   `auto_advance`, the clock also jumps to the next timer deadline whenever
//   the runtime would otherwise sleep (the deterministic test mode).
//
// Example:
//   ManualClock clock;
//   Runtime rt({.flavor = Flavor::kCurrentThread, .clock = &clock});
//   rt.BlockOn([]() -> Task<void> { co_await SleepFor(1h); }());  // instant
#ifndef TROUPE_EXECUTOR_CLOCK_H_
#define TROUPE_EXECUTOR_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace troupe {

using Duration = std::chrono::nanoseconds;
using Instant = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() const = 0;
  virtual bool IsManual() const { return false; }
};

class SystemClock final : public Clock {
 public:
  Instant Now() const override { return std::chrono::steady_clock::now(); }
  static SystemClock* Get();
};

class ManualClock final : public Clock {
 public:
  ManualClock();
  Instant Now() const override {
    return Instant(Duration(now_ns_.load(std::memory_order_acquire)));
  }
  bool IsManual() const override { return true; }

  // Moves time forward by `d` (negative values are ignored).
  void Advance(Duration d);
  // Moves time forward to `t` if it is later than now.
  void AdvanceTo(Instant t);

  // Called after every move, from the thread that moved the clock.
  // Returns an id for RemoveListener.
  int AddListener(std::function<void()> listener);
  void RemoveListener(int id);

 private:
  void Notify();

  std::atomic<int64_t> now_ns_;
  std::mutex mu_;
  std::vector<std::pair<int, std::function<void()>>> listeners_;  // mu_
  int next_id_ = 0;                                               // mu_
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_CLOCK_H_

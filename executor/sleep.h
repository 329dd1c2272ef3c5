// Timers: SleepFor, SleepUntil, Interval and Timeout, driven by the
// runtime's timing wheel (time_driver.h) from its own workers.
//
// Contract:
//   - A sleep never ends early; it ends within ~1 ms (one wheel tick) plus
//     scheduling delay after its deadline. Times come from the runtime's
//     Clock, so with a ManualClock they move only when the test says so.
//   - Abandoning a sleep (its task aborted, a Timeout firing around it)
//     removes its timer: nothing is left in the wheel.
//   - Timeout(d, task) runs `task` inside the calling task. If it finishes
//     first its result is returned; if `d` passes first, the task is
//     abandoned at its current suspension point (its frames destroyed, so
//     its awaiters deregister) and DeadlineExceeded is returned. If the
//     deadline has already passed, the task is not started.
//   - Interval ticks at start, start + period, start + 2 period, ...; the
//     first Tick() completes at once. After a stall, missed ticks fire
//     back to back (kBurst, Tokio's default) or are skipped (kSkip).
//
// Example:
//   co_await SleepFor(std::chrono::milliseconds(5));
//   absl::StatusOr<int> r = co_await Timeout(1s, SlowAnswer());
//   Interval every(100ms);
//   for (;;) { co_await every.Tick(); Report(); }
#ifndef TROUPE_EXECUTOR_SLEEP_H_
#define TROUPE_EXECUTOR_SLEEP_H_

#include <cassert>
#include <coroutine>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/clock.h"
#include "executor/scheduler.h"
#include "executor/task.h"
#include "executor/task_header.h"
#include "executor/time_driver.h"

namespace troupe {

// The clock of the calling thread's runtime (the system clock outside one).
inline Clock& CurrentClock() {
  Scheduler* scheduler = Scheduler::Current();
  return scheduler != nullptr ? scheduler->clock() : *SystemClock::Get();
}

class SleepAwaiter final : public ParkedAwaiter {
 public:
  explicit SleepAwaiter(Instant deadline) : deadline_(deadline) {}
  SleepAwaiter(const SleepAwaiter&) = delete;
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;
  ~SleepAwaiter() {
    if (driver_ != nullptr) driver_->Deregister(&entry_);
  }

  bool await_ready() const { return CurrentClock().Now() >= deadline_; }
  bool await_suspend(std::coroutine_handle<> handle) {
    TaskHeader* self = CurrentTask();
    assert(self != nullptr && "sleeping outside a task");
    self->SetResumePoint(handle, this);
    TimeDriver& driver = self->scheduler()->time_driver();
    if (!driver.Register(&entry_, deadline_, self)) return false;
    driver_ = &driver;
    return true;
  }
  void await_resume() {}
  bool Ready() override { return entry_.fired.load(std::memory_order_acquire); }

 private:
  const Instant deadline_;
  TimerEntry entry_;
  TimeDriver* driver_ = nullptr;
};

inline SleepAwaiter SleepUntil(Instant deadline) {
  return SleepAwaiter(deadline);
}
inline SleepAwaiter SleepFor(Duration duration) {
  return SleepAwaiter(CurrentClock().Now() + duration);
}

enum class MissedTick { kBurst, kSkip };

class Interval {
 public:
  explicit Interval(Duration period, MissedTick missed = MissedTick::kBurst)
      : period_(period.count() > 0 ? period : Duration(1)),
        missed_(missed),
        next_(CurrentClock().Now()) {}

  // Completes at the next tick; returns the instant it was scheduled for.
  Task<Instant> Tick() {
    const Instant due = next_;
    co_await SleepUntil(due);
    next_ = due + period_;
    if (missed_ == MissedTick::kSkip) {
      const Instant now = CurrentClock().Now();
      if (next_ <= now) {
        const auto behind = (now - next_) / period_ + 1;
        next_ += behind * period_;
      }
    }
    co_return due;
  }
  Duration period() const { return period_; }

 private:
  Duration period_;
  MissedTick missed_;
  Instant next_;
};

template <typename T>
using TimeoutResult =
    std::conditional_t<std::is_void_v<T>, absl::Status, absl::StatusOr<T>>;

template <typename T>
class TimeoutAwaiter final : public Interrupt {
 public:
  TimeoutAwaiter(Instant deadline, Task<T> task)
      : deadline_(deadline), inner_(std::move(task)) {}
  TimeoutAwaiter(const TimeoutAwaiter&) = delete;
  TimeoutAwaiter& operator=(const TimeoutAwaiter&) = delete;
  ~TimeoutAwaiter() { Disarm(); }

  bool await_ready() const { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> handle) {
    task_ = CurrentTask();
    assert(task_ != nullptr && "Timeout outside a task");
    continuation_ = handle;
    TimeDriver& driver = task_->scheduler()->time_driver();
    if (!driver.Register(&entry_, deadline_, task_)) {
      timed_out_ = true;  // already past: don't start it
      return handle;
    }
    driver_ = &driver;
    task_->PushInterrupt(this);
    pushed_ = true;
    typename Task<T>::Awaiter start = std::move(inner_).operator co_await();
    return start.await_suspend(handle);
  }
  TimeoutResult<T> await_resume() {
    Disarm();
    if (timed_out_) {
      return absl::DeadlineExceededError("timed out");
    }
    typename Task<T>::Awaiter finish = std::move(inner_).operator co_await();
    if constexpr (std::is_void_v<T>) {
      finish.await_resume();
      return absl::OkStatus();
    } else {
      return finish.await_resume();
    }
  }

  bool Triggered() override {
    return entry_.fired.load(std::memory_order_acquire);
  }
  std::coroutine_handle<> Abandon() override {
    pushed_ = false;  // Resume() unlinked us already
    timed_out_ = true;
    inner_ = Task<T>();  // destroys the inner coroutines
    return continuation_;
  }

 private:
  void Disarm() {
    if (pushed_) {
      task_->PopInterrupt(this);
      pushed_ = false;
    }
    if (driver_ != nullptr) {
      driver_->Deregister(&entry_);
      driver_ = nullptr;
    }
  }

  const Instant deadline_;
  Task<T> inner_;
  TimerEntry entry_;
  TimeDriver* driver_ = nullptr;
  TaskHeader* task_ = nullptr;
  std::coroutine_handle<> continuation_;
  bool pushed_ = false;
  bool timed_out_ = false;
};

template <typename T>
TimeoutAwaiter<T> Timeout(Duration duration, Task<T> task) {
  return TimeoutAwaiter<T>(CurrentClock().Now() + duration, std::move(task));
}
template <typename T>
TimeoutAwaiter<T> TimeoutAt(Instant deadline, Task<T> task) {
  return TimeoutAwaiter<T>(deadline, std::move(task));
}
template <TaskConvertible W>
auto Timeout(Duration duration, W awaitable) {
  return Timeout(duration, std::move(awaitable).ToTask());
}
template <TaskConvertible W>
auto TimeoutAt(Instant deadline, W awaitable) {
  return TimeoutAt(deadline, std::move(awaitable).ToTask());
}

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_SLEEP_H_

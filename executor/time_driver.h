// TimeDriver: the timer half of the runtime's driver. Owns the timing wheel
// and fires timers from whichever worker holds the driver - there is no
// timer thread.
//
// Registration (any thread):
//   Register(entry, deadline, task) puts `entry` (intrusive, usually living
//   in the sleeping coroutine's frame) in the wheel; when it fires, `task`
//   is woken and entry->fired becomes true. Returns false, registering
//   nothing, if the deadline has already passed. Deregister(entry) takes it
//   out again (a no-op once fired), so an abandoned sleep leaves nothing.
//   A deadline earlier than what the parked driver waits for unparks it.
// Driving (the driver holder): Park / Poll, see Driver.
// Wrapped (the I/O reactor, io_driver.h): a driver that blocks on its own
//   (epoll_wait) and fires these timers calls ForwardUnparkTo(itself) once,
//   brackets each wait with BeginPark / EndPark and then calls Poll. Every
//   Unpark - an earlier deadline, a ManualClock move, Close - then reaches
//   the outer driver instead of this one's futex.
//
// Memory ordering: the wheel and every entry's links are guarded by mu_.
// A firing entry is unlinked and its task reference taken under mu_, and
// `fired` is stored (release) last: once an awaiter sees fired (acquire) the
// driver no longer touches the entry, so the awaiter may destroy it without
// taking the lock.
//
// Ticks are milliseconds from the driver's creation; a deadline is rounded
// up to a tick and fires once the clock's tick has reached it, so timers
// never fire early and fire at most ~1 ms plus scheduling late.
#ifndef TROUPE_EXECUTOR_TIME_DRIVER_H_
#define TROUPE_EXECUTOR_TIME_DRIVER_H_

#include <atomic>
#include <cstdint>
#include <optional>

#include "executor/clock.h"
#include "executor/driver.h"
#include "executor/spin_lock.h"
#include "executor/task_header.h"
#include "executor/timer_wheel.h"

namespace troupe {

struct TimerEntry : TimerWheel::Entry {
  TaskHeader* task = nullptr;  // guarded by the driver's lock
  std::atomic<bool> fired{false};
};

class TimeDriver final : public Driver {
 public:
  explicit TimeDriver(Clock* clock);
  ~TimeDriver() override;

  Clock* clock() const { return clock_; }

  bool Register(TimerEntry* entry, Instant deadline, TaskHeader* task);
  void Deregister(TimerEntry* entry);

  // The earliest pending deadline, if any.
  std::optional<Instant> NextDeadline();
  // Number of registered timers (tests, metrics).
  int64_t PendingTimers() const {
    return pending_.load(std::memory_order_relaxed);
  }

  void Park(std::optional<Duration> max_wait) override;
  void Poll() override;
  void Unpark() override;

  // Wrapping (see above). ForwardUnparkTo is called before any Park.
  void ForwardUnparkTo(Driver* outer) {
    outer_.store(outer, std::memory_order_release);
  }
  // Returns how long a Park(max_wait) may block (nullopt: until woken),
  // bounded by the next timer, and records that deadline for Register.
  std::optional<Duration> BeginPark(std::optional<Duration> max_wait);
  // The wait is over: Register no longer compares against its deadline.
  void EndPark() { parked_until_.store(UINT64_MAX, std::memory_order_release); }

  // Wakes every registered timer's task without firing it (shutdown): the
  // entries stay registered until their owners deregister them.
  void Close();

 private:
  uint64_t TickOf(Instant t, bool round_up) const;
  Instant InstantOf(uint64_t tick) const;
  void FireDue(Instant now);

  Clock* const clock_;
  const Instant origin_;
  internal::SpinLock mu_;
  TimerWheel wheel_;  // guarded by mu_
  // Entries taken out of the wheel as due but not fired yet (level ==
  // kDueLevel), linked through prev/next in deadline order, fired from the
  // head. Guarded by mu_.
  static constexpr int16_t kDueLevel = -2;
  TimerWheel::Entry* due_ = nullptr;
  TimerWheel::Entry* due_tail_ = nullptr;
  std::atomic<int64_t> pending_{0};
  // Futex word of the parked driver: 1 = unpark requested.
  std::atomic<uint32_t> wake_word_{0};
  // Tick the parked driver will wake at on its own (UINT64_MAX: none).
  std::atomic<uint64_t> parked_until_{UINT64_MAX};
  int clock_listener_ = -1;
  std::atomic<Driver*> outer_{nullptr};  // see ForwardUnparkTo
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_TIME_DRIVER_H_

// Parker: how one worker sleeps when it has nothing to do, and how others
// wake it. Idle workers never spin: they block in the kernel.
//
// States (one atomic word):
//   kEmpty           running, no wake-up pending.
//   kParkedCondvar   blocked on its own futex (this word).
//   kParkedDriver    blocked inside the shared driver (timers, I/O).
//   kNotified        a wake-up is pending; the next Park returns at once.
//
// Park():  consumes a pending notification, or tries to take the shared
//          driver (one worker at a time may block in it, so timers and I/O
//          are always driven by someone idle) and blocks there; otherwise
//          blocks on the futex.
// Unpark(): swaps the state to kNotified and wakes whatever the worker was
//          blocked in. swap rather than CAS: the waker does not care what
//          the state was, only that the parker will see kNotified when it
//          next looks - and the futex wait checks the word atomically, so a
//          wake between "set kParkedCondvar" and "sleep" is never lost.
//          Async-signal-safe (atomic swap + futex syscall).
//
// The driver is shared through SharedDriver: a try-lock plus the Driver.
// The I/O reactor plugs in here without the scheduler knowing: it is just
// another Driver.
#ifndef TROUPE_EXECUTOR_PARKER_H_
#define TROUPE_EXECUTOR_PARKER_H_

#include <atomic>
#include <cstdint>
#include <optional>

#include "executor/clock.h"
#include "executor/driver.h"
#include "executor/spin_lock.h"

namespace troupe {

class SharedDriver {
 public:
  explicit SharedDriver(Driver* driver) : driver_(driver) {}
  Driver* driver() const { return driver_; }
  bool TryLock() { return lock_.try_lock(); }
  void Unlock() { lock_.unlock(); }

 private:
  Driver* const driver_;
  internal::SpinLock lock_;
};

class Parker {
 public:
  explicit Parker(SharedDriver* shared) : shared_(shared) {}
  Parker(const Parker&) = delete;
  Parker& operator=(const Parker&) = delete;

  // The owning worker only. Blocks until Unpark() (or, when holding the
  // driver, until a timer or event fires or `timeout` passes).
  void Park(std::optional<Duration> timeout = std::nullopt);
  // The owning worker: fires due timers if the driver is free; never blocks.
  void PollDriver();
  // Any thread; async-signal-safe.
  void Unpark();

 private:
  static constexpr uint32_t kEmpty = 0;
  static constexpr uint32_t kParkedCondvar = 1;
  static constexpr uint32_t kParkedDriver = 2;
  static constexpr uint32_t kNotified = 3;

  void ParkCondvar(std::optional<Duration> timeout);
  void ParkDriver(std::optional<Duration> timeout);

  SharedDriver* const shared_;
  std::atomic<uint32_t> state_{kEmpty};
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_PARKER_H_

#include "executor/parker.h"

#include "executor/futex.h"

namespace troupe {

void Parker::Park(std::optional<Duration> timeout) {
  // Fast path: a notification is already pending. Acquire pairs with the
  // release in Unpark(): whatever the waker published is visible.
  uint32_t expected = kNotified;
  if (state_.compare_exchange_strong(expected, kEmpty,
                                     std::memory_order_acquire)) {
    return;
  }
  if (shared_->TryLock()) {
    ParkDriver(timeout);
    shared_->Unlock();
  } else {
    ParkCondvar(timeout);
  }
}

void Parker::ParkCondvar(std::optional<Duration> timeout) {
  uint32_t expected = kEmpty;
  if (!state_.compare_exchange_strong(expected, kParkedCondvar,
                                      std::memory_order_acq_rel)) {
    // Only Unpark() changes the state under us: it is kNotified.
    state_.exchange(kEmpty, std::memory_order_acquire);
    return;
  }
  for (;;) {
    internal::FutexWait(&state_, kParkedCondvar, timeout);
    expected = kNotified;
    if (state_.compare_exchange_strong(expected, kEmpty,
                                       std::memory_order_acquire)) {
      return;
    }
    if (timeout.has_value()) {
      // Timed out (or spurious): leave the parked state ourselves. A
      // racing Unpark() may turn it into kNotified; either way, run.
      state_.exchange(kEmpty, std::memory_order_acquire);
      return;
    }
    // Spurious wake-up: sleep again.
  }
}

void Parker::ParkDriver(std::optional<Duration> timeout) {
  uint32_t expected = kEmpty;
  if (!state_.compare_exchange_strong(expected, kParkedDriver,
                                      std::memory_order_acq_rel)) {
    state_.exchange(kEmpty, std::memory_order_acquire);
    return;
  }
  shared_->driver()->Park(timeout);
  // Whether we were notified or the driver woke on its own (a timer), we
  // are running again. Acquire pairs with Unpark()'s release.
  state_.exchange(kEmpty, std::memory_order_acquire);
}

void Parker::PollDriver() {
  if (shared_->TryLock()) {
    shared_->driver()->Poll();
    shared_->Unlock();
  }
}

void Parker::Unpark() {
  // Release: the task the waker queued before calling us is visible to the
  // worker once it observes kNotified.
  switch (state_.exchange(kNotified, std::memory_order_acq_rel)) {
    case kEmpty:     // Running; it will see kNotified on its next Park.
    case kNotified:  // Already pending.
      return;
    case kParkedCondvar:
      internal::FutexWake(&state_, 1);
      return;
    case kParkedDriver:
      shared_->driver()->Unpark();
      return;
  }
}

}  // namespace troupe

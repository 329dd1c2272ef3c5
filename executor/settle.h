// Settle: the deterministic test mode's "deliver everything that is
// pending". On a current-thread runtime, `co_await Settle()` resumes once
// every other task has run as far as it can without time passing: nothing
// is runnable, nothing is queued, and no timer is due. Time itself only
// moves when the test says so (a ManualClock's Advance, or SleepFor with
// auto_advance, which jumps straight to the next timer).
//
// Contract:
//   - Only inside a task of a current-thread runtime; elsewhere it throws
//     std::logic_error (with several workers "nothing else is runnable" is
//     not a stable fact).
//   - Tasks blocked on I/O or on threads outside the runtime are not waited
//     for: Settle returns while they are parked.
//
// Example (an actor test that never sleeps for real):
//   ManualClock clock;
//   Runtime rt({.flavor = Flavor::kCurrentThread, .clock = &clock,
//               .auto_advance = true});
//   rt.BlockOn([&]() -> Task<void> {
//     (void)ref.TrySend(Increment{});
//     co_await Settle();                  // the actor handled it
//     co_await SleepFor(std::chrono::seconds(5));  // timers fire, in order
//   }());
#ifndef TROUPE_EXECUTOR_SETTLE_H_
#define TROUPE_EXECUTOR_SETTLE_H_

#include <stdexcept>

#include "executor/scheduler.h"
#include "executor/task.h"
#include "executor/yield.h"

namespace troupe {

inline Task<void> Settle() {
  Scheduler* scheduler = Scheduler::Current();
  if (scheduler == nullptr || scheduler->flavor() != Flavor::kCurrentThread) {
    throw std::logic_error("Settle() needs a task of a current-thread runtime");
  }
  for (;;) {
    // To the back of the queue: everything queued before us runs first,
    // and whatever that wakes is queued behind us again.
    co_await YieldNow();
    if (!scheduler->NothingElseRunnable()) continue;
    // A due timer has not fired yet: the worker polls its driver within a
    // few turns, so keep yielding until it has.
    const std::optional<Instant> next = scheduler->time_driver().NextDeadline();
    if (next.has_value() && *next <= scheduler->clock().Now()) continue;
    co_return;
  }
}

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_SETTLE_H_

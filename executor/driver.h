// Driver: what an idle worker blocks in. The scheduler never sleeps on its
// own: an idle worker either parks on its own futex or, if it wins the
// shared driver, blocks in Driver::Park - which also fires timers (and, with
// the I/O reactor, dispatches readiness events). One worker at a time holds
// the driver; Parker arranges that.
//
// Contract:
//   Park(max_wait)  blocks the calling thread until Unpark(), a due timer
//                   (or I/O event), or max_wait; then fires what is due.
//                   Called by one thread at a time (the driver holder).
//   Poll()          fires what is due without blocking. Driver holder only.
//   Unpark()        any thread, and async-signal-safe: makes a current or
//                   the next Park() return promptly.
#ifndef TROUPE_EXECUTOR_DRIVER_H_
#define TROUPE_EXECUTOR_DRIVER_H_

#include <optional>

#include "executor/clock.h"

namespace troupe {

class Driver {
 public:
  virtual ~Driver() = default;
  virtual void Park(std::optional<Duration> max_wait) = 0;
  virtual void Poll() = 0;
  virtual void Unpark() = 0;
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_DRIVER_H_

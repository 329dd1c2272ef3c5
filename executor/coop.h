// Cooperative budget: a task that keeps finding ready work (a channel that
// is never empty, a lock never contended) would otherwise never suspend and
// starve every other task on its worker. Each task run gets a budget of
// kDefaultBudget operations; awaitable operations that complete without
// suspending consume one unit, and once it is spent they suspend anyway
// (the task goes to the back of the run queue) before completing.
//
// Contract: ConsumeBudget() returns false when the caller must yield.
// Outside a task the budget is unlimited. The scheduler resets it before
// each task run (LIFO successors share it, so a ping-pong pair cannot
// monopolise a worker either).
//
// Example (inside an awaiter):
//   bool await_ready() { return ConsumeBudget() && TryTake(); }
#ifndef TROUPE_EXECUTOR_COOP_H_
#define TROUPE_EXECUTOR_COOP_H_

#include <climits>

namespace troupe {

inline constexpr int kDefaultBudget = 128;

namespace internal {
inline thread_local int tls_budget = INT_MAX;
}  // namespace internal

inline bool ConsumeBudget() {
  int& budget = internal::tls_budget;
  if (budget > 0) {
    --budget;
    return true;
  }
  return false;
}

inline bool HasBudget() { return internal::tls_budget > 0; }

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_COOP_H_

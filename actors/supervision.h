// Supervision: what a parent does when a child fails (its handler threw).
//
//   kRestart   a fresh instance of the child (new state), mailbox kept;
//   kStop      the child stops;
//   kEscalate  the parent fails too, and its own parent decides;
//   kResume    the child keeps its state and goes on with the next message.
//
// kOneForOne applies the decision to the failed child only; kAllForOne to
// every child of the parent. At most `max_restarts` restarts within
// `within` per child; one more failure escalates (for a top-level actor:
// stops it). Restarts can back off exponentially: the n-th consecutive
// restart waits min(initial_backoff * 2^(n-1), max_backoff).
//
// An actor chooses the strategy for its children by defining
//   static SupervisorStrategy ChildSupervision();
// and the ActorSystem's options hold the strategy for top-level actors.
#ifndef TROUPE_ACTORS_SUPERVISION_H_
#define TROUPE_ACTORS_SUPERVISION_H_

#include <chrono>
#include <functional>

#include "absl/status/status.h"
#include "executor/clock.h"

namespace troupe {

enum class Directive { kRestart, kStop, kEscalate, kResume };
enum class SupervisionScope { kOneForOne, kAllForOne };

struct SupervisorStrategy {
  SupervisionScope scope = SupervisionScope::kOneForOne;
  // Decides from the failure; by default every failure restarts.
  std::function<Directive(const absl::Status&)> decider;
  int max_restarts = 10;
  Duration within = std::chrono::seconds(60);
  Duration initial_backoff = Duration::zero();
  Duration max_backoff = std::chrono::seconds(10);

  Directive Decide(const absl::Status& failure) const {
    return decider ? decider(failure) : Directive::kRestart;
  }
  Duration BackoffFor(int consecutive_restarts) const {
    if (initial_backoff <= Duration::zero() || consecutive_restarts <= 0) {
      return Duration::zero();
    }
    Duration d = initial_backoff;
    for (int i = 1; i < consecutive_restarts && d < max_backoff; ++i) d *= 2;
    return d < max_backoff ? d : max_backoff;
  }
};

}  // namespace troupe

#endif  // TROUPE_ACTORS_SUPERVISION_H_

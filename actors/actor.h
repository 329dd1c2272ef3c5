// Actors: objects whose state only their own handlers touch, one message
// at a time, so that state needs no locks.
//
// Defining an actor is plain C++: derive from Actor<Self> and write one
// Handle overload per message type. A handler returns a value (the reply
// to an Ask) or void, or is a coroutine returning Task<R>:
//
//   struct Increment { int by = 1; };
//   struct Get {};
//   class Counter : public troupe::Actor<Counter> {
//    public:
//     void Handle(Increment m) { count_ += m.by; }
//     int Handle(Get) { return count_; }
//    private:
//     int count_ = 0;
//   };
//
//   ActorRef<Counter> c = system.Spawn<Counter>();
//   co_await c.Send(Increment{2});
//   absl::StatusOr<int> n = co_await c.Ask(Get{});   // 2
//
// Contract
//   - Exclusive state: a handler, including every co_await inside an async
//     handler, finishes before the next message is handled. (An async
//     handler that awaits another actor's reply keeps the actor busy until
//     the reply comes: that is the price of lock-free state.)
//   - Reentrant actors (opt in: `static constexpr bool kReentrant = true;`
//     in the actor class): while an async handler awaits, the actor takes
//     its next messages; other handlers interleave at that handler's
//     co_await points. Handlers still never run at the same time - the
//     runner and every async handler in flight are members of one strand
//     (executor/strand.h) - so the state still needs no lock, and async
//     handlers begin in mailbox order. The risks, which is why it is not
//     the default: any co_await may return to state that other messages
//     changed meanwhile (re-read what you computed before it); replies may
//     come back in a different order than the asks; a handler that awaits
//     an ask to an actor that asks back no longer deadlocks, but one that
//     relied on exclusivity (check-then-act across an await) now races
//     logically. A stop lets the handlers in flight finish (draining); a
//     failure or restart aborts them and their asks fail with
//     ActorStopped. The watchdog names the message whose handler ran
//     last.
//   - Per-sender ordering: messages from one sender (a task, or a plain
//     thread) to one actor are handled in the order sent. Nothing more:
//     a tell from T to A may be overtaken by a message that T's tell to
//     B caused B to send A.
//   - Bursts are batched: a task run that tells one actor several times
//     stages those tells and publishes them with one lock hold - when 32
//     are staged, before any other message of its to that actor, and
//     when the run ends (its next co_await that suspends, or the end of
//     the budget). Room for them is reserved at once, so back-pressure
//     and capacity are exact, and a stop still handles them. Do not
//     block the thread on the receiver after a tell (blocking calls
//     inside tasks are wrong anyway): the tell may not be published yet.
//   - ActorRef<A> accepts only messages A handles: anything else is a
//     compile error naming the message type.
//   - Failure: a handler that throws, or returns a non-OK absl::Status
//     (`absl::Status Handle(M)` or `Task<absl::Status> Handle(M)`), fails
//     the actor; its parent's SupervisorStrategy restarts it (fresh
//     state, same mailbox, no timers of the old instance), stops it,
//     resumes it or escalates. An ask whose handler failed completes with
//     HandlerFailed; asks still queued when an actor stops complete with
//     ActorStopped. Asks never hang.
//   - Lifecycle hooks, all optional, each a plain function or a coroutine:
//     OnStart(), OnStop(), OnRestart(absl::Status why).
//   - An actor stops when it calls Stop(), when someone calls Stop() on a
//     reference to it, when its parent stops, at system shutdown, or once
//     no ActorRef to it remains and its mailbox is empty (WeakActorRef
//     does not keep it alive). An actor still busy at the shutdown
//     deadline is aborted: its pending asks fail with ActorStopped and
//     its watchers are told (actor_cell.h, "Abort").
//   - Inside an actor (handlers and hooks; not the constructor): Self(),
//     Stop(), SpawnChild<C>(...), SendAfter, SendInterval, CancelTimer,
//     Watch, Link, system().
//
// Deterministic tests: run the system on a current-thread runtime with a
// ManualClock and auto_advance. Inside BlockOn, `co_await Settle()`
// (executor/settle.h) lets every actor handle what is queued - including
// what their handlers send on - and SleepFor moves virtual time straight
// to the next timer, so SendAfter/SendInterval fire in order without real
// sleeping (tests/actors/deterministic_test.cc):
//   ManualClock clock;
//   Runtime rt({.flavor = Flavor::kCurrentThread, .clock = &clock,
//               .auto_advance = true});
//   ActorSystem system(rt);
//   rt.BlockOn([&]() -> Task<void> {
//     (void)counter.TrySend(Increment{});
//     co_await Settle();                      // handled
//     co_await SleepFor(std::chrono::seconds(3));  // 3 virtual seconds
//   }());
#ifndef TROUPE_ACTORS_ACTOR_H_
#define TROUPE_ACTORS_ACTOR_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor_cell.h"
#include "actors/actor_ref.h"
#include "actors/actor_system.h"
#include "actors/envelope.h"
#include "executor/settle.h"
#include "executor/sleep.h"

namespace troupe {

template <typename Derived>
class Actor {
 public:
  Actor() = default;
  Actor(const Actor&) = delete;
  Actor& operator=(const Actor&) = delete;

  // A reference to this actor (strong: holding it in the actor's own state
  // keeps the actor alive until it calls Stop()).
  ActorRef<Derived> Self() const {
    // Empty once every sender is gone (the actor is draining to stop).
    if (!Cell()->MintSender()) return ActorRef<Derived>();
    return ActorRef<Derived>(Cell()->ShareTyped(), internal::AdoptSender{});
  }
  const std::string& name() const { return Cell()->name(); }
  ActorSystem& system() const { return Cell()->system(); }

  // Stops this actor after the current message (queued messages still
  // run; new ones are refused).
  void Stop() { Cell()->RequestSelfStop(); }

  // Spawns a child supervised by this actor (ChildSupervision()).
  template <typename C, typename... Args>
  ActorRef<C> SpawnChild(SpawnOptions options, Args&&... args) {
    return system().template SpawnUnder<C>(Cell()->Share(), std::move(options),
                                           std::forward<Args>(args)...);
  }
  template <typename C, typename... Args>
  ActorRef<C> SpawnChild(Args&&... args) {
    return SpawnChild<C>(SpawnOptions{}, std::forward<Args>(args)...);
  }

  // Sends `message` to this actor after `delay`, through the control lane
  // (never blocked by a full mailbox). Cancelled when the actor stops or
  // is restarted (the fresh instance starts without timers).
  template <typename M>
  TimerId SendAfter(Duration delay, M message) {
    static_assert(Handles<Derived, M>, "SendAfter: no Handle(M) for M");
    // The timer holds the cell (its memory, not the actor: a timer is
    // aborted when its actor stops, and a lane that closed drops it).
    return Cell()->AddTimer(Spawn([](CellPtr<ActorCell<Derived>> cell,
                                     uint64_t epoch, Duration d,
                                     M m) -> Task<void> {
      co_await SleepFor(d);
      cell->PushControl(
          std::make_unique<typename ActorCell<Derived>::TimerMessage>(
              internal::Envelope<Derived>::Tell(std::move(m)), epoch));
    }(Cell()->ShareTyped(), Cell()->timer_epoch(), delay, std::move(message))));
  }

  // Sends a copy of `message` every `period` (first after one period).
  // Cancelled like SendAfter.
  template <typename M>
  TimerId SendInterval(Duration period, M message) {
    static_assert(Handles<Derived, M>, "SendInterval: no Handle(M) for M");
    return Cell()->AddTimer(
        Spawn([](CellPtr<ActorCell<Derived>> cell, uint64_t epoch, Duration p,
                 M m) -> Task<void> {
          Interval every(p, MissedTick::kSkip);
          co_await every.Tick();  // the first tick is immediate
          for (;;) {
            co_await every.Tick();
            if (cell->IsTerminated()) co_return;
            cell->PushControl(
                std::make_unique<typename ActorCell<Derived>::TimerMessage>(
                    internal::Envelope<Derived>::Tell(M(m)), epoch));
          }
        }(Cell()->ShareTyped(), Cell()->timer_epoch(), period,
                      std::move(message))));
  }

  void CancelTimer(TimerId id) { Cell()->CancelTimer(id); }

  // Death watch: a Terminated message arrives when `other` stops (if this
  // actor has a Handle(Terminated)).
  template <typename B>
  void Watch(const ActorRef<B>& other) {
    other.cell()->AddWatcher(Cell()->Share(), /*link=*/false);
  }
  template <typename B>
  void Unwatch(const ActorRef<B>& other) {
    other.cell()->RemoveWatcher(Cell());
  }
  // Link: if either actor fails and stops, the other fails too.
  template <typename B>
  void Link(const ActorRef<B>& other) {
    other.cell()->AddWatcher(Cell()->Share(), /*link=*/true);
    Cell()->AddWatcher(other.cell(), /*link=*/true);
  }

 private:
  friend class ActorCell<Derived>;
  ActorCell<Derived>* Cell() const {
    // The instance lives inside its cell (no pointer back is stored).
    // Meaningful once the actor is spawned; never in the constructor.
    return ActorCell<Derived>::Of(
        const_cast<Derived*>(static_cast<const Derived*>(this)));
  }
};

}  // namespace troupe

#endif  // TROUPE_ACTORS_ACTOR_H_

// ActorCell<A>: an actor of type A at run time - its instance, its mailbox
// (a bounded mpsc channel of Envelope<A>) and its runner. The cell is
// itself the runner: a Resumable task (executor/resumable.h), so an idle
// actor keeps no coroutine frame - only its cell and its mailbox.
//
// The runner's loop (Run(); one turn per message; exclusive access to the
// state):
//   1. control messages first (stop, restart, failures of children, death
//      watch, timers);
//   2. if failed: wait for the parent's decision (control only);
//   3. otherwise the next mailbox message. A synchronous handler runs
//      right there, inside Run(). An async handler - and every step that
//      awaits: an async OnStart, a control message, the stop - runs as
//      the runner's hosted coroutine (executor/resumable.h): started in
//      place, and if it has to wait, the runner is that coroutine until
//      it ends, taking nothing from the mailbox meanwhile. So a handler
//      runs to completion - including every co_await inside it - before
//      the next message is taken. That is the default, documented
//      contract: state needs no locks, even across awaits.
//   The runner handles up to the cooperative budget of messages per run
//   and then yields, so one busy actor cannot starve the others on its
//   worker.
//
// Stop protocol (HandleStop, then Terminate):
//   1. the mailbox closes to new messages; what is queued still runs (a
//      healthy actor drains; a failed one drops its messages, and every
//      dropped ask is answered "actor stopped");
//   2. timers are cancelled;
//   3. children are stopped and awaited (children before parents);
//   4. OnStop() runs, the instance is destroyed;
//   5. watchers get Terminated, the parent forgets the child, the registry
//      forgets the name, Terminated() completes.
//
// Abort (AbortRunner: the shutdown deadline passed, or the system went
// away without a shutdown; also the runtime's own shutdown): the runner is
// cancelled at its next turn (OnCancelled), instead of being run. The
// hosted coroutine it was waiting in, if any, is destroyed - and with it
// whatever handler or hook it was awaiting - and then it finishes what
// Terminate() would have done, without awaiting anything
// (TearDownAborted):
//   1. timers are cancelled; the mailbox closes and is dropped, the
//      message in hand included, so every ask queued or in progress is
//      answered "actor stopped" (and senders waiting for room fail);
//   2. the instance is destroyed (OnStop does not run: nothing can be
//      awaited here);
//   3. children are asked to stop (not awaited);
//   4. step 5 above, with an Aborted reason.
// This holds even for a runner aborted before it first ran.
//
// Restart: the old instance's timers are cancelled with it, and a timer
// message it left on the control lane is dropped (TimerState::epoch).
#ifndef TROUPE_ACTORS_ACTOR_CELL_H_
#define TROUPE_ACTORS_ACTOR_CELL_H_

#include <cassert>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "actors/cell.h"
#include "actors/envelope.h"
#include "actors/supervision.h"
#include "actors/type_name.h"
#include "channels/mpsc.h"
#include "executor/coop.h"
#include "executor/join_handle.h"
#include "executor/resumable.h"
#include "executor/sleep.h"
#include "executor/strand.h"
#include "executor/yield.h"

namespace troupe {

template <typename A>
class ActorRef;

// Delivered to an actor that watches another (see Actor::Watch) when that
// actor stops. reason is OK for a normal stop.
struct Terminated {
  Terminated(ActorId i, std::string n, absl::Status r)
      : id(i), name(std::move(n)), reason(std::move(r)) {}
  ActorId id;
  std::string name;
  absl::Status reason;
};

using TimerId = uint64_t;

namespace internal {
// Where an actor's instance lives in its cell: a base of ActorCell<A>, so
// that the instance finds its cell by a conversion (ActorCell::Of) rather
// than by a pointer stored in every instance. The union leaves the
// instance's lifetime to the cell (ConstructInstance, DestroyInstanceNow).
template <typename A>
struct InstanceSlot {
  InstanceSlot() {}   // NOLINT(modernize-use-equals-default): the union
  ~InstanceSlot() {}  // NOLINT(modernize-use-equals-default): the union
  union {
    A instance_;
  };
};
}  // namespace internal

template <typename A>
class ActorCell final : public CellBase, private internal::InstanceSlot<A> {
  using internal::InstanceSlot<A>::instance_;

 public:
  // Constructs the instance in place (placement new into the storage it
  // is given); null: A's default constructor (Spawn<A>() without
  // arguments).
  using Factory = std::function<void(void* storage)>;
  using Mail = internal::Envelope<A>;
  // The mailbox lives in the cell (see MpscLayout::kEmbedded): its
  // senders are the actor's ActorRefs, which each hold the cell.
  using Mailbox = internal::MpscChannel<Mail, internal::MpscLayout::kEmbedded>;
  // The opt-in reentrant mode (actor.h): A declares
  // `static constexpr bool kReentrant = true;`.
  static constexpr bool kReentrant = [] {
    if constexpr (requires { A::kReentrant; }) {
      return static_cast<bool>(A::kReentrant);
    } else {
      return false;
    }
  }();

  // The mailbox starts with one sender: the spawner's ActorRef adopts it.
  // direct_asks: see TryAskDirect.
  ActorCell(ActorSystem* system, std::string name,
            const CellPtr<CellBase>& parent, Factory factory,
            std::size_t capacity, bool direct_asks = true)
      : CellBase(system, std::move(name), parent),
        mailbox_(capacity == 0 ? 1 : capacity),
        direct_asks_(direct_asks) {
    // Most actors are made by A's default constructor: no block for them.
    if (factory) Timers().factory = std::move(factory);
  }

  ~ActorCell() override {
    if (started_ && state() != ActorState::kStopped) {
      std::fprintf(stderr,
                   "troupe: BUG: actor cell %s destroyed while running\n",
                   name().c_str());
      std::abort();
    }
    DestroyInstanceNow();  // only a cell that never started still has one
    // Every sender (ActorRef) held the cell, so none is left to wait on
    // the mailbox; ~MpscChannel destroys what is still queued.
  }

  // A new reference to this cell (see CellBase::Share).
  CellPtr<ActorCell> ShareTyped() { return CellPtr<ActorCell>::Share(this); }
  // The cell an instance lives in.
  static ActorCell* Of(A* instance) {
    // The instance is the first (union) member of its InstanceSlot base:
    // same address; from there a base-to-derived conversion.
    auto* slot = reinterpret_cast<internal::InstanceSlot<A>*>(instance);
    return static_cast<ActorCell*>(slot);
  }

  // Starts the runner on `scheduler`. Called once, by the spawner.
  void Start(Scheduler& scheduler) {
    // The task holds its cell until the task is released (OnReleased).
    AddCellRef();
    waiter_.target.task = this;
    if constexpr (kReentrant) set_strand(reentrant_.strand.get());
    started_ = true;
    SpawnResumable(scheduler, this);
  }

  // Counts a new strong reference (an ActorRef then adopts it), unless
  // every sender is gone already.
  bool MintSender() { return mailbox_.TryAddSender(); }
  // The same, but also false once the actor stops taking messages (its
  // mailbox closed: stopping or stopped). For references made from
  // outside (WeakActorRef::Lock); Self() keeps MintSender.
  bool MintLiveSender() {
    if (mailbox_.closed() || IsTerminated()) return false;
    return MintSender();
  }
  Mailbox* mailbox() { return &mailbox_; }

  const char* type() const override { return TypeName<A>(); }

  // The message being handled counts: it leaves the mailbox when its
  // handler ends.
  uint64_t MailboxDepth() const override { return ch()->Len(); }
  uint64_t MailboxHighWater() const override { return ch()->HighWater(); }
  void CloseMailbox() override { ch()->Close(); }
  // Also valid before Start(): the task then runs only to be cancelled.
  void AbortRunner() override { Resumable::Abort(); }

  // A direct ask (ActorRef::Ask's fast path): if the actor is idle -
  // its runner parked on an empty mailbox, nothing on the control lane,
  // running normally, not reentrant - and M's handler is synchronous, the
  // asking task runs the handler itself, right here on its own thread,
  // and returns the answer; no envelope, no reply block, no task switch.
  // The runner is claimed meanwhile (Resumable::TryClaim), so the handler
  // has the state to itself exactly as on the runner, and the turn counts
  // as one: the watchdog sees it, the counters and the handler-time
  // sample include it, a failure fails the actor (its supervisor
  // decides). Ordering is kept: the mailbox was empty, so nothing this
  // asker sent before is still queued (its staged tells are published
  // first). Otherwise (or if the system's
  // direct_asks option is off) nullopt, and `message` is untouched.
  template <typename M>
  std::optional<AskResult<ReplyType<A, M>>> TryAskDirect(M& message) {
    if constexpr (kReentrant || IsTask<HandlerResult<A, M>>::value) {
      return std::nullopt;
    } else {
      if (!direct_asks_) return std::nullopt;
      // This thread's staged tells go first: published, they wake the
      // runner, and the claim fails.
      ch()->PublishOwnStage();
      if (!TryClaim()) return std::nullopt;
      // safety: claimed - no worker runs the runner until EndClaim, and
      // the claim acquired what its last run did (see Resumable).
      if (!IdleForDirectAsk()) {
        EndClaim(/*run=*/false);
        return std::nullopt;
      }
      // Anything thrown past the handler (AnswerOf catches what it
      // throws) - an allocation failing in the bookkeeping - ends the
      // runner as a throwing Run() would: aborted, its claim given back.
      absl::Cleanup on_throw = [this] {
        AbortRunner();
        EndClaim(/*run=*/true);
      };
      StartTurnTimer(TypeName<M>());
      std::exception_ptr thrown;
      std::optional<AskResult<ReplyType<A, M>>> answer(
          internal::AnswerOf<ReplyType<A, M>>(instance_, std::move(message),
                                              thrown));
      FinishMessage(thrown ? FailureOf(std::move(thrown), TypeName<M>())
                           : absl::Status());
      // What the handler set in motion is the runner's to carry out: a
      // failure (the supervisor's decision comes as control), Stop(), a
      // control message that came meanwhile. The runner leaves its
      // mailbox wait and runs. A Stop() refuses new messages at once, as
      // on the runner (HandleStop closes the mailbox again, harmlessly).
      if (self_stop_) ch()->Close();
      const bool run =
          self_stop_ || state() != ActorState::kRunning || HasControl();
      if (run) {
        ch()->UnparkReceiver(&waiter_);
        mailbox_parked_ = false;
      }
      std::move(on_throw).Cancel();
      EndClaim(run);
      return answer;
    }
  }

  // ---- used by Actor<A> from inside the actor (runner) ----
  A* instance() { return has_instance_ ? &instance_ : nullptr; }
  // Timer messages armed by the current instance carry this; a restart
  // moves it on, so that what the old instance armed is dropped.
  uint64_t timer_epoch() { return Timers().epoch; }
  TimerId AddTimer(JoinHandle<void> handle) {
    TimerState& t = Timers();
    std::erase_if(t.timers, [](auto& e) { return e.second.IsFinished(); });
    t.timers.emplace_back(++t.next_id, std::move(handle));
    return t.next_id;
  }
  void CancelTimer(TimerId id) {
    if (timers_ == nullptr) return;
    for (auto& [tid, handle] : timers_->timers) {
      if (tid == id) handle.Abort();
    }
  }
  void RequestSelfStop() { self_stop_ = true; }

  // A timer's message, applied on the runner like a mailbox message
  // unless the instance that armed the timer (`epoch`) is gone.
  class TimerMessage final : public ControlMessage {
   public:
    TimerMessage(Mail mail, uint64_t epoch)
        : mail_(std::move(mail)), epoch_(epoch) {}
    Task<void> Apply(CellBase& cell) override {
      return static_cast<ActorCell&>(cell).HandleTimer(std::move(mail_),
                                                       epoch_);
    }

   private:
    Mail mail_;
    uint64_t epoch_;
  };

 protected:
  void WakeRunner() override { ch()->WakeReceiver(); }
  const SupervisorStrategy& child_strategy() const override {
    // One per actor type (ChildSupervision() is static), not per actor.
    static const SupervisorStrategy strategy = [] {
      if constexpr (requires { A::ChildSupervision(); }) {
        return SupervisorStrategy(A::ChildSupervision());
      } else {
        return SupervisorStrategy();
      }
    }();
    return strategy;
  }

  Task<void> HandleStop(absl::Status reason) override {
    if (state() == ActorState::kStopping) co_return;
    const bool healthy = state() != ActorState::kFailed && has_instance_;
    set_state(ActorState::kStopping);
    SetStopReason(std::move(reason));
    ch()->Close();
    if (!healthy) {
      DropMailbox();
      AbortTurns();
    }
  }

  Task<void> HandleRestart(absl::Status reason, Duration backoff) override {
    if (state() == ActorState::kStopping || state() == ActorState::kStopped) {
      co_return;
    }
    co_await StopChildren(reason);
    // The old instance's handlers still in flight (reentrant mode) end
    // with it: their asks fail with "actor stopped".
    AbortTurns();
    co_await AwaitTurns();
    co_await DestroyInstance();
    // The fresh instance starts without the old one's timers (an actor
    // that never armed one has no timer message to drop either).
    CancelAllTimers();
    if (timers_ != nullptr) ++timers_->epoch;
    if (backoff > Duration::zero()) co_await SleepFor(backoff);
    CountRestart();
    co_await CreateInstance(&reason);
  }

  void HandleResume() override {
    if (state() == ActorState::kFailed) set_state(ActorState::kRunning);
  }

  Task<void> DeliverTerminated(ActorId who, std::string who_name,
                               absl::Status reason, bool linked) override {
    if (linked && !reason.ok()) {
      Fail(absl::Status(reason.code(),
                        absl::StrCat("linked actor ", who_name,
                                     " failed: ", reason.message())));
      co_return;
    }
    if constexpr (Handles<A, ::troupe::Terminated>) {
      if (has_instance_ && state() == ActorState::kRunning) {
        co_await HandleMessage(Mail::Tell(
            ::troupe::Terminated{who, std::move(who_name), std::move(reason)}));
      }
    }
  }

 private:
  Task<void> HandleTimer(Mail mail, uint64_t epoch) {
    // A timer message exists only if a timer was armed: timers_ is there.
    if (epoch == timers_->epoch && has_instance_ &&
        state() == ActorState::kRunning) {
      co_await HandleMessage(std::move(mail));
    }
  }

  // ---- the runner (Resumable) ----

  // What the coroutine the runner hosts is doing (see Host).
  enum class TurnKind : uint8_t { kNone, kSystem, kHandler, kTerminate };

  RunResult Run() override {
    const RunResult r = RunTurns();
    // Stepping away from the mailbox (a handler awaits, the budget is
    // spent, or it is empty): give back the room of the messages handled
    // so far, which the channel reports in batches.
    if (r != RunResult::kDone) ch()->FlushConsumed();
    return r;
  }

  [[gnu::always_inline]] RunResult RunTurns() {
    if (turn_ != TurnKind::kNone) {
      // The executor calls Run() again only once the hosted coroutine has
      // finished (resumable.h).
      if (!turn_work_.done()) {
        std::fprintf(stderr, "troupe: BUG: actor %s run mid-turn\n",
                     name().c_str());
        std::abort();
      }
      if (std::optional<RunResult> r = AfterTurn(EndTurn())) return *r;
    }
    if constexpr (kReentrant) {
      if (waiting_turn_begun_) {
        // Both are strand members: the turn's run (which set turn_begun)
        // came before this one.
        if (!reentrant_.turn_begun) return RunResult::kIdle;
        waiting_turn_begun_ = false;
        if (!ConsumeBudget()) return RunResult::kYield;
      }
    }
    if (mailbox_parked_) {
      // A wake that is not the mailbox's (a stray one): stay parked.
      if (!waiter_.notified.load(std::memory_order_acquire)) {
        return RunResult::kIdle;
      }
      mailbox_parked_ = false;
    }
    if (!created_) {
      created_ = true;
      if constexpr (kAsyncStart) {
        if (!Host(TurnKind::kSystem, CreateInstance(nullptr))) {
          return RunResult::kIdle;
        }
        (void)EndTurn();
      } else {
        CreateInstanceNow();
      }
    }
    for (;;) {
      TurnKind kind = TurnKind::kNone;
      if (HasControl()) {
        std::unique_ptr<ControlMessage> c = PopControl();
        if (c == nullptr) continue;
        kind = TurnKind::kSystem;
        if (!Host(kind, ApplyControl(std::move(c), *this))) {
          return RunResult::kIdle;
        }
      } else if (self_stop_ && state() != ActorState::kStopping) {
        self_stop_ = false;
        kind = TurnKind::kSystem;
        if (!Host(kind, HandleStop(absl::OkStatus()))) {
          return RunResult::kIdle;
        }
      } else if (state() == ActorState::kFailed) {
        // Waiting for the parent's decision: park regardless of queued
        // mail; pushes still wake us (and we park again unless control
        // work arrived).
        if (ch()->ParkReceiverAlways(&waiter_,
                                     [this] { return HasControl(); })) {
          mailbox_parked_ = true;
          return RunResult::kIdle;
        }
        continue;
      } else {
        Mail* mail = NextMail();
        if (mailbox_parked_) return RunResult::kIdle;
        if (mail == nullptr) {
          if (HasControl() || !ch()->Finished()) continue;
          // Closed (or unreferenced) and drained.
          kind = TurnKind::kTerminate;
          if (!Host(kind, Terminate())) return RunResult::kIdle;
        } else {
          if constexpr (kReentrant) {
            if (mail->is_async()) {
              // Reentrant: the async handler runs as a turn of its own (a
              // member of this actor's strand), and the runner goes on to
              // the next message once the turn has begun - so async
              // handlers begin in mailbox order, and interleave only at
              // their awaits.
              StartReentrantTurn(std::move(*mail));
              ch()->PopFront();
              if (!reentrant_.turn_begun) {
                reentrant_.runner = TaskRef::Clone(this);
                waiting_turn_begun_ = true;
                return RunResult::kIdle;
              }
              if (!ConsumeBudget()) return RunResult::kYield;
              continue;
            }
          }
          // The message is handled where it lies in the mailbox. A
          // synchronous handler completes here; an async handler's task
          // is hosted (the message stays put meanwhile).
          std::optional<Task<void>> pending = Dispatch(*mail);
          if (!pending.has_value()) {
            ch()->PopFront();
            if (!ConsumeBudget()) return RunResult::kYield;
            continue;
          }
          kind = TurnKind::kHandler;
          if (!Host(kind, std::move(*pending))) {
            return RunResult::kIdle;
          }
        }
      }
      // The hosted work finished without waiting.
      if (std::optional<RunResult> r = AfterTurn(EndTurn())) return *r;
    }
  }

  // Runs `work` right here, as this task's coroutine (resumable.h,
  // "Hosting a coroutine"): true if it finished at once; false if it
  // waits, and then Run() must return kIdle - the executor resumes the
  // work, and calls Run() again once it has finished. Meanwhile nothing
  // else of this actor runs: a handler keeps the state to itself across
  // its awaits.
  bool Host(TurnKind kind, Task<void> work) {
    turn_ = kind;
    turn_work_ = work.Release();
    return RunCoroutine(turn_work_);
  }

  // Ends the hosted work that finished: takes its outcome, frees its
  // frame, and finishes the message if it was a handler.
  TurnKind EndTurn() {
    absl::Status failure;
    try {
      // Rethrows what the work threw.
      internal::TakeResultFrom<void>(FramePrefix::Of(turn_work_.address()));
    } catch (...) {
      // A handler's message is the one being handled (current_message()).
      failure = FailureOf(std::current_exception(), turn_ == TurnKind::kHandler
                                                        ? current_message()
                                                        : "system message");
    }
    std::exchange(turn_work_, nullptr).destroy();
    const TurnKind kind = std::exchange(turn_, TurnKind::kNone);
    if (kind == TurnKind::kHandler) {
      FinishMessage(std::move(failure));
    } else if (kind == TurnKind::kTerminate) {
      // A stop that threw before it finished (a non-std exception from
      // OnStop, an allocation failure) still ends the actor: what it left
      // undone is done as for an abort.
      if (!IsTerminated()) TearDownAborted();
    } else if (!failure.ok()) {
      Fail(failure);
    }
    return kind;
  }

  // What Run() does next after the hosted work of `kind` ended: return
  // (a value), or go on (nullopt).
  std::optional<RunResult> AfterTurn(TurnKind kind) {
    if (kind == TurnKind::kTerminate) return RunResult::kDone;
    if (kind == TurnKind::kHandler) {
      ch()->PopFront();  // the message whose handler just ended
      if (!ConsumeBudget()) return RunResult::kYield;
    }
    return std::nullopt;
  }

  // The next mailbox message, in place (the runner pops it when done with
  // it); or nullptr: control work, the mailbox is over, or mailbox_parked_ (the
  // runner registered waiter_ and must return kIdle).
  Mail* NextMail() {
    // Without a lock first: the batch in hand.
    Mail* mail = ch()->FrontInBatch();
    if (HasControl()) return nullptr;
    if (mail != nullptr) return mail;
    for (;;) {
      // One lock: refill from the shared queue, or park if it is empty
      // and no control work is pending.
      if (ch()->RefillOrPark(&waiter_, [this] { return HasControl(); })) {
        mailbox_parked_ = true;
        return nullptr;
      }
      // The mailbox first, then the control lane, so that a control
      // message pushed before a mail was sent (in happens-before order) is
      // seen whenever the mail is: the Refill that brought the mail into
      // the receiver's batch acquired the channel lock the sender released
      // after pushing it, and the sender's push came after the release
      // store of control_pending_ in PushControl, so the acquire load in
      // HasControl() below reads true. All-for-one relies on it
      // (CellBase::SuperviseChildNow). Looking at the lane first could
      // read it just before the push and the mailbox just after the send.
      mail = ch()->Front();
      if (HasControl()) return nullptr;  // control first; the mail waits
      if (mail != nullptr || ch()->Finished()) return mail;
    }
  }

  static Task<void> ApplyControl(std::unique_ptr<ControlMessage> c,
                                 CellBase& cell) {
    co_await c->Apply(cell);
  }

  void OnCancelled() override {
    if (mailbox_parked_) {
      ch()->UnparkReceiver(&waiter_);
      mailbox_parked_ = false;
    }
    if constexpr (kReentrant) reentrant_.runner.Reset();
    if (turn_work_) {
      // The work it was awaiting goes now, with every awaiter in it (each
      // withdraws from what it waited on).
      std::exchange(turn_work_, nullptr).destroy();
      turn_ = TurnKind::kNone;
    }
    // An actor whose Terminate finished just before the cancellation has
    // nothing left to tear down.
    if (!IsTerminated()) TearDownAborted();
  }

  void OnReleased() override {
    // May be the last reference: the cell (this object) goes with it.
    DropCellRef();
  }

  // Runs the handler for `mail`. Returns the task still to await if the
  // handler is a coroutine (the message is then still in progress).
  std::optional<Task<void>> Dispatch(Mail& mail) {
    StartTurnTimer(mail.type_name());
    absl::Status failure;
    try {
      typename Mail::Dispatched d = mail.Dispatch(instance_);
      if (d.pending.has_value()) return std::move(d.pending);
    } catch (...) {
      failure = FailureOf(std::current_exception(), mail.type_name());
    }
    FinishMessage(std::move(failure));
    return std::nullopt;
  }

  // A handler's start, for the watchdog and the handler-time samples.
  void StartTurnTimer(const char* type_name) {
    BeginMessage(type_name);
    // 1 in kHandlerSampleEvery: the sequence counts the handlers ended,
    // so this is the next one's number, less one.
    sampling_ = (handler_seq_.load(std::memory_order_relaxed) + 1) %
                    kHandlerSampleEvery ==
                0;
    if (sampling_) StartSample(Clock().Now());
  }

  // Whether a claimed runner can take a direct ask (TryAskDirect): parked
  // on its mailbox with no push since (a push takes the waiter and sets
  // notified; a parked runner's mailbox was empty), between turns, with a
  // live instance, and nothing else to do first.
  bool IdleForDirectAsk() {
    return mailbox_parked_ &&
           !waiter_.notified.load(std::memory_order_acquire) &&
           turn_ == TurnKind::kNone && has_instance_ &&
           state() == ActorState::kRunning && !self_stop_ && !HasControl() &&
           !ch()->closed();
  }

  // The failure a handler's exception stands for.
  static absl::Status FailureOf(std::exception_ptr e, const char* type_name) {
    try {
      std::rethrow_exception(std::move(e));
    } catch (const std::exception& ex) {
      return internal::HandlerFailedError(
          absl::StrCat(type_name, ": ", ex.what()));
    } catch (...) {
      return internal::HandlerFailedError(
          absl::StrCat(type_name, ": unknown exception"));
    }
  }

  Task<void> FinishAsync(Task<void> pending, const char* type_name) {
    absl::Status failure;
    try {
      co_await std::move(pending);
    } catch (...) {
      failure = FailureOf(std::current_exception(), type_name);
    }
    FinishMessage(std::move(failure));
  }

  void FinishMessage(absl::Status failure) {
    if (sampling_) RecordHandlerTime(Clock().Now());
    EndMessage();
    if (!failure.ok()) Fail(failure);
  }

  // A message that arrived on the control lane (a timer, a Terminated).
  Task<void> HandleMessage(Mail mail) {
    if (std::optional<Task<void>> pending = Dispatch(mail)) {
      co_await FinishAsync(std::move(*pending), mail.type_name());
    }
  }

  troupe::Clock& Clock() { return CurrentClock(); }

  // Whether starting needs a turn: OnStart is a coroutine.
  static constexpr bool kAsyncStart = [] {
    if constexpr (requires(A & a) { a.OnStart(); }) {
      return IsTask<decltype(std::declval<A&>().OnStart())>::value;
    } else {
      return false;
    }
  }();

  // CreateInstance for a synchronous OnStart, right in the runner.
  void CreateInstanceNow() {
    absl::Status failure;
    try {
      ConstructInstance();
      if constexpr (requires(A & a) { a.OnStart(); }) instance_.OnStart();
    } catch (...) {
      failure = FailureOf(std::current_exception(), "start");
    }
    FinishCreate(std::move(failure));
  }

  // In place: the instance lives inside the cell (no allocation of its
  // own); a restart destroys it and constructs the next one there.
  void ConstructInstance() {
    DestroyInstanceNow();  // none is expected: DestroyInstance came first
    if (timers_ != nullptr && timers_->factory) {
      timers_->factory(&instance_);
    } else if constexpr (std::is_default_constructible_v<A>) {
      ::new (&instance_) A();
    }
    has_instance_ = true;  // not if the constructor threw
    // Of() relies on the instance sharing its InstanceSlot's address (the
    // Itanium C++ ABI lays a union member out at offset 0).
    assert(Of(&instance_) == this);
  }

  void DestroyInstanceNow() {
    if (!has_instance_) return;
    has_instance_ = false;
    instance_.~A();
  }

  void FinishCreate(absl::Status failure) {
    if (!failure.ok()) {
      Fail(failure);
    } else if (state() != ActorState::kStopping) {
      set_state(ActorState::kRunning);
    }
  }

  // Constructs the instance and runs OnRestart/OnStart. A failure there is
  // a failure of the actor.
  Task<void> CreateInstance(const absl::Status* restart_reason) {
    absl::Status failure;
    try {
      ConstructInstance();
      if constexpr (requires(A & a, absl::Status s) { a.OnRestart(s); }) {
        if (restart_reason != nullptr) {
          co_await CallHook(
              [&] { return instance_.OnRestart(*restart_reason); });
        }
      }
      if constexpr (requires(A & a) { a.OnStart(); }) {
        co_await CallHook([&] { return instance_.OnStart(); });
      }
    } catch (...) {
      failure = FailureOf(std::current_exception(), "start");
    }
    FinishCreate(std::move(failure));
  }

  Task<void> DestroyInstance() {
    if (!has_instance_) co_return;
    if constexpr (requires(A & a) { a.OnStop(); }) {
      try {
        co_await CallHook([&] { return instance_.OnStop(); });
      } catch (const std::exception&) {
        // A failing OnStop cannot stop the stop.
      }
    }
    DestroyInstanceNow();
  }

  // Runs a lifecycle hook that is either a plain function or a coroutine.
  template <typename F>
  static Task<void> CallHook(F hook) {
    using R = std::invoke_result_t<F>;
    if constexpr (IsTask<R>::value) {
      co_await hook();
    } else {
      hook();
      co_return;
    }
  }

  void DropMailbox() {
    while (ch()->TryPop().has_value()) {
    }
    // The room of messages handled last (PopFront defers its report).
    ch()->FlushConsumed();
  }

  // At termination: the factory (whose captured arguments may hold
  // references to other actors) and the timers' block go now, not when
  // the cell's memory does - holders of the cell (a watched actor's list,
  // a WeakActorRef) must not keep what the actor held. Nothing applies a
  // timer message or makes an instance after this.
  void ReleaseRunnerState() { timers_.reset(); }

  void CancelAllTimers() {
    if (timers_ == nullptr) return;
    for (auto& [id, handle] : timers_->timers) handle.Abort();
    timers_->timers.clear();
  }

  // The timers' state, made when the first timer is armed (runner) - or
  // at construction for an actor spawned with arguments, whose factory
  // lives here too (one pointer in the cell for both).
  struct TimerState {
    // Empty for an A made by its default constructor.
    Factory factory;
    std::vector<std::pair<TimerId, JoinHandle<void>>> timers;
    TimerId next_id = 0;
    uint64_t epoch = 0;
  };
  TimerState& Timers() {
    if (timers_ == nullptr) timers_ = std::make_unique<TimerState>();
    return *timers_;
  }

  Mailbox* ch() { return &mailbox_; }
  const Mailbox* ch() const { return &mailbox_; }

  // ---- reentrant mode ----
  struct NotReentrant {};
  struct ReentrantState {
    StrandRef strand = Strand::Make();    // the runner and every turn
    std::vector<JoinHandle<void>> turns;  // in flight (pruned as they end)
    bool turn_begun = true;               // the last turn started has begun
    TaskRef runner;  // the runner, waiting for the turn to begin
  };

  // Spawns a turn for `mail` on the strand.
  void StartReentrantTurn(Mail mail) {
    if constexpr (kReentrant) {
      std::erase_if(reentrant_.turns,
                    [](const JoinHandle<void>& t) { return t.IsFinished(); });
      reentrant_.turn_begun = false;
      reentrant_.turns.push_back(JoinHandle<void>(internal::SpawnOn(
          *Scheduler::Current(), Turn(ShareTyped(), std::move(mail)),
          /*with_handle=*/true, reentrant_.strand.get())));
    }
  }

  // One async message of a reentrant actor. It holds the cell (and so the
  // strand) alive until it ends.
  static Task<void> Turn(CellPtr<ActorCell> self, Mail mail) {
    if constexpr (kReentrant) {
      ReentrantState& r = self->reentrant_;
      r.turn_begun = true;
      // The runner can only run once this turn suspends or ends: they
      // share the strand.
      r.runner.Wake();
      if (!self->has_instance_)
        co_return;  // dropped: the asker hears "stopped"
      if (std::optional<Task<void>> pending = self->Dispatch(mail)) {
        co_await self->FinishAsync(std::move(*pending), mail.type_name());
      }
    }
  }

  void AbortTurns() {
    if constexpr (kReentrant) {
      for (JoinHandle<void>& t : reentrant_.turns) t.Abort();
    }
  }

  // Waits until every turn in flight has ended (finished or aborted).
  Task<void> AwaitTurns() {
    if constexpr (kReentrant) {
      std::vector<JoinHandle<void>> turns = std::move(reentrant_.turns);
      reentrant_.turns.clear();
      for (JoinHandle<void>& t : turns) {
        try {
          co_await t;
        } catch (const CancelledError&) {
          // Aborted, as asked.
        }
      }
    }
    co_return;
  }

  Task<void> Terminate() {
    // A draining reentrant actor lets its handlers in flight finish.
    co_await AwaitTurns();
    CancelAllTimers();
    // A copy: FinishTermination stores it where it came from.
    const absl::Status reason = stop_reason();
    co_await StopChildren(reason);
    co_await DestroyInstance();
    ch()->Close();
    DropMailbox();
    ReleaseRunnerState();
    FinishTermination(reason);
  }

  // The rest of Terminate() for a runner that was cancelled before it got
  // there (see "Abort" at the top of the file). Called once: by
  // OnCancelled.
  // safety: the runner will never run again and no turn of it is left -
  // every handler, hook and awaiter it held is destroyed - so this thread
  // has the runner's exclusive access to the instance, the timers and the
  // receiving end of the mailbox.
  void TearDownAborted() {
    AbortTurns();
    CancelAllTimers();
    ch()->Close();
    DropMailbox();
    DestroyInstanceNow();
    ReleaseRunnerState();
    const absl::Status reason = internal::ActorStoppedError(
        absl::StrCat(name(), " was aborted before it finished"));
    for (const CellPtr<CellBase>& child : Children()) {
      child->RequestStop(reason);
    }
    FinishTermination(reason);
  }

  Mailbox mailbox_;
  // The instance lives in the InstanceSlot base, in place (no allocation
  // of its own): constructed by ConstructInstance, destroyed by
  // DestroyInstanceNow; alive while has_instance_ (a flag among the
  // runner's below, not beside it as in a std::optional, which would pad
  // it).
  // ---- the runner's own state (runner only, unless marked) ----
  // Parked on the mailbox (the channel's). Potentially overlapping, so
  // that the flags below sit in its tail padding.
  [[no_unique_address]] internal::RecvWaiter waiter_;
  // Bits of one byte: each is written and read only on the runner's turns
  // (started_ before the first, by Start(); read by the destructor after
  // the last), which the task's state transitions order - no two threads
  // ever touch the byte at once.
  bool mailbox_parked_ : 1 = false;
  bool started_ : 1 = false;
  bool created_ : 1 = false;
  bool waiting_turn_begun_ : 1 = false;  // reentrant: see Run()
  bool has_instance_ : 1 = false;        // instance_ is alive
  bool sampling_ : 1 = false;            // the handler in progress is timed
  bool self_stop_ : 1 = false;
  TurnKind turn_ = TurnKind::kNone;
  // Fixed at construction; read by any asker (in what was padding).
  const bool direct_asks_;
  std::coroutine_handle<> turn_work_;   // the hosted work (see Host)
  std::unique_ptr<TimerState> timers_;  // see Timers()
  [[no_unique_address]] std::conditional_t<kReentrant, ReentrantState,
                                           NotReentrant>
      reentrant_;
};

}  // namespace troupe

#endif  // TROUPE_ACTORS_ACTOR_CELL_H_

// ActorCell<A>: an actor of type A at run time - its instance, its mailbox
// (a bounded mpsc channel of Envelope<A>) and its runner, the one task that
// ever touches the instance.
//
// The runner's loop (one turn per message; exclusive access to the state):
//   1. control messages first (stop, restart, failures of children, death
//      watch, timers);
//   2. if failed: wait for the parent's decision (control only);
//   3. otherwise the next mailbox message; its handler runs to completion -
//      including every co_await inside an async handler - before the next
//      message is taken. That is the default, documented contract: state
//      needs no locks, even across awaits.
//   The runner drains up to the cooperative budget of messages per turn and
//   then yields, so one busy actor cannot starve the others on its worker.
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
// away without a shutdown): the runner's frame is destroyed at its next
// suspension point, and with it whatever handler or hook it was awaiting.
// Its last parameter, a RunnerGuard, then finishes what Terminate() would
// have done, without awaiting anything:
//   1. timers are cancelled; the mailbox closes and is dropped, the
//      message in hand included, so every ask queued or in progress is
//      answered "actor stopped" (and senders waiting for room fail);
//   2. the instance is destroyed (OnStop does not run: nothing can be
//      awaited in a destructor);
//   3. children are asked to stop (not awaited);
//   4. step 5 above, with an Aborted reason.
// The guard is a parameter, not a local, so this holds even for a runner
// aborted before it first ran.
//
// Restart: the old instance's timers are cancelled with it, and a timer
// message it left on the control lane is dropped (timer_epoch_).
#ifndef TROUPE_ACTORS_ACTOR_CELL_H_
#define TROUPE_ACTORS_ACTOR_CELL_H_

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "actors/cell.h"
#include "actors/envelope.h"
#include "actors/supervision.h"
#include "actors/type_name.h"
#include "channels/mpsc.h"
#include "executor/coop.h"
#include "executor/join_handle.h"
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

template <typename A>
class ActorCell final : public CellBase {
 public:
  using Factory = std::function<std::unique_ptr<A>()>;
  using Mail = internal::Envelope<A>;
  // The opt-in reentrant mode (actor.h): A declares
  // `static constexpr bool kReentrant = true;`.
  static constexpr bool kReentrant = [] {
    if constexpr (requires { A::kReentrant; }) {
      return static_cast<bool>(A::kReentrant);
    } else {
      return false;
    }
  }();

  ActorCell(ActorSystem* system, std::string name,
            const std::shared_ptr<CellBase>& parent, Factory factory,
            std::size_t capacity)
      : CellBase(system, std::move(name), TypeName<A>(), parent),
        factory_(std::move(factory)) {
    auto channel = MakeMpsc<Mail>(capacity == 0 ? 1 : capacity).value();
    tx_ = std::move(channel.first);
    rx_ = std::move(channel.second);
    ch_ = rx_.channel();
  }

  ~ActorCell() override {
    if (state() != ActorState::kStopped && runner_.valid()) {
      std::fprintf(stderr,
                   "troupe: BUG: actor cell %s destroyed while running\n",
                   name().c_str());
      std::abort();
    }
  }

  std::shared_ptr<ActorCell> shared_from_this_typed() {
    return std::static_pointer_cast<ActorCell>(shared_from_this());
  }
  std::weak_ptr<ActorCell> weak_from_this_typed() {
    return shared_from_this_typed();
  }

  // Starts the runner on `scheduler`. Called once, by the spawner.
  void Start(Scheduler& scheduler) {
    std::shared_ptr<ActorCell> self =
        std::static_pointer_cast<ActorCell>(shared_from_this());
    Strand* strand = nullptr;
    if constexpr (kReentrant) strand = reentrant_.strand.get();
    runner_ = JoinHandle<void>(internal::SpawnOn(
        scheduler, Run(RunnerGuard(std::move(self))), true, strand));
  }

  // The spawner's sender (the first strong reference); taken once.
  Sender<Mail> TakeInitialSender() { return std::move(tx_); }
  // A new strong reference, unless every sender is gone already.
  Sender<Mail> MintSender() { return Sender<Mail>::FromChannel(ch_); }
  // The same, but also empty once the actor stops taking messages (its
  // mailbox closed: stopping or stopped). For references made from
  // outside (WeakActorRef::Lock); Self() keeps MintSender.
  Sender<Mail> MintLiveSender() {
    if (ch_->closed() || IsTerminated()) return Sender<Mail>();
    return MintSender();
  }

  // The message being handled counts: it leaves the mailbox when its
  // handler ends.
  uint64_t MailboxDepth() const override { return ch_->Len(); }
  uint64_t MailboxHighWater() const override { return ch_->HighWater(); }
  std::size_t MailboxCapacity() const { return ch_->capacity(); }
  void CloseMailbox() override { ch_->Close(); }
  void AbortRunner() override { runner_.Abort(); }

  // ---- used by Actor<A> from inside the actor (runner) ----
  A* instance() { return instance_.get(); }
  // Timer messages armed by the current instance carry this; a restart
  // moves it on, so that what the old instance armed is dropped.
  uint64_t timer_epoch() const { return timer_epoch_; }
  TimerId AddTimer(JoinHandle<void> handle) {
    std::erase_if(timers_, [](auto& t) { return t.second.IsFinished(); });
    timers_.emplace_back(++next_timer_, std::move(handle));
    return next_timer_;
  }
  void CancelTimer(TimerId id) {
    for (auto& [tid, handle] : timers_) {
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
  void WakeRunner() override { ch_->WakeReceiver(); }
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
    const bool healthy = state() != ActorState::kFailed && instance_;
    set_state(ActorState::kStopping);
    stop_reason_ = std::move(reason);
    ch_->Close();
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
    // The fresh instance starts without the old one's timers.
    CancelAllTimers();
    ++timer_epoch_;
    if (backoff > Duration::zero()) co_await SleepFor(backoff);
    restarts_.store(restarts_.load(std::memory_order_relaxed) + 1,
                    std::memory_order_relaxed);
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
      if (instance_ && state() == ActorState::kRunning) {
        co_await HandleMessage(Mail::Tell(
            ::troupe::Terminated{who, std::move(who_name), std::move(reason)}));
      }
    }
  }

 private:
  Task<void> HandleTimer(Mail mail, uint64_t epoch) {
    if (epoch == timer_epoch_ && instance_ && state() == ActorState::kRunning) {
      co_await HandleMessage(std::move(mail));
    }
  }

  // Waits for a mailbox message, a control message or the end of the
  // mailbox. In control-only mode (failed), mailbox messages do not count.
  class NextEvent final : public ParkedAwaiter {
   public:
    NextEvent(ActorCell* cell, bool control_only)
        : cell_(cell), control_only_(control_only) {}
    NextEvent(const NextEvent&) = delete;
    NextEvent& operator=(const NextEvent&) = delete;
    ~NextEvent() {
      if (parked_) cell_->ch_->UnparkReceiver(&waiter_);
    }
    // Without a lock: the mailbox's batch in hand, or control work. An
    // empty batch goes to Park, which refills and parks in one step.
    bool await_ready() { return PollBatch(); }
    bool await_suspend(std::coroutine_handle<> handle) {
      TaskHeader* self = CurrentTask();
      self->SetResumePoint(handle, this);
      waiter_.target.task = self;
      return Park();
    }
    bool Ready() override {
      if (parked_ && !waiter_.notified.load(std::memory_order_acquire)) {
        return false;
      }
      parked_ = false;
      return Poll() || !Park();
    }
    // The next message, in place in the mailbox (the runner pops it when
    // done with it), or nullptr (control work, or the mailbox is over).
    Mail* await_resume() { return mail_; }

   private:
    // Poll without touching the channel's lock (see Poll for the order).
    bool PollBatch() {
      if (control_only_) return cell_->HasControl();
      mail_ = cell_->ch_->FrontInBatch();
      if (cell_->HasControl()) {
        mail_ = nullptr;
        return true;
      }
      return mail_ != nullptr;
    }
    bool Poll() {
      if (control_only_) return cell_->HasControl();
      // The mailbox first, then the control lane, so that a control
      // message pushed before a mail was sent (in happens-before order) is
      // seen whenever the mail is: the Refill that brought the mail into
      // the receiver's batch acquired the channel lock the sender released
      // after pushing it, and the sender's push came after the release
      // store of control_pending_ in PushControl, so the acquire load in
      // HasControl() below reads true. All-for-one relies on it
      // (CellBase::SuperviseChildNow). Looking at the lane first could
      // read it just before the push and the mailbox just after the send.
      mail_ = cell_->ch_->Front();
      if (cell_->HasControl()) {
        mail_ = nullptr;  // control first; the mail stays where it is
        return true;
      }
      return mail_ != nullptr || cell_->ch_->Finished();
    }
    // True if parked.
    bool Park() {
      for (;;) {
        if (control_only_) {
          // Park regardless of queued mail; pushes still wake us (then
          // Ready() parks again unless there is control work).
          if (cell_->ch_->ParkReceiverAlways(
                  &waiter_, [this] { return cell_->HasControl(); })) {
            parked_ = true;
            return true;
          }
          return false;
        }
        if (cell_->ch_->RefillOrPark(&waiter_,
                                     [this] { return cell_->HasControl(); })) {
          parked_ = true;
          return true;
        }
        if (Poll()) return false;
      }
    }

    ActorCell* const cell_;
    const bool control_only_;
    internal::RecvWaiter waiter_;
    Mail* mail_ = nullptr;
    bool parked_ = false;
  };

  // The runner's reference to its cell. Destroyed with the runner's frame
  // - after the runner finished, or when it was aborted (even before its
  // first run, as it is a parameter) - and then completes the termination
  // an aborted runner left undone (TearDownAborted).
  class RunnerGuard {
   public:
    explicit RunnerGuard(std::shared_ptr<ActorCell> cell)
        : cell_(std::move(cell)) {}
    RunnerGuard(RunnerGuard&& other) noexcept = default;
    RunnerGuard& operator=(RunnerGuard&&) = delete;
    ~RunnerGuard() {
      if (cell_ != nullptr && !cell_->IsTerminated()) cell_->TearDownAborted();
    }
    ActorCell& cell() const { return *cell_; }

   private:
    std::shared_ptr<ActorCell> cell_;  // null once moved from
  };

  // True if the runner has something to do besides the next mailbox
  // message: control messages, a Stop() from a handler, or a failure that
  // waits for the parent's decision.
  bool HasSystemWork() {
    return HasControl() || (self_stop_ && state() != ActorState::kStopping) ||
           state() == ActorState::kFailed;
  }

  // One step of that work. A coroutine of its own, so that the runner's
  // frame - which every idle actor keeps - holds only what the message
  // path needs (the awaiters of the rarer steps would otherwise each take
  // room in it).
  Task<void> DoSystemWork() {
    if (HasControl()) {
      if (std::unique_ptr<ControlMessage> c = PopControl()) {
        co_await c->Apply(*this);
      }
      co_return;
    }
    if (self_stop_ && state() != ActorState::kStopping) {
      self_stop_ = false;
      co_await HandleStop(absl::OkStatus());
      co_return;
    }
    if (state() == ActorState::kFailed) {
      (void)co_await NextEvent(this, /*control_only=*/true);
    }
  }

  // The runner. `guard` (unused in the body) is what tears the actor down
  // if the frame is destroyed before the loop finished. One frame, not a
  // spawned wrapper around a loop coroutine: every frame carries room for
  // a task header, and an idle actor keeps its runner's frames.
  Task<void> Run([[maybe_unused]] RunnerGuard guard) {
    co_await CreateInstance(nullptr);
    for (;;) {
      if (HasSystemWork()) {
        co_await DoSystemWork();
        continue;
      }
      Mail* mail = co_await NextEvent(this, false);
      if (mail == nullptr) {
        if (HasControl()) continue;
        if (ch_->Finished()) break;  // closed or unreferenced, and drained
        continue;
      }
      if constexpr (kReentrant) {
        if (mail->is_async()) {
          // Reentrant: the async handler runs as a turn of its own (a
          // member of this actor's strand), and the runner goes on to the
          // next message once the turn has begun - so async handlers
          // begin in mailbox order, and interleave only at their awaits.
          StartTurn(std::move(*mail));
          ch_->PopFront();
          co_await TurnBegun(this);
          if (!ConsumeBudget()) co_await YieldNow();
          continue;
        }
      }
      // The message is handled where it lies in the mailbox. Synchronous
      // handlers complete here, without a coroutine frame; only an async
      // handler's task is awaited (the message stays put meanwhile).
      if (std::optional<Task<void>> pending = Dispatch(*mail)) {
        // Awaited here rather than through FinishAsync: no extra frame per
        // async message.
        absl::Status failure;
        try {
          co_await std::move(*pending);
        } catch (...) {
          failure = FailureOf(std::current_exception(), mail->type_name());
        }
        FinishMessage(std::move(failure));
      }
      ch_->PopFront();
      if (!ConsumeBudget()) co_await YieldNow();
    }
    co_await Terminate();
  }

  // Runs the handler for `mail`. Returns the task still to await if the
  // handler is a coroutine (the message is then still in progress).
  std::optional<Task<void>> Dispatch(Mail& mail) {
    BeginMessage(mail.type_name());
    sampling_ = (++sample_counter_ % kHandlerSampleEvery) == 0;
    if (sampling_) sample_start_ = Clock().Now();
    absl::Status failure;
    try {
      typename Mail::Dispatched d = mail.Dispatch(*instance_);
      if (d.pending.has_value()) return std::move(d.pending);
    } catch (...) {
      failure = FailureOf(std::current_exception(), mail.type_name());
    }
    FinishMessage(std::move(failure));
    return std::nullopt;
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
    if (sampling_) RecordHandlerTime(Clock().Now() - sample_start_);
    EndMessage();
    if (!failure.ok()) Fail(std::move(failure));
  }

  // A message that arrived on the control lane (a timer, a Terminated).
  Task<void> HandleMessage(Mail mail) {
    if (std::optional<Task<void>> pending = Dispatch(mail)) {
      co_await FinishAsync(std::move(*pending), mail.type_name());
    }
  }

  troupe::Clock& Clock() { return CurrentClock(); }

  // Constructs the instance and runs OnRestart/OnStart. A failure there is
  // a failure of the actor.
  Task<void> CreateInstance(const absl::Status* restart_reason) {
    absl::Status failure;
    try {
      instance_ = factory_();
      instance_->cell_ = this;
      if constexpr (requires(A & a, absl::Status s) { a.OnRestart(s); }) {
        if (restart_reason != nullptr) {
          co_await CallHook(
              [&] { return instance_->OnRestart(*restart_reason); });
        }
      }
      if constexpr (requires(A & a) { a.OnStart(); }) {
        co_await CallHook([&] { return instance_->OnStart(); });
      }
    } catch (const std::exception& e) {
      failure = internal::HandlerFailedError(absl::StrCat("start: ", e.what()));
    }
    if (!failure.ok()) {
      Fail(std::move(failure));
    } else if (state() != ActorState::kStopping) {
      set_state(ActorState::kRunning);
    }
  }

  Task<void> DestroyInstance() {
    if (!instance_) co_return;
    if constexpr (requires(A & a) { a.OnStop(); }) {
      try {
        co_await CallHook([&] { return instance_->OnStop(); });
      } catch (const std::exception&) {
        // A failing OnStop cannot stop the stop.
      }
    }
    instance_.reset();
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
    while (ch_->TryPop().has_value()) {
    }
  }

  void CancelAllTimers() {
    for (auto& [id, handle] : timers_) handle.Abort();
    timers_.clear();
  }

  // ---- reentrant mode ----
  struct NotReentrant {};
  struct ReentrantState {
    StrandRef strand = Strand::Make();    // the runner and every turn
    std::vector<JoinHandle<void>> turns;  // in flight (pruned as they end)
    bool turn_begun = true;               // the last turn started has begun
    TaskRef runner;                       // parked in TurnBegun
  };

  // Spawns a turn for `mail` on the strand.
  void StartTurn(Mail mail) {
    if constexpr (kReentrant) {
      std::erase_if(reentrant_.turns,
                    [](const JoinHandle<void>& t) { return t.IsFinished(); });
      reentrant_.turn_begun = false;
      reentrant_.turns.push_back(JoinHandle<void>(
          internal::SpawnOn(*Scheduler::Current(),
                            Turn(shared_from_this_typed(), std::move(mail)),
                            /*with_handle=*/true, reentrant_.strand.get())));
    }
  }

  // One async message of a reentrant actor. It holds the cell (and so the
  // strand) alive until it ends.
  static Task<void> Turn(std::shared_ptr<ActorCell> self, Mail mail) {
    if constexpr (kReentrant) {
      ReentrantState& r = self->reentrant_;
      r.turn_begun = true;
      // The runner can only run once this turn suspends or ends: they
      // share the strand.
      r.runner.Wake();
      if (!self->instance_) co_return;  // dropped: the asker hears "stopped"
      if (std::optional<Task<void>> pending = self->Dispatch(mail)) {
        co_await self->FinishAsync(std::move(*pending), mail.type_name());
      }
    }
  }

  // Parks the runner until the turn it started has begun. Both are strand
  // members, so turn_begun and runner need no atomics: the strand orders
  // the runner's run before the turn's and the turn's before the next.
  class TurnBegun final : public ParkedAwaiter {
   public:
    explicit TurnBegun(ActorCell* cell) : cell_(cell) {}
    TurnBegun(const TurnBegun&) = delete;
    TurnBegun& operator=(const TurnBegun&) = delete;
    ~TurnBegun() {
      if constexpr (kReentrant) cell_->reentrant_.runner.Reset();
    }
    bool await_ready() { return cell_->reentrant_.turn_begun; }
    bool await_suspend(std::coroutine_handle<> handle) {
      if constexpr (kReentrant) {
        TaskHeader* self = CurrentTask();
        self->SetResumePoint(handle, this);
        cell_->reentrant_.runner = TaskRef::Clone(self);
      }
      return true;
    }
    bool Ready() override { return cell_->reentrant_.turn_begun; }
    void await_resume() {}

   private:
    ActorCell* const cell_;
  };

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
    co_await StopChildren(stop_reason_);
    co_await DestroyInstance();
    ch_->Close();
    DropMailbox();
    FinishTermination(stop_reason_);
  }

  // The rest of Terminate() for a runner that was destroyed before it got
  // there (see "Abort" at the top of the file). Called by RunnerGuard.
  // safety: the runner's frame - every handler, hook and awaiter it held -
  // has just been destroyed and it will never run again, so this thread
  // has the runner's exclusive access to the instance, the timers and the
  // receiving end of the mailbox.
  void TearDownAborted() {
    AbortTurns();
    CancelAllTimers();
    ch_->Close();
    DropMailbox();
    instance_.reset();
    const absl::Status reason = internal::ActorStoppedError(
        absl::StrCat(name(), " was aborted before it finished"));
    for (const std::shared_ptr<CellBase>& child : Children()) {
      child->RequestStop(reason);
    }
    FinishTermination(reason);
  }

  Factory factory_;
  Sender<Mail> tx_;
  Receiver<Mail> rx_;
  internal::MpscChannel<Mail>* ch_ = nullptr;
  std::unique_ptr<A> instance_;
  JoinHandle<void> runner_;
  std::vector<std::pair<TimerId, JoinHandle<void>>> timers_;
  TimerId next_timer_ = 0;
  uint64_t timer_epoch_ = 0;  // runner only
  absl::Status stop_reason_;
  uint64_t sample_counter_ = 0;
  bool sampling_ = false;
  Instant sample_start_;
  bool self_stop_ = false;
  [[no_unique_address]] std::conditional_t<kReentrant, ReentrantState,
                                           NotReentrant>
      reentrant_;
};

}  // namespace troupe

#endif  // TROUPE_ACTORS_ACTOR_CELL_H_

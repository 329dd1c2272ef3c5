// ActorRef<A>: a typed, strong reference to an actor. WeakActorRef<A>: one
// that does not keep the actor alive (it keeps only the cell's memory,
// one allocation of a few hundred bytes, until it is dropped).
//
// Contract:
//   - Send/TrySend/Ask (and the blocking variants) accept only message
//     types A handles: they are constrained on MessageFor<A> (that is,
//     Handles<A, M>), so anything else fails to compile ("no matching
//     function ... constraints not satisfied ... MessageFor<M, A> [with M
//     = ...; A = ...] ... the required expression 'a.Handle(...)' is
//     invalid"), and generic code can ask with a requires-expression
//     whether a ref takes M.
//   - co_await ref.Send(m) waits for mailbox space (back-pressure) and
//     returns OK, or FailedPrecondition ("mailbox closed") if the actor no
//     longer accepts messages. ref.TrySend(m) never waits:
//     ResourceExhausted (full) or FailedPrecondition (closed).
//   - co_await ref.Ask(m) -> absl::StatusOr<R> (absl::Status for a void
//     handler, or one that returns absl::Status). Errors, by code (see
//     IsActorStopped & co. below):
//       FailedPrecondition  mailbox closed (the ask was never queued)
//       Aborted             actor stopped before answering
//       DeadlineExceeded    Ask(m, timeout) timed out
//       Internal            the handler failed (threw, or returned a
//                           non-OK absl::Status, whose text it carries)
//   - ref.RunOnActor(fn): runs fn(A&) in the actor's own turn (as a
//     message), returns what fn returns, like an ask.
//   - BlockingSend / BlockingAsk for plain threads outside the runtime.
//   - ref.Stop() asks the actor to stop, as if it had called Stop() itself
//     (it handles what is queued, then stops); it travels on the control
//     lane, so a full mailbox cannot hold it up.
//   - A ref is one pointer; copies are cheap (two reference counts: the
//     cell's and the mailbox's senders); refs compare and hash by actor
//     identity.
//   - Ask() returns an awaiter (AskAwaiter), lazy like a Task and without
//     a coroutine frame of its own: co_await it while the ref lives (as
//     `co_await ref.Ask(m)` does), or make it a task - ToTask(), a
//     conversion to Task<R>, or Spawn/BlockOn/Timeout, which accept it -
//     when it must outlive the ref.
//   - Direct asks: an awaited ask (`co_await ref.Ask(m)`, RunOnActor) to
//     an idle actor - parked on an empty mailbox - whose handler for m is
//     synchronous runs that handler on the asking task's thread at once,
//     with the actor's runner held off meanwhile (ActorCell::TryAskDirect):
//     same answer, same errors, same exclusive state, no task switch.
//     Differences: the handler runs on the asker's task (CurrentTask() is
//     the asker's); a Timeout around code that awaits the ask cannot cut
//     the handler short (Ask(m, timeout) always goes through the mailbox,
//     so its timeout bounds the handler); the message never counts in
//     MailboxDepth(); and the ask takes no mailbox room, so it does not
//     queue behind other senders waiting for room (each sender's own
//     order is kept). ActorSystemOptions::direct_asks turns it off.
//   - Lifetime: a strong reference keeps the actor's mailbox open; an
//     actor whose references are all gone stops once its mailbox is
//     drained. An ask made a task keeps the actor's cell, not a
//     reference: it may outlive the ref it came from, but if every ref is
//     dropped while an ask waits for mailbox room, the actor may drain and
//     stop first - the ask then fails "mailbox closed" (one already
//     queued is answered). No ask ever hangs.
#ifndef TROUPE_ACTORS_ACTOR_REF_H_
#define TROUPE_ACTORS_ACTOR_REF_H_

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "actors/actor_cell.h"
#include "actors/envelope.h"
#include "actors/type_name.h"
#include "channels/mpsc.h"
#include "channels/reply.h"
#include "executor/coop.h"
#include "executor/runtime.h"
#include "executor/sleep.h"

namespace troupe {

bool IsMailboxClosed(const absl::Status& s);
bool IsActorStopped(const absl::Status& s);
bool IsHandlerFailed(const absl::Status& s);
absl::Status MailboxClosedError(const std::string& actor);

namespace internal {
// Tag: the ActorRef takes over a sender already counted on the mailbox
// (ActorCell::MintSender, or the spawn's first one).
struct AdoptSender {};
}  // namespace internal

template <typename A>
class ActorRef {
 public:
  using Mail = internal::Envelope<A>;
  // ActorCell<A>::Mailbox, named without instantiating the cell (A may
  // still be incomplete where a ref to it is declared).
  using Mailbox = internal::MpscChannel<Mail, internal::MpscLayout::kEmbedded>;

  ActorRef() = default;
  // For the actor layer: adopts one counted sender of `cell`'s mailbox.
  ActorRef(CellPtr<ActorCell<A>> cell, internal::AdoptSender)
      : cell_(std::move(cell)) {}
  ActorRef(const ActorRef& other) : cell_(other.cell_) {
    if (cell_ != nullptr) cell_->mailbox()->AddSender();
  }
  ActorRef(ActorRef&& other) noexcept = default;
  ActorRef& operator=(ActorRef other) noexcept {
    std::swap(cell_, other.cell_);
    return *this;
  }
  // The last sender gone lets the actor finish (see "Lifetime"); the
  // cell is held until after that.
  ~ActorRef() {
    if (cell_ != nullptr) cell_->mailbox()->DropSender();
  }

  bool valid() const { return cell_ != nullptr; }
  explicit operator bool() const { return valid(); }
  ActorId id() const { return cell_ ? cell_->id() : 0; }
  const std::string& name() const { return cell_->name(); }
  const CellPtr<ActorCell<A>>& cell() const { return cell_; }
  std::size_t MailboxDepth() const { return cell_->MailboxDepth(); }

  friend bool operator==(const ActorRef& a, const ActorRef& b) {
    return a.id() == b.id();
  }
  template <typename H>
  friend H AbslHashValue(H h, const ActorRef& r) {
    return H::combine(std::move(h), r.id());
  }

  // co_await Send(m) -> absl::Status. The fast path builds the envelope
  // directly in the mailbox and never suspends; a full mailbox falls back
  // to a queued SendAwaiter (back-pressure, FIFO among waiting senders).
  // It refers to the ref it came from (co_await it while that lives); one
  // made from a temporary ref (kOwning) keeps the ref itself. Nothing of
  // the ref is read once it has suspended: a reentrant actor's other
  // turns may drop the ref meanwhile.
  template <typename M, bool kOwning = false>
  class TellAwaiter {
   public:
    TellAwaiter(const ActorRef* ref, M message) requires(!kOwning)
        : ref_(ref), message_(std::move(message)) {}
    TellAwaiter(ActorRef ref, M message) requires(kOwning)
        : ref_(std::move(ref)), message_(std::move(message)) {}
    TellAwaiter(const TellAwaiter&) = delete;
    TellAwaiter& operator=(const TellAwaiter&) = delete;

    bool await_ready() {
      const ActorRef& ref = Ref();
      if (!ref.valid()) {
        closed_ = true;
        return true;
      }
      const bool budget = ConsumeBudget();
      if (budget) {
        switch (ref.mailbox()->TryPushStaged(
            [this] { return Mail::Tell(std::move(message_)); },
            ref.StagePinOf())) {
          case Mailbox::PushResult::kPushed:
            return true;
          case Mailbox::PushResult::kClosed:
            closed_ = true;
            return true;
          case Mailbox::PushResult::kFull:
            break;
        }
      }
      id_ = ref.id();
      slow_.emplace(ref.mailbox(),
                    std::optional<Mail>(Mail::Tell(std::move(message_))),
                    /*reserve=*/false, std::nullopt);
      pin_ = ref.StagePinOf();
      slow_->WantGrant(&pin_);
      // Found full: straight to the wait queue (await_suspend), without a
      // second try that takes the lock again. Out of budget: the slow
      // awaiter yields first.
      return budget ? false : slow_->await_ready();
    }
    bool await_suspend(std::coroutine_handle<> h) {
      return slow_->await_suspend(h);
    }
    absl::Status await_resume() {
      if (slow_.has_value()) {
        if (!slow_->Delivered()) return MailboxClosedError(Label(id_));
        slow_->AdoptGrant();
        return absl::OkStatus();
      }
      if (!closed_) return absl::OkStatus();
      return MailboxClosedError(Ref().valid() ? Ref().name()
                                              : "(an empty ActorRef)");
    }

   private:
    const ActorRef& Ref() const {
      if constexpr (kOwning) {
        return ref_;
      } else {
        return *ref_;
      }
    }

    std::conditional_t<kOwning, const ActorRef, const ActorRef*> ref_;
    M message_;
    ActorId id_ = 0;  // for the slow path's error (the ref may be gone)
    // Pins the cell for room granted to the slow path (outlives slow_).
    internal::StagePin pin_;
    std::optional<SendAwaiter<Mail, Mailbox>> slow_;
    bool closed_ = false;
  };

  template <MessageFor<A> M>
  TellAwaiter<M> Send(M message) const& {
    static_assert(kAwaitSafeMessage<M>,
                  "ActorRef<A>::Send(M): M is an aggregate with non-trivial "
                  "members; g++ 12 destroys those twice inside co_await. "
                  "Give M a constructor (see envelope.h).");
    return TellAwaiter<M>(this, std::move(message));
  }
  // On a temporary ref (`Self().Send(m)`): the awaiter keeps the ref.
  template <MessageFor<A> M>
  TellAwaiter<M, true> Send(M message) && {
    static_assert(kAwaitSafeMessage<M>,
                  "ActorRef<A>::Send(M): M is an aggregate with non-trivial "
                  "members; g++ 12 destroys those twice inside co_await. "
                  "Give M a constructor (see envelope.h).");
    return TellAwaiter<M, true>(std::move(*this), std::move(message));
  }

  template <MessageFor<A> M>
  absl::Status TrySend(M message) const {
    if (!valid()) return MailboxClosedError("(an empty ActorRef)");
    SendResult<Mail> r =
        internal::TrySendOn<Mail>(mailbox(), Mail::Tell(std::move(message)));
    if (r.ok()) return absl::OkStatus();
    if (r.IsFull()) {
      return absl::ResourceExhaustedError("mailbox of " + name() + " is full");
    }
    return MailboxClosedError(name());
  }

  // For plain threads: waits (blocking the thread) for mailbox space.
  template <MessageFor<A> M>
  absl::Status BlockingSend(M message) const {
    if (!valid()) return MailboxClosedError("(an empty ActorRef)");
    SendResult<Mail> r = internal::BlockingSendOn<Mail>(
        mailbox(), Mail::Tell(std::move(message)));
    return r.ok() ? absl::OkStatus() : MailboxClosedError(name());
  }

  // co_await Ask(m) -> AskResult<R>. Like a Task it does nothing until
  // awaited; unlike one it needs no coroutine frame: the fast path builds
  // the envelope in the mailbox and parks the awaiting task on the reply
  // block directly. A full mailbox (or a spent cooperative budget) falls
  // back to the ask's coroutine (AskMail: waits for room, then for the
  // reply). An idle actor whose handler for M is synchronous is asked
  // directly instead: the handler runs on this task's thread, at once
  // (ActorCell::TryAskDirect; ActorSystemOptions::direct_asks). As a
  // task (ToTask, Ask with a timeout) an ask always goes through the
  // mailbox, so a timeout also bounds a slow synchronous handler. It refers to
  // this ref: co_await it within the ref's lifetime, or make it a task of its
  // own (ToTask(), or hand it to Spawn, BlockOn or Timeout, which do that),
  // which holds the actor's cell instead.
  template <typename M>
  class [[nodiscard]] AskAwaiter {
   public:
    using Result = AskResult<ReplyType<A, M>>;

    AskAwaiter(const ActorRef* ref, M message)
        : ref_(ref), message_(std::move(message)) {}
    // Only before it is awaited (a fresh awaiter holds just the message).
    AskAwaiter(AskAwaiter&& other) noexcept(
        std::is_nothrow_move_constructible_v<M>)
        : ref_(other.ref_), message_(std::move(other.message_)) {
      assert(!other.started_ && "moving an ask that is being awaited");
      other.started_ = true;  // spent: its message is gone
    }
    AskAwaiter& operator=(AskAwaiter&&) = delete;

    // The ask as a Task of its own, for code that keeps or spawns it.
    Task<Result> ToTask() && {
      assert(!started_ && "an awaited ask cannot become a task");
      return AskMail<M>(ref_->cell_, std::move(message_));
    }
    operator Task<Result>() && { return std::move(*this).ToTask(); }

    bool await_ready() {
      started_ = true;
      if (!ref_->valid()) {
        closed_ = true;
        return true;
      }
      Mailbox* mailbox = ref_->mailbox();
      if (ConsumeBudget()) {
        // An idle actor with a synchronous handler: answered right here.
        if (std::optional<Result> answer =
                ref_->cell_->TryAskDirect(message_)) {
          direct_.emplace(std::move(*answer));
          return true;
        }
        // Made outside the mailbox's lock; moved into the envelope there.
        auto reply = MakeReply<Result>();
        switch (mailbox->TryPushWith([&] {
          return Mail::template Ask<M, ReplyType<A, M>>(std::move(message_),
                                                        std::move(reply.first));
        })) {
          case Mailbox::PushResult::kPushed:
            id_ = ref_->id();
            reply_.emplace(std::move(reply.second));
            return reply_->await_ready();
          case Mailbox::PushResult::kClosed:
            closed_ = true;
            return true;
          case Mailbox::PushResult::kFull:
            break;  // the message is still ours (moved only on kPushed)
        }
      }
      slow_ = AskMail<M>(ref_->cell_, std::move(message_));
      return false;
    }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> handle) {
      if (slow_.valid()) {
        return std::move(slow_).operator co_await().await_suspend(handle);
      }
      // False: the reply came in meanwhile - resume at once.
      if (reply_->await_suspend(handle)) return std::noop_coroutine();
      return handle;
    }
    Result await_resume() {
      if (direct_.has_value()) return std::move(*direct_);
      if (closed_) {
        return MailboxClosedError(
            ref_->cell_ != nullptr ? ref_->name() : "(an empty ActorRef)");
      }
      if (slow_.valid())
        return std::move(slow_).operator co_await().await_resume();
      // Not ref_->name(): the ref may be gone by now (a reentrant
      // actor's other turns may drop it while this one waits).
      return reply_->ResumeOr(
          [this]() -> Result { return StoppedBeforeAnswering(Label(id_)); });
    }

   private:
    const ActorRef* const ref_;
    M message_;
    ActorId id_ = 0;  // for an error after the wait
    bool started_ = false;
    bool closed_ = false;
    // The fast path's wait for the reply; abandons it if destroyed first
    // (the awaiting task aborted, a Timeout around it).
    std::optional<typename ReplyReceiver<Result>::Awaiter> reply_;
    Task<Result> slow_;             // the slow path's coroutine, if taken
    std::optional<Result> direct_;  // a direct ask's answer
  };

  template <MessageFor<A> M>
  AskAwaiter<M> Ask(M message) const& {
    static_assert(kAwaitSafeMessage<M>,
                  "ActorRef<A>::Ask(M): M is an aggregate with non-trivial "
                  "members; g++ 12 destroys those twice inside co_await. "
                  "Give M a constructor (see envelope.h).");
    return AskAwaiter<M>(this, std::move(message));
  }
  // On a temporary ref (`Self().Ask(m)`, `weak.Lock().Ask(m)`): the ask
  // as a task, which holds the actor's cell - an awaiter would outlive
  // the ref it refers to.
  template <MessageFor<A> M>
  Task<AskResult<ReplyType<A, M>>> Ask(M message) && {
    return Ask(std::move(message)).ToTask();
  }

  template <MessageFor<A> M>
  Task<AskResult<ReplyType<A, M>>> Ask(M message, Duration timeout) const {
    return AskWithin<ReplyType<A, M>>(cell_, Ask(std::move(message)).ToTask(),
                                      timeout);
  }

  // Runs fn(A&) in the actor's turn; returns its result like an ask (an
  // AskAwaiter, with the same lifetime rule).
  template <typename F>
  AskAwaiter<RunClosure<F>> RunOnActor(F fn) const& {
    return AskAwaiter<RunClosure<F>>(this, RunClosure<F>{std::move(fn)});
  }
  // On a temporary ref: a task holding the cell (see Ask &&).
  template <typename F>
  Task<typename AskAwaiter<RunClosure<F>>::Result> RunOnActor(F fn) && {
    return RunOnActor(std::move(fn)).ToTask();
  }

  // Asks the actor to stop (see the contract above). Returns at once;
  // cell()->Terminated() completes once it has stopped.
  void Stop() const {
    if (cell_ != nullptr) cell_->RequestStop(absl::OkStatus());
  }

  // For plain threads: an ask that blocks the calling thread.
  template <MessageFor<A> M>
  AskResult<ReplyType<A, M>> BlockingAsk(Runtime& runtime, M message) const {
    return runtime.BlockOn(Ask(std::move(message)).ToTask());
  }

 private:
  // The ask's coroutine. Static, and given the cell when it is made (by
  // ToTask(), or by the awaiter's slow path): the ask may outlive the
  // reference it was made from, even before it first runs. The cell holds
  // the mailbox. (It holds no sender: that would count one more reference
  // per ask; see "Lifetime" above.)
  template <typename M>
  static Task<AskResult<ReplyType<A, M>>> AskMail(CellPtr<ActorCell<A>> cell,
                                                  M message) {
    using R = ReplyType<A, M>;
    auto reply_pair = MakeReply<AskResult<R>>();
    ReplySender<AskResult<R>> reply_tx = std::move(reply_pair.first);
    ReplyReceiver<AskResult<R>> reply_rx = std::move(reply_pair.second);
    if (cell == nullptr) {
      co_return MailboxClosedError("(an empty ActorRef)");
    }
    Mailbox* mailbox = cell->mailbox();
    bool queued = false;
    if (ConsumeBudget()) {
      // The fast path, as for Send: the envelope is built in the mailbox.
      switch (mailbox->TryPushWith([&] {
        return Mail::template Ask<M, R>(std::move(message),
                                        std::move(reply_tx));
      })) {
        case Mailbox::PushResult::kPushed:
          queued = true;
          break;
        case Mailbox::PushResult::kClosed:
          co_return MailboxClosedError(cell->name());
        case Mailbox::PushResult::kFull:
          break;
      }
    }
    if (!queued) {
      SendAwaiter<Mail, Mailbox> send(
          mailbox,
          std::optional<Mail>(Mail::template Ask<M, R>(std::move(message),
                                                       std::move(reply_tx))),
          /*reserve=*/false, std::nullopt);
      co_await send;
      if (!send.Delivered()) co_return MailboxClosedError(cell->name());
    }
    absl::StatusOr<AskResult<R>> reply = co_await std::move(reply_rx);
    if (!reply.ok()) co_return StoppedBeforeAnswering(cell->name());
    co_return std::move(*reply);
  }

  // Keeps the cell (and so its mailbox) alive while a send stage holds
  // values for it (see channels/send_stage.h).
  internal::StagePin StagePinOf() const {
    return {cell_.get(),
            [](void* c) { static_cast<ActorCell<A>*>(c)->AddCellRef(); },
            [](void* c) { static_cast<ActorCell<A>*>(c)->DropCellRef(); }};
  }

  // "Type#id": names an actor without its cell (which may be gone).
  static std::string Label(ActorId id) {
    return absl::StrCat(TypeName<A>(), "#", id);
  }
  static absl::Status StoppedBeforeAnswering(const std::string& name) {
    return internal::ActorStoppedError("the actor " + name +
                                       " stopped before answering");
  }

  template <typename R>
  static Task<AskResult<R>> AskWithin(CellPtr<ActorCell<A>> cell,
                                      Task<AskResult<R>> ask,
                                      Duration timeout) {
    auto timed = co_await Timeout(timeout, std::move(ask));
    if (!timed.ok()) {
      co_return absl::DeadlineExceededError("ask to " + cell->name() +
                                            " timed out");
    }
    co_return std::move(*timed);
  }

  Mailbox* mailbox() const { return cell_->mailbox(); }

  CellPtr<ActorCell<A>> cell_;
};

template <typename A>
class WeakActorRef {
 public:
  WeakActorRef() = default;
  explicit WeakActorRef(const ActorRef<A>& ref) : cell_(ref.cell()) {}
  ActorId id() const { return cell_ ? cell_->id() : 0; }
  // A strong reference, if the actor can still receive messages: empty
  // once it is gone, stopped or stopping (its mailbox closed), even while
  // other strong references keep its cell alive.
  ActorRef<A> Lock() const {
    if (!cell_ || !cell_->MintLiveSender()) return ActorRef<A>();
    return ActorRef<A>(cell_, internal::AdoptSender{});
  }

 private:
  CellPtr<ActorCell<A>> cell_;  // the memory, not a sender
};

}  // namespace troupe

template <typename A>
struct std::hash<troupe::ActorRef<A>> {
  std::size_t operator()(const troupe::ActorRef<A>& r) const noexcept {
    return std::hash<troupe::ActorId>()(r.id());
  }
};

#endif  // TROUPE_ACTORS_ACTOR_REF_H_

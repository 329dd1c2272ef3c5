// Envelope<A>: one message for an actor of type A, type-erased so that a
// single mailbox channel carries every message type A handles.
//
// Small messages (up to kInlineBytes) live inside the envelope - inside the
// mailbox's block storage - so a tell allocates nothing; larger ones are
// boxed on the heap. An envelope knows how to run its handler on an A
// (Dispatch), what its message type is called (for diagnostics) and how to
// answer an ask: the reply slot travels inside the envelope, and an
// envelope destroyed without being handled (actor stopped, mailbox
// drained at shutdown) makes the asker see "actor stopped", never a hang.
//
// Handlers may be plain functions or coroutines: Dispatch returns either
// "done" or a Task<void> for the actor to await, so synchronous handlers
// never pay for a coroutine frame.
#ifndef TROUPE_ACTORS_ENVELOPE_H_
#define TROUPE_ACTORS_ENVELOPE_H_

#include <cstddef>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/type_name.h"
#include "channels/reply.h"
#include "executor/task.h"

namespace troupe {

template <typename T>
struct IsTask : std::false_type {};
template <typename T>
struct IsTask<Task<T>> : std::true_type {};

// A closure queued into an actor's own turn (ActorRef::RunOnActor).
template <typename F>
struct RunClosure {
  F fn;
};
template <typename T>
struct IsRunClosure : std::false_type {};
template <typename F>
struct IsRunClosure<RunClosure<F>> : std::true_type {};

// A closure for RunOnActor, or a message for A::Handle.
template <typename M>
concept ClosureMessage = IsRunClosure<std::decay_t<M>>::value;
template <typename M>
concept HandlerMessage = !ClosureMessage<M>;

// Calls the handler for `m`: A::Handle(m), or the closure with the actor.
// The Handle overload spells its return type out (rather than deducing
// it from its body), so that HandlerResult/ReplyType of a message A does
// not handle are a substitution failure, not a hard error: ActorRef's
// constraints can then reject it quietly.
template <typename A, ClosureMessage M>
decltype(auto) InvokeHandler(A& actor, M&& m) {
  return m.fn(actor);
}
template <typename A, HandlerMessage M>
auto InvokeHandler(A& actor, M&& m)
    -> decltype(actor.Handle(std::forward<M>(m))) {
  return actor.Handle(std::forward<M>(m));
}

// The value a handler produces for an ask: R for `R Handle(M)` and for
// `Task<R> Handle(M)`.
template <typename A, typename M>
using HandlerResult =
    decltype(InvokeHandler(std::declval<A&>(), std::declval<M>()));

template <typename R>
struct UnwrapTask {
  using type = R;
};
template <typename R>
struct UnwrapTask<Task<R>> {
  using type = R;
};

template <typename A, typename M>
using ReplyType = typename UnwrapTask<HandlerResult<A, M>>::type;

// A handler may report failure by returning absl::Status (plainly or as
// Task<absl::Status>) rather than by throwing: a non-OK status fails the
// actor exactly as a throw would (its supervisor decides), and an ask of
// it completes with HandlerFailed carrying the status. An OK status is
// the whole reply, so such an ask returns a plain absl::Status.
template <typename R>
inline constexpr bool kIsStatusReply =
    std::is_same_v<std::remove_cvref_t<R>, absl::Status>;

// What an ask returns: StatusOr<R>, or Status for a void or Status
// handler.
template <typename R>
using AskResult = std::conditional_t<std::is_void_v<R> || kIsStatusReply<R>,
                                     absl::Status, absl::StatusOr<R>>;

// g++ 12 destroys the members of an aggregate temporary twice when the
// temporary is created inside a co_await expression (`co_await
// ref.Send(Msg{name})` with a std::string member corrupts the heap; see
// tests/actors/gcc_aggregate_bug_test.cc). Messages sent through the
// awaitable APIs must therefore not be aggregates with non-trivial members
// there: give such a message a constructor (then `Msg{name}` is a
// constructor call, which g++ handles correctly).
template <typename M>
inline constexpr bool kAwaitSafeMessage =
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ <= 12
    !(std::is_aggregate_v<M> && !std::is_trivially_destructible_v<M>);
#else
    true;
#endif

// A has a handler for M: `A::Handle(M)` is callable. ActorRef<A>'s
// Send/TrySend/Ask are constrained on it.
template <typename A, typename M>
concept Handles = requires(A& a, M m) {
  a.Handle(std::move(m));
};
// The same, message first, to constrain a template parameter:
// `template <MessageFor<A> M>`.
template <typename M, typename A>
concept MessageFor = Handles<A, M>;

namespace internal {

absl::Status ActorStoppedError(const std::string& detail);
absl::Status HandlerFailedError(const std::string& what);

// A handler's non-OK absl::Status, thrown so that it fails the actor by
// the same path as any exception a handler throws.
class HandlerStatusError : public std::runtime_error {
 public:
  explicit HandlerStatusError(const absl::Status& status)
      : std::runtime_error(status.ToString()) {}
};
inline void FailUnlessOk(const absl::Status& status) {
  if (!status.ok()) throw HandlerStatusError(status);
}

// Runs a synchronous handler for an ask and returns its answer: the
// value, OK for a void or Status handler, or - if it threw or returned a
// non-OK Status - HandlerFailed, with the exception left in `thrown` for
// the caller to fail the actor with once the answer is out.
template <typename R, typename A, typename M>
AskResult<R> AnswerOf(A& actor, M&& m, std::exception_ptr& thrown) {
  try {
    if constexpr (std::is_void_v<R>) {
      InvokeHandler(actor, std::forward<M>(m));
      return absl::OkStatus();
    } else if constexpr (kIsStatusReply<R>) {
      FailUnlessOk(InvokeHandler(actor, std::forward<M>(m)));
      return absl::OkStatus();
    } else {
      return AskResult<R>(InvokeHandler(actor, std::forward<M>(m)));
    }
  } catch (const std::exception& e) {
    thrown = std::current_exception();
    return AskResult<R>(HandlerFailedError(e.what()));
  } catch (...) {
    thrown = std::current_exception();
    return AskResult<R>(HandlerFailedError("unknown exception"));
  }
}

template <typename A>
class Envelope {
 public:
  static constexpr std::size_t kInlineBytes = 48;

  // Outcome of Dispatch: completed, or a coroutine to await.
  struct Dispatched {
    std::optional<Task<void>> pending;
  };

  Envelope() = default;
  Envelope(Envelope&& other) noexcept { MoveFrom(other); }
  Envelope& operator=(Envelope&& other) noexcept {
    if (this != &other) {
      Reset();
      MoveFrom(other);
    }
    return *this;
  }
  Envelope(const Envelope&) = delete;
  Envelope& operator=(const Envelope&) = delete;
  ~Envelope() { Reset(); }

  template <typename M>
  static Envelope Tell(M message) {
    Envelope e;
    e.Emplace<TellPayload<M>>(std::move(message));
    return e;
  }

  template <typename M, typename R>
  static Envelope Ask(M message, ReplySender<AskResult<R>> reply) {
    Envelope e;
    e.Emplace<AskPayload<M, R>>(std::move(message), std::move(reply));
    return e;
  }

  explicit operator bool() const { return ops_ != nullptr; }
  const char* type_name() const {
    return ops_ != nullptr ? ops_->type_name : "";
  }
  // True if the message's handler is a coroutine (returns Task<R>).
  bool is_async() const { return ops_ != nullptr && ops_->async; }

  // Runs the handler on `actor`. A handler exception is reported to the
  // asker (if any) and rethrown, so the actor fails.
  Dispatched Dispatch(A& actor) { return ops_->dispatch(Storage(), actor); }

 private:
  struct Ops {
    Dispatched (*dispatch)(void* payload, A& actor);
    void (*move)(void* from, void* to);
    void (*destroy)(void* payload);
    const char* type_name;
    bool boxed;
    bool async;  // the handler returns a Task
  };

  // A told message: just the message (trivially movable when M is, so a
  // tell of a plain struct moves as a memcpy).
  template <typename M>
  struct TellPayload {
    explicit TellPayload(M m) : message(std::move(m)) {}
    M message;
  };

  // An asked message and its reply slot.
  template <typename M, typename R>
  struct AskPayload {
    AskPayload(M m, ReplySender<AskResult<R>> r)
        : message(std::move(m)), reply(std::move(r)) {}
    AskPayload(AskPayload&& other) noexcept
        : message(std::move(other.message)),
          reply(std::move(other.reply)),
          pending_reply(std::exchange(other.pending_reply, false)) {}
    ~AskPayload() {
      // Never handled (the actor stopped first): say so rather than let
      // the asker wait forever.
      if (pending_reply) {
        reply.Send(AskResult<R>(ActorStoppedError(
            std::string("the actor stopped before handling ") +
            TypeName<M>())));
      }
    }

    M message;
    ReplySender<AskResult<R>> reply;
    bool pending_reply = true;

    void Answer(AskResult<R> result) {
      if (!pending_reply) return;  // answered already (a throwing reply)
      pending_reply = false;
      reply.Send(std::move(result));
    }
  };

  template <typename P>
  struct PayloadTraits;
  template <typename M>
  struct PayloadTraits<TellPayload<M>> {
    using Message = M;
    using Reply = void;
    static constexpr bool kAsk = false;
  };
  template <typename M, typename R>
  struct PayloadTraits<AskPayload<M, R>> {
    using Message = M;
    using Reply = R;
    static constexpr bool kAsk = true;
  };

  template <typename P>
  static constexpr bool kFitsInline = sizeof(P) <= kInlineBytes &&
                                      alignof(P) <= alignof(std::max_align_t) &&
                                      std::is_nothrow_move_constructible_v<P>;

  template <typename P, typename... Args>
  void Emplace(Args&&... args) {
    if constexpr (kFitsInline<P>) {
      new (inline_) P(std::forward<Args>(args)...);
    } else {
      boxed_ = new P(std::forward<Args>(args)...);
    }
    ops_ = &kOps<P>;
  }

  template <typename P>
  static P* Get(void* storage) {
    return static_cast<P*>(storage);
  }

  template <typename M, typename R, bool kAsk>
  static Dispatched DispatchPayload(void* storage, A& actor) {
    using P = std::conditional_t<kAsk, AskPayload<M, R>, TellPayload<M>>;
    P* p = Get<P>(storage);
    using H = HandlerResult<A, M>;
    if constexpr (!kAsk && std::is_same_v<H, Task<void>>) {
      // A told message to a Task<void> handler: the handler's own task is
      // the turn (no wrapper frame); its exception fails the actor the
      // same way.
      return Dispatched{InvokeHandler(actor, std::move(p->message))};
    } else if constexpr (IsTask<H>::value) {
      return Dispatched{AwaitHandler<P, R, kAsk>(
          p, InvokeHandler(actor, std::move(p->message)))};
    } else {
      if constexpr (kAsk) {
        std::exception_ptr thrown;
        p->Answer(AnswerOf<R>(actor, std::move(p->message), thrown));
        if (thrown) std::rethrow_exception(std::move(thrown));
      } else if constexpr (kIsStatusReply<H>) {
        FailUnlessOk(InvokeHandler(actor, std::move(p->message)));
      } else {
        (void)InvokeHandler(actor, std::move(p->message));
      }
      return Dispatched{};
    }
  }

  // Awaits an async handler and answers the ask. The payload outlives the
  // await: the actor keeps the envelope until the returned task is done.
  template <typename P, typename R, bool kAsk, typename H>
  static Task<void> AwaitHandler(P* p, H handler) {
    if constexpr (kAsk) {
      try {
        if constexpr (std::is_void_v<R>) {
          co_await std::move(handler);
          p->Answer(absl::OkStatus());
        } else if constexpr (kIsStatusReply<R>) {
          absl::Status status = co_await std::move(handler);
          FailUnlessOk(status);
          p->Answer(absl::OkStatus());
        } else {
          // Not inside one expression: GCC 12 mishandles temporaries in a
          // full-expression that contains co_await.
          R value = co_await std::move(handler);
          p->Answer(AskResult<R>(std::move(value)));
        }
      } catch (const std::exception& e) {
        p->Answer(AskResult<R>(HandlerFailedError(e.what())));
        throw;
      } catch (...) {
        p->Answer(AskResult<R>(HandlerFailedError("unknown exception")));
        throw;
      }
    } else if constexpr (kIsStatusReply<typename UnwrapTask<H>::type>) {
      absl::Status status = co_await std::move(handler);
      FailUnlessOk(status);
    } else {
      (void)co_await std::move(handler);
    }
  }

  template <typename P, typename M, typename R, bool kAsk>
  static constexpr Ops MakeOpsFor() {
    constexpr bool kTrivial = kFitsInline<P> &&
                              std::is_trivially_copyable_v<P> &&
                              std::is_trivially_destructible_v<P>;
    return Ops{
        &DispatchPayload<M, R, kAsk>,
        // Null: a plain memcpy of the inline bytes moves it.
        kTrivial ? nullptr
                 : +[](void* from, void* to) {
                     new (to) P(std::move(*Get<P>(from)));
                     Get<P>(from)->~P();
                   },
        // Null: nothing to destroy.
        kTrivial ? nullptr
                 : +[](void* storage) {
                     if constexpr (kFitsInline<P>) {
                       Get<P>(storage)->~P();
                     } else {
                       delete Get<P>(storage);
                     }
                   },
        TypeName<M>(),
        !kFitsInline<P>,
        IsTask<HandlerResult<A, M>>::value,
    };
  }
  template <typename P>
  static constexpr Ops kOps =
      MakeOpsFor<P, typename PayloadTraits<P>::Message,
                 typename PayloadTraits<P>::Reply, PayloadTraits<P>::kAsk>();

  void* Storage() { return ops_->boxed ? boxed_ : static_cast<void*>(inline_); }

  void MoveFrom(Envelope& other) {
    ops_ = std::exchange(other.ops_, nullptr);
    if (ops_ == nullptr) return;
    if (ops_->boxed) {
      boxed_ = std::exchange(other.boxed_, nullptr);
    } else if (ops_->move == nullptr) {
      std::memcpy(inline_, other.inline_, kInlineBytes);
    } else {
      ops_->move(other.inline_, inline_);
    }
  }
  void Reset() {
    if (ops_ == nullptr) return;
    if (ops_->destroy != nullptr) ops_->destroy(Storage());
    ops_ = nullptr;
  }

  const Ops* ops_ = nullptr;
  union {
    alignas(std::max_align_t) unsigned char inline_[kInlineBytes];
    void* boxed_;
  };
};

}  // namespace internal
}  // namespace troupe

#endif  // TROUPE_ACTORS_ENVELOPE_H_

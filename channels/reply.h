// Reply: a single-use slot for the answer to one request - an actor's ask.
// A cheaper Oneshot for the one pattern where the receiver awaits exactly
// once: no reference count, each side gives the state up exactly once.
//
// Contract:
//   - MakeReply<T>() returns a move-only ReplySender<T> and ReplyReceiver<T>
//     sharing one small block (from the frame allocator: no malloc in
//     steady state).
//   - sender.Send(v) delivers v and never waits; a value sent after the
//     receiver left is destroyed. A sender dropped without sending
//     completes the reply as dropped.
//   - co_await receiver -> the value, or FailedPrecondition if the sender
//     was dropped without sending. A receiver is awaited at most once
//     (it is spent afterwards). An abandoned await (the awaiting task
//     destroyed, a Timeout around it) is safe: the late value is destroyed
//     by the sender.
//
// State machine (one atomic word; the block's owner changes hands once):
//   kEmpty      nobody waits yet, nothing sent.
//   kWaiting    the receiver's task is registered in waiter_, holding a
//               task reference that the sender consumes by waking it.
//   kDone       the outcome is in the block; the sender is finished with
//               it and the receiver owns (and frees) the block.
//   kAbandoned  the receiver left first; the sender owns (and frees) it.
// The sender writes the slot and then CASes kDone in (release: the
// receiver's acquire load of kDone sees the slot); the receiver writes
// waiter_ and then CASes kEmpty -> kWaiting (release: the sender's
// acquire that reads kWaiting sees waiter_). Neither side touches the
// block after the write that may hand it over (the sender reads waiter_
// before its CAS, the receiver before abandoning). Each side learns from
// the value it replaced whether the other is still there - so one atomic
// read-modify-write per side (plus the waiter's reference count), against
// Oneshot's four.
//
// Example:
//   auto [tx, rx] = MakeReply<int>();
//   Spawn(Compute(std::move(tx)));     // calls tx.Send(42)
//   absl::StatusOr<int> v = co_await std::move(rx);
#ifndef TROUPE_CHANNELS_REPLY_H_
#define TROUPE_CHANNELS_REPLY_H_

#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/frame_allocator.h"
#include "executor/task_header.h"

namespace troupe {

namespace internal {

template <typename T>
class ReplyState {
 public:
  static constexpr uint32_t kEmpty = 0;
  static constexpr uint32_t kWaiting = 1;
  static constexpr uint32_t kDone = 2;
  static constexpr uint32_t kAbandoned = 3;

  static ReplyState* Create() {
    // The frame allocator aligns blocks for any fundamental type.
    static_assert(alignof(ReplyState) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    return new (AllocateFrame(sizeof(ReplyState))) ReplyState();
  }

  // ---- sender (once) ----
  // Sends `value`, or completes as dropped if it is null.
  void Complete(T* value) {
    uint32_t s = state_.load(std::memory_order_acquire);
    if (s == kAbandoned) {
      Free();  // the receiver left: ours to free, the value stays unsent
      return;
    }
    if (value != nullptr) {
      if constexpr (std::is_nothrow_move_constructible_v<T>) {
        new (&slot_) T(std::move(*value));
        has_value_ = true;
      } else {
        try {
          new (&slot_) T(std::move(*value));
          has_value_ = true;
        } catch (...) {
          Complete(nullptr);  // the receiver hears "dropped", not nothing
          throw;
        }
      }
    }
    for (;;) {
      // waiter_ is read before kDone goes in: from then on the receiver
      // may free the block. (Reading it is safe once kWaiting was seen
      // with acquire: the receiver wrote it before its release CAS, and
      // never writes it again.)
      TaskHeader* const waiter = s == kWaiting ? waiter_ : nullptr;
      // acq_rel: the release publishes the slot to the receiver.
      if (state_.compare_exchange_weak(s, kDone, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        // Consumes the registration's reference.
        if (waiter != nullptr) TaskRef::Adopt(waiter).Wake();
        return;
      }
      if (s == kAbandoned) {
        // The receiver left while we wrote: the block is ours after all.
        DestroyValue();
        Free();
        return;
      }
    }
  }

  // ---- receiver (once) ----
  bool Done() const { return state_.load(std::memory_order_acquire) == kDone; }

  // Registers `task` (taking a reference). False if the outcome is already
  // there (do not suspend).
  bool Register(TaskHeader* task) {
    task->RefInc();
    waiter_ = task;
    uint32_t expected = kEmpty;
    // acq_rel: the release publishes waiter_; on failure the acquire sees
    // the slot (expected is then kDone).
    if (state_.compare_exchange_strong(expected, kWaiting,
                                       std::memory_order_acq_rel)) {
      return true;
    }
    assert(expected == kDone && "a reply is awaited at most once");
    task->RefDec();
    return false;
  }

  // Once Done(): the outcome. Frees the block.
  absl::StatusOr<T> TakeAndFree() {
    // The block goes however the move ends (a throwing move included).
    absl::Cleanup free = [this] {
      DestroyValue();
      Free();
    };
    return has_value_ ? absl::StatusOr<T>(std::move(*Slot()))
                      : absl::StatusOr<T>(absl::FailedPreconditionError(
                            "reply: the sender was dropped without replying"));
  }

  // Once Done(): the value, or `dropped()` if the sender was dropped
  // without sending. Frees the block. (TakeAndFree without wrapping the
  // value in a StatusOr: for T that carries its own errors.)
  template <typename Dropped>
  T TakeOrFree(Dropped&& dropped) {
    if (!has_value_) {
      Free();
      return std::forward<Dropped>(dropped)();
    }
    // The block goes however the move ends (a throwing move included).
    absl::Cleanup free = [this] {
      DestroyValue();
      Free();
    };
    return T(std::move(*Slot()));
  }

  // The receiver leaves without the outcome (or with it unread). Whoever
  // is last frees the block.
  void Abandon() {
    // Read before the exchange below: once kAbandoned is in, the sender
    // may free the block at any moment.
    TaskHeader* const registered = waiter_;
    uint32_t s = state_.load(std::memory_order_acquire);
    while (s != kDone) {
      if (state_.compare_exchange_weak(s, kAbandoned,
                                       std::memory_order_acq_rel)) {
        // The sender has not finished: it will free the block. A
        // registration it never consumed is ours to drop.
        if (s == kWaiting) registered->RefDec();
        return;
      }
    }
    DestroyValue();
    Free();
  }

 private:
  ReplyState() = default;
  T* Slot() { return std::launder(reinterpret_cast<T*>(&slot_)); }
  void DestroyValue() {
    if (has_value_) Slot()->~T();
    has_value_ = false;
  }
  void Free() {
    this->~ReplyState();
    FreeFrame(this, sizeof(ReplyState));
  }

  std::atomic<uint32_t> state_{kEmpty};
  bool has_value_ = false;  // written by the sender before kDone
  TaskHeader* waiter_ = nullptr;
  alignas(T) unsigned char slot_[sizeof(T)];
};

}  // namespace internal

template <typename T>
class ReplySender {
 public:
  ReplySender() = default;
  explicit ReplySender(internal::ReplyState<T>* state) : state_(state) {}
  ReplySender(ReplySender&& o) noexcept
      : state_(std::exchange(o.state_, nullptr)) {}
  ReplySender& operator=(ReplySender&& o) noexcept {
    if (this != &o) {
      Reset();
      state_ = std::exchange(o.state_, nullptr);
    }
    return *this;
  }
  ~ReplySender() { Reset(); }

  // Delivers `value` (destroyed if the receiver is gone). Spent afterwards.
  void Send(T value) {
    assert(state_ != nullptr && "Send on a spent ReplySender");
    std::exchange(state_, nullptr)->Complete(&value);
  }

 private:
  void Reset() {
    if (state_ != nullptr) std::exchange(state_, nullptr)->Complete(nullptr);
  }
  internal::ReplyState<T>* state_ = nullptr;
};

template <typename T>
class ReplyReceiver {
 public:
  ReplyReceiver() = default;
  explicit ReplyReceiver(internal::ReplyState<T>* state) : state_(state) {}
  ReplyReceiver(ReplyReceiver&& o) noexcept
      : state_(std::exchange(o.state_, nullptr)) {}
  ReplyReceiver& operator=(ReplyReceiver&& o) noexcept {
    if (this != &o) {
      Reset();
      state_ = std::exchange(o.state_, nullptr);
    }
    return *this;
  }
  ~ReplyReceiver() { Reset(); }

  // Owns the block from the moment it is made: the receiver is spent,
  // and an await abandoned before it completed (its task aborted, a
  // Timeout around it) withdraws in the awaiter's destructor.
  class Awaiter final : public ParkedAwaiter {
   public:
    explicit Awaiter(internal::ReplyState<T>* state) : state_(state) {}
    // Spends `receiver` (for an awaiter kept in a std::optional).
    explicit Awaiter(ReplyReceiver&& receiver)
        : state_(std::exchange(receiver.state_, nullptr)) {
      assert(state_ != nullptr && "awaiting a spent ReplyReceiver");
    }
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    ~Awaiter() {
      if (state_ != nullptr) state_->Abandon();
    }

    bool await_ready() const { return state_->Done(); }
    bool await_suspend(std::coroutine_handle<> handle) {
      TaskHeader* self = CurrentTask();
      assert(self != nullptr && "awaiting a reply outside a task");
      self->SetResumePoint(handle, this);
      return state_->Register(self);
    }
    bool Ready() override { return state_->Done(); }
    absl::StatusOr<T> await_resume() {
      // The sender consumed the registration when it finished.
      return std::exchange(state_, nullptr)->TakeAndFree();
    }
    // Instead of await_resume: the value, or `dropped()` if the sender was
    // dropped without sending.
    template <typename Dropped>
    T ResumeOr(Dropped&& dropped) {
      return std::exchange(state_, nullptr)
          ->TakeOrFree(std::forward<Dropped>(dropped));
    }

   private:
    internal::ReplyState<T>* state_;
  };
  // Awaited once: the receiver is spent afterwards.
  Awaiter operator co_await() && {
    assert(state_ != nullptr && "awaiting a spent ReplyReceiver");
    return Awaiter(std::exchange(state_, nullptr));
  }

 private:
  void Reset() {
    if (state_ != nullptr) std::exchange(state_, nullptr)->Abandon();
  }
  internal::ReplyState<T>* state_ = nullptr;
};

template <typename T>
std::pair<ReplySender<T>, ReplyReceiver<T>> MakeReply() {
  auto* state = internal::ReplyState<T>::Create();
  return {ReplySender<T>(state), ReplyReceiver<T>(state)};
}

}  // namespace troupe

#endif  // TROUPE_CHANNELS_REPLY_H_

// Oneshot: a channel for exactly one value - a reply, a completion signal.
//
// Contract:
//   - MakeOneshot<T>() returns a move-only OneshotSender<T> and
//     OneshotReceiver<T> sharing one small state block (from the frame
//     allocator, so creating oneshots in steady state calls no malloc).
//   - sender.Send(v) delivers v and never waits. If the receiver is gone it
//     hands v back: the returned optional holds it (empty = delivered).
//   - co_await receiver (or receiver.Recv()) yields the value, or a
//     FailedPrecondition status if the sender was dropped without sending.
//     Awaiting is cancellation-safe: an abandoned await unregisters, and a
//     value that arrives later stays in the channel for a later await (or
//     is destroyed with it).
//   - TryRecv() never waits: the value, Unavailable (nothing yet), or
//     FailedPrecondition (sender dropped).
//
// State machine (one atomic word, bits):
//   kValueSent   the value is in the slot (set once, by Send).
//   kTxClosed    the sender is gone (with or without sending).
//   kRxWaiting   a receiving task is registered in `waiter_` with a task
//                reference; whoever sets kValueSent/kTxClosed next wakes it.
//   kRxClosed    the receiver is gone; Send hands its value back.
// Writes to the value slot happen before the release RMW that sets
// kValueSent; the receiver reads it after an acquire load that sees it.
// waiter_ is written before the release RMW that sets kRxWaiting and read
// by the sender only after its acquire RMW saw kRxWaiting.
//
// Example:
//   auto [tx, rx] = MakeOneshot<int>();
//   Spawn(Compute(std::move(tx)));     // calls tx.Send(42)
//   absl::StatusOr<int> v = co_await rx;
#ifndef TROUPE_CHANNELS_ONESHOT_H_
#define TROUPE_CHANNELS_ONESHOT_H_

#include <atomic>
#include <cassert>
#include <coroutine>
#include <new>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/frame_allocator.h"
#include "executor/task_header.h"

namespace troupe {

template <typename T>
class OneshotSender;
template <typename T>
class OneshotReceiver;

namespace internal {

template <typename T>
class OneshotState {
 public:
  static constexpr uint32_t kValueSent = 1;
  static constexpr uint32_t kTxClosed = 2;
  static constexpr uint32_t kRxWaiting = 4;
  static constexpr uint32_t kRxClosed = 8;
  static constexpr uint32_t kRefShift = 8;
  static constexpr uint32_t kRefOne = 1u << kRefShift;

  static OneshotState* Create() {
    void* memory = AllocateFrame(sizeof(OneshotState));
    return new (memory) OneshotState();
  }

  uint32_t Load() const { return state_.load(std::memory_order_acquire); }

  // Sender side. Returns the value back if the receiver is gone.
  std::optional<T> Send(T&& value) {
    if (Load() & kRxClosed) return std::optional<T>(std::move(value));
    new (&slot_) T(std::move(value));
    // acq_rel: release publishes the slot; acquire sees waiter_.
    const uint32_t prev =
        state_.fetch_or(kValueSent | kTxClosed, std::memory_order_acq_rel);
    if (prev & kRxClosed) {
      // The receiver left meanwhile: take the value back.
      std::optional<T> back(std::move(*Slot()));
      Slot()->~T();
      state_.fetch_and(~kValueSent, std::memory_order_relaxed);
      return back;
    }
    if (prev & kRxWaiting) TaskRef::Adopt(waiter_).Wake();
    return std::nullopt;
  }

  void CloseSender() {
    const uint32_t prev = state_.fetch_or(kTxClosed, std::memory_order_acq_rel);
    if ((prev & (kRxWaiting | kValueSent)) == kRxWaiting) {
      TaskRef::Adopt(waiter_).Wake();
    }
  }

  // Receiver side: registers `task` (taking a reference). Returns false if
  // the outcome is already known (don't suspend).
  bool Register(TaskHeader* task) {
    task->RefInc();
    waiter_ = task;
    const uint32_t prev =
        state_.fetch_or(kRxWaiting, std::memory_order_acq_rel);
    if (prev & (kValueSent | kTxClosed)) {
      // The sender finished before seeing us: nobody will wake us.
      state_.fetch_and(~kRxWaiting, std::memory_order_relaxed);
      task->RefDec();
      return false;
    }
    return true;
  }

  // Receiver side: takes the registration back if the sender has not
  // claimed it (which it does by completing while kRxWaiting is set).
  void Unregister() {
    uint32_t s = Load();
    while ((s & kRxWaiting) && !(s & (kValueSent | kTxClosed))) {
      if (state_.compare_exchange_weak(s, s & ~kRxWaiting,
                                       std::memory_order_acq_rel)) {
        waiter_->RefDec();
        return;
      }
    }
  }

  bool Finished() const { return (Load() & (kValueSent | kTxClosed)) != 0; }

  absl::StatusOr<T> Take() {
    const uint32_t s = Load();
    if (s & kValueSent) {
      absl::StatusOr<T> value(std::move(*Slot()));
      Slot()->~T();
      state_.fetch_and(~kValueSent, std::memory_order_relaxed);
      return value;
    }
    if (s & kTxClosed) {
      return absl::FailedPreconditionError(
          "oneshot: the sender was dropped without sending a value");
    }
    return absl::UnavailableError("oneshot: no value yet");
  }

  void CloseReceiver() {
    Unregister();
    const uint32_t prev = state_.fetch_or(kRxClosed, std::memory_order_acq_rel);
    if (prev & kValueSent) {
      Slot()->~T();
      state_.fetch_and(~kValueSent, std::memory_order_relaxed);
    }
  }

  void AddRef() { state_.fetch_add(kRefOne, std::memory_order_relaxed); }
  void Release() {
    const uint32_t prev = state_.fetch_sub(kRefOne, std::memory_order_acq_rel);
    if ((prev >> kRefShift) == 1) {
      this->~OneshotState();
      FreeFrame(this, sizeof(OneshotState));
    }
  }

 private:
  OneshotState() = default;
  T* Slot() { return std::launder(reinterpret_cast<T*>(&slot_)); }

  // Two references (sender, receiver) at creation.
  std::atomic<uint32_t> state_{2 * kRefOne};
  TaskHeader* waiter_ = nullptr;
  alignas(T) unsigned char slot_[sizeof(T)];
};

}  // namespace internal

template <typename T>
class OneshotSender {
 public:
  OneshotSender() = default;
  explicit OneshotSender(internal::OneshotState<T>* state) : state_(state) {}
  OneshotSender(OneshotSender&& o) noexcept
      : state_(std::exchange(o.state_, nullptr)) {}
  OneshotSender& operator=(OneshotSender&& o) noexcept {
    if (this != &o) {
      Reset();
      state_ = std::exchange(o.state_, nullptr);
    }
    return *this;
  }
  ~OneshotSender() { Reset(); }

  // Delivers `value`; returns it back if the receiver is gone. The sender
  // is spent afterwards.
  std::optional<T> Send(T value) {
    assert(state_ != nullptr && "Send on a spent OneshotSender");
    std::optional<T> back = state_->Send(std::move(value));
    std::exchange(state_, nullptr)->Release();
    return back;
  }
  bool IsClosed() const {
    return state_ == nullptr ||
           (state_->Load() & internal::OneshotState<T>::kRxClosed) != 0;
  }

 private:
  void Reset() {
    if (state_ != nullptr) {
      state_->CloseSender();
      std::exchange(state_, nullptr)->Release();
    }
  }
  internal::OneshotState<T>* state_ = nullptr;
};

template <typename T>
class OneshotReceiver {
 public:
  OneshotReceiver() = default;
  explicit OneshotReceiver(internal::OneshotState<T>* state) : state_(state) {}
  OneshotReceiver(OneshotReceiver&& o) noexcept
      : state_(std::exchange(o.state_, nullptr)) {}
  OneshotReceiver& operator=(OneshotReceiver&& o) noexcept {
    if (this != &o) {
      Reset();
      state_ = std::exchange(o.state_, nullptr);
    }
    return *this;
  }
  ~OneshotReceiver() { Reset(); }

  absl::StatusOr<T> TryRecv() { return state_->Take(); }

  class Awaiter final : public ParkedAwaiter {
   public:
    explicit Awaiter(internal::OneshotState<T>* state) : state_(state) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    ~Awaiter() {
      if (registered_) state_->Unregister();
    }
    bool await_ready() const { return state_->Finished(); }
    bool await_suspend(std::coroutine_handle<> handle) {
      TaskHeader* self = CurrentTask();
      assert(self != nullptr && "awaiting a oneshot outside a task");
      self->SetResumePoint(handle, this);
      registered_ = state_->Register(self);
      return registered_;
    }
    bool Ready() override { return state_->Finished(); }
    absl::StatusOr<T> await_resume() {
      // The sender consumed our registration when it finished.
      registered_ = false;
      return state_->Take();
    }

   private:
    internal::OneshotState<T>* const state_;
    bool registered_ = false;
  };
  Awaiter Recv() { return Awaiter(state_); }
  Awaiter operator co_await() { return Awaiter(state_); }

  // The shared state, for layers built on it (select's OnRecv).
  internal::OneshotState<T>* state() const { return state_; }

 private:
  void Reset() {
    if (state_ != nullptr) {
      state_->CloseReceiver();
      std::exchange(state_, nullptr)->Release();
    }
  }
  internal::OneshotState<T>* state_ = nullptr;
};

template <typename T>
std::pair<OneshotSender<T>, OneshotReceiver<T>> MakeOneshot() {
  auto* state = internal::OneshotState<T>::Create();
  return {OneshotSender<T>(state), OneshotReceiver<T>(state)};
}

}  // namespace troupe

#endif  // TROUPE_CHANNELS_ONESHOT_H_

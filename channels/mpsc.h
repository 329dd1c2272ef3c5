// mpsc: the bounded multi-producer, single-consumer channel. Every actor
// mailbox is one. Back-pressure is the default: a sender to a full channel
// waits.
//
// Contract:
//   - MakeMpsc<T>(capacity) -> {Sender<T>, Receiver<T>}; capacity 0 (or
//     above 2^32 - 1) is an InvalidArgument error. Sender is copyable (many
//     producers), Receiver move-only (one consumer).
//   - co_await tx.Send(v): waits while the channel is full, FIFO among
//     waiting senders; fails with kClosed and hands v back if the receiver
//     is gone or closed the channel.
//   - tx.TrySend(v): kFull or kClosed (value handed back), never waits.
//     tx.SendTimeout(v, d): kTimedOut after d (value handed back).
//   - co_await tx.Reserve() / tx.TryReserve(): a Permit holding one slot;
//     permit.Send(v) never waits; dropping it unused returns the slot.
//   - co_await rx.Recv() -> std::optional<T>: empty once the channel is
//     closed (or every sender and permit is gone) and drained. rx.TryRecv(),
//     rx.RecvMany(out, max), rx.Close() (no new sends; buffered values still
//     drain).
//   - BlockingSend / BlockingRecv for plain threads outside the runtime.
//   - Cancellation safety: an abandoned Send (its task aborted, a Timeout or
//     select around it) either delivered its value or still owns it - it is
//     never half-sent, and leaks no slot. An abandoned Recv loses nothing:
//     values it had not returned stay in the channel.
//   - Memory: storage grows in blocks of up to 32 slots, only as needed
//     (the first block of an empty queue holds 4): a fresh channel of any
//     capacity holds no slots, a drained one at most four spare blocks,
//     and only small ones once its receiver waits in Recv. Once warm,
//     sending and receiving one value at a time, or in steady bursts,
//     allocate nothing.
//   - Destroying the channel destroys every value still queued exactly once.
//
// Example:
//   auto [tx, rx] = MakeMpsc<int>(128).value();
//   Spawn([](Sender<int> tx) -> Task<void> {
//     for (int i = 0; i < 10; ++i) (void)co_await tx.Send(i);
//   }(tx));
//   while (std::optional<int> v = co_await rx.Recv()) Use(*v);
#ifndef TROUPE_CHANNELS_MPSC_H_
#define TROUPE_CHANNELS_MPSC_H_

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "channels/mpsc_channel.h"
#include "channels/send_result.h"
#include "executor/coop.h"
#include "executor/scheduler.h"
#include "executor/task.h"
#include "executor/task_header.h"
#include "executor/time_driver.h"

namespace troupe {

template <typename T>
class Sender;
template <typename T>
class Receiver;
template <typename T>
class ReserveAwaiter;

namespace internal {

// Sender's TrySend and BlockingSend on any channel core (a Sender's own,
// or an actor's embedded mailbox).
template <typename T, typename Channel>
SendResult<T> TrySendOn(Channel* ch, T value) {
  std::optional<T> v(std::move(value));
  switch (ch->TryPush(v)) {
    case Channel::PushResult::kPushed:
      return SendResult<T>::Ok();
    case Channel::PushResult::kFull:
      return SendResult<T>::Fail(SendError::kFull, std::move(*v));
    case Channel::PushResult::kClosed:
      break;
  }
  return SendResult<T>::Fail(SendError::kClosed, std::move(*v));
}

template <typename T, typename Channel>
SendResult<T> BlockingSendOn(Channel* ch, T value) {
  std::optional<T> v(std::move(value));
  SendWaiter<T> w;
  w.value = &v;
  switch (ch->PushOrQueue(&w)) {
    case Channel::PushResult::kPushed:
      return SendResult<T>::Ok();
    case Channel::PushResult::kClosed:
      return SendResult<T>::Fail(SendError::kClosed, std::move(*v));
    case Channel::PushResult::kFull:
      break;
  }
  // Wait for the futex word, not the state: the waker stores the word
  // last, so once it is set nobody touches `w` again (see waker.h).
  w.target.BlockThread();
  if (w.state.load(std::memory_order_acquire) == SendWaiter<T>::kClosed) {
    return SendResult<T>::Fail(SendError::kClosed, std::move(*v));
  }
  return SendResult<T>::Ok();
}

}  // namespace internal

// Holds one reserved slot of a channel. Send() delivers into it without
// waiting; dropping the permit unused gives the slot back.
template <typename T>
class [[nodiscard]] Permit {
 public:
  Permit() = default;
  Permit(Permit&& o) noexcept : ch_(std::exchange(o.ch_, nullptr)) {}
  Permit& operator=(Permit&& o) noexcept {
    if (this != &o) {
      Reset();
      ch_ = std::exchange(o.ch_, nullptr);
    }
    return *this;
  }
  ~Permit() { Reset(); }

  void Send(T value) {
    assert(ch_ != nullptr && "Send on a spent Permit");
    internal::MpscChannel<T>* ch = std::exchange(ch_, nullptr);
    ch->PushReserved(std::move(value));
    ch->DropSender();
    ch->Release();
  }

 private:
  friend class Sender<T>;
  friend class ReserveAwaiter<T>;
  explicit Permit(internal::MpscChannel<T>* ch) : ch_(ch) {
    ch_->AddRef();
    ch_->AddSender();
  }
  void Reset() {
    if (ch_ == nullptr) return;
    internal::MpscChannel<T>* ch = std::exchange(ch_, nullptr);
    ch->ReleaseReserved();
    ch->DropSender();
    ch->Release();
  }
  internal::MpscChannel<T>* ch_ = nullptr;
};

// Awaiter of Send, SendTimeout and Reserve. Lives in the sending frame; the
// SendWaiter inside it is what the channel queues. `Channel` is the core
// it sends on (an actor's mailbox is an embedded one).
template <typename T, typename Channel = internal::MpscChannel<T>>
class SendAwaiter final : public ParkedAwaiter {
 public:
  using Waiter = internal::SendWaiter<T>;

  SendAwaiter(Channel* ch, std::optional<T> value, bool reserve,
              std::optional<Instant> deadline)
      : ch_(ch), value_(std::move(value)), deadline_(deadline) {
    waiter_.value = reserve ? nullptr : &value_;
  }
  SendAwaiter(const SendAwaiter&) = delete;
  SendAwaiter& operator=(const SendAwaiter&) = delete;
  ~SendAwaiter() {
    // Abandoned while queued: withdraw. If the channel admitted us in the
    // meantime, the value is already in the channel - delivered, not lost.
    if (queued_) ch_->Unqueue(&waiter_);
    if (driver_ != nullptr) driver_->Deregister(&timer_);
    // Admitted with room for more that nobody took over: give it back.
    // (Ordered by the acquire that saw the waiter leave kQueued.)
    if (waiter_.grant != 0) ch_->ReturnGrant(waiter_.grant, *waiter_.grant_pin);
  }

  // An actor's tell: ask to be admitted with room for more tells (see
  // MpscChannel::GrantLocked). `pin` must outlive this awaiter.
  void WantGrant(const internal::StagePin* pin) { waiter_.grant_pin = pin; }
  // After a delivered send: the granted room goes to this thread's stage.
  void AdoptGrant() {
    if (const uint32_t g = std::exchange(waiter_.grant, 0); g != 0) {
      ch_->AdoptGrant(g, *waiter_.grant_pin);
    }
  }

  bool await_ready() {
    if (!ConsumeBudget()) {
      yield_ = true;  // out of budget: go round the run queue first
      return false;
    }
    return Attempt();
  }
  bool await_suspend(std::coroutine_handle<> handle) {
    TaskHeader* self = CurrentTask();
    assert(self != nullptr && "co_await Send outside a task");
    self->SetResumePoint(handle, this);
    if (yield_) {
      self->WakeByRef();
      return true;
    }
    return Park(self);
  }
  bool Ready() override {
    if (yield_) {
      yield_ = false;
      return Attempt() || !Park(CurrentTask());
    }
    if (waiter_.state.load(std::memory_order_acquire) != Waiter::kQueued) {
      queued_ = false;
      return true;
    }
    if (timer_.fired.load(std::memory_order_acquire)) {
      // Timed out - unless the channel admitted us meanwhile.
      if (ch_->Unqueue(&waiter_)) timed_out_ = true;
      queued_ = false;
      return true;
    }
    return false;  // a spurious wake
  }

  // For Send / SendTimeout.
  SendResult<T> await_resume() { return Result(); }

  SendResult<T> Result() {
    if (timed_out_) {
      return SendResult<T>::Fail(SendError::kTimedOut, std::move(*value_));
    }
    const uint32_t state = waiter_.state.load(std::memory_order_acquire);
    if (state == Waiter::kClosed || closed_now_) {
      return SendResult<T>::Fail(SendError::kClosed, std::move(*value_));
    }
    return SendResult<T>::Ok();
  }
  // Whether the value was delivered, without materialising a SendResult
  // (the actor layer's tell needs only this).
  bool Delivered() {
    return !timed_out_ && !closed_now_ &&
           waiter_.state.load(std::memory_order_acquire) != Waiter::kClosed;
  }
  bool Reserved() {
    return !timed_out_ && !closed_now_ &&
           waiter_.state.load(std::memory_order_acquire) == Waiter::kDone;
  }

 private:
  // Tries to complete without waiting (no suspension at all on the fast
  // path). True if done: sent, or failed because the channel is closed.
  bool Attempt() {
    if (waiter_.value == nullptr) {  // a reservation: always via Park
      if (ch_->closed()) {
        closed_now_ = true;
        return true;
      }
      return false;
    }
    switch (ch_->TryPush(value_)) {
      case Channel::PushResult::kPushed:
        waiter_.state.store(Waiter::kDone, std::memory_order_relaxed);
        return true;
      case Channel::PushResult::kClosed:
        closed_now_ = true;
        return true;
      case Channel::PushResult::kFull:
        break;
    }
    return false;
  }
  // Pushes or queues. Returns true if the task must suspend.
  bool Park(TaskHeader* self) {
    waiter_.target.task = self;
    switch (ch_->PushOrQueue(&waiter_)) {
      case Channel::PushResult::kPushed:
        waiter_.state.store(Waiter::kDone, std::memory_order_relaxed);
        return false;
      case Channel::PushResult::kClosed:
        closed_now_ = true;
        return false;
      case Channel::PushResult::kFull:
        queued_ = true;
        if (deadline_.has_value()) {
          TimeDriver& driver = self->scheduler()->time_driver();
          if (driver.Register(&timer_, *deadline_, self)) {
            driver_ = &driver;
          } else if (ch_->Unqueue(&waiter_)) {
            queued_ = false;
            timed_out_ = true;
            return false;
          } else {
            queued_ = false;  // admitted while we looked at the clock
            return false;
          }
        }
        return true;
    }
    return false;
  }

  Channel* const ch_;
  std::optional<T> value_;
  Waiter waiter_;
  std::optional<Instant> deadline_;
  TimerEntry timer_;
  TimeDriver* driver_ = nullptr;
  bool queued_ = false;
  bool yield_ = false;
  bool timed_out_ = false;
  bool closed_now_ = false;
};

// co_await tx.Reserve() -> absl::StatusOr<Permit<T>>.
template <typename T>
class ReserveAwaiter {
 public:
  ReserveAwaiter(internal::MpscChannel<T>* ch)
      : ch_(ch), inner_(ch, std::nullopt, /*reserve=*/true, std::nullopt) {}
  bool await_ready() { return inner_.await_ready(); }
  bool await_suspend(std::coroutine_handle<> h) {
    return inner_.await_suspend(h);
  }
  absl::StatusOr<Permit<T>> await_resume();

 private:
  internal::MpscChannel<T>* ch_;
  SendAwaiter<T> inner_;
};

template <typename T>
absl::StatusOr<Permit<T>> ReserveAwaiter<T>::await_resume() {
  if (inner_.Reserved()) return Permit<T>(ch_);
  return absl::FailedPreconditionError(
      "channel is closed: the receiver is gone or closed it");
}

template <typename T>
class Sender {
 public:
  Sender() = default;
  Sender(const Sender& o) : ch_(o.ch_) {
    if (ch_ != nullptr) {
      ch_->AddRef();
      ch_->AddSender();
    }
  }
  Sender(Sender&& o) noexcept : ch_(std::exchange(o.ch_, nullptr)) {}
  Sender& operator=(Sender o) noexcept {
    std::swap(ch_, o.ch_);
    return *this;
  }
  ~Sender() {
    if (ch_ != nullptr) {
      ch_->DropSender();
      ch_->Release();
    }
  }

  SendAwaiter<T> Send(T value) const {
    return SendAwaiter<T>(ch_, std::optional<T>(std::move(value)),
                          /*reserve=*/false, std::nullopt);
  }
  SendAwaiter<T> SendTimeout(T value, Duration timeout) const {
    Scheduler* s = Scheduler::Current();
    const Instant now =
        s != nullptr ? s->clock().Now() : SystemClock::Get()->Now();
    return SendAwaiter<T>(ch_, std::optional<T>(std::move(value)),
                          /*reserve=*/false, now + timeout);
  }
  SendResult<T> TrySend(T value) const {
    return internal::TrySendOn<T>(ch_, std::move(value));
  }
  // For plain threads: blocks the thread while the channel is full.
  SendResult<T> BlockingSend(T value) const {
    return internal::BlockingSendOn<T>(ch_, std::move(value));
  }

  ReserveAwaiter<T> Reserve() const { return ReserveAwaiter<T>(ch_); }
  absl::StatusOr<Permit<T>> TryReserve() const {
    switch (ch_->TryReserveSlot()) {
      case internal::MpscChannel<T>::PushResult::kPushed:
        return Permit<T>(ch_);
      case internal::MpscChannel<T>::PushResult::kFull:
        return absl::ResourceExhaustedError("channel is full");
      case internal::MpscChannel<T>::PushResult::kClosed:
        break;
    }
    return ClosedError();
  }

  bool IsClosed() const { return ch_->closed(); }
  std::size_t Len() const { return ch_->Len(); }
  std::size_t Capacity() const { return ch_->capacity(); }
  bool SameChannel(const Sender& o) const { return ch_ == o.ch_; }
  explicit operator bool() const { return ch_ != nullptr; }

  // The channel core, for layers built on it (actor references).
  internal::MpscChannel<T>* channel() const { return ch_; }

  // A new sender on `ch`, unless all of its senders are gone (then empty).
  // For layers built on the channel core (actor references).
  static Sender FromChannel(internal::MpscChannel<T>* ch) {
    return ch->TryAddSender() ? Sender(ch) : Sender();
  }

  static absl::Status ClosedError() {
    return absl::FailedPreconditionError(
        "channel is closed: the receiver is gone or closed it");
  }

 private:
  template <typename U>
  friend absl::StatusOr<std::pair<Sender<U>, Receiver<U>>> MakeMpsc(
      std::size_t capacity);
  explicit Sender(internal::MpscChannel<T>* ch) : ch_(ch) {}
  internal::MpscChannel<T>* ch_ = nullptr;
};

template <typename T>
class Receiver {
 public:
  Receiver() = default;
  Receiver(Receiver&& o) noexcept : ch_(std::exchange(o.ch_, nullptr)) {}
  Receiver& operator=(Receiver&& o) noexcept {
    if (this != &o) {
      Reset();
      ch_ = std::exchange(o.ch_, nullptr);
    }
    return *this;
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;
  ~Receiver() { Reset(); }

  class RecvAwaiter final : public ParkedAwaiter {
   public:
    explicit RecvAwaiter(internal::MpscChannel<T>* ch) : ch_(ch) {}
    RecvAwaiter(const RecvAwaiter&) = delete;
    RecvAwaiter& operator=(const RecvAwaiter&) = delete;
    ~RecvAwaiter() {
      if (parked_) ch_->UnparkReceiver(&waiter_);
    }
    bool await_ready() {
      if (!ConsumeBudget()) {
        yield_ = true;
        return false;
      }
      return Poll();
    }
    bool await_suspend(std::coroutine_handle<> handle) {
      TaskHeader* self = CurrentTask();
      assert(self != nullptr && "co_await Recv outside a task");
      self->SetResumePoint(handle, this);
      if (yield_) {
        yield_ = false;
        self->WakeByRef();
        return true;
      }
      return Park(self);
    }
    bool Ready() override {
      if (parked_ && !waiter_.notified.load(std::memory_order_acquire)) {
        return false;  // spurious
      }
      parked_ = false;
      return Poll() || !Park(CurrentTask());
    }
    std::optional<T> await_resume() { return std::move(value_); }

   private:
    // Takes a value or observes the end. True if done.
    bool Poll() {
      value_ = ch_->TryPop();
      return value_.has_value() || ch_->Finished();
    }
    // True if parked (suspend); false if something is there now.
    bool Park(TaskHeader* self) {
      waiter_.target.task = self;
      if (ch_->ParkReceiver(&waiter_)) {
        parked_ = true;
        return true;
      }
      return !Poll() ? Park(self) : false;
    }

    internal::MpscChannel<T>* const ch_;
    internal::RecvWaiter waiter_;
    std::optional<T> value_;
    bool parked_ = false;
    bool yield_ = false;
  };

  RecvAwaiter Recv() { return RecvAwaiter(ch_); }

  // A value, Unavailable (empty now) or OutOfRange (closed and drained).
  // The Unavailable status has no message: a status with one is two heap
  // allocations, and polling an empty channel is a hot path (a writer
  // draining its queue ends every round with one).
  absl::StatusOr<T> TryRecv() {
    if (std::optional<T> v = ch_->TryPop()) return std::move(*v);
    if (ch_->Finished()) {
      return absl::OutOfRangeError("channel is closed and drained");
    }
    return absl::Status(absl::StatusCode::kUnavailable, "");
  }

  // Waits for at least one value, then appends up to `max` in all to `out`
  // without waiting further. Returns how many were appended; 0 means closed
  // and drained.
  Task<std::size_t> RecvMany(std::vector<T>& out, std::size_t max) {
    if (max == 0) co_return 0;
    std::optional<T> first = co_await Recv();
    if (!first.has_value()) co_return 0;
    out.push_back(std::move(*first));
    std::size_t n = 1;
    while (n < max) {
      std::optional<T> v = ch_->TryPop();
      if (!v.has_value()) break;
      out.push_back(std::move(*v));
      ++n;
    }
    co_return n;
  }

  // For plain threads: blocks until a value arrives or the channel ends.
  std::optional<T> BlockingRecv() {
    for (;;) {
      if (std::optional<T> v = ch_->TryPop()) return v;
      if (ch_->Finished()) return std::nullopt;
      internal::RecvWaiter w;
      if (ch_->ParkReceiver(&w)) {
        // A parked receiver is always woken (push, close or last sender
        // gone); wait for the word, the waker's last touch of `w`.
        w.target.BlockThread();
      }
    }
  }

  void Close() { ch_->Close(); }
  bool IsClosed() const { return ch_->closed() || !ch_->HasSenders(); }
  // The channel core, for layers built on it (the actor mailbox).
  internal::MpscChannel<T>* channel() const { return ch_; }
  std::size_t Len() const { return ch_->Len(); }
  std::size_t Capacity() const { return ch_->capacity(); }

 private:
  template <typename U>
  friend absl::StatusOr<std::pair<Sender<U>, Receiver<U>>> MakeMpsc(
      std::size_t capacity);
  explicit Receiver(internal::MpscChannel<T>* ch) : ch_(ch) {}
  void Reset() {
    if (ch_ == nullptr) return;
    ch_->CloseAndDrain();
    std::exchange(ch_, nullptr)->Release();
  }
  internal::MpscChannel<T>* ch_ = nullptr;
};

template <typename T>
absl::StatusOr<std::pair<Sender<T>, Receiver<T>>> MakeMpsc(
    std::size_t capacity) {
  if (capacity == 0) {
    return absl::InvalidArgumentError(
        "mpsc channel capacity must be at least 1 (a zero-capacity "
        "rendezvous channel is not supported)");
  }
  if (capacity > internal::MpscChannel<T>::kMaxCapacity) {
    return absl::InvalidArgumentError(
        "mpsc channel capacity " + std::to_string(capacity) +
        " is above the limit of " +
        std::to_string(internal::MpscChannel<T>::kMaxCapacity));
  }
  auto* ch = new internal::MpscChannel<T>(capacity);
  return std::pair<Sender<T>, Receiver<T>>(Sender<T>(ch), Receiver<T>(ch));
}

}  // namespace troupe

#endif  // TROUPE_CHANNELS_MPSC_H_

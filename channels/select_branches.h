// Select branches (the protocol in select_awaiter.h) for an mpsc receive
// and send, a oneshot receive, a timer and a cancellation token;
// broadcast.h and watch.h define their own. Each branch keeps an intrusive
// waiter of its source, so registering allocates nothing. Users reach
// these through the On* functions of select.h.
//
// Example (what Select does with OnRecv(rx) and OnSleep(d)):
//   internal::MpscRecvBranch<int> recv(internal::MpscRecvOp<int>(rx));
//   internal::TimerBranch timer(internal::TimerOp(deadline));
//   if (!recv.Poll() && !timer.Poll()) { recv.Register(self); ... }
#ifndef TROUPE_CHANNELS_SELECT_BRANCHES_H_
#define TROUPE_CHANNELS_SELECT_BRANCHES_H_

#include <atomic>
#include <cassert>
#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "channels/mpsc.h"
#include "channels/mpsc_channel.h"
#include "channels/oneshot.h"
#include "channels/parking_branch.h"
#include "channels/send_result.h"
#include "executor/cancellation_token.h"
#include "executor/clock.h"
#include "executor/scheduler.h"
#include "executor/sleep.h"
#include "executor/task_header.h"
#include "executor/time_driver.h"

namespace troupe {

// What a timer branch yields.
struct Elapsed {};
// What a cancellation branch yields.
struct TokenCancelled {};

namespace internal {

// ---- mpsc receive: the receiver parks in the channel's one receiver slot.

template <typename T>
class MpscRecvBranch;

template <typename T>
class MpscRecvOp {
 public:
  using Branch = MpscRecvBranch<T>;
  explicit MpscRecvOp(Receiver<T>& rx) : ch(rx.channel()) {}
  bool Park(RecvWaiter* w) const { return ch->ParkReceiver(w); }
  void Unpark(RecvWaiter* w) const { ch->UnparkReceiver(w); }
  MpscChannel<T>* ch;
};

template <typename T>
class MpscRecvBranch : public ParkingBranch<RecvWaiter, MpscRecvOp<T>> {
 public:
  using Output = std::optional<T>;  // empty: closed and drained
  explicit MpscRecvBranch(const MpscRecvOp<T>& op)
      : ParkingBranch<RecvWaiter, MpscRecvOp<T>>(op) {}

  bool Poll() {
    MpscChannel<T>* const ch = this->op().ch;
    value_ = ch->TryPop();
    return value_.has_value() || ch->Finished();
  }
  Output Take() { return std::move(value_); }

 private:
  std::optional<T> value_;
};

// ---- mpsc send: waits for a slot as a reservation (a permit), never with
// the value itself, so a losing branch has sent nothing: its value stays
// in the caller's optional and a slot it was granted goes back.

template <typename T>
class MpscSendBranch;

template <typename T>
class MpscSendOp {
 public:
  using Branch = MpscSendBranch<T>;
  MpscSendOp(const Sender<T>& tx, std::optional<T>& value)
      : ch(tx.channel()), value(&value) {
    assert(value.has_value() && "OnSend needs a value to send");
  }
  MpscChannel<T>* ch;
  std::optional<T>* value;  // the caller's; emptied only when sent
};

template <typename T>
class MpscSendBranch {
  using Waiter = SendWaiter<T>;
  using Channel = MpscChannel<T>;

 public:
  using Output = SendError;  // kNone (sent) or kClosed (value kept)
  explicit MpscSendBranch(const MpscSendOp<T>& op)
      : ch_(op.ch), value_(op.value) {}
  MpscSendBranch(const MpscSendBranch&) = delete;
  MpscSendBranch& operator=(const MpscSendBranch&) = delete;
  ~MpscSendBranch() {
    Deregister();
    if (reserved_) ch_->ReleaseReserved();  // granted, but another won
  }

  bool Poll() {
    if (reserved_) {
      reserved_ = false;
      if (ch_->closed()) {
        ch_->ReleaseReserved();
        result_ = SendError::kClosed;
      } else {
        // As with a Permit: if the receiver closes in between, the value
        // is dropped like the other queued values.
        ch_->PushReserved(std::move(**value_));
        value_->reset();
        result_ = SendError::kNone;
      }
      return true;
    }
    switch (ch_->TryPush(*value_)) {
      case Channel::PushResult::kPushed:
        result_ = SendError::kNone;
        return true;
      case Channel::PushResult::kClosed:
        result_ = SendError::kClosed;
        return true;
      case Channel::PushResult::kFull:
        break;
    }
    return false;
  }
  bool Register(TaskHeader* task) {
    waiter_.target.task = task;
    waiter_.value = nullptr;  // a reservation
    waiter_.state.store(Waiter::kIdle, std::memory_order_relaxed);
    switch (ch_->PushOrQueue(&waiter_)) {
      case Channel::PushResult::kPushed:
        reserved_ = true;  // a slot at once
        return false;
      case Channel::PushResult::kClosed:
        return false;
      case Channel::PushResult::kFull:
        queued_ = true;
        return true;
    }
    return false;
  }
  bool Notified() const {
    return queued_ &&
           waiter_.state.load(std::memory_order_acquire) != Waiter::kQueued;
  }
  void Deregister() {
    if (!queued_) return;
    queued_ = false;
    if (ch_->Unqueue(&waiter_)) return;  // withdrawn: nothing happened
    // Admitted (a slot is ours) or failed by a close (Poll will see it).
    reserved_ = waiter_.state.load(std::memory_order_acquire) == Waiter::kDone;
  }
  Output Take() const { return result_; }

 private:
  Channel* const ch_;
  std::optional<T>* const value_;
  Waiter waiter_;
  bool queued_ = false;
  bool reserved_ = false;
  SendError result_ = SendError::kNone;
};

// ---- oneshot receive: the receiving task registers in the state word.

template <typename T>
class OneshotRecvBranch;

template <typename T>
class OneshotRecvOp {
 public:
  using Branch = OneshotRecvBranch<T>;
  explicit OneshotRecvOp(OneshotReceiver<T>& rx) : state(rx.state()) {}
  OneshotState<T>* state;
};

template <typename T>
class OneshotRecvBranch {
 public:
  using Output = absl::StatusOr<T>;
  explicit OneshotRecvBranch(const OneshotRecvOp<T>& op) : state_(op.state) {}
  OneshotRecvBranch(const OneshotRecvBranch&) = delete;
  OneshotRecvBranch& operator=(const OneshotRecvBranch&) = delete;
  ~OneshotRecvBranch() { Deregister(); }

  bool Poll() {
    if (!state_->Finished()) return false;
    result_.emplace(state_->Take());
    return true;
  }
  bool Register(TaskHeader* task) {
    registered_ = state_->Register(task);
    return registered_;
  }
  // The sender consumes the registration when it finishes.
  bool Notified() const { return registered_ && state_->Finished(); }
  void Deregister() {
    if (!registered_) return;
    registered_ = false;
    state_->Unregister();
  }
  Output Take() { return std::move(*result_); }

 private:
  OneshotState<T>* const state_;
  bool registered_ = false;
  std::optional<absl::StatusOr<T>> result_;
};

// ---- timer: an entry in the runtime's timing wheel.

class TimerBranch;

class TimerOp {
 public:
  using Branch = TimerBranch;
  // `fresh`: the deadline was just computed as now + a positive duration
  // (OnSleep), so the select's first poll may take it as not due without
  // reading the clock - the same answer a poll at that instant would give.
  explicit TimerOp(Instant deadline, bool fresh = false)
      : deadline(deadline), fresh(fresh) {}
  Instant deadline;
  bool fresh;
};

class TimerBranch {
 public:
  using Output = Elapsed;
  explicit TimerBranch(const TimerOp& op)
      : deadline_(op.deadline), skip_clock_(op.fresh) {}
  TimerBranch(const TimerBranch&) = delete;
  TimerBranch& operator=(const TimerBranch&) = delete;
  ~TimerBranch() { Deregister(); }

  bool Poll() {
    if (due_ || entry_.fired.load(std::memory_order_acquire)) return true;
    if (std::exchange(skip_clock_, false)) return false;
    return CurrentClock().Now() >= deadline_;
  }
  bool Register(TaskHeader* task) {
    TimeDriver& driver = task->scheduler()->time_driver();
    if (!driver.Register(&entry_, deadline_, task)) {
      due_ = true;  // already past
      return false;
    }
    driver_ = &driver;
    return true;
  }
  bool Notified() const {
    return driver_ != nullptr && entry_.fired.load(std::memory_order_acquire);
  }
  void Deregister() {
    if (driver_ == nullptr) return;
    std::exchange(driver_, nullptr)->Deregister(&entry_);
  }
  static Output Take() { return Elapsed{}; }

 private:
  const Instant deadline_;
  TimerEntry entry_;
  TimeDriver* driver_ = nullptr;
  bool due_ = false;
  bool skip_clock_;  // the first Poll of a fresh sleep (see TimerOp)
};

// ---- cancellation: a waiter on the token's list.

class CancelledBranch;

class CancelledOp {
 public:
  using Branch = CancelledBranch;
  explicit CancelledOp(CancellationToken token) : token(std::move(token)) {}
  CancellationToken token;
};

class CancelledBranch {
 public:
  using Output = TokenCancelled;
  explicit CancelledBranch(const CancelledOp& op)
      : waiter_(op.token.Cancelled()) {}
  CancelledBranch(const CancelledBranch&) = delete;
  CancelledBranch& operator=(const CancelledBranch&) = delete;
  ~CancelledBranch() { Deregister(); }

  bool Poll() const { return waiter_.await_ready(); }  // IsCancelled()
  bool Register(TaskHeader* task) {
    registered_ = waiter_.Register(task);
    return registered_;
  }
  bool Notified() { return registered_ && waiter_.Ready(); }
  void Deregister() {
    if (!registered_) return;
    registered_ = false;
    waiter_.Unregister();
  }
  static Output Take() { return TokenCancelled{}; }

 private:
  CancellationToken::Awaiter waiter_;
  bool registered_ = false;
};

}  // namespace internal
}  // namespace troupe

#endif  // TROUPE_CHANNELS_SELECT_BRANCHES_H_

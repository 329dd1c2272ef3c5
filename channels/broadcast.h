// broadcast: a bounded multi-producer, multi-consumer channel in which
// every receiver sees every value - a fan-out of events, quotes, presence
// updates.
//
// Contract:
//   - MakeBroadcast<T>(capacity) -> {BroadcastSender<T>, BroadcastReceiver<T>};
//     capacity 0 is an InvalidArgument error. T must be copyable: each
//     receiver gets its own copy.
//   - Senders are copyable. tx.Send(v) never waits: the channel keeps the
//     last `capacity` values in a ring and a send overwrites the oldest.
//     It reports how many receivers there are, or, if there is none,
//     hands v back (IsClosed()).
//   - tx.Subscribe() (or rx.Subscribe()) makes a new receiver that sees the
//     values sent from then on. Receivers are move-only; each reads at its
//     own pace.
//   - co_await rx.Recv() -> BroadcastResult<T>: the next value; or
//     Lagged(n) if the receiver fell so far behind that n values were
//     overwritten before it read them - it then continues from the oldest
//     value still held; or Closed once every sender is gone and the
//     receiver has read everything. rx.TryRecv() never waits (Empty when
//     nothing is new). rx.BlockingRecv() is for plain threads.
//   - Memory is bounded by the capacity whatever a slow receiver does: the
//     ring holds at most `capacity` values (each until overwritten or the
//     channel goes), and a receiver is one cursor.
//   - Cancellation safety: an abandoned Recv (task aborted, losing select
//     branch) takes nothing; the value stays for the next Recv.
//   - Once warm, sending and receiving allocate nothing (values that
//     allocate when copied aside).
//
// Memory ordering: every value is published and read under locks (see
// broadcast_channel.h), so a receiver sees a value's whole state, and the
// values one sender sent arrive in the order it sent them.
//
// Example:
//   auto [tx, rx] = MakeBroadcast<Quote>(64).value();
//   BroadcastReceiver<Quote> audit = tx.Subscribe();
//   (void)tx.Send(Quote("ACME", 101));
//   for (;;) {
//     BroadcastResult<Quote> r = co_await rx.Recv();
//     if (r.IsClosed()) break;
//     if (r.IsLagged()) { Resync(r.lagged()); continue; }
//     Show(r.value());
//   }
#ifndef TROUPE_CHANNELS_BROADCAST_H_
#define TROUPE_CHANNELS_BROADCAST_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "channels/broadcast_channel.h"
#include "channels/broadcast_result.h"
#include "channels/parking_branch.h"
#include "channels/select_awaiter.h"
#include "channels/waiter_list.h"
#include "executor/task_header.h"

namespace troupe {

template <typename T>
class BroadcastSender;
template <typename T>
class BroadcastReceiver;

namespace internal {

template <typename T>
class BroadcastRecvBranch;

// A receive on a broadcast receiver, for Recv() and Select (OnRecv).
template <typename T>
class BroadcastRecvOp {
 public:
  using Branch = BroadcastRecvBranch<T>;
  explicit BroadcastRecvOp(BroadcastReceiver<T>& rx)
      : ch(rx.ch_), cursor(&rx.cursor_) {}
  bool Park(ListWaiter* w) const { return ch->Park(w, *cursor); }
  void Unpark(ListWaiter* w) const { ch->Unpark(w); }
  BroadcastChannel<T>* ch;
  uint64_t* cursor;  // the receiver's
};

// The branch protocol (select_awaiter.h) for a broadcast receive.
template <typename T>
class BroadcastRecvBranch
    : public ParkingBranch<ListWaiter, BroadcastRecvOp<T>> {
 public:
  using Output = BroadcastResult<T>;
  explicit BroadcastRecvBranch(const BroadcastRecvOp<T>& op)
      : ParkingBranch<ListWaiter, BroadcastRecvOp<T>>(op) {}

  bool Poll() {
    BroadcastResult<T> r = this->op().ch->TryRecv(this->op().cursor);
    if (r.IsEmpty()) return false;
    result_.emplace(std::move(r));
    return true;
  }
  Output Take() { return std::move(*result_); }

 private:
  std::optional<BroadcastResult<T>> result_;
};

}  // namespace internal

template <typename T>
class BroadcastSender {
 public:
  BroadcastSender() = default;
  BroadcastSender(const BroadcastSender& o) : ch_(o.ch_) {
    if (ch_ != nullptr) {
      ch_->AddRef();
      ch_->AddSender();
    }
  }
  BroadcastSender(BroadcastSender&& o) noexcept
      : ch_(std::exchange(o.ch_, nullptr)) {}
  BroadcastSender& operator=(BroadcastSender o) noexcept {
    std::swap(ch_, o.ch_);
    return *this;
  }
  ~BroadcastSender() {
    if (ch_ != nullptr) {
      ch_->DropSender();
      ch_->Release();
    }
  }

  // Never waits. Ok with the number of receivers, or, with no receiver,
  // the value handed back.
  BroadcastSendResult<T> Send(T value) const {
    const std::size_t receivers = ch_->Send(value);
    if (receivers == 0) {
      return BroadcastSendResult<T>::NoReceivers(std::move(value));
    }
    return BroadcastSendResult<T>::Sent(receivers);
  }

  // A new receiver that sees the values sent from now on.
  BroadcastReceiver<T> Subscribe() const {
    return BroadcastReceiver<T>(ch_, ch_->AddReceiver());
  }

  std::size_t ReceiverCount() const { return ch_->ReceiverCount(); }
  std::size_t Capacity() const { return ch_->capacity(); }
  explicit operator bool() const { return ch_ != nullptr; }

 private:
  template <typename U>
  friend absl::StatusOr<std::pair<BroadcastSender<U>, BroadcastReceiver<U>>>
  MakeBroadcast(std::size_t capacity);
  // Every handle counts itself (a fresh channel counts nothing).
  explicit BroadcastSender(internal::BroadcastChannel<T>* ch) : ch_(ch) {
    ch_->AddRef();
    ch_->AddSender();
  }
  internal::BroadcastChannel<T>* ch_ = nullptr;
};

template <typename T>
class BroadcastReceiver {
 public:
  using RecvAwaiter = OneAwaiter<internal::BroadcastRecvOp<T>>;

  BroadcastReceiver() = default;
  BroadcastReceiver(BroadcastReceiver&& o) noexcept
      : ch_(std::exchange(o.ch_, nullptr)), cursor_(o.cursor_) {}
  BroadcastReceiver& operator=(BroadcastReceiver&& o) noexcept {
    if (this != &o) {
      Reset();
      ch_ = std::exchange(o.ch_, nullptr);
      cursor_ = o.cursor_;
    }
    return *this;
  }
  BroadcastReceiver(const BroadcastReceiver&) = delete;
  BroadcastReceiver& operator=(const BroadcastReceiver&) = delete;
  ~BroadcastReceiver() { Reset(); }

  // The next value, Lagged(n) or Closed; never Empty. The receiver must
  // not be moved or destroyed while a Recv is pending.
  RecvAwaiter Recv() {
    return RecvAwaiter(internal::BroadcastRecvOp<T>(*this));
  }
  // The next value, Lagged(n), Closed, or Empty: never waits.
  BroadcastResult<T> TryRecv() { return ch_->TryRecv(&cursor_); }
  // For plain threads: blocks until there is something to return.
  BroadcastResult<T> BlockingRecv() {
    return BlockOnOne(internal::BroadcastRecvOp<T>(*this));
  }

  // A new receiver that sees the values sent from now on.
  BroadcastReceiver Subscribe() const {
    return BroadcastReceiver(ch_, ch_->AddReceiver());
  }

  // Values sent that this receiver has not read yet (those it will find
  // overwritten included).
  uint64_t Len() const { return ch_->Pending(cursor_); }
  std::size_t Capacity() const { return ch_->capacity(); }
  explicit operator bool() const { return ch_ != nullptr; }

 private:
  friend class BroadcastSender<T>;
  friend class internal::BroadcastRecvOp<T>;
  template <typename U>
  friend absl::StatusOr<std::pair<BroadcastSender<U>, BroadcastReceiver<U>>>
  MakeBroadcast(std::size_t capacity);
  BroadcastReceiver(internal::BroadcastChannel<T>* ch, uint64_t cursor)
      : ch_(ch), cursor_(cursor) {
    ch_->AddRef();
  }
  void Reset() {
    if (ch_ == nullptr) return;
    ch_->DropReceiver();
    std::exchange(ch_, nullptr)->Release();
  }
  internal::BroadcastChannel<T>* ch_ = nullptr;
  uint64_t cursor_ = 0;  // the position this receiver reads next
};

template <typename T>
absl::StatusOr<std::pair<BroadcastSender<T>, BroadcastReceiver<T>>>
MakeBroadcast(std::size_t capacity) {
  static_assert(std::is_copy_constructible_v<T>,
                "broadcast values are copied to every receiver");
  if (capacity == 0) {
    return absl::InvalidArgumentError(
        "broadcast channel capacity must be at least 1");
  }
  auto* ch = new internal::BroadcastChannel<T>(capacity);
  return std::pair<BroadcastSender<T>, BroadcastReceiver<T>>(
      BroadcastSender<T>(ch), BroadcastReceiver<T>(ch, ch->AddReceiver()));
}

}  // namespace troupe

#endif  // TROUPE_CHANNELS_BROADCAST_H_

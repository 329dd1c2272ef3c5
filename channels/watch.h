// watch: a single-value channel with change notification - the latest
// configuration, a health state, a leader's address. Receivers always see
// the latest value and never miss that it changed; they may skip values
// that were replaced before they looked.
//
// Contract:
//   - MakeWatch<T>(initial) -> {WatchSender<T>, WatchReceiver<T>}. The
//     sender is move-only (one writer); receivers are copyable: a copy
//     starts with the same "seen" version as its original.
//   - tx.Send(v) replaces the value, counts a change and wakes the
//     receivers; it never waits for them, and returns how many there are
//     (0: the value is stored anyway, for later subscribers).
//     tx.SendModify(fn) runs fn(T&) in place; tx.SendIfModified(fn) counts
//     a change only if fn(T&) returns true. tx.Subscribe() makes a
//     receiver that has seen the current value.
//   - rx.Borrow() is a read-locked view of the current value (WatchRef);
//     rx.BorrowAndUpdate() also marks it seen; rx.Get() returns a copy.
//     Do not hold a WatchRef across a co_await or while sending: the
//     sender waits for readers to let go.
//   - co_await rx.Changed() -> absl::Status: OK as soon as there is a
//     version this receiver has not seen (marking it seen); a
//     FailedPrecondition error once the sender is gone and every change
//     has been seen. rx.HasChanged() asks without waiting;
//     rx.BlockingChanged() waits from a plain thread.
//   - Never missing a change: each receiver keeps the version it has
//     seen, and Changed() completes whenever the current version differs.
//     After the sender's last Send and its departure, every receiver's
//     next Changed() is OK and the value is that last one.
//   - Cancellation safety: an abandoned Changed() (task aborted, losing
//     select branch) marks nothing seen.
//   - Waiting and waking allocate nothing.
//
// Example:
//   auto [tx, rx] = MakeWatch<Config>(Load());
//   Spawn(Reloader(std::move(tx)));          // calls tx.Send(Load())
//   while ((co_await rx.Changed()).ok()) Apply(rx.Get());
#ifndef TROUPE_CHANNELS_WATCH_H_
#define TROUPE_CHANNELS_WATCH_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <utility>

#include "absl/status/status.h"
#include "channels/parking_branch.h"
#include "channels/select_awaiter.h"
#include "channels/waiter_list.h"
#include "channels/watch_channel.h"
#include "executor/task_header.h"

namespace troupe {

template <typename T>
class WatchSender;
template <typename T>
class WatchReceiver;

// A read-locked view of a watch channel's value. Holds the read lock until
// it is destroyed: keep it short, and never across a co_await.
template <typename T>
class WatchRef {
 public:
  const T& operator*() const { return *value_; }
  const T* operator->() const { return value_; }
  const T& get() const { return *value_; }

 private:
  friend class WatchSender<T>;
  friend class WatchReceiver<T>;
  WatchRef(std::shared_lock<std::shared_mutex> lock, const T* value)
      : lock_(std::move(lock)), value_(value) {}
  std::shared_lock<std::shared_mutex> lock_;
  const T* value_;
};

namespace internal {

template <typename T>
class WatchChangedBranch;

// A wait for a change, for Changed() and Select (OnChanged).
template <typename T>
class WatchChangedOp {
 public:
  using Branch = WatchChangedBranch<T>;
  explicit WatchChangedOp(WatchReceiver<T>& rx) : ch(rx.ch_), seen(&rx.seen_) {}
  bool Park(ListWaiter* w) const { return ch->Park(w, *seen); }
  void Unpark(ListWaiter* w) const { ch->Unpark(w); }
  WatchChannel<T>* ch;
  uint64_t* seen;  // the receiver's
};

// The branch protocol (select_awaiter.h) for a watch change.
template <typename T>
class WatchChangedBranch : public ParkingBranch<ListWaiter, WatchChangedOp<T>> {
  using Channel = WatchChannel<T>;

 public:
  using Output = absl::Status;
  explicit WatchChangedBranch(const WatchChangedOp<T>& op)
      : ParkingBranch<ListWaiter, WatchChangedOp<T>>(op) {}

  bool Poll() {
    uint64_t* const seen = this->op().seen;
    const uint64_t state = this->op().ch->State();
    // An unseen change wins over the close: the last value is never missed.
    if (Channel::VersionOf(state) != *seen) {
      *seen = Channel::VersionOf(state);
      closed_ = false;
      return true;
    }
    closed_ = Channel::IsClosed(state);
    return closed_;
  }
  Output Take() const {
    return closed_ ? absl::FailedPreconditionError(
                         "watch channel is closed: the sender is gone")
                   : absl::OkStatus();
  }

 private:
  bool closed_ = false;
};

}  // namespace internal

template <typename T>
class WatchSender {
 public:
  WatchSender() = default;
  WatchSender(WatchSender&& o) noexcept : ch_(std::exchange(o.ch_, nullptr)) {}
  WatchSender& operator=(WatchSender&& o) noexcept {
    if (this != &o) {
      Reset();
      ch_ = std::exchange(o.ch_, nullptr);
    }
    return *this;
  }
  WatchSender(const WatchSender&) = delete;
  WatchSender& operator=(const WatchSender&) = delete;
  ~WatchSender() { Reset(); }

  // Replaces the value and wakes the receivers. Returns how many there are.
  std::size_t Send(T value) {
    ch_->Modify([&value](T& v) {
      v = std::move(value);
      return true;
    });
    return ch_->ReceiverCount();
  }
  // Changes the value in place (always counted as a change).
  template <typename Fn>
  void SendModify(Fn&& modify) {
    ch_->Modify([&modify](T& v) {
      modify(v);
      return true;
    });
  }
  // Runs modify(T&) -> bool; counts a change only if it returns true.
  template <typename Fn>
  bool SendIfModified(Fn&& modify) {
    return ch_->Modify(std::forward<Fn>(modify));
  }

  WatchRef<T> Borrow() const {
    return WatchRef<T>(ch_->ReadLock(), &ch_->value());
  }
  // A receiver that has seen the current value.
  WatchReceiver<T> Subscribe() const {
    return WatchReceiver<T>(ch_,
                            internal::WatchChannel<T>::VersionOf(ch_->State()));
  }
  std::size_t ReceiverCount() const { return ch_->ReceiverCount(); }
  explicit operator bool() const { return ch_ != nullptr; }

 private:
  template <typename U>
  friend std::pair<WatchSender<U>, WatchReceiver<U>> MakeWatch(U initial);
  explicit WatchSender(internal::WatchChannel<T>* ch) : ch_(ch) {
    ch_->AddRef();
  }
  void Reset() {
    if (ch_ == nullptr) return;
    ch_->Close();
    std::exchange(ch_, nullptr)->Release();
  }
  internal::WatchChannel<T>* ch_ = nullptr;
};

template <typename T>
class WatchReceiver {
 public:
  using ChangedAwaiter = OneAwaiter<internal::WatchChangedOp<T>>;

  WatchReceiver() = default;
  WatchReceiver(const WatchReceiver& o) : WatchReceiver(o.ch_, o.seen_) {}
  WatchReceiver(WatchReceiver&& o) noexcept
      : ch_(std::exchange(o.ch_, nullptr)), seen_(o.seen_) {}
  WatchReceiver& operator=(WatchReceiver o) noexcept {
    std::swap(ch_, o.ch_);
    std::swap(seen_, o.seen_);
    return *this;
  }
  ~WatchReceiver() { Reset(); }

  // OK once there is a version this receiver has not seen (it is then
  // seen); FailedPrecondition once the sender is gone and all was seen.
  // The receiver must not be moved or destroyed while this is pending.
  ChangedAwaiter Changed() {
    return ChangedAwaiter(internal::WatchChangedOp<T>(*this));
  }
  absl::Status BlockingChanged() {
    return BlockOnOne(internal::WatchChangedOp<T>(*this));
  }
  // Whether there is a version this receiver has not seen.
  bool HasChanged() const {
    return internal::WatchChannel<T>::VersionOf(ch_->State()) != seen_;
  }
  // Whether the sender is gone.
  bool IsClosed() const {
    return internal::WatchChannel<T>::IsClosed(ch_->State());
  }

  // The current value, read-locked; does not mark it seen.
  WatchRef<T> Borrow() const {
    return WatchRef<T>(ch_->ReadLock(), &ch_->value());
  }
  // The current value, read-locked, marked seen.
  WatchRef<T> BorrowAndUpdate() {
    std::shared_lock<std::shared_mutex> lock = ch_->ReadLock();
    // Under the read lock the version matches the value (watch_channel.h).
    seen_ = internal::WatchChannel<T>::VersionOf(ch_->State());
    return WatchRef<T>(std::move(lock), &ch_->value());
  }
  // A copy of the current value; does not mark it seen.
  T Get() const {
    std::shared_lock<std::shared_mutex> lock = ch_->ReadLock();
    return ch_->value();
  }

  explicit operator bool() const { return ch_ != nullptr; }

 private:
  friend class WatchSender<T>;
  friend class internal::WatchChangedOp<T>;
  template <typename U>
  friend std::pair<WatchSender<U>, WatchReceiver<U>> MakeWatch(U initial);
  WatchReceiver(internal::WatchChannel<T>* ch, uint64_t seen)
      : ch_(ch), seen_(seen) {
    if (ch_ != nullptr) {
      ch_->AddRef();
      ch_->AddReceiver();
    }
  }
  void Reset() {
    if (ch_ == nullptr) return;
    ch_->DropReceiver();
    std::exchange(ch_, nullptr)->Release();
  }
  internal::WatchChannel<T>* ch_ = nullptr;
  uint64_t seen_ = 0;  // the last version this receiver has seen
};

template <typename T>
std::pair<WatchSender<T>, WatchReceiver<T>> MakeWatch(T initial) {
  auto* ch = new internal::WatchChannel<T>(std::move(initial));
  return {WatchSender<T>(ch), WatchReceiver<T>(ch, 0)};
}

}  // namespace troupe

#endif  // TROUPE_CHANNELS_WATCH_H_

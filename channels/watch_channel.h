// WatchChannel: the shared core of a watch channel - one value, a version
// counter, and the receivers parked until the version moves.
// WatchSender and WatchReceiver (watch.h) are thin handles.
//
// State word (state_, one atomic):
//   bit 0       kClosed: the sender is gone. Set once.
//   bits 1..63  the version: how many changes were published.
//   A receiver remembers the version it has seen; it has a change to see
//   whenever the version differs, so it can skip intermediate values but
//   can never miss that a change happened, including the last one.
//
// Value: guarded by value_mu_ (a reader-writer lock). A change updates
// the value and bumps the version under the write lock, so a reader that
// holds the read lock sees a value and a version that belong together.
//
// Waking (no lost wake-up): a receiver parks under waiters_mu_ after
// re-reading the state under that lock; the sender bumps the state first
// and takes waiters_mu_ after. Either the receiver's lock hold comes
// first, and the sender then finds it parked and wakes it; or the sender's
// does, and its unlock happens-before the receiver's lock, so the
// receiver's re-read sees the new version and it does not park.
//
// Thread contract: one sender (any thread), receivers on any threads.
//
// Example (what the handles do):
//   auto* ch = new WatchChannel<int>(0);
//   uint64_t seen = WatchChannel<int>::VersionOf(ch->State());
//   ch->Modify([](int& v) { v = 5; return true; });
//   bool changed = WatchChannel<int>::VersionOf(ch->State()) != seen;  // true
#ifndef TROUPE_CHANNELS_WATCH_CHANNEL_H_
#define TROUPE_CHANNELS_WATCH_CHANNEL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "channels/waiter_list.h"
#include "executor/spin_lock.h"

namespace troupe::internal {

template <typename T>
class WatchChannel {
 public:
  static constexpr uint64_t kClosed = 1;
  static constexpr uint64_t kVersionOne = 2;

  explicit WatchChannel(T initial) : value_(std::move(initial)) {}
  WatchChannel(const WatchChannel&) = delete;
  WatchChannel& operator=(const WatchChannel&) = delete;

  // ---- handle bookkeeping (any thread) ----
  void AddRef() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Release() {
    // acq_rel: every handle's last use happens-before the deletion.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  // The receiver count is a report (Send's return value), not a guard of
  // anything: relaxed.
  void AddReceiver() { receivers_.fetch_add(1, std::memory_order_relaxed); }
  void DropReceiver() { receivers_.fetch_sub(1, std::memory_order_relaxed); }
  std::size_t ReceiverCount() const {
    return receivers_.load(std::memory_order_relaxed);
  }

  // ---- the state word (any thread) ----
  // Acquire pairs with the release RMWs in Modify and Close.
  uint64_t State() const { return state_.load(std::memory_order_acquire); }
  static uint64_t VersionOf(uint64_t state) { return state / kVersionOne; }
  static bool IsClosed(uint64_t state) { return (state & kClosed) != 0; }

  // ---- the value ----
  // Readers hold this while they look at value(); never across a co_await.
  std::shared_lock<std::shared_mutex> ReadLock() const {
    return std::shared_lock<std::shared_mutex>(value_mu_);
  }
  const T& value() const { return value_; }  // under ReadLock()

  // ---- the sender ----

  // Runs modify(value) under the write lock. If it returns true, that is
  // a change: the version moves and parked receivers wake. Returns it.
  template <typename Fn>
  bool Modify(Fn&& modify) {
    {
      std::unique_lock<std::shared_mutex> write(value_mu_);
      if (!modify(value_)) return false;
      // Under the write lock: the new version and the new value are seen
      // together by readers. Release pairs with State()'s acquire.
      state_.fetch_add(kVersionOne, std::memory_order_release);
    }
    WakeAll();
    return true;
  }

  // The sender is gone: receivers see the end once they have seen the
  // last version.
  void Close() {
    state_.fetch_or(kClosed, std::memory_order_release);
    WakeAll();
  }

  // ---- receivers ----

  // Parks `w` unless the version differs from `seen` or the channel is
  // closed. Returns true if parked.
  bool Park(ListWaiter* w, uint64_t seen) {
    std::lock_guard<SpinLock> guard(waiters_mu_);
    // Re-read under the lock: see "Waking" above.
    const uint64_t state = State();
    if (VersionOf(state) != seen || IsClosed(state)) return false;
    waiters_.PushBack(w);
    return true;
  }

  // Withdraws a parked waiter (an abandoned wait). A no-op once woken.
  void Unpark(ListWaiter* w) {
    // Acquire pairs with TakeBatch's release: the waker is done with `w`.
    if (w->notified.load(std::memory_order_acquire)) return;
    std::lock_guard<SpinLock> guard(waiters_mu_);
    WaiterList::Remove(w);
  }

 private:
  void WakeAll() {
    std::unique_lock<SpinLock> guard(waiters_mu_);
    if (waiters_.empty()) return;
    WakeAllAndUnlock(guard, waiters_);
  }

  mutable std::shared_mutex value_mu_;
  T value_;  // guarded by value_mu_
  std::atomic<uint64_t> state_{0};
  SpinLock waiters_mu_;  // held for list operations only
  WaiterList waiters_;   // guarded by waiters_mu_
  std::atomic<std::size_t> receivers_{0};
  std::atomic<int64_t> refs_{0};  // one per sender and receiver handle
};

}  // namespace troupe::internal

#endif  // TROUPE_CHANNELS_WATCH_CHANNEL_H_

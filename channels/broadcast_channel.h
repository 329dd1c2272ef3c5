// BroadcastChannel: the shared core of a broadcast channel - a bounded ring
// of the most recent values that every receiver reads on its own.
// BroadcastSender and BroadcastReceiver (broadcast.h) are thin handles.
//
// Positions
//   Every value sent gets the next position (0, 1, 2, ...); `tail_` is the
//   position the next value will take. Position p lives in slot
//   p % capacity, which also records p (`seq`), so a reader can tell the
//   value it wants from an older one (not written yet) or a newer one
//   (overwritten: the reader lagged). Each receiver owns its cursor, the
//   position it reads next; the channel does not know the cursors, so a
//   slow receiver costs nothing and holds nothing: the ring never grows.
//
// Locks (lock order: tail_mu_ before a slot's lock)
//   tail_mu_ (a std::mutex: values are moved in under it, and those moves
//   are user code) guards tail_, the sender and receiver counts and the
//   waiter list. Each slot has a reader-writer lock: a sender writes a
//   slot under tail_mu_ and the slot's write lock, so positions are
//   assigned and written in one order; receivers copy a value out under
//   the slot's read lock, many at once, without touching tail_mu_.
//
// Receiving (the receiver's fast path, then its slow path)
//   1. Read-lock slot cursor % capacity. If its seq is the cursor, copy the
//      value, advance: done.
//   2. Otherwise lock tail_mu_. Now tail_ is exact:
//      - cursor >= tail_: nothing new. Closed if no sender is left,
//        otherwise empty (the receiver may park here, under the same lock
//        hold, so no send can slip in between).
//      - cursor < tail_ - capacity: the value was overwritten. Report
//        Lagged(tail_ - capacity - cursor) and move the cursor to the
//        oldest value held, tail_ - capacity.
//      - otherwise the value was written after step 1 read the slot: read
//        it now (no send can overwrite it while we hold tail_mu_).
//
// Waking
//   A receiver with nothing to read parks a ListWaiter (in its frame) on
//   waiters_ under tail_mu_. A send (or the last sender leaving) wakes all
//   of them, in batches with the lock released (waiter_list.h).
//
// Thread contract: senders and receivers on any threads; each cursor is
// used by one receiver at a time.
//
// Example (what the handles do):
//   auto* ch = new BroadcastChannel<int>(16);
//   ch->AddRef(); ch->AddSender();              // a sender
//   ch->AddRef(); uint64_t cursor = ch->AddReceiver();
//   int v = 7;
//   ch->Send(v);                                // 1 receiver
//   BroadcastResult<int> r = ch->TryRecv(&cursor);   // 7
#ifndef TROUPE_CHANNELS_BROADCAST_CHANNEL_H_
#define TROUPE_CHANNELS_BROADCAST_CHANNEL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <utility>

#include "channels/broadcast_result.h"
#include "channels/waiter_list.h"

namespace troupe::internal {

template <typename T>
class BroadcastChannel {
 public:
  explicit BroadcastChannel(std::size_t capacity)
      : capacity_(capacity), slots_(new Slot[capacity]) {}
  BroadcastChannel(const BroadcastChannel&) = delete;
  BroadcastChannel& operator=(const BroadcastChannel&) = delete;

  std::size_t capacity() const { return capacity_; }

  // ---- handle bookkeeping (any thread) ----
  void AddRef() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Release() {
    // acq_rel: every handle's last use happens-before the deletion.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  void AddSender() {
    std::lock_guard<std::mutex> guard(tail_mu_);
    ++senders_;
  }
  // The last sender closes the channel: parked receivers wake to see it.
  void DropSender() {
    std::unique_lock<std::mutex> guard(tail_mu_);
    if (--senders_ > 0 || waiters_.empty()) return;
    WakeAllAndUnlock(guard, waiters_);
  }
  // A new receiver; returns its cursor (it sees values sent from now on).
  uint64_t AddReceiver() {
    std::lock_guard<std::mutex> guard(tail_mu_);
    ++receivers_;
    return tail_;
  }
  void DropReceiver() {
    std::lock_guard<std::mutex> guard(tail_mu_);
    --receivers_;
  }
  std::size_t ReceiverCount() {
    std::lock_guard<std::mutex> guard(tail_mu_);
    return receivers_;
  }
  // Values a receiver at `cursor` has not read yet (including any it will
  // find overwritten).
  uint64_t Pending(uint64_t cursor) {
    std::lock_guard<std::mutex> guard(tail_mu_);
    return tail_ > cursor ? tail_ - cursor : 0;
  }

  // ---- sending (any thread) ----

  // Stores `value` (moved from) as the newest value, overwriting the
  // oldest once the ring is full, and wakes the parked receivers. Returns
  // the number of receivers; 0 means there is none and `value` is left
  // untouched.
  std::size_t Send(T& value) {
    std::unique_lock<std::mutex> guard(tail_mu_);
    if (receivers_ == 0) return 0;
    Slot& slot = slots_[tail_ % capacity_];
    {
      std::unique_lock<std::shared_mutex> write(slot.lock);
      slot.value = std::move(value);
      slot.seq = tail_;
    }
    ++tail_;
    const std::size_t receivers = receivers_;
    if (!waiters_.empty()) WakeAllAndUnlock(guard, waiters_);
    return receivers;
  }

  // ---- receiving (the receiver owning `*cursor`) ----

  // The value at *cursor (advancing it), Lagged (moving it to the oldest
  // value held), Closed or Empty. See "Receiving" above.
  BroadcastResult<T> TryRecv(uint64_t* cursor) {
    Slot& slot = slots_[*cursor % capacity_];
    {
      std::shared_lock<std::shared_mutex> read(slot.lock);
      if (slot.seq == *cursor) return CopyOut(slot, cursor);
    }
    std::lock_guard<std::mutex> guard(tail_mu_);
    return TryRecvLocked(cursor);
  }

  // Parks `w` unless there is something to take at `cursor` (a value, a
  // lag, or the end). Returns true if parked.
  bool Park(ListWaiter* w, uint64_t cursor) {
    std::lock_guard<std::mutex> guard(tail_mu_);
    if (cursor < tail_ || senders_ == 0) return false;
    waiters_.PushBack(w);
    return true;
  }

  // Withdraws a parked waiter (an abandoned wait). A no-op once woken.
  void Unpark(ListWaiter* w) {
    // Acquire pairs with TakeBatch's release: the waker is done with `w`.
    if (w->notified.load(std::memory_order_acquire)) return;
    std::lock_guard<std::mutex> guard(tail_mu_);
    WaiterList::Remove(w);
  }

 private:
  static constexpr uint64_t kNeverWritten = UINT64_MAX;

  struct Slot {
    std::shared_mutex lock;
    uint64_t seq = kNeverWritten;  // guarded by lock
    std::optional<T> value;        // guarded by lock
  };

  // Under the slot's read lock, which holds position *cursor.
  static BroadcastResult<T> CopyOut(const Slot& slot, uint64_t* cursor) {
    ++*cursor;
    return BroadcastResult<T>::Value(*slot.value);
  }

  // Step 2, under tail_mu_.
  BroadcastResult<T> TryRecvLocked(uint64_t* cursor) {
    if (*cursor >= tail_) {
      return senders_ == 0 ? BroadcastResult<T>::Closed()
                           : BroadcastResult<T>::Empty();
    }
    const uint64_t oldest = tail_ > capacity_ ? tail_ - capacity_ : 0;
    if (*cursor < oldest) {
      const uint64_t missed = oldest - *cursor;
      *cursor = oldest;
      return BroadcastResult<T>::Lagged(missed);
    }
    // Written after step 1 looked; no send can overwrite it while we hold
    // tail_mu_ (lock order: tail_mu_, then the slot).
    Slot& slot = slots_[*cursor % capacity_];
    std::shared_lock<std::shared_mutex> read(slot.lock);
    return CopyOut(slot, cursor);
  }

  const std::size_t capacity_;
  const std::unique_ptr<Slot[]> slots_;
  std::mutex tail_mu_;
  uint64_t tail_ = 0;             // guarded by tail_mu_
  int64_t senders_ = 0;           // guarded by tail_mu_
  std::size_t receivers_ = 0;     // guarded by tail_mu_
  WaiterList waiters_;            // guarded by tail_mu_
  std::atomic<int64_t> refs_{0};  // one per sender and receiver handle
};

}  // namespace troupe::internal

#endif  // TROUPE_CHANNELS_BROADCAST_CHANNEL_H_

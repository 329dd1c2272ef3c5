// MpscChannel: the shared core of a bounded multi-producer single-consumer
// channel. Sender, Receiver and Permit (mpsc.h) are thin handles on it.
//
// Storage and the receiver's batch
//   Senders append to `queue_` (a BlockChain) under `lock_`. The receiver
//   pops from `local_`, a chain only it touches; when `local_` is empty it
//   takes the whole shared queue in O(1) (Splice) under the lock. So a
//   receiver that falls behind pays one lock hold per batch, not per
//   message.
//
// Capacity and back-pressure
//   occupied = sent_ - received_ counts queued messages (shared or in the
//   receiver's batch) plus reserved permits; it never exceeds capacity_.
//   sent_ changes under the lock (a permit given back unused takes its
//   count back); received_ is written only by the receiver (one store per
//   batch of messages; without the lock, or under it when an actor's
//   runner folds the report into RefillOrPark).
//   A sender that finds the channel full, or finds others already waiting
//   (FIFO fairness: nobody overtakes a waiting sender), queues a SendWaiter
//   - intrusive, in its own frame - and sleeps. Whoever frees room admits
//   waiters in order: their values move into the queue and they wake with
//   their send already done.
//
// The one lock-free race (Dekker): a sender queues itself and then sets
//   has_waiters_; the receiver stores received_ and then reads has_waiters_.
//   Both are seq_cst and the sender re-checks occupied (reading received_)
//   after setting the flag, under the lock, admitting itself if room
//   appeared. So either the receiver sees the flag and admits, or the
//   sender sees the room: no sender sleeps on a channel with room. (A
//   report made under the lock - ReportLocked - needs no fence: the lock
//   orders it with the sender's check, and it looks at the wait queue
//   itself.)
//
// Receiver parking
//   The receiver parks by storing a RecvWaiter in rx_waiter_ under the
//   lock; the next push takes it (marking it notified) and wakes it after
//   unlocking.
//
// Closing
//   Close() (the receiver) refuses new sends and fails every waiting
//   sender, handing values back; what is queued still drains. When the
//   last Sender (or Permit) goes, the receiver sees end-of-stream after the
//   queue drains. Dropping the receiver destroys every queued value once.
//
// Layout
//   kStandalone (Sender/Receiver's channel): its own allocation,
//   reference-counted by its handles, its sender and receiver sides on
//   cache lines of their own. kEmbedded (an actor's mailbox): a member of
//   its owner, which outlives every sender and destroys it; no reference
//   count, no padding - the owner's other fields keep the two sides apart
//   (an idle actor pays for neither the padding nor a second block).
//
// Thread contract: methods marked "receiver" are called only by the one
// Receiver; the rest by any thread.
#ifndef TROUPE_CHANNELS_MPSC_CHANNEL_H_
#define TROUPE_CHANNELS_MPSC_CHANNEL_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "channels/block_chain.h"
#include "channels/send_stage.h"
#include "channels/waker.h"
#include "executor/spin_lock.h"

namespace troupe::internal {

inline constexpr uint32_t kMaxBlockSlots = 32;

template <typename T>
struct SendWaiter {
  enum : uint32_t { kIdle, kQueued, kDone, kClosed };
  SendWaiter* next = nullptr;  // guarded by the channel lock
  SendWaiter* prev = nullptr;  // guarded by the channel lock
  WaitTarget target;
  // The value to send; null for a reservation (Reserve/TryReserve).
  std::optional<T>* value = nullptr;
  // Written under the lock; read with acquire by the waiter. Once it leaves
  // kQueued the channel never touches this waiter again.
  std::atomic<uint32_t> state{kIdle};
  // An actor's tell may be admitted with room for more (see
  // GrantLocked): `grant_pin` (null: no grant wanted) pins the mailbox's
  // owner for the stage that takes the granted slots over; `grant` is how
  // many (written under the lock before `state` leaves kQueued).
  const StagePin* grant_pin = nullptr;
  uint32_t grant = 0;
};

struct RecvWaiter {
  // Potentially overlapping: `notified` takes the target's tail padding
  // (every actor cell holds one of these).
  [[no_unique_address]] WaitTarget target;
  std::atomic<bool> notified{false};
};

// Wake-ups gathered under the lock, delivered after it. Storage is raw:
// constructing one costs nothing, so every send can afford one.
class WakeBatch {
 public:
  static constexpr int kMax = 16;
  WakeBatch() = default;
  WakeBatch(const WakeBatch&) = delete;
  WakeBatch& operator=(const WakeBatch&) = delete;
  ~WakeBatch() { WakeAll(); }

  bool full() const { return n_ == kMax; }
  // One slot is kept for the receiver's wake-up.
  bool nearly_full() const { return n_ >= kMax - 1; }
  void Add(Waker w) { new (&slots_[n_++]) Waker(std::move(w)); }
  // Inline test for the common empty batch (an actor's runner makes one
  // per RefillOrPark); the wake-ups out of line.
  [[gnu::always_inline]] void WakeAll() {
    if (n_ != 0) WakeAllSlow();
  }

 private:
  [[gnu::noinline]] void WakeAllSlow() {
    for (int i = 0; i < n_; ++i) {
      Waker* w = std::launder(reinterpret_cast<Waker*>(&slots_[i]));
      w->Wake();
      w->~Waker();
    }
    n_ = 0;
  }

  struct alignas(Waker) Slot {
    unsigned char bytes[sizeof(Waker)];
  };
  Slot slots_[kMax];
  int n_ = 0;
};

enum class MpscLayout { kStandalone, kEmbedded };

template <typename T, MpscLayout kLayout = MpscLayout::kStandalone>
class MpscChannel {
  static constexpr bool kStandalone = kLayout == MpscLayout::kStandalone;
  // The receiver's fields start a cache line of their own only when the
  // channel stands alone.
  static constexpr std::size_t kSideAlign =
      kStandalone ? 64 : alignof(uint64_t);

 public:
  enum class PushResult { kPushed, kFull, kClosed };

  // Capacities beyond kMaxCapacity are refused by MakeMpsc; an actor's
  // mailbox clamps to it (no one queues four billion messages).
  static constexpr std::size_t kMaxCapacity = UINT32_MAX;

  explicit MpscChannel(std::size_t capacity)
      : slots_per_block_(static_cast<uint8_t>(BlockSlots(capacity))),
        capacity_(static_cast<uint32_t>(std::min(capacity, kMaxCapacity))),
        waiting_batch_(static_cast<uint32_t>(
            kStandalone
                ? std::clamp<std::size_t>(capacity / 4, 1, 4)
                : std::clamp<std::size_t>(capacity / 8, 1, kMaxWaitingBatch))) {
  }
  MpscChannel(const MpscChannel&) = delete;
  MpscChannel& operator=(const MpscChannel&) = delete;
  ~MpscChannel() {
    queue_.Clear(pool_);
    local_.Clear(local_pool_);
  }

  // The channel is over-aligned (its sender and receiver sides sit on
  // cache lines of their own). glibc's aligned allocation leaves the
  // slack in front of each block as a small free chunk that little else
  // reuses: ~110 B of resident memory per 256 B channel, measured over
  // 100,000 actors' mailboxes. So it takes plain (16-byte aligned) memory
  // with up to 48 bytes to spare, aligns by hand, and keeps the offset
  // in the byte after the object: ~50 B per channel fewer.
  static void* operator new(std::size_t size,
                            std::align_val_t align) requires kStandalone {
    const auto a = static_cast<std::size_t>(align);
    // Plain new is aligned to __STDCPP_DEFAULT_NEW_ALIGNMENT__, so at
    // most a - that much is skipped.
    static_assert(
        alignof(MpscChannel) - __STDCPP_DEFAULT_NEW_ALIGNMENT__ <= 255,
        "the offset must fit the byte after the object");
    const std::size_t slack = a - __STDCPP_DEFAULT_NEW_ALIGNMENT__;
    auto* raw = static_cast<unsigned char*>(::operator new(size + slack + 1));
    const std::size_t offset =
        (a - reinterpret_cast<std::uintptr_t>(raw) % a) % a;
    assert(offset <= slack && "::operator new is less aligned than promised");
    unsigned char* object = raw + offset;
    object[size] = static_cast<unsigned char>(offset);
    return object;
  }
  static void operator delete(void* object, std::size_t size,
                              std::align_val_t) requires kStandalone {
    auto* p = static_cast<unsigned char*>(object);
    ::operator delete(p - p[size]);
  }

  // ---- handle bookkeeping (any thread) ----
  // References: the standalone channel's handles (an embedded one's owner
  // keeps it alive).
  void AddRef() requires kStandalone {
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void Release() requires kStandalone {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  // Senders: when the last goes, the receiver sees the end of the stream.
  void AddSender() { senders_.fetch_add(1, std::memory_order_relaxed); }
  void DropSender() {
    // Release: our pushes happen-before the receiver's acquire load that
    // sees zero senders (and so the final drain sees them).
    if (senders_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    Waker rx;
    {
      SpinLockGuard guard(lock_);
      rx = TakeReceiverLocked();
    }
    rx.Wake();
  }

  std::size_t capacity() const { return capacity_; }
  // The deepest the queue was when the receiver took a batch (any thread).
  // The receiver takes the whole queue whenever its batch runs dry, so a
  // burst that piled up while it was busy is counted whole, without a
  // per-value look at the senders' counters. Between two batches the
  // depth may peak higher by up to the values of the batch still in hand;
  // callers that need the present depth add Len().
  uint64_t HighWater() const {
    return high_water_.load(std::memory_order_relaxed);
  }
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  bool HasSenders() const {
    return senders_.load(std::memory_order_acquire) > 0;
  }
  // Queued messages (approximate from other threads).
  std::size_t Len() const {
    // received_ first: the receiver stored it (a release) after taking
    // values whose pushes counted in sent_ before, so sent_ read after it
    // is at least as large and the difference cannot wrap.
    const uint64_t received = received_.load(std::memory_order_acquire);
    const uint64_t occupied = sent_.load(std::memory_order_acquire) - received;
    const uint64_t permits = permits_out_.load(std::memory_order_acquire);
    // (Read apart, the counters may disagree for a moment: clamp.)
    return occupied > permits ? static_cast<std::size_t>(occupied - permits)
                              : 0;
  }

  // ---- sending (any thread) ----

  // Pushes without waiting. The value is moved only on kPushed.
  PushResult TryPush(std::optional<T>& value) {
    const PushResult r = TryPushWith([&value] { return std::move(*value); });
    if (r == PushResult::kPushed) value.reset();
    return r;
  }

  // TryPush for a value built in place by `make()` (called only if there
  // is room, under the lock: keep it cheap).
  template <typename Make>
  PushResult TryPushWith(Make&& make) {
    FlushOwnStage();
    Waker rx;
    PushResult result;
    {
      SpinLockGuard guard(lock_);
      result = PushIfRoomLocked(make, rx);
    }
    rx.Wake();
    return result;
  }

  // TryPushWith for an actor's tell, batching bursts (see send_stage.h):
  // if this thread has a stage open for this mailbox the value goes
  // there, without the lock. Otherwise it is pushed, and if this is the
  // task run's second push here in a row, or taking the lock meant
  // waiting for another thread, room for up to kStageBatch more values is
  // reserved in the same hold: this thread's next values for this mailbox
  // are staged until the reservation runs out or the task's run ends.
  // (A run that tells once - a ping-pong, a ring - never stages.) `pin`
  // keeps the mailbox's owner alive while the stage is open.
  template <typename Make>
  PushResult TryPushStaged(Make&& make,
                           const StagePin& pin) requires(!kStandalone) {
    SendStage<T>& stage = SendStage<T>::Current();
    if (stage.channel == this) {
      if (stage.permits == 0 && !RefillStage(stage)) {
        return TryPushWith(make);  // the stage is closed: the plain path
      }
      stage.chain.PushWith(make, stage.pool, slots_per_block_);
      --stage.permits;
      ++stage.staged;
      return PushResult::kPushed;
    }
    // A burst: the same run pushed here just before.
    const bool again =
        stage.last_channel == this && stage.last_poll == PollCount();
    stage.last_channel = this;
    stage.last_poll = PollCount();
    Waker rx;
    PushResult result;
    {
      const bool contended = lock_.LockNotingContention();
      SpinLockGuard guard(lock_, std::adopt_lock);
      result = PushIfRoomLocked(make, rx);
      if (result == PushResult::kPushed && (again || contended) &&
          stage.channel == nullptr) {
        OpenStageLocked(stage, pin);
      }
    }
    rx.Wake();
    return result;
  }

  // The sender of a tell admitted with a grant (SendWaiter::grant) takes
  // the granted slots over in this thread's stage, for its next tells in
  // this run; if that stage is busy, or this is not a task's run, they go
  // back at once. `pin` was pinned (and a sender counted) by the grant.
  void AdoptGrant(uint32_t permits, const StagePin& pin) {
    SendStage<T>& stage = SendStage<T>::Current();
    if (stage.channel == nullptr && DeferStage(stage)) {
      AttachStage(stage, permits, pin);
      return;
    }
    ReturnGrant(permits, pin);
  }
  // Gives granted slots back (the sender will not use them).
  void ReturnGrant(uint32_t permits, const StagePin& pin) {
    WakeBatch batch;
    {
      SpinLockGuard guard(lock_);
      GiveBackLocked(permits, batch);
      StageClosedLocked(batch);
    }
    batch.WakeAll();
    UnholdStage(pin);  // may free this channel: nothing after
  }

  // Reserves a slot without waiting (a Permit).
  PushResult TryReserveSlot() {
    FlushOwnStage();
    SpinLockGuard guard(lock_);
    if (closed_.load(std::memory_order_relaxed)) return PushResult::kClosed;
    if (waiters_head_ != nullptr || !HasRoomLocked()) {
      return PushResult::kFull;
    }
    sent_.store(sent_.load(std::memory_order_relaxed) + 1,
                std::memory_order_release);
    permits_out_.store(permits_out_.load(std::memory_order_relaxed) + 1,
                       std::memory_order_release);
    return PushResult::kPushed;
  }

  // Pushes, or queues `w` (FIFO) to wait for room. kFull means queued: the
  // caller sleeps until w->state leaves kQueued.
  PushResult PushOrQueue(SendWaiter<T>* w) {
    FlushOwnStage();
    WakeBatch batch;
    PushResult result;
    {
      SpinLockGuard guard(lock_);
      if (closed_.load(std::memory_order_relaxed)) return PushResult::kClosed;
      if (waiters_head_ == nullptr && HasRoomLocked()) {
        AcceptLocked(w);
        if (Waker rx = TakeReceiverLocked()) batch.Add(std::move(rx));
        result = PushResult::kPushed;
      } else {
        LinkWaiterLocked(w);
        w->state.store(SendWaiter<T>::kQueued, std::memory_order_relaxed);
        // Dekker with the receiver (see the file comment): flag first, then
        // re-check the room by admitting whoever fits.
        has_waiters_.store(true, std::memory_order_seq_cst);
        AdmitLocked(batch, w);
        result =
            w->state.load(std::memory_order_relaxed) == SendWaiter<T>::kQueued
                ? PushResult::kFull
                : PushResult::kPushed;
      }
    }
    batch.WakeAll();
    return result;
  }

  // Takes `w` out of the wait queue if it is still there (an abandoned or
  // timed-out send). Returns true if it was: its send did not happen.
  bool Unqueue(SendWaiter<T>* w) {
    if (w->state.load(std::memory_order_acquire) != SendWaiter<T>::kQueued) {
      return false;
    }
    SpinLockGuard guard(lock_);
    if (w->state.load(std::memory_order_relaxed) != SendWaiter<T>::kQueued) {
      return false;
    }
    UnlinkWaiterLocked(w);
    if (waiters_head_ == nullptr) {
      has_waiters_.store(false, std::memory_order_relaxed);
    }
    w->state.store(SendWaiter<T>::kIdle, std::memory_order_relaxed);
    return true;
  }

  // A permit's send: the slot is already reserved.
  void PushReserved(T&& value) {
    FlushOwnStage();
    Waker rx;
    {
      SpinLockGuard guard(lock_);
      permits_out_.store(permits_out_.load(std::memory_order_relaxed) - 1,
                         std::memory_order_release);
      if (closed_.load(std::memory_order_relaxed)) {
        // Closed meanwhile: the value is dropped like any queued value
        // would be when the receiver leaves; the slot is released.
        sent_.store(sent_.load(std::memory_order_relaxed) - 1,
                    std::memory_order_release);
        return;
      }
      queue_.Push(std::move(value), pool_, slots_per_block_);
      rx = TakeReceiverLocked();
    }
    rx.Wake();
  }

  // A permit dropped unused: its slot returns to the channel.
  void ReleaseReserved() {
    WakeBatch batch;
    {
      SpinLockGuard guard(lock_);
      permits_out_.store(permits_out_.load(std::memory_order_relaxed) - 1,
                         std::memory_order_release);
      sent_.store(sent_.load(std::memory_order_relaxed) - 1,
                  std::memory_order_release);
      AdmitLocked(batch, nullptr);
    }
    batch.WakeAll();
  }

  // ---- receiving (the receiver only) ----

  // Pops the next value: the receiver's batch first, then the whole shared
  // queue. Empty if nothing is queued.
  std::optional<T> TryPop() {
    if (local_.empty() && !Refill()) return std::nullopt;
    std::optional<T> value = local_.Pop(local_pool_);
    ReportConsumed(/*report_when_dry=*/true);
    return value;
  }

  // In-place receiving, for a receiver that uses each value where it lies
  // (the actor runner): Front() is the next value or nullptr; the value
  // stays valid, at the same address, until PopFront(). An actor's
  // mailbox (kEmbedded) leaves the room of a batch that ran dry to be
  // reported by RefillOrPark or FlushConsumed: its runner calls one of
  // them before it takes another message or leaves Run() (control turns
  // may come in between).
  T* Front() {
    if (local_.empty() && !Refill()) return nullptr;
    return &local_.Front();
  }
  [[gnu::always_inline]] void PopFront() {
    local_.DropFront(local_pool_);
    ReportConsumed(/*report_when_dry=*/kStandalone);
  }

  // Gives back at once the room of values taken but not yet reported
  // (ReportConsumed batches it). A receiver that goes off to do something
  // else with values still in its batch - an actor whose handler awaits -
  // calls it first, so that no sender waits for room that exists.
  [[gnu::always_inline]] void FlushConsumed() {
    if (unreported_ != 0) Consumed(std::exchange(unreported_, 0));
  }

  // True once closed (or without senders) and fully drained. Call after
  // TryPop returned false.
  bool Finished() {
    if (!closed() && HasSenders()) return false;
    if (!local_.empty()) return false;
    // The last push happened before the close we observed: look again.
    // Values staged before the close are still to come.
    SpinLockGuard guard(lock_);
    return !SpliceLocked() && stages_open_ == 0;
  }

  // Parks the receiver in `rw`. Returns false (not parked) if a value or
  // the end of the stream is there to be seen, or `other_work()` (checked
  // under the lock) says the receiver has something else to do - a second
  // event source that wakes the receiver through WakeReceiver() after
  // publishing its event, so the check under the lock cannot miss it.
  template <typename OtherWork>
  bool ParkReceiver(RecvWaiter* rw, OtherWork&& other_work) {
    SpinLockGuard guard(lock_);
    return queue_.empty() && ParkIfIdleLocked(rw, other_work);
  }
  bool ParkReceiver(RecvWaiter* rw) {
    return ParkReceiver(rw, [] { return false; });
  }

  // The next value if the receiver's batch holds one (no lock), else
  // nullptr - even if values wait in the shared queue.
  T* FrontInBatch() { return local_.empty() ? nullptr : &local_.Front(); }

  // Refill and ParkReceiver under one hold of the lock, for a receiver
  // whose batch ran dry: takes the shared queue; parks `rw` (returns true)
  // only if that was empty and nothing else is to be seen (as for
  // ParkReceiver). An actor that goes idle after each message pays one
  // lock, not two.
  //
  // The room of values taken and not yet reported is given back in the
  // same hold (an actor's mailbox defers that report to here, or to
  // FlushConsumed: see ReportConsumed), so a receiver that parks after
  // every message stores received_ under the lock instead of with a
  // seq_cst store and load of its own.
  template <typename OtherWork>
  bool RefillOrPark(RecvWaiter* rw, OtherWork&& other_work) {
    WakeBatch batch;  // woken after the lock (declared before the guard)
    bool parked = false;
    bool more_waiters = false;
    {
      SpinLockGuard guard(lock_);
      more_waiters = ReportLocked(batch);
      if (local_.empty()) {
        // Parking with waiters left to admit is fine: an admitted value
        // wakes the receiver like any push.
        if (queue_.empty()) {
          parked = ParkIfIdleLocked(rw, other_work);
        } else {
          SpliceLocked();
        }
      }
    }
    batch.WakeAll();
    if (more_waiters) AdmitWaiters(batch);
    return parked;
  }

  // Parks the receiver even if values are queued (a receiver that must not
  // take them yet, such as a failed actor awaiting its supervisor); only
  // `other_work()` prevents it. Any push still wakes it.
  template <typename OtherWork>
  bool ParkReceiverAlways(RecvWaiter* rw, OtherWork&& other_work) {
    SpinLockGuard guard(lock_);
    if (other_work()) return false;
    rw->notified.store(false, std::memory_order_relaxed);
    rx_waiter_ = rw;
    return true;
  }

  // Publishes this thread's stage for this channel, if one is open (see
  // TryPushStaged): for a message that reaches the receiver without the
  // channel (an actor's direct ask), which must not overtake it either.
  void PublishOwnStage() { FlushOwnStage(); }

  // Wakes a parked receiver without sending it anything (see ParkReceiver).
  void WakeReceiver() {
    Waker rx;
    {
      SpinLockGuard guard(lock_);
      rx = TakeReceiverLocked();
    }
    rx.Wake();
  }

  // Adds a sender unless every sender is already gone (the channel then
  // stays finished). Used to mint senders from a weak reference.
  bool TryAddSender() {
    int32_t n = senders_.load(std::memory_order_relaxed);
    while (n > 0) {
      if (senders_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) {
        if constexpr (kStandalone) AddRef();
        return true;
      }
    }
    return false;
  }

  // Withdraws a parked receiver (an abandoned Recv).
  void UnparkReceiver(RecvWaiter* rw) {
    if (rw->notified.load(std::memory_order_acquire)) return;
    SpinLockGuard guard(lock_);
    if (rx_waiter_ == rw) rx_waiter_ = nullptr;
  }

  // The receiver closes: no new sends; waiting senders fail (their values
  // stay with them); queued values still drain.
  void Close() {
    WakeBatch batch;
    for (;;) {
      {
        SpinLockGuard guard(lock_);
        closed_.store(true, std::memory_order_release);
        while (waiters_head_ != nullptr && !batch.full()) {
          SendWaiter<T>* w = waiters_head_;
          UnlinkWaiterLocked(w);
          batch.Add(Waker::Prepare(&w->target));
          w->state.store(SendWaiter<T>::kClosed, std::memory_order_release);
        }
        if (waiters_head_ == nullptr) {
          has_waiters_.store(false, std::memory_order_relaxed);
          break;
        }
      }
      batch.WakeAll();
    }
    batch.WakeAll();
  }

  // The receiver is gone: close and destroy every queued value once.
  void CloseAndDrain() {
    Close();
    SpinLockGuard guard(lock_);
    queue_.Clear(pool_);
    local_.Clear(local_pool_);
  }

 private:
  using SpinLock = troupe::internal::SpinLock;
  using SpinLockGuard = troupe::internal::SpinLockGuard;

  static uint32_t BlockSlots(std::size_t capacity) {
    return capacity < kMaxBlockSlots ? static_cast<uint32_t>(capacity)
                                     : kMaxBlockSlots;
  }

  // Under the lock (reads received_ with seq_cst: see the Dekker note).
  uint64_t Occupied() const {
    return sent_.load(std::memory_order_relaxed) -
           received_.load(std::memory_order_seq_cst);
  }

  // Under the lock: whether one more value fits. Counts against a snapshot
  // of received_ first, and reads the receiver's cache line again only when
  // the snapshot says full: received_ only grows, so the snapshot can only
  // under-state the room, never over-fill the channel - and senders stop
  // pulling that line across cores on every push. (A sender about to sleep
  // re-checks with Occupied(), a fresh read, as the Dekker note requires.)
  bool HasRoomLocked() {
    const uint64_t used = sent_.load(std::memory_order_relaxed);
    if (used - received_snapshot_ < capacity_) return true;
    received_snapshot_ = received_.load(std::memory_order_seq_cst);
    return used - received_snapshot_ < capacity_;
  }

  void PushLocked(T&& value) {
    queue_.Push(std::move(value), pool_, slots_per_block_);
    sent_.store(sent_.load(std::memory_order_relaxed) + 1,
                std::memory_order_release);
  }

  // Completes waiter `w`'s send or reservation (room is known to exist).
  void AcceptLocked(SendWaiter<T>* w) {
    if (w->value != nullptr) {
      PushLocked(std::move(**w->value));
      w->value->reset();
    } else {
      sent_.store(sent_.load(std::memory_order_relaxed) + 1,
                  std::memory_order_release);
      permits_out_.store(permits_out_.load(std::memory_order_relaxed) + 1,
                         std::memory_order_release);
    }
  }

  // Admits queued senders in FIFO order while there is room. `self`, if
  // not null, is the calling sender: it needs no wake-up.
  void AdmitLocked(WakeBatch& batch, SendWaiter<T>* self) {
    bool pushed = false;
    while (waiters_head_ != nullptr && Occupied() < capacity_ &&
           !batch.nearly_full()) {
      SendWaiter<T>* w = waiters_head_;
      UnlinkWaiterLocked(w);
      pushed |= w->value != nullptr;
      AcceptLocked(w);
      // Granted only while other senders wait: a fan-in. (A lone sender
      // refills its stage itself; granting to it measured slower.)
      if (w->grant_pin != nullptr && waiters_head_ != nullptr) {
        GrantLocked(w);
      }
      if (w != self) batch.Add(Waker::Prepare(&w->target));
      // Last touch of the waiter: after this store it may be destroyed.
      w->state.store(SendWaiter<T>::kDone, std::memory_order_release);
    }
    if (waiters_head_ == nullptr) {
      has_waiters_.store(false, std::memory_order_relaxed);
    }
    if (pushed) {
      if (Waker rx = TakeReceiverLocked()) batch.Add(std::move(rx));
    }
  }

  // The wait queue (circular, doubly linked; see waiters_head_).
  void LinkWaiterLocked(SendWaiter<T>* w) {
    if (waiters_head_ == nullptr) {
      w->next = w->prev = w;
      waiters_head_ = w;
      return;
    }
    SendWaiter<T>* newest = waiters_head_->prev;
    w->prev = newest;
    w->next = waiters_head_;
    newest->next = w;
    waiters_head_->prev = w;
  }
  void UnlinkWaiterLocked(SendWaiter<T>* w) {
    if (w->next == w) {
      waiters_head_ = nullptr;
    } else {
      w->prev->next = w->next;
      w->next->prev = w->prev;
      if (waiters_head_ == w) waiters_head_ = w->next;
    }
    w->next = w->prev = nullptr;
  }

  [[gnu::always_inline]] Waker TakeReceiverLocked() {
    RecvWaiter* rw = rx_waiter_;
    if (rw == nullptr) return Waker();
    rx_waiter_ = nullptr;
    Waker w = Waker::Prepare(&rw->target);
    rw->notified.store(true, std::memory_order_release);
    return w;
  }

  // Receiver: takes the shared queue. Returns false if it was empty.
  bool Refill() {
    SpinLockGuard guard(lock_);
    return SpliceLocked();
  }

  // Under the lock, nothing queued: parks `rw` unless the stream is over
  // or the receiver has other work (ParkReceiver, RefillOrPark).
  template <typename OtherWork>
  bool ParkIfIdleLocked(RecvWaiter* rw, OtherWork& other_work) {
    // Over (closed, or no senders) unless stages are still to publish:
    // then wait for them (publishing or closing one wakes us).
    const bool over = closed_.load(std::memory_order_relaxed) ||
                      senders_.load(std::memory_order_acquire) == 0;
    if ((over && stages_open_ == 0) || other_work()) return false;
    rw->notified.store(false, std::memory_order_relaxed);
    rx_waiter_ = rw;
    // Idle now: spare full-size blocks (32 values each - 2 KiB of an
    // actor's envelopes), left by a burst, go back to this thread's frame
    // cache instead of sitting in an idle mailbox. Small spares stay: one
    // message at a time cycles those without the allocator.
    pool_.TrimLarge();
    local_pool_.TrimLarge();
    return true;
  }

  // Under the lock: Refill's work.
  bool SpliceLocked() {
    local_pool_.TransferTo(pool_);
    local_.Splice(queue_);
    if (local_.empty()) return false;
    // The batch is everything queued (the receiver's batch was empty), so
    // this is the mailbox's depth right now. sent_ and permits_out_
    // change only under the lock we hold; received_ and unreported_ are
    // ours.
    const uint64_t depth = sent_.load(std::memory_order_relaxed) -
                           received_.load(std::memory_order_relaxed) -
                           unreported_ -
                           permits_out_.load(std::memory_order_relaxed);
    if (depth > high_water_.load(std::memory_order_relaxed)) {
      // Relaxed: a statistic, written only by the receiver. The depth is
      // at most capacity_, so it fits.
      high_water_.store(static_cast<uint32_t>(depth),
                        std::memory_order_relaxed);
    }
    return true;
  }

  // Receiver, after each value taken: gives room back in batches - one
  // seq_cst store per kConsumedBatch values, or per waiting_batch_ values
  // while senders wait - and at once when the receiver's batch runs dry
  // (or the receiver calls FlushConsumed).
  // Admitting waiters in batches matters under fan-in: each report takes
  // the lock and wakes the senders it admits, and each admitted sender,
  // finding others still queued, queues again after one value - so a
  // report per value or two keeps the channel in that mode, one sender
  // wake per message. An actor's mailbox (its runner flushes whenever it
  // stops taking messages) admits per capacity/8, at most
  // kMaxWaitingBatch (64), and while senders wait it reports only then:
  // the queue empties of waiters, and senders push without waking anyone until
  // the mailbox fills again (fan-in of 100 actors into one: batches of 16 gave
  // ~2x the messages per second of 4, and 64 another 1.2-2x). A standalone
  // channel's receiver may hold values for a long time between takes, so it
  // admits per 4.
  //
  // The actor's runner (PopFront on an actor's mailbox) does not report
  // when the batch runs dry: before its next message it calls
  // RefillOrPark, which reports under the lock it takes anyway, and it
  // flushes whenever it leaves Run() - so the actor that parks after each
  // message pays no fence for it.
  [[gnu::always_inline]] void ReportConsumed(bool report_when_dry) {
    ++unreported_;
    const uint32_t batch = has_waiters_.load(std::memory_order_relaxed)
                               ? waiting_batch_
                               : kConsumedBatch;
    if (unreported_ >= batch || (report_when_dry && local_.empty())) {
      Consumed(std::exchange(unreported_, 0));
    }
  }

  // Under the lock: reports the values taken and not yet reported, and
  // admits the waiting senders that now fit. No fence: the lock orders
  // this store with every sender's room check, which is made under it too
  // (the Dekker note concerns the unlocked report, Consumed). Returns true
  // if waiters that may fit remain beyond what `batch` could hold.
  bool ReportLocked(WakeBatch& batch) {
    if (unreported_ == 0) return false;
    // Release: Len() reads it without the lock.
    received_.store(received_.load(std::memory_order_relaxed) +
                        std::exchange(unreported_, 0),
                    std::memory_order_release);
    return waiters_head_ != nullptr && AdmitSomeLocked(batch);
  }

  // Under the lock: admits the waiters that fit, as many as `batch` holds.
  // Returns true if waiters remain once it is full (admit more after
  // waking it).
  bool AdmitSomeLocked(WakeBatch& batch) {
    AdmitLocked(batch, nullptr);
    return batch.nearly_full() && waiters_head_ != nullptr;
  }

  // Receiver: `n` values left the channel; admit waiting senders.
  void Consumed(uint64_t n) {
    // seq_cst store then seq_cst load: the receiver's half of the Dekker
    // pattern described at the top.
    received_.store(received_.load(std::memory_order_relaxed) + n,
                    std::memory_order_seq_cst);
    if (!has_waiters_.load(std::memory_order_seq_cst)) return;
    WakeBatch batch;
    AdmitWaiters(batch);
  }

  // Receiver: admits waiting senders while there is room, a WakeBatch at a
  // time (`batch` arrives empty).
  void AdmitWaiters(WakeBatch& batch) {
    bool more = true;
    while (more) {
      {
        SpinLockGuard guard(lock_);
        more = AdmitSomeLocked(batch);
      }
      batch.WakeAll();
    }
  }

  // Under the lock: TryPushWith's step (`rx` takes a parked receiver).
  template <typename Make>
  PushResult PushIfRoomLocked(Make& make, Waker& rx) {
    if (closed_.load(std::memory_order_relaxed)) return PushResult::kClosed;
    if (waiters_head_ != nullptr || !HasRoomLocked()) return PushResult::kFull;
    queue_.PushWith(make, pool_, slots_per_block_);
    sent_.store(sent_.load(std::memory_order_relaxed) + 1,
                std::memory_order_release);
    rx = TakeReceiverLocked();
    return PushResult::kPushed;
  }

  // ---- staged sends (kEmbedded; see send_stage.h) ----

  static constexpr uint32_t kStageBatch = 32;

  // Under the lock, after a contended push: reserves up to kStageBatch
  // slots (if no sender waits: staging must not overtake the wait queue)
  // and opens `stage` for this channel until the task's run ends.
  void OpenStageLocked(SendStage<T>& stage, const StagePin& pin) {
    if (waiters_head_ != nullptr || stages_open_ == UINT16_MAX) return;
    const uint32_t permits = RoomForStageLocked();
    if (permits == 0 || !DeferStage(stage)) return;  // not in a task's run
    HoldForStageLocked(permits, pin);
    AttachStage(stage, permits, pin);
  }

  // Room reserved for a stage (or a grant to become one): counted as
  // permits and in stages_open_, with a sender and a pin on the owner.
  void HoldForStageLocked(uint32_t permits, const StagePin& pin) {
    ReservePermitsLocked(permits);
    ++stages_open_;
    // Relaxed: the caller (or the admitted waiter) is a sender already, so
    // the count cannot reach zero meanwhile; DropSender orders the release.
    senders_.fetch_add(1, std::memory_order_relaxed);
    pin.pin(pin.object);
  }
  // Undoes HoldForStageLocked's sender and pin (after the lock). May free
  // this channel: nothing of it is touched after.
  void UnholdStage(const StagePin& pin) {
    DropSender();
    pin.unpin(pin.object);
  }

  // Registers the stage's poll-end hook once per run; false outside one.
  static bool DeferStage(SendStage<T>& stage) {
    if (!stage.deferred) {
      stage.run = &StageHook;
      stage.deferred = DeferToPollEnd(&stage);
    }
    return stage.deferred;
  }
  void AttachStage(SendStage<T>& stage, uint32_t permits, const StagePin& pin) {
    stage.channel = this;
    stage.pin = pin;
    stage.permits = permits;
    stage.staged = 0;
  }

  // Under the lock: gives `n` reserved slots back and admits waiters.
  void GiveBackLocked(uint32_t n, WakeBatch& batch) {
    permits_out_.store(permits_out_.load(std::memory_order_relaxed) - n,
                       std::memory_order_release);
    sent_.store(sent_.load(std::memory_order_relaxed) - n,
                std::memory_order_release);
    AdmitLocked(batch, nullptr);
  }

  // Under the lock, admitting `w` (an actor's tell that waited, with
  // other senders still waiting): if room is left, reserves up to
  // kStageBatch - 1 more slots for its sender's next tells (AdoptGrant). A
  // sender that waited once is likely to wait again at once; admitted one value
  // at a time, every message of a fan-in into a full mailbox costs a sleep and
  // a wake-up of its sender.
  void GrantLocked(SendWaiter<T>* w) {
    const uint64_t occupied = Occupied();
    if (occupied >= capacity_ || stages_open_ == UINT16_MAX) return;
    const auto permits = static_cast<uint32_t>(
        std::min<uint64_t>(capacity_ - occupied, kStageBatch - 1));
    HoldForStageLocked(permits, *w->grant_pin);
    w->grant = permits;
  }

  // Under the lock: free room, at most kStageBatch (a fresh look at
  // received_ only when the snapshot says there is none).
  uint32_t RoomForStageLocked() {
    if (!HasRoomLocked()) return 0;
    const uint64_t used =
        sent_.load(std::memory_order_relaxed) - received_snapshot_;
    return static_cast<uint32_t>(
        std::min<uint64_t>(capacity_ - used, kStageBatch));
  }

  void ReservePermitsLocked(uint32_t n) {
    sent_.store(sent_.load(std::memory_order_relaxed) + n,
                std::memory_order_release);
    permits_out_.store(permits_out_.load(std::memory_order_relaxed) + n,
                       std::memory_order_release);
  }

  // Under the lock: moves the staged values into the queue (their slots
  // were reserved) and gives back the unused reservation. Closed
  // meanwhile or not: their senders were told they are sent, and the
  // receiver drains a closed channel - it waits for open stages (see
  // stages_open_). (After the receiver is gone they wait in the queue
  // until the channel is destroyed; the stage's pin keeps it until then.)
  void PublishStageLocked(SendStage<T>& stage, WakeBatch& batch) {
    if (stage.staged != 0) {
      // The values leave the permits and count as queued (sent_ already
      // has them).
      permits_out_.store(
          permits_out_.load(std::memory_order_relaxed) - stage.staged,
          std::memory_order_release);
      queue_.Splice(stage.chain);
      if (Waker rx = TakeReceiverLocked()) batch.Add(std::move(rx));
    }
    const uint32_t give_back = stage.permits;
    stage.staged = stage.permits = 0;
    // The stage's spare blocks go where the receiver returns blocks.
    stage.pool.TransferTo(pool_);
    if (give_back != 0) GiveBackLocked(give_back, batch);
  }

  // Under the lock: one stage (or grant) fewer holds room here. A closed
  // channel's receiver may be waiting for the last one.
  void StageClosedLocked(WakeBatch& batch) {
    --stages_open_;
    if (stages_open_ == 0 && closed_.load(std::memory_order_relaxed)) {
      if (Waker rx = TakeReceiverLocked()) batch.Add(std::move(rx));
    }
  }

  // The stage ran out of reservation: publishes it and reserves more in
  // the same hold. Returns false (stage closed) if no room is left, a
  // sender waits or the channel closed.
  bool RefillStage(SendStage<T>& stage) {
    WakeBatch batch;
    uint32_t permits = 0;
    {
      SpinLockGuard guard(lock_);
      PublishStageLocked(stage, batch);
      if (waiters_head_ == nullptr &&
          !closed_.load(std::memory_order_relaxed)) {
        permits = RoomForStageLocked();
        if (permits != 0) ReservePermitsLocked(permits);
      }
      stage.permits = permits;
      if (permits == 0) StageClosedLocked(batch);
    }
    batch.WakeAll();
    if (permits != 0) return true;
    ReleaseStage(stage);
    return false;
  }

  // Publishes and closes the stage (its task's run ended, or another push
  // of this thread to this channel must not overtake it).
  void FlushStage(SendStage<T>& stage) {
    WakeBatch batch;
    {
      SpinLockGuard guard(lock_);
      PublishStageLocked(stage, batch);
      StageClosedLocked(batch);
    }
    batch.WakeAll();
    ReleaseStage(stage);
  }

  // Drops the stage's sender and pin. May free this channel (the pin may
  // have been the owner's last reference): nothing of it is touched after.
  void ReleaseStage(SendStage<T>& stage) {
    const StagePin pin = stage.pin;
    stage.channel = nullptr;
    stage.pin = {};
    UnholdStage(pin);
  }

  // Before any other push by this thread: publish a stage open for this
  // channel first, so it is not overtaken.
  [[gnu::always_inline]] void FlushOwnStage() {
    if constexpr (!kStandalone) {
      SendStage<T>& stage = SendStage<T>::Current();
      if (stage.channel == this) [[unlikely]] {
        FlushStage(stage);
      }
    }
  }

  // The poll-end hook: the task's run is over.
  static void StageHook(PollEndHook* hook) {
    auto* stage = static_cast<SendStage<T>*>(hook);
    stage->deferred = false;
    if (stage->channel == nullptr) return;
    static_cast<MpscChannel*>(stage->channel)->FlushStage(*stage);
  }

  // Packed: an idle actor's mailbox is mostly these fields. The senders'
  // side (guarded by lock_) comes first, the receiver's after it.
  SpinLock lock_;
  std::atomic<bool> closed_{false};  // written under lock_
  // The values a full block of the queue holds (at most kMaxBlockSlots).
  const uint8_t slots_per_block_;
  const uint32_t capacity_;
  // Receiver-owned, but read-only: how many values the receiver takes
  // before it admits waiting senders (see ReportConsumed; a tiny channel's
  // are admitted as soon as there is room for one).
  const uint32_t waiting_batch_;
  std::atomic<uint32_t> permits_out_{0};  // written under lock_
  BlockChain<T> queue_;                   // guarded by lock_
  BlockPool<T> pool_;                     // guarded by lock_
  // The waiting senders, oldest first: a circular list (the newest is
  // waiters_head_->prev), so one pointer.
  SendWaiter<T>* waiters_head_ = nullptr;  // guarded by lock_
  RecvWaiter* rx_waiter_ = nullptr;        // guarded by lock_
  std::atomic<uint64_t> sent_{0};          // written under lock_
  uint64_t received_snapshot_ = 0;         // guarded by lock_
  alignas(kSideAlign) std::atomic<uint64_t> received_{0};  // receiver only
  // 32 bits: two billion live Senders (or ActorRefs) per channel.
  std::atomic<int32_t> senders_{1};
  // Receiver-owned.
  static constexpr uint32_t kConsumedBatch = 16;
  // An actor's mailbox admits waiting senders per capacity/8 values taken,
  // at most this many (see ReportConsumed).
  static constexpr std::size_t kMaxWaitingBatch = 64;
  uint32_t unreported_ = 0;
  std::atomic<uint32_t> high_water_{0};  // written by the receiver only
  std::atomic<bool> has_waiters_{false};
  // Stages (and grants not yet taken over) holding room here: values
  // their senders were told are sent. A closed channel still takes them,
  // and the receiver is not finished until they are in. (16 bits, in the
  // padding after has_waiters_; no more open at once than that.)
  uint16_t stages_open_ = 0;  // guarded by lock_
  struct NoRefs {
    constexpr explicit NoRefs(int /*refs*/) {}
  };
  // One Sender + the Receiver.
  [[no_unique_address]] std::conditional_t<kStandalone, std::atomic<int64_t>,
                                           NoRefs>
      refs_{2};
  alignas(kSideAlign) BlockChain<T> local_;
  BlockPool<T> local_pool_;
};

}  // namespace troupe::internal

#endif  // TROUPE_CHANNELS_MPSC_CHANNEL_H_

#include "executor/time_driver.h"

#include <array>
#include <mutex>

#include "executor/futex.h"

namespace troupe {
namespace {
constexpr Duration kTick = std::chrono::milliseconds(1);
}  // namespace

TimeDriver::TimeDriver(Clock* clock) : clock_(clock), origin_(clock->Now()) {
  if (clock_->IsManual()) {
    clock_listener_ =
        static_cast<ManualClock*>(clock_)->AddListener([this] { Unpark(); });
  }
}

TimeDriver::~TimeDriver() {
  if (clock_listener_ >= 0) {
    static_cast<ManualClock*>(clock_)->RemoveListener(clock_listener_);
  }
}

uint64_t TimeDriver::TickOf(Instant t, bool round_up) const {
  const int64_t ns = (t - origin_).count();
  if (ns <= 0) return 0;
  const int64_t tick = kTick.count();
  return static_cast<uint64_t>(round_up ? (ns + tick - 1) / tick : ns / tick);
}

Instant TimeDriver::InstantOf(uint64_t tick) const {
  return origin_ + Duration(static_cast<int64_t>(tick) * kTick.count());
}

bool TimeDriver::Register(TimerEntry* entry, Instant deadline,
                          TaskHeader* task) {
  const uint64_t tick = TickOf(deadline, /*round_up=*/true);
  {
    std::lock_guard<internal::SpinLock> guard(mu_);
    const uint64_t now_tick = TickOf(clock_->Now(), /*round_up=*/false);
    if (tick <= now_tick || tick <= wheel_.elapsed()) return false;
    entry->deadline_tick = tick;
    entry->task = task;
    entry->fired.store(false, std::memory_order_relaxed);
    wheel_.Insert(entry);
  }
  pending_.fetch_add(1, std::memory_order_relaxed);
  // If the parked driver would sleep past this deadline, wake it so it
  // recomputes its timeout.
  if (tick < parked_until_.load(std::memory_order_acquire)) Unpark();
  return true;
}

void TimeDriver::Deregister(TimerEntry* entry) {
  // Acquire pairs with the release store in FireDue: after it the driver
  // never touches the entry again.
  if (entry->fired.load(std::memory_order_acquire)) return;
  bool removed = false;
  {
    std::lock_guard<internal::SpinLock> guard(mu_);
    if (entry->level == kDueLevel) {
      if (entry->prev != nullptr) {
        entry->prev->next = entry->next;
      } else {
        due_ = entry->next;
      }
      if (entry->next != nullptr) {
        entry->next->prev = entry->prev;
      } else {
        due_tail_ = entry->prev;
      }
      entry->prev = entry->next = nullptr;
      entry->level = -1;
      removed = true;
    } else if (entry->level >= 0) {
      wheel_.Remove(entry);
      removed = true;
    }
  }
  if (removed) pending_.fetch_sub(1, std::memory_order_relaxed);
}

std::optional<Instant> TimeDriver::NextDeadline() {
  std::lock_guard<internal::SpinLock> guard(mu_);
  const auto exp = wheel_.NextExpiration();
  if (!exp.has_value()) return std::nullopt;
  return InstantOf(exp->deadline);
}

void TimeDriver::FireDue(Instant now) {
  const uint64_t now_tick = TickOf(now, /*round_up=*/false);
  // Due entries leave the wheel for the due list (still registered: their
  // owners may deregister them), then fire in batches whose wake-ups run
  // outside the lock, so no wake-up - possibly a futex call - ever runs
  // under it, and no memory is needed however many timers are due.
  constexpr std::size_t kBatch = 32;
  std::array<TaskRef, kBatch> batch;
  for (;;) {
    std::size_t n = 0;
    {
      std::lock_guard<internal::SpinLock> guard(mu_);
      if (due_ == nullptr) {
        // Appended in firing (deadline) order, so they wake in that order.
        wheel_.Advance(now_tick, [this](TimerWheel::Entry* e) {
          e->level = kDueLevel;
          e->next = nullptr;
          e->prev = due_tail_;
          if (due_tail_ != nullptr) {
            due_tail_->next = e;
          } else {
            due_ = e;
          }
          due_tail_ = e;
        });
      }
      while (due_ != nullptr && n < kBatch) {
        auto* entry = static_cast<TimerEntry*>(due_);
        due_ = entry->next;
        if (due_ != nullptr) {
          due_->prev = nullptr;
        } else {
          due_tail_ = nullptr;
        }
        entry->next = entry->prev = nullptr;
        entry->level = -1;
        batch[n++] = TaskRef::Clone(entry->task);
        // Last touch of the entry; see Deregister.
        entry->fired.store(true, std::memory_order_release);
      }
    }
    if (n == 0) return;
    pending_.fetch_sub(static_cast<int64_t>(n), std::memory_order_relaxed);
    for (std::size_t i = 0; i < n; ++i) batch[i].Wake();
  }
}

void TimeDriver::Poll() { FireDue(clock_->Now()); }

std::optional<Duration> TimeDriver::BeginPark(
    std::optional<Duration> max_wait) {
  std::optional<Duration> wait = max_wait;
  if (auto next = NextDeadline(); next.has_value()) {
    parked_until_.store(TickOf(*next, true), std::memory_order_release);
    if (!clock_->IsManual()) {
      const Duration until = *next - clock_->Now();
      if (!wait.has_value() || until < *wait) wait = until;
    }
  }
  return wait;
}

void TimeDriver::Park(std::optional<Duration> max_wait) {
  const std::optional<Duration> wait = BeginPark(max_wait);
  if (!wait.has_value() || wait->count() > 0) {
    internal::FutexWait(&wake_word_, 0, wait);
  }
  EndPark();
  wake_word_.store(0, std::memory_order_relaxed);
  FireDue(clock_->Now());
}

void TimeDriver::Unpark() {
  // Acquire pairs with ForwardUnparkTo's release (set before any Park).
  if (Driver* outer = outer_.load(std::memory_order_acquire)) {
    outer->Unpark();
    return;
  }
  // exchange + futex: both async-signal-safe.
  if (wake_word_.exchange(1, std::memory_order_acq_rel) == 0) {
    internal::FutexWake(&wake_word_, 1);
  }
}

void TimeDriver::Close() { Unpark(); }

}  // namespace troupe

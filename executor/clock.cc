#include "executor/clock.h"

#include <algorithm>

namespace troupe {

SystemClock* SystemClock::Get() {
  static SystemClock clock;
  return &clock;
}

// An arbitrary, fixed starting point: a day after the steady clock's epoch,
// so tests never see negative or zero instants.
ManualClock::ManualClock() : now_ns_(int64_t{86'400} * 1'000'000'000) {}

void ManualClock::Advance(Duration d) {
  if (d.count() <= 0) return;
  now_ns_.fetch_add(d.count(), std::memory_order_acq_rel);
  Notify();
}

void ManualClock::AdvanceTo(Instant t) {
  const int64_t target = t.time_since_epoch().count();
  int64_t now = now_ns_.load(std::memory_order_acquire);
  while (now < target && !now_ns_.compare_exchange_weak(
                             now, target, std::memory_order_acq_rel)) {
  }
  if (now < target) Notify();
}

int ManualClock::AddListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> guard(mu_);
  listeners_.emplace_back(next_id_, std::move(listener));
  return next_id_++;
}

void ManualClock::RemoveListener(int id) {
  std::lock_guard<std::mutex> guard(mu_);
  std::erase_if(listeners_, [id](const auto& l) { return l.first == id; });
}

void ManualClock::Notify() {
  std::lock_guard<std::mutex> guard(mu_);
  for (auto& [id, listener] : listeners_) listener();
}

}  // namespace troupe

#include "executor/idle.h"

#include <algorithm>

namespace troupe {

Idle::Idle(int num_workers)
    : num_workers_(num_workers),
      state_(static_cast<uint32_t>(num_workers) << kUnparkShift) {
  sleepers_.reserve(static_cast<std::size_t>(num_workers));
}

bool Idle::NotifyShouldWakeup() {
  // A read-modify-write, not a plain load: it is ordered after the caller's
  // queue push in the single seq_cst order and acts as the full fence of
  // the Dekker pattern (ThreadSanitizer does not model atomic fences, and
  // on x86 a locked add costs the same as mfence).
  const uint32_t state = state_.fetch_add(0, std::memory_order_seq_cst);
  return (state & kSearchMask) == 0 &&
         static_cast<int>(state >> kUnparkShift) < num_workers_;
}

int Idle::WorkerToNotify() {
  // Pairs with the searcher's seq_cst decrement (rule 3): the task the
  // caller just queued is visible to anyone who reads the queues after it.
  if (!NotifyShouldWakeup()) return -1;
  std::lock_guard<std::mutex> guard(mu_);
  if (!NotifyShouldWakeup() || sleepers_.empty()) return -1;
  // One more unparked worker, and it starts out searching.
  state_.fetch_add(kUnparkOne | 1, std::memory_order_seq_cst);
  const int worker = sleepers_.back();
  sleepers_.pop_back();
  return worker;
}

int Idle::WorkerToNotifyForLocalWork() {
  const uint32_t state = state_.load(std::memory_order_relaxed);
  if ((state & kSearchMask) != 0 ||
      static_cast<int>(state >> kUnparkShift) >= num_workers_) {
    return -1;
  }
  return WorkerToNotify();
}

bool Idle::TransitionToSearching() {
  const uint32_t state = state_.load(std::memory_order_seq_cst);
  if (2 * static_cast<int>(state & kSearchMask) >= num_workers_) return false;
  state_.fetch_add(1, std::memory_order_seq_cst);
  return true;
}

bool Idle::TransitionFromSearching() {
  const uint32_t prev = state_.fetch_sub(1, std::memory_order_seq_cst);
  return (prev & kSearchMask) == 1;
}

bool Idle::TransitionToParked(int worker, bool is_searching) {
  std::lock_guard<std::mutex> guard(mu_);
  const uint32_t dec = kUnparkOne | (is_searching ? 1u : 0u);
  const uint32_t prev = state_.fetch_sub(dec, std::memory_order_seq_cst);
  sleepers_.push_back(worker);
  return is_searching && (prev & kSearchMask) == 1;
}

bool Idle::IsParked(int worker) {
  std::lock_guard<std::mutex> guard(mu_);
  return std::find(sleepers_.begin(), sleepers_.end(), worker) !=
         sleepers_.end();
}

bool Idle::UnparkWorkerById(int worker) {
  std::lock_guard<std::mutex> guard(mu_);
  auto it = std::find(sleepers_.begin(), sleepers_.end(), worker);
  if (it == sleepers_.end()) return false;
  sleepers_.erase(it);
  state_.fetch_add(kUnparkOne, std::memory_order_seq_cst);
  return true;
}

}  // namespace troupe

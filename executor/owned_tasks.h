// OwnedTasks: every live (not yet complete) task of a scheduler, so that
// shutdown can find and destroy the ones nobody will ever wake - a task
// parked on a channel whose sender is itself parked, for instance.
//
// Sharded intrusive doubly-linked lists, each behind a spin lock: a worker
// inserts into its own shard, so the lock is almost never contended; a task
// is removed from the shard it was inserted into (owned_shard_). Threads
// outside the runtime rotate over kOutsideShards further shards, one per
// spawn, so a worker unlinking a finished task rarely holds the lock the
// spawning thread needs next.
//
// Contract (any thread):
//   Insert(task)   adds a task; false once Close() has been called (the
//                  caller must then cancel the task itself).
//   Remove(task)   removes a task if it is still listed; returns whether
//                  it was (the caller then drops the owned reference).
//   PopAny()       after Close(): removes and returns some remaining task,
//                  or nullptr when all are gone. The owned reference moves
//                  to the caller.
// Each task in the lists holds one reference (the "owned" reference).
// PopAny runs only once no worker runs tasks any more (shutdown step 4), so
// reading owned_shard_ before taking the shard lock in Remove is safe.
#ifndef TROUPE_EXECUTOR_OWNED_TASKS_H_
#define TROUPE_EXECUTOR_OWNED_TASKS_H_

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "executor/spin_lock.h"
#include "executor/task_header.h"

namespace troupe {

class OwnedTasks {
 public:
  static constexpr uint32_t kOutsideShards = 8;  // a power of two

  // One shard per worker plus the outside threads' shards.
  explicit OwnedTasks(uint32_t num_workers)
      : num_workers_(num_workers),
        num_shards_(num_workers + kOutsideShards),
        shards_(new Shard[num_workers + kOutsideShards]) {
    // A task records its shard in 16 bits (TaskHeader::owned_shard_).
    if (num_shards_ >= kNotListed) {
      std::fprintf(stderr, "troupe: at most %u workers\n",
                   kNotListed - kOutsideShards - 1);
      std::abort();
    }
  }

  // The shard for a spawn by worker `worker_index`, or by a thread outside
  // the runtime (`worker_index` < 0) whose spawn counter is `outside_seq`.
  uint32_t ShardFor(int worker_index, uint32_t outside_seq) const {
    return worker_index >= 0
               ? static_cast<uint32_t>(worker_index)
               : num_workers_ + (outside_seq & (kOutsideShards - 1));
  }
  OwnedTasks(const OwnedTasks&) = delete;
  OwnedTasks& operator=(const OwnedTasks&) = delete;

  // `index` comes from ShardFor.
  bool Insert(TaskHeader* task, uint32_t index) {
    Shard& shard = shards_[index];
    std::lock_guard<internal::SpinLock> guard(shard.lock);
    // Checked under the shard lock: Close() takes every shard lock after
    // setting closed_, so no insert can slip past a concurrent drain.
    if (closed_.load(std::memory_order_relaxed)) return false;
    task->owned_shard_ = static_cast<uint16_t>(index);
    task->owned_prev_ = nullptr;
    task->owned_next_ = shard.head;
    if (shard.head != nullptr) shard.head->owned_prev_ = task;
    shard.head = task;
    return true;
  }

  bool Remove(TaskHeader* task) {
    const uint32_t index = task->owned_shard_;
    if (index == kNotListed) return false;
    Shard& shard = shards_[index];
    std::lock_guard<internal::SpinLock> guard(shard.lock);
    if (task->owned_shard_ == kNotListed) return false;
    Unlink(shard, task);
    return true;
  }

  void Close() {
    closed_.store(true, std::memory_order_relaxed);
    // Taking each lock once orders every later Insert after the store.
    for (uint32_t i = 0; i < num_shards_; ++i) {
      std::lock_guard<internal::SpinLock> guard(shards_[i].lock);
    }
  }
  bool IsClosed() const { return closed_.load(std::memory_order_relaxed); }

  TaskHeader* PopAny() {
    for (uint32_t i = 0; i < num_shards_; ++i) {
      Shard& shard = shards_[i];
      std::lock_guard<internal::SpinLock> guard(shard.lock);
      if (TaskHeader* task = shard.head; task != nullptr) {
        Unlink(shard, task);
        return task;
      }
    }
    return nullptr;
  }

 private:
  static constexpr uint32_t kNotListed = UINT16_MAX;

  struct alignas(64) Shard {
    internal::SpinLock lock;
    TaskHeader* head = nullptr;  // guarded by lock
  };

  static void Unlink(Shard& shard, TaskHeader* task) {
    if (task->owned_prev_ != nullptr) {
      task->owned_prev_->owned_next_ = task->owned_next_;
    } else {
      shard.head = task->owned_next_;
    }
    if (task->owned_next_ != nullptr) {
      task->owned_next_->owned_prev_ = task->owned_prev_;
    }
    task->owned_prev_ = task->owned_next_ = nullptr;
    task->owned_shard_ = kNotListed;
  }

  const uint32_t num_workers_;
  const uint32_t num_shards_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<bool> closed_{false};
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_OWNED_TASKS_H_

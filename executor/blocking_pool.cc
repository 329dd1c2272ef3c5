#include "executor/blocking_pool.h"

#include <stdexcept>

#include "executor/join_handle.h"
#include "executor/runtime.h"

namespace troupe {
namespace internal {

void ThrowCancelled() { throw CancelledError(); }

BlockingPool& CurrentBlockingPool() {
  Runtime* runtime = Runtime::Current();
  if (runtime == nullptr) {
    throw std::logic_error(
        "troupe::SpawnBlocking called outside a runtime; pass a pool");
  }
  return runtime->blocking_pool();
}

}  // namespace internal

BlockingPool::BlockingPool(BlockingPoolOptions options)
    : core_(std::make_shared<Core>(options)) {}

BlockingPool::~BlockingPool() { Shutdown(std::nullopt); }

absl::Status BlockingPool::Submit(Job job) {
  Core& c = *core_;
  std::unique_lock<std::mutex> lock(c.mu);
  if (c.shutdown) {
    return absl::FailedPreconditionError("the blocking pool is shut down");
  }
  if (c.queue.size() >= c.options.queue_capacity) {
    return absl::ResourceExhaustedError(
        "the blocking pool's queue is full (" +
        std::to_string(c.options.queue_capacity) + " jobs waiting)");
  }
  c.queue.push_back(std::move(job));
  if (c.idle > 0) {
    // Claim an idle thread for this job now, not when it wakes: a job
    // submitted before then must not count on the same thread (it would
    // queue behind this one while the bound allows it a thread of its own).
    --c.idle;
    ++c.notified;
    c.work_cv.notify_one();
  } else if (c.threads < c.options.max_threads) {
    ++c.threads;
    std::thread(ThreadMain, core_).detach();
  }
  return absl::OkStatus();
}

// By value on purpose: the thread co-owns the core for its whole life.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
void BlockingPool::ThreadMain(std::shared_ptr<Core> core) {
  Core& c = *core;
  std::unique_lock<std::mutex> lock(c.mu);
  for (;;) {
    if (!c.queue.empty()) {
      Job job = std::move(c.queue.front());
      c.queue.pop_front();
      lock.unlock();
      job(true);
      job = nullptr;  // destroy captures outside the lock
      lock.lock();
      continue;
    }
    if (c.shutdown) break;
    ++c.idle;
    const bool woke = c.work_cv.wait_for(lock, c.options.keep_alive, [&c] {
      return c.notified > 0 || c.shutdown;
    });
    if (c.notified > 0) {
      // Claimed by Submit, which already took us off the idle count. (A
      // busy thread may have taken the job meanwhile: then we idle again.)
      --c.notified;
      continue;
    }
    --c.idle;          // leaving the idle count on our own
    if (!woke) break;  // idle for keep_alive: retire
  }
  --c.threads;
  c.exit_cv.notify_all();
}

void BlockingPool::Shutdown(std::optional<Duration> deadline) {
  Core& c = *core_;
  std::deque<Job> dropped;
  std::unique_lock<std::mutex> lock(c.mu);
  c.shutdown = true;
  dropped.swap(c.queue);
  c.work_cv.notify_all();
  lock.unlock();
  for (Job& job : dropped) job(false);
  dropped.clear();
  lock.lock();
  if (deadline.has_value()) {
    c.exit_cv.wait_for(lock, *deadline, [&c] { return c.threads == 0; });
  } else {
    c.exit_cv.wait(lock, [&c] { return c.threads == 0; });
  }
}

BlockingPool::Stats BlockingPool::GetStats() {
  Core& c = *core_;
  std::lock_guard<std::mutex> guard(c.mu);
  return Stats{c.threads, c.idle, static_cast<int64_t>(c.queue.size())};
}

}  // namespace troupe

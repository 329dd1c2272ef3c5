#include "executor/runtime.h"

#include <thread>

namespace troupe {
namespace {

SchedulerOptions ToSchedulerOptions(const RuntimeOptions& options) {
  SchedulerOptions s;
  s.flavor = options.flavor;
  int workers = options.worker_threads;
  if (workers <= 0) {
    workers = static_cast<int>(std::thread::hardware_concurrency());
  }
  s.num_workers = std::max(1, workers);
  s.clock = options.clock;
  s.auto_advance = options.auto_advance;
  s.thread_name = options.thread_name;
  return s;
}

thread_local Runtime* tls_runtime = nullptr;

}  // namespace

Runtime::Runtime(const RuntimeOptions& options)
    : scheduler_(std::make_unique<Scheduler>(ToSchedulerOptions(options))),
      blocking_(std::make_unique<BlockingPool>(options.blocking)) {
  scheduler_->set_owner(this);
  scheduler_->Start();
}

Runtime::~Runtime() { Shutdown(); }

Runtime* Runtime::Current() {
  if (Scheduler* scheduler = Scheduler::Current()) {
    return static_cast<Runtime*>(scheduler->owner());
  }
  return tls_runtime;
}

void Runtime::CheckNotOnWorker(const char* what) const {
  if (scheduler_->OnWorkerThread() || Scheduler::Current() != nullptr) {
    throw std::logic_error(
        std::string("troupe: Runtime::") + what +
        " called from a runtime thread; inside a task, co_await instead");
  }
}

void Runtime::WaitForBlockOn(BlockOnState& state) {
  Runtime* const saved = tls_runtime;
  tls_runtime = this;
  if (scheduler_->flavor() == Flavor::kCurrentThread) {
    // Returns once done - or once the runtime shuts down (or is driven by
    // another thread), with the wrapper still to finish or be destroyed
    // elsewhere.
    scheduler_->RunUntil(state.done);
  }
  // Either way the wrapper's guard fires last (see DoneGuard): only then is
  // nothing left that could touch `state`.
  while (state.word.load(std::memory_order_acquire) == 0) {
    internal::FutexWait(&state.word, 0, std::nullopt);
  }
  tls_runtime = saved;
  // Pairs with the guard's release store: the result is visible.
  (void)state.done.load(std::memory_order_acquire);
}

void Runtime::Shutdown() {
  scheduler_->Shutdown();
  blocking_->Shutdown(std::nullopt);
}

void Runtime::ShutdownTimeout(Duration deadline) {
  const Instant until = scheduler_->clock().Now() + deadline;
  scheduler_->ShutdownAfter(until);
  blocking_->Shutdown(deadline);
}

RuntimeMetrics Runtime::Metrics() const {
  RuntimeMetrics m = scheduler_->Metrics();
  const BlockingPool::Stats stats = blocking_->GetStats();
  m.blocking_threads = stats.threads;
  m.blocking_queue_depth = stats.queued;
  return m;
}

}  // namespace troupe

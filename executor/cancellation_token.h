// CancellationToken: cooperative cancellation. Code that can be cancelled
// checks IsCancelled() or awaits Cancelled(); whoever owns the token calls
// Cancel(). Cancelling a token cancels all its children (recursively);
// cancelling a child does not cancel its parent.
//
// Contract:
//   - Copies share one state; the token is thread-safe.
//   - Cancel() is idempotent and wakes every task awaiting Cancelled().
//   - Cancelled() waits without polling (an intrusive waiter in the
//     awaiting frame; abandoning the wait unlinks it).
//   - A child created from an already-cancelled parent starts cancelled.
//
// Example:
//   CancellationToken stop;
//   Spawn(Worker(stop.Child()));
//   ...
//   stop.Cancel();
//   // in Worker: while (!token.IsCancelled()) { ... }
//   //       or:  co_await token.Cancelled();
#ifndef TROUPE_EXECUTOR_CANCELLATION_TOKEN_H_
#define TROUPE_EXECUTOR_CANCELLATION_TOKEN_H_

#include <atomic>
#include <coroutine>
#include <memory>
#include <mutex>
#include <vector>

#include "executor/task_header.h"

namespace troupe {

class CancellationToken {
  struct Node;

 public:
  CancellationToken();
  CancellationToken Child() const;
  void Cancel() const;
  bool IsCancelled() const {
    return node_->cancelled.load(std::memory_order_acquire);
  }

  class Awaiter final : public ParkedAwaiter {
   public:
    explicit Awaiter(std::shared_ptr<Node> node) : node_(std::move(node)) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    ~Awaiter();
    bool await_ready() const {
      return node_->cancelled.load(std::memory_order_acquire);
    }
    bool await_suspend(std::coroutine_handle<> handle);
    void await_resume() const {}
    bool Ready() override { return fired_.load(std::memory_order_acquire); }

    // For a wait on several sources with one resume point (channels/
    // select.h): links this waiter so that Cancel() wakes `task`, without
    // touching the task's resume point. Returns false, linking nothing, if
    // the token is already cancelled. Unregister() unlinks it (a no-op if
    // it is not linked); it may then be registered again.
    bool Register(TaskHeader* task);
    void Unregister();

   private:
    friend class CancellationToken;
    std::shared_ptr<Node> node_;
    TaskHeader* task_ = nullptr;
    Awaiter* prev_ = nullptr;  // guarded by node_->mu
    Awaiter* next_ = nullptr;  // guarded by node_->mu
    bool linked_ = false;      // guarded by node_->mu
    std::atomic<bool> fired_{false};
  };
  Awaiter Cancelled() const { return Awaiter(node_); }

 private:
  struct Node {
    ~Node();
    std::atomic<bool> cancelled{false};
    std::mutex mu;
    Awaiter* waiters = nullptr;    // guarded by mu
    std::vector<Node*> children;   // guarded by mu
    std::shared_ptr<Node> parent;  // immutable
  };
  explicit CancellationToken(std::shared_ptr<Node> node)
      : node_(std::move(node)) {}
  static void CancelNode(Node* node);  // node->mu held by the caller

  std::shared_ptr<Node> node_;
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_CANCELLATION_TOKEN_H_

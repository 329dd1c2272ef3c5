// TaskGroup: a set of spawned tasks that a server can count, abort together
// and wait for until none is left - the bookkeeping behind draining
// connections at shutdown.
//
// Contract:
//   - Spawn(task) runs `task` on the current runtime (it must be called on
//     a runtime thread) as a member of the group. The task leaves the group
//     when its frame goes away, however that happens: it returned, threw
//     (the exception is dropped), was aborted, or was destroyed by the
//     runtime's shutdown. A task aborted before it ever ran leaves too.
//   - AbortAll() aborts every task that is a member when it is called
//     (each at its next suspension point, see join_handle.h); tasks spawned
//     afterwards are not affected.
//   - co_await WaitEmpty() completes once the group has no member (at once
//     if it has none now). size() is the number of members right now.
//   - Thread-safe: any task, any thread. Members keep the group alive (they
//     hold a shared_ptr), so it may be dropped while they run.
//
// Example (a server's connections):
//   std::shared_ptr<TaskGroup> connections = TaskGroup::Create();
//   connections->Spawn(Serve(std::move(stream)));
//   ...
//   connections->AbortAll();
//   co_await connections->WaitEmpty();
#ifndef TROUPE_EXAMPLES_SERVICE_TASK_GROUP_H_
#define TROUPE_EXAMPLES_SERVICE_TASK_GROUP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "executor/cancellation_token.h"
#include "executor/guarded_task.h"
#include "executor/join_handle.h"
#include "executor/task.h"

namespace troupe::service {

class TaskGroup : public std::enable_shared_from_this<TaskGroup> {
 public:
  static std::shared_ptr<TaskGroup> Create();

  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  void Spawn(Task<void> task);
  void AbortAll();
  Task<void> WaitEmpty();
  size_t size() const;

 private:
  // Removes member `id` from the group when destroyed.
  class Membership {
   public:
    Membership(std::shared_ptr<TaskGroup> group, uint64_t id)
        : group_(std::move(group)), id_(id) {}
    Membership(Membership&& other) noexcept
        : group_(std::move(other.group_)), id_(other.id_) {}
    Membership& operator=(Membership&&) = delete;
    ~Membership() {
      if (group_ != nullptr) group_->Leave(id_);
    }

   private:
    std::shared_ptr<TaskGroup> group_;
    uint64_t id_;
  };

  // A member's task and its membership, as RunMember's one parameter
  // (executor/guarded_task.h): a coroutine parameter rather than locals,
  // because parameters are destroyed with the frame even if the coroutine
  // never started; the task's frame - and whatever its cleanup touches -
  // is gone before the member leaves and WaitEmpty can return.
  using Member = GuardedTask<void, Membership>;

  TaskGroup() = default;
  static Task<void> RunMember(Member member);
  void Leave(uint64_t id);

  mutable std::mutex mu_;
  uint64_t next_id_ = 0;      // guarded by mu_
  uint64_t abort_epoch_ = 0;  // guarded by mu_; bumped by AbortAll
  // A member's handle is empty between its registration and the moment
  // Spawn() stores it.
  std::unordered_map<uint64_t, JoinHandle<void>> members_;  // guarded by mu_
  // Cancelled exactly while members_ is empty; replaced by a fresh token
  // when the first member joins.
  CancellationToken empty_;  // guarded by mu_
};

}  // namespace troupe::service

#endif  // TROUPE_EXAMPLES_SERVICE_TASK_GROUP_H_

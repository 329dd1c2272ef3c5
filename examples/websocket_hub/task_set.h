// TaskSet: the tasks of one kind a server runs (its HTTP connections, its
// WebSocket sessions), so that shutdown can cut them or wait for them.
//
// Contract:
//   - Spawn(task) runs `task` on the current runtime (call it on a runtime
//     thread) as a member of the set. A member leaves when its coroutine
//     frame is destroyed, whatever the cause: it finished, threw (the
//     exception is dropped), or was aborted - even before it first ran.
//   - AbortAll() aborts the current members at their next suspension.
//   - co_await WaitEmpty() returns once the set has no member. It looks
//     every few milliseconds: it is meant for shutdown, not hot paths.
//   - Thread-safe. The set must outlive its members (a server waits for
//     WaitEmpty before destroying it).
//
// Example:
//   TaskSet sessions;
//   sessions.Spawn(RunConnection(ws, context));
//   ...
//   co_await Timeout(deadline, sessions.WaitEmpty());
//   sessions.AbortAll();
#ifndef TROUPE_EXAMPLES_WEBSOCKET_HUB_TASK_SET_H_
#define TROUPE_EXAMPLES_WEBSOCKET_HUB_TASK_SET_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "executor/join_handle.h"
#include "executor/task.h"

namespace troupe::hub {

class TaskSet {
 public:
  TaskSet() = default;
  TaskSet(const TaskSet&) = delete;
  TaskSet& operator=(const TaskSet&) = delete;

  void Spawn(Task<void> task);
  void AbortAll();
  Task<void> WaitEmpty();
  size_t size() const;

 private:
  // Lives in the member's frame (as a parameter, which is destroyed with
  // the frame even if the body never ran) and takes the member out.
  class Ticket {
   public:
    Ticket(TaskSet* set, uint64_t id) : set_(set), id_(id) {}
    Ticket(Ticket&& other) noexcept
        : set_(std::exchange(other.set_, nullptr)), id_(other.id_) {}
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket() {
      if (set_ != nullptr) set_->Leave(id_);
    }

   private:
    TaskSet* set_;
    uint64_t id_;
  };

  static Task<void> RunMember(Ticket ticket, Task<void> task);
  void Leave(uint64_t id);

  mutable std::mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  // A member's handle is empty until Spawn stores it.
  absl::flat_hash_map<uint64_t, JoinHandle<void>> members_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe::hub

#endif  // TROUPE_EXAMPLES_WEBSOCKET_HUB_TASK_SET_H_

#include "examples/service/task_group.h"

#include <utility>

namespace troupe::service {

std::shared_ptr<TaskGroup> TaskGroup::Create() {
  std::shared_ptr<TaskGroup> group(new TaskGroup());
  group->empty_.Cancel();  // no member yet
  return group;
}

Task<void> TaskGroup::RunMember(Member member) {
  try {
    co_await std::move(member.task());
  } catch (...) {
    // The group runs services that report their own failures; an escaped
    // exception must not take the worker down.
  }
}

void TaskGroup::Spawn(Task<void> task) {
  uint64_t id = 0;
  uint64_t epoch = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    epoch = abort_epoch_;
    if (members_.empty()) empty_ = CancellationToken();
    members_.emplace(id, JoinHandle<void>());
  }
  // Spawned outside the lock: a refused spawn (runtime shutting down)
  // destroys the frame on the spot, and with it the Membership, which
  // takes the lock to leave.
  JoinHandle<void> handle = troupe::Spawn(
      RunMember(Member(std::move(task), Membership(shared_from_this(), id))));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = members_.find(id);
  if (it == members_.end()) return;  // already over; `handle` detaches
  // An AbortAll that ran while the handle was not stored yet missed it.
  if (abort_epoch_ != epoch) handle.Abort();
  it->second = std::move(handle);
}

void TaskGroup::AbortAll() {
  std::lock_guard<std::mutex> lock(mu_);
  ++abort_epoch_;
  // Abort only schedules the task's destruction on a worker; no member
  // leaves (and takes mu_) from inside this call.
  for (auto& [id, handle] : members_) handle.Abort();
}

Task<void> TaskGroup::WaitEmpty() {
  CancellationToken empty;
  {
    std::lock_guard<std::mutex> lock(mu_);
    empty = empty_;
  }
  co_await empty.Cancelled();
}

size_t TaskGroup::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return members_.size();
}

void TaskGroup::Leave(uint64_t id) {
  JoinHandle<void> handle;  // dropped (detached) after the lock is released
  CancellationToken now_empty;
  bool emptied = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = members_.find(id);
    if (it == members_.end()) return;
    handle = std::move(it->second);
    members_.erase(it);
    if (members_.empty()) {
      now_empty = empty_;
      emptied = true;
    }
  }
  if (emptied) now_empty.Cancel();
}

}  // namespace troupe::service

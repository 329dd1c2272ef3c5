#include "examples/websocket_hub/task_set.h"

#include <chrono>
#include <utility>

#include "executor/sleep.h"

namespace troupe::hub {
namespace {
constexpr auto kPollEvery = std::chrono::milliseconds(10);
}  // namespace

void TaskSet::Spawn(Task<void> task) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    members_.emplace(id, JoinHandle<void>());
  }
  JoinHandle<void> handle =
      troupe::Spawn(RunMember(Ticket(this, id), std::move(task)));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = members_.find(id);
  // Not there: it finished already, and the handle may simply go.
  if (it != members_.end()) it->second = std::move(handle);
}

Task<void> TaskSet::RunMember(Ticket ticket, Task<void> task) {
  (void)ticket;
  try {
    co_await std::move(task);
  } catch (...) {
    // A member's failure is its own business (see the contract).
  }
}

void TaskSet::Leave(uint64_t id) {
  JoinHandle<void> handle;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = members_.find(id);
  if (it == members_.end()) return;
  handle = std::move(it->second);
  members_.erase(it);
}

void TaskSet::AbortAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, handle] : members_) {
    if (handle.valid()) handle.Abort();
  }
}

Task<void> TaskSet::WaitEmpty() {
  while (size() > 0) co_await SleepFor(kPollEvery);
}

size_t TaskSet::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return members_.size();
}

}  // namespace troupe::hub

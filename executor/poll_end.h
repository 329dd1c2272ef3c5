// Poll-end hooks: work that code running inside a task defers to the end
// of that task's current run (poll) on this worker thread - after the
// coroutine suspends or returns, before the scheduler may hand the task
// to another worker. A sender that batches values in a thread-local
// buffer uses it to publish them before its task can migrate, so that
// whatever runs next, anywhere, sees them in order.
//
// Contract: DeferToPollEnd(h) returns false outside a task's run (a plain
// thread, or a destructor the scheduler runs after the poll); otherwise
// `h->run(h)` runs exactly once on this thread when the run ends, in
// registration order reversed. `h` must stay alive until then and must
// not be registered twice in one run. Hooks run outside the poll: what
// they do cannot defer more (DeferToPollEnd says false). The executor
// knows nothing of what a hook does.
//
// Example:
//   struct Flush : PollEndHook { ... };
//   thread_local Flush flush{{.run = [](PollEndHook* h) { ... }}};
//   if (!DeferToPollEnd(&flush)) PublishNow();
#ifndef TROUPE_EXECUTOR_POLL_END_H_
#define TROUPE_EXECUTOR_POLL_END_H_

#include <cstdint>

namespace troupe::internal {

struct PollEndHook {
  void (*run)(PollEndHook*) = nullptr;
  PollEndHook* next = nullptr;
};

struct PollEndState {
  bool in_poll = false;
  PollEndHook* hooks = nullptr;
  uint64_t polls = 0;  // task runs begun on this thread
};
inline thread_local PollEndState tls_poll_end;

inline bool InsidePoll() { return tls_poll_end.in_poll; }
// Names the current task run on this thread (changes with every run).
inline uint64_t PollCount() { return tls_poll_end.polls; }

inline bool DeferToPollEnd(PollEndHook* h) {
  PollEndState& s = tls_poll_end;
  if (!s.in_poll) return false;
  h->next = s.hooks;
  s.hooks = h;
  return true;
}

// The scheduler's side: brackets one task run.
inline void BeginPoll() {
  ++tls_poll_end.polls;
  tls_poll_end.in_poll = true;
}
void RunPollEndHooksSlow();
[[gnu::always_inline]] inline void EndPoll() {
  tls_poll_end.in_poll = false;
  if (tls_poll_end.hooks != nullptr) RunPollEndHooksSlow();
}

}  // namespace troupe::internal

#endif  // TROUPE_EXECUTOR_POLL_END_H_

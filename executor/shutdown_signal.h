// ShutdownSignal: SIGINT and SIGTERM as something a task can await, so a
// service stops accepting work and drains instead of dying mid-write.
//
// Contract:
//   - The first call installs handlers for SIGINT and SIGTERM (process-wide)
//     and starts one small watcher thread: a signal handler may only do
//     async-signal-safe things, so it posts a semaphore and the watcher
//     cancels ShutdownToken() on its behalf.
//   - co_await ShutdownSignal() completes once either signal has arrived and
//     returns its number. Every awaiter, now or later, sees it.
//   - A second signal while shutting down ends the process at once with the
//     default action (the usual "press Ctrl-C twice").
//
// Example:
//   Task<int> AsyncMain() {
//     Spawn(Serve(listener));
//     int sig = co_await ShutdownSignal();
//     LOG << "got signal " << sig << ", draining";
//     co_return 0;
//   }
#ifndef TROUPE_EXECUTOR_SHUTDOWN_SIGNAL_H_
#define TROUPE_EXECUTOR_SHUTDOWN_SIGNAL_H_

#include "executor/cancellation_token.h"
#include "executor/task.h"

namespace troupe {

// Cancelled when SIGINT or SIGTERM arrives (installs the handlers).
CancellationToken ShutdownToken();

// The signal that cancelled ShutdownToken(), or 0.
int ReceivedShutdownSignal();

// Waits for SIGINT or SIGTERM; returns the signal number.
Task<int> ShutdownSignal();

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_SHUTDOWN_SIGNAL_H_

// What the echo server and its load client share about their process: how
// many CPUs they may run on, and how SIGINT/SIGTERM reach them.
//
// Signals. PrepareShutdownSignals() must run first thing in main, before
// the runtime starts its threads: it installs the handlers (starting the
// watcher thread of executor/shutdown_signal.h) and blocks SIGINT and
// SIGTERM in the calling thread, so that every thread started afterwards
// inherits the block and only the watcher receives them. A worker sleeping
// in epoll_wait is then never interrupted, and under ThreadSanitizer -
// which defers a handler until the receiving thread makes an intercepted
// call - the signal is still handled at once. FirstShutdownSignal() waits
// for the first signal and unblocks both on the worker that runs it, so
// that a second signal ends the process (the usual "press Ctrl-C twice").
//
// Example:
//   int main(int argc, char** argv) {
//     PrepareShutdownSignals();
//     if (!ParseFlagsOnly("echo", argc, argv)) return kExitBadFlags;
//     ...
//     return RunMain(Serve, {.worker_threads = UsableCpus()});
//   }
//   // in a task:
//   Spawn(CancelOnShutdownSignal(stop, "echo", "shutting down")).Detach();
#ifndef TROUPE_EXAMPLES_SERVICE_PROCESS_H_
#define TROUPE_EXAMPLES_SERVICE_PROCESS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/cancellation_token.h"
#include "executor/task.h"
#include "net/socket_address.h"

namespace troupe::service {

// The exit code of both binaries for flags they refuse (absl exits 1 too,
// for flags it refuses itself).
inline constexpr int kExitBadFlags = 1;

// ParseFlags (tools/cli/flags.h: --help exits 0) for a binary that takes flags
// and no arguments: false (after saying so on stderr) if there are
// arguments.
bool ParseFlagsOnly(const char* program, int argc, char** argv);
// Prints "PROGRAM: <why>; see --help" on stderr; returns kExitBadFlags.
int RefuseFlags(const char* program, const absl::Status& why);

// CPUs in this process's affinity mask (taskset), at least 1.
int UsableCpus();

// The largest --worker_threads a service accepts.
inline constexpr int kMaxWorkerThreads = 1024;
// The worker count a --worker_threads=N flag asks for: N, or UsableCpus()
// for 0; InvalidArgument "--worker_threads=N: must be 0 (one per CPU) to
// 1024" for anything else.
absl::StatusOr<int> WorkerThreadsFromFlag(int value);

// The address a --listen=HOST:PORT flag names: the first it resolves to, or
// InvalidArgument "--listen=VALUE: why".
absl::StatusOr<net::SocketAddress> ResolveListenFlag(const std::string& listen);

void PrepareShutdownSignals();
Task<int> FirstShutdownSignal();
// At the first signal: prints "PROGRAM: got SIGTERM, <what>" on stderr
// and cancels `token`.
Task<void> CancelOnShutdownSignal(CancellationToken token, std::string program,
                                  std::string what);

// "SIGTERM", "SIGINT", or "signal N".
std::string SignalName(int signal);

}  // namespace troupe::service

#endif  // TROUPE_EXAMPLES_SERVICE_PROCESS_H_

#include "examples/service/process.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "executor/shutdown_signal.h"
#include "tools/cli/flags.h"

namespace troupe::service {
namespace {

void SetShutdownSignalsMasked(int how) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(how, &set, nullptr);
}

}  // namespace

bool ParseFlagsOnly(const char* program, int argc, char** argv) {
  const std::vector<char*> rest = ParseFlags(argc, argv);
  if (rest.size() <= 1) return true;
  std::fprintf(stderr, "%s: unexpected argument '%s'; see --help\n", program,
               rest[1]);
  return false;
}

int RefuseFlags(const char* program, const absl::Status& why) {
  std::fprintf(stderr, "%s: %s; see --help\n", program,
               std::string(why.message()).c_str());
  return kExitBadFlags;
}

absl::StatusOr<net::SocketAddress> ResolveListenFlag(
    const std::string& listen) {
  absl::StatusOr<std::vector<net::SocketAddress>> addresses =
      net::SocketAddress::ResolveBlocking(listen);
  if (!addresses.ok() || addresses->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen=", listen, ": ",
        addresses.ok() ? "no address" : addresses.status().message()));
  }
  return addresses->front();
}

int UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  const int count = CPU_COUNT(&set);
  return count > 0 ? count : 1;
}

absl::StatusOr<int> WorkerThreadsFromFlag(int value) {
  if (value < 0 || value > kMaxWorkerThreads) {
    return absl::InvalidArgumentError(
        absl::StrCat("--worker_threads=", value,
                     ": must be 0 (one per CPU) to ", kMaxWorkerThreads));
  }
  return value == 0 ? UsableCpus() : value;
}

void PrepareShutdownSignals() {
  (void)ShutdownToken();  // handlers and watcher, signals still unblocked
  SetShutdownSignalsMasked(SIG_BLOCK);
}

Task<int> FirstShutdownSignal() {
  const int signal = co_await ShutdownSignal();
  SetShutdownSignalsMasked(SIG_UNBLOCK);
  co_return signal;
}

Task<void> CancelOnShutdownSignal(CancellationToken token, std::string program,
                                  std::string what) {
  const int signal = co_await FirstShutdownSignal();
  std::fprintf(stderr, "%s: got %s, %s\n", program.c_str(),
               SignalName(signal).c_str(), what.c_str());
  token.Cancel();
}

std::string SignalName(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    default:
      return absl::StrCat("signal ", signal);
  }
}

}  // namespace troupe::service

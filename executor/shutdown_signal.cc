#include "executor/shutdown_signal.h"

#include <semaphore.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <thread>

namespace troupe {
namespace {

sem_t g_semaphore;
std::atomic<int> g_signal{0};
std::atomic<int> g_count{0};

void OnSignal(int sig) {
  // Async-signal-safe only: atomics, sem_post, signal, raise.
  if (g_count.fetch_add(1, std::memory_order_relaxed) > 0) {
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return;
  }
  g_signal.store(sig, std::memory_order_relaxed);
  sem_post(&g_semaphore);
}

struct SignalState {
  CancellationToken token;
  SignalState() {
    sem_init(&g_semaphore, 0, 0);
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_handler = OnSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    std::thread([token = token] {
      while (sem_wait(&g_semaphore) != 0) {
      }
      token.Cancel();
    }).detach();
  }
};

SignalState& State() {
  static SignalState* state = new SignalState();  // lives for the process
  return *state;
}

}  // namespace

CancellationToken ShutdownToken() { return State().token; }

int ReceivedShutdownSignal() {
  return g_signal.load(std::memory_order_relaxed);
}

Task<int> ShutdownSignal() {
  CancellationToken token = ShutdownToken();
  co_await token.Cancelled();
  co_return ReceivedShutdownSignal();
}

}  // namespace troupe

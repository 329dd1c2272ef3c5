// The README's tour, runnable: a counter actor, told to increment by many
// concurrent senders and asked for its count.
//
//   ./bazelw run //examples/counter -- --senders=8 --increments=100000

#include <cstdio>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "actors/actor.h"
#include "executor/runtime.h"
#include "tools/cli/flags.h"

ABSL_FLAG(int, senders, 4, "number of concurrent sender tasks");
ABSL_FLAG(int, increments, 100000, "increments each sender tells");
ABSL_FLAG(int, worker_threads, 0, "executor worker threads (0: one per core)");

namespace {

// --- the actor: its members are its state, one Handle per message ---------
struct Increment {
  int by = 1;
};
struct Get {};

class Counter : public troupe::Actor<Counter> {
 public:
  void Handle(Increment m) { count_ += m.by; }
  long Handle(Get) { return count_; }

 private:
  long count_ = 0;
};
// ----------------------------------------------------------------------------

troupe::Task<int> AsyncMain() {
  troupe::ActorSystem system(*troupe::Runtime::Current());
  troupe::ActorRef<Counter> counter = system.Spawn<Counter>();

  const int senders = absl::GetFlag(FLAGS_senders);
  const int increments = absl::GetFlag(FLAGS_increments);
  std::vector<troupe::JoinHandle<void>> tasks;
  tasks.reserve(static_cast<std::size_t>(senders));
  for (int s = 0; s < senders; ++s) {
    tasks.push_back(troupe::Spawn(
        [](troupe::ActorRef<Counter> c, int n) -> troupe::Task<void> {
          for (int i = 0; i < n; ++i) (void)co_await c.Send(Increment{1});
        }(counter, increments)));
  }
  for (auto& t : tasks) co_await t;

  absl::StatusOr<long> count = co_await counter.Ask(Get{});
  if (!count.ok()) {
    std::fprintf(stderr, "ask failed: %s\n", count.status().ToString().c_str());
    co_return 1;
  }
  std::printf("%d senders x %d increments -> count = %ld\n", senders,
              increments, *count);
  (void)co_await system.Shutdown(std::chrono::seconds(5));
  co_return *count == static_cast<long>(senders) * increments ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "A counter actor told to increment by concurrent senders, then asked "
      "for its count.\nUsage: counter [--senders=N] [--increments=N] "
      "[--worker_threads=N]");
  troupe::ParseFlags(argc, argv);
  return troupe::RunMain(
      AsyncMain, {.worker_threads = absl::GetFlag(FLAGS_worker_threads)});
}

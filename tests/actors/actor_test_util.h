// Shared pieces of the actor tests:
//   - ActorTestEnv: a runtime and an ActorSystem whose log lines are kept
//     for the test; the system is shut down when the env goes;
//   - EveryRuntimeTest<F> (a TYPED_TEST fixture over both runtime
//     flavours) and ManualTimeTest (the deterministic mode: current-thread
//     runtime, ManualClock, auto-advance - time moves only when nothing is
//     runnable, so nothing sleeps for real);
//   - EventLog, a thread-safe list of lines that outlives the actors
//     writing to it (hooks run while instances die);
//   - Counter, the actor most tests talk to, and Supervisor<Policy>, a
//     parent whose ChildSupervision() comes from Policy.
//
// Messages with non-trivial members have constructors: g++ 12 destroys
// the members of aggregate temporaries built inside co_await twice (see
// actors/envelope.h).
#ifndef TROUPE_TESTS_ACTORS_ACTOR_TEST_UTIL_H_
#define TROUPE_TESTS_ACTORS_ACTOR_TEST_UTIL_H_

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "actors/actor.h"
#include "executor/cancellation_token.h"
#include "executor/clock.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "tests/runtime_flavours.h"

namespace troupe::test {

// ---- an event log shared by the test and its actors ----

class EventLog {
 public:
  void Add(std::string line) {
    std::lock_guard<std::mutex> guard(mu_);
    lines_.push_back(std::move(line));
  }
  std::vector<std::string> Lines() const {
    std::lock_guard<std::mutex> guard(mu_);
    return lines_;
  }
  std::size_t Size() const {
    std::lock_guard<std::mutex> guard(mu_);
    return lines_.size();
  }
  // How many lines contain every one of `parts`.
  int CountContaining(std::initializer_list<std::string_view> parts) const {
    std::lock_guard<std::mutex> guard(mu_);
    return static_cast<int>(
        std::count_if(lines_.begin(), lines_.end(), [&](const auto& line) {
          return std::all_of(parts.begin(), parts.end(), [&](auto part) {
            return line.find(part) != std::string::npos;
          });
        }));
  }
  // Index of the first line equal to `line`, or -1.
  int IndexOf(std::string_view line) const {
    std::lock_guard<std::mutex> guard(mu_);
    auto it = std::find(lines_.begin(), lines_.end(), line);
    return it == lines_.end() ? -1 : static_cast<int>(it - lines_.begin());
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

inline std::shared_ptr<EventLog> NewLog() {
  return std::make_shared<EventLog>();
}

// ---- the counter and its messages ----

struct Increment {
  int by = 1;
};
struct Get {};
// Its handler throws std::runtime_error("boom").
struct Boom {};
// An async handler: sleeps `d` (on the runtime's clock), then answers the
// count.
struct Nap {
  Duration d;
};
// An async handler: waits until `gate` is cancelled, then answers the
// count. A gate never opened keeps the actor busy for good.
struct WaitFor {
  explicit WaitFor(CancellationToken g) : gate(std::move(g)) {}
  CancellationToken gate;
};

// Lifecycle hooks that write "<actor name> <event>" lines to a log (none
// without one).
template <typename Derived>
class LoggingActor : public Actor<Derived> {
 public:
  explicit LoggingActor(std::shared_ptr<EventLog> log) : log_(std::move(log)) {}

  void OnStart() { Note("start"); }
  void OnRestart(const absl::Status& why) {
    Note(absl::StrCat("restart: ", why.message()));
  }

 protected:
  void Note(const std::string& what) const {
    if (log_ != nullptr) log_->Add(absl::StrCat(this->name(), " ", what));
  }
  const std::shared_ptr<EventLog>& log() const { return log_; }

 private:
  std::shared_ptr<EventLog> log_;
};

class Counter : public LoggingActor<Counter> {
 public:
  Counter() : LoggingActor(nullptr) {}
  explicit Counter(std::shared_ptr<EventLog> log)
      : LoggingActor(std::move(log)) {}

  void Handle(Increment m) { count_ += m.by; }
  int Handle(Get /*unused*/) const { return count_; }
  int Handle(Boom /*unused*/) { throw std::runtime_error("boom"); }
  Task<int> Handle(Nap n) {
    co_await SleepFor(n.d);
    co_return count_;
  }
  Task<int> Handle(WaitFor w) {
    co_await w.gate.Cancelled();
    co_return count_;
  }
  // The final count goes to the log: drained mailboxes show there.
  void OnStop() { Note(absl::StrCat("stop count=", count_)); }

 private:
  int count_ = 0;
};

// ---- a supervisor: a parent that spawns children on request ----

struct SpawnCounter {
  explicit SpawnCounter(std::string n) : name(std::move(n)) {}
  std::string name;
};
struct SpawnSupervisor {
  explicit SpawnSupervisor(std::string n) : name(std::move(n)) {}
  std::string name;
};

// Policy::Strategy() is the strategy for the supervisor's children.
template <typename Policy>
class Supervisor : public LoggingActor<Supervisor<Policy>> {
 public:
  explicit Supervisor(std::shared_ptr<EventLog> log)
      : LoggingActor<Supervisor>(std::move(log)) {}

  static SupervisorStrategy ChildSupervision() { return Policy::Strategy(); }

  ActorRef<Counter> Handle(SpawnCounter m) {
    return this->template SpawnChild<Counter>(SpawnOptions{.name = m.name},
                                              this->log());
  }
  ActorRef<Supervisor> Handle(SpawnSupervisor m) {
    return this->template SpawnChild<Supervisor>(SpawnOptions{.name = m.name},
                                                 this->log());
  }
  int Handle(Boom /*unused*/) { throw std::runtime_error("supervisor boom"); }
  void OnStop() { this->Note("stop"); }
};

// Supervision strategies by name.
inline SupervisorStrategy Always(Directive directive) {
  return SupervisorStrategy{
      .decider = [directive](const absl::Status&) { return directive; }};
}
struct RestartPolicy {
  static SupervisorStrategy Strategy() { return {}; }
};

// ---- environments ----

// A runtime and an actor system on it. The system's log lines go to
// `logged` (not stderr); the watchdog is off unless the options say
// otherwise through StartSystem.
class ActorTestEnv {
 public:
  explicit ActorTestEnv(const RuntimeOptions& options) : runtime_(options) {}
  ActorTestEnv(const ActorTestEnv&) = delete;
  ActorTestEnv& operator=(const ActorTestEnv&) = delete;
  ~ActorTestEnv() {
    if (system_.has_value()) {
      (void)system_->BlockingShutdown(std::chrono::seconds(30));
      system_.reset();
    }
  }

  // Options with the watchdog off and the log kept in logged().
  ActorSystemOptions Options() const {
    ActorSystemOptions options;
    options.watchdog = false;
    return options;
  }
  // Starts the system (once) with `options`; their log is replaced.
  ActorSystem& StartSystem(ActorSystemOptions options) {
    EXPECT_FALSE(system_.has_value()) << "the system is already started";
    options.log = [log = logged_](const std::string& line) { log->Add(line); };
    system_.emplace(runtime_, std::move(options));
    return *system_;
  }
  // The system, started with Options() if not yet started.
  ActorSystem& system() {
    if (!system_.has_value()) StartSystem(Options());
    return *system_;
  }
  Runtime& runtime() { return runtime_; }
  const EventLog& logged() const { return *logged_; }

  template <typename T>
  T Run(Task<T> task) {
    return runtime_.BlockOn(std::move(task));
  }
  template <TaskConvertible W>
  auto Run(W awaitable) {
    return Run(std::move(awaitable).ToTask());
  }

 private:
  Runtime runtime_;
  std::shared_ptr<EventLog> logged_ = NewLog();
  std::optional<ActorSystem> system_;
};

// A scenario run on both runtime flavours (TYPED_TEST_SUITE with
// test::RuntimeFlavours).
template <typename F>
class EveryRuntimeTest : public ::testing::Test {
 protected:
  EveryRuntimeTest() : env_(F::Options()) {}
  ActorTestEnv env_;
};

// The deterministic mode.
class ManualTimeTest : public ::testing::Test {
 protected:
  ManualTimeTest()
      : env_({.flavor = Flavor::kCurrentThread,
              .clock = &clock_,
              .auto_advance = true}) {}
  // Test time since the fixture was built.
  Duration Elapsed() const { return clock_.Now() - start_; }
  int64_t PendingTimers() {
    return env_.runtime().scheduler().time_driver().PendingTimers();
  }

  ManualClock clock_;
  const Instant start_ = clock_.Now();
  ActorTestEnv env_;
};

// ---- small coroutines and helpers ----

// Completes once the actor has fully stopped. Takes the cell, not a
// reference, so that waiting does not keep the actor alive.
inline Task<void> AwaitTermination(CellPtr<CellBase> cell) {
  co_await cell->Terminated();
}

// Stops an actor from outside (the control lane's stop request).
template <typename A>
void RequestStop(const ActorRef<A>& ref) {
  ref.cell()->RequestStop(absl::OkStatus());
}

inline Task<void> Sleep(Duration d) { co_await SleepFor(d); }

// Yields until `done()` holds. On the current-thread runtime each yield
// lets every other runnable task take a turn.
template <typename P>
Task<void> YieldUntil(P done) {
  while (!done()) co_await YieldNow();
}

}  // namespace troupe::test

#endif  // TROUPE_TESTS_ACTORS_ACTOR_TEST_UTIL_H_

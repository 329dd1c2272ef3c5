// Poll-end hooks (poll_end.h): a hook deferred inside a task's run runs on
// the same thread when that run ends - before the task runs again, on any
// worker - exactly once; outside a task nothing can be deferred.

#include "executor/poll_end.h"

#include <string>
#include <thread>
#include <vector>

#include "executor/runtime.h"
#include "executor/yield.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

struct Recording : internal::PollEndHook {
  std::vector<std::string>* log = nullptr;
  std::thread::id ran_on;
};

void Record(internal::PollEndHook* hook) {
  auto* r = static_cast<Recording*>(hook);
  r->log->push_back("hook");
  r->ran_on = std::this_thread::get_id();
  EXPECT_FALSE(internal::InsidePoll()) << "hooks run after the poll";
}

Task<void> DeferThenSuspend(Recording* hook, std::vector<std::string>* log,
                            std::thread::id* deferred_on) {
  hook->run = &Record;
  hook->log = log;
  *deferred_on = std::this_thread::get_id();
  EXPECT_TRUE(internal::DeferToPollEnd(hook));
  log->push_back("deferred");
  co_await YieldNow();  // the run ends here
  log->push_back("resumed");
}

void ExpectHookBetweenRuns(const RuntimeOptions& options) {
  Runtime rt(options);
  Recording hook;
  std::vector<std::string> log;
  std::thread::id deferred_on;
  rt.BlockOn(DeferThenSuspend(&hook, &log, &deferred_on));
  EXPECT_EQ(log, (std::vector<std::string>{"deferred", "hook", "resumed"}));
  EXPECT_EQ(hook.ran_on, deferred_on);
}

TEST(PollEndTest, AHookRunsOnceWhenTheTaskSuspendsBeforeItRunsAgain) {
  ExpectHookBetweenRuns({.flavor = Flavor::kCurrentThread});
  ExpectHookBetweenRuns({.flavor = Flavor::kMultiThread, .worker_threads = 2});
}

TEST(PollEndTest, NothingCanBeDeferredOutsideATask) {
  Recording hook;
  hook.run = &Record;
  EXPECT_FALSE(internal::InsidePoll());
  EXPECT_FALSE(internal::DeferToPollEnd(&hook));
}

}  // namespace
}  // namespace troupe

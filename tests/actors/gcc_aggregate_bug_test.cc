// Pins down the g++ 12 coroutine bug that actors/envelope.h guards against:
// an aggregate temporary with a non-trivial member, created inside a
// co_await expression, has that member destroyed twice. If a compiler
// upgrade fixes it, the first test fails and the guard (kAwaitSafeMessage)
// can be relaxed for that compiler.

#include <coroutine>
#include <memory>

#include "actors/envelope.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

struct Agg {
  int a;
  std::shared_ptr<int> p;
};
struct WithConstructor {
  WithConstructor(int x, std::shared_ptr<int> q) : a(x), p(std::move(q)) {}
  int a;
  std::shared_ptr<int> p;
};

struct ResumeAtOnce {
  bool await_ready() { return false; }
  bool await_suspend(std::coroutine_handle<>) { return false; }
  void await_resume() {}
};
template <typename M>
ResumeAtOnce Consume(M m) {
  (void)m;
  return {};
}

struct Eager {
  struct promise_type {
    Eager get_return_object() {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never initial_suspend() { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() {}
  };
  std::coroutine_handle<promise_type> handle;
};

Eager AwaitWithConstructor(std::shared_ptr<int> p) {
  co_await Consume(WithConstructor{1, p});
}

TEST(GccAggregateBug, AMessageWithAConstructorIsDestroyedExactlyOnce) {
  auto p = std::make_shared<int>(7);
  Eager e = AwaitWithConstructor(p);
  e.handle.destroy();
  EXPECT_EQ(p.use_count(), 1);
}

TEST(GccAggregateBug, TheGuardRejectsExactlyTheAffectedMessageTypes) {
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ <= 12
  EXPECT_FALSE(kAwaitSafeMessage<Agg>);
#endif
  EXPECT_TRUE(kAwaitSafeMessage<WithConstructor>);
  struct Trivial {
    int a;
    double b;
  };
  EXPECT_TRUE(kAwaitSafeMessage<Trivial>);
}

}  // namespace
}  // namespace troupe

// References: what ActorRef<A> accepts is decided at compile time; refs
// compare and hash by actor identity; a WeakActorRef does not keep its
// actor alive.

#include <memory>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/hash/hash_testing.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/actors/actor_test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::test {
namespace {

// ---- compile-time typing ----

struct Unrelated {};

template <typename Ref, typename M>
concept CanSend = requires(const Ref& ref, M m) {
  ref.Send(std::move(m));
};
template <typename Ref, typename M>
concept CanTrySend = requires(const Ref& ref, M m) {
  ref.TrySend(std::move(m));
};
template <typename Ref, typename M>
concept CanAsk = requires(const Ref& ref, M m) {
  ref.Ask(std::move(m));
};
template <typename Ref, typename M>
concept CanBlockingSend = requires(const Ref& ref, M m) {
  ref.BlockingSend(std::move(m));
};

// What the headers expose: Handles<A, M> says whether A handles M.
static_assert(Handles<Counter, Increment>);
static_assert(Handles<Counter, Get>);
static_assert(Handles<Counter, Nap>);
static_assert(!Handles<Counter, Unrelated>);
static_assert(!Handles<Counter, std::string>);
static_assert(CanSend<ActorRef<Counter>, Increment>);
static_assert(CanTrySend<ActorRef<Counter>, Increment>);
static_assert(CanAsk<ActorRef<Counter>, Get>);
static_assert(CanBlockingSend<ActorRef<Counter>, Increment>);

// The negative-compile checks: a message A does not handle is refused by
// overload resolution (Send/TrySend/Ask are constrained on Handles<A, M>),
// so these requires-expressions are false instead of a hard error - and
// `ref.Send(Unrelated{})` in real code fails with "constraints not
// satisfied ... Handles<A, M> [with A = troupe::test::Counter; M =
// troupe::test::Unrelated]".
static_assert(!CanSend<ActorRef<Counter>, Unrelated>);
static_assert(!CanTrySend<ActorRef<Counter>, Unrelated>);
static_assert(!CanAsk<ActorRef<Counter>, Unrelated>);
static_assert(!CanBlockingSend<ActorRef<Counter>, Unrelated>);
static_assert(!CanSend<ActorRef<Counter>, std::string>);
static_assert(!CanAsk<ActorRef<Counter>, std::string>);
// Asks are typed by the handler: co_await ref.Ask(m) yields
// absl::StatusOr<R> for `R Handle(M)` and `Task<R> Handle(M)`, a plain
// Status for a void handler; the ask as a task is a Task of the same.
template <typename M>
using AskYields = decltype(std::declval<ActorRef<Counter>&>()
                               .Ask(std::declval<M>())
                               .await_resume());
static_assert(std::is_same_v<AskYields<Get>, absl::StatusOr<int>>);
static_assert(std::is_same_v<AskYields<Nap>, absl::StatusOr<int>>);
static_assert(std::is_same_v<AskYields<Increment>, absl::Status>);
static_assert(std::is_same_v<
              decltype(std::declval<ActorRef<Counter>&>().Ask(Get{}).ToTask()),
              Task<absl::StatusOr<int>>>);
static_assert(
    TaskConvertible<decltype(std::declval<ActorRef<Counter>&>().Ask(Get{}))>);

// The same at run time, so that the suite names it. (Before Send/TrySend
// were constrained, a static_assert in their bodies refused the message
// only once instantiated, and a requires-expression saw it as accepted;
// for Ask, even asking was a hard error.)
TEST(ActorRefTyping, ARequiresExpressionSeesUnhandledMessagesRefused) {
  EXPECT_FALSE((CanSend<ActorRef<Counter>, Unrelated>));
  EXPECT_FALSE((CanTrySend<ActorRef<Counter>, Unrelated>));
  EXPECT_FALSE((CanAsk<ActorRef<Counter>, Unrelated>));
  EXPECT_TRUE((CanAsk<ActorRef<Counter>, Nap>));
}

// ---- identity ----

template <typename F>
using ActorRefTest = EveryRuntimeTest<F>;
TYPED_TEST_SUITE(ActorRefTest, RuntimeFlavours);

TYPED_TEST(ActorRefTest, RefsToOneActorAreEqualAndHashAlike) {
  ActorSystem& system = this->env_.system();
  ActorRef<Counter> a = system.template Spawn<Counter>();
  // NOLINTNEXTLINE(performance-unnecessary-copy-initialization): the point
  ActorRef<Counter> a_copy = a;
  ActorRef<Counter> b = system.template Spawn<Counter>();
  EXPECT_EQ(a, a_copy);
  EXPECT_FALSE(a == b);
  EXPECT_EQ(absl::Hash<ActorRef<Counter>>()(a),
            absl::Hash<ActorRef<Counter>>()(a_copy));
  EXPECT_EQ(std::hash<ActorRef<Counter>>()(a),
            std::hash<ActorRef<Counter>>()(a_copy));
  EXPECT_TRUE(absl::VerifyTypeImplementsAbslHashCorrectly(
      {a, a_copy, b, ActorRef<Counter>()}));
  absl::flat_hash_set<ActorRef<Counter>> flat = {a, a_copy, b};
  std::unordered_set<ActorRef<Counter>> std_set = {a, a_copy, b};
  EXPECT_EQ(flat.size(), 2u);
  EXPECT_EQ(std_set.size(), 2u);
  EXPECT_TRUE(flat.contains(a_copy));
}

TYPED_TEST(ActorRefTest, SelfIsEqualToTheSpawnersRef) {
  ActorRef<Counter> a = this->env_.system().template Spawn<Counter>();
  absl::StatusOr<ActorRef<Counter>> self =
      this->env_.Run(a.RunOnActor([](Counter& c) { return c.Self(); }));
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_EQ(*self, a);
  EXPECT_EQ(self->id(), a.id());
}

TYPED_TEST(ActorRefTest, ADefaultRefIsInvalidAndEqualToAnotherDefault) {
  ActorRef<Counter> none;
  EXPECT_FALSE(none.valid());
  EXPECT_FALSE(static_cast<bool>(none));
  EXPECT_EQ(none, ActorRef<Counter>());
  ActorRef<Counter> a = this->env_.system().template Spawn<Counter>();
  EXPECT_TRUE(a.valid());
  EXPECT_FALSE(a == none);
}

// ---- weak references ----

TYPED_TEST(ActorRefTest, AWeakRefGivesAWorkingRefWhileTheActorLives) {
  ActorRef<Counter> a = this->env_.system().template Spawn<Counter>();
  WeakActorRef<Counter> weak(a);
  EXPECT_EQ(weak.id(), a.id());
  ActorRef<Counter> again = weak.Lock();
  ASSERT_TRUE(again.valid());
  EXPECT_EQ(again, a);
  ASSERT_TRUE(again.TrySend(Increment{2}).ok());
  absl::StatusOr<int> n = a.BlockingAsk(this->env_.runtime(), Get{});
  EXPECT_EQ(n.value_or(-1), 2);
}

TYPED_TEST(ActorRefTest, AWeakRefDoesNotKeepTheActorAlive) {
  auto log = NewLog();
  ActorRef<Counter> a = this->env_.system().template SpawnNamed<Counter>(
      SpawnOptions{.name = "weakly"}, log);
  WeakActorRef<Counter> weak(a);
  CellPtr<CellBase> cell = a.cell();  // to wait; not a reference
  ASSERT_TRUE(a.TrySend(Increment{5}).ok());
  a = ActorRef<Counter>();  // the last strong reference
  this->env_.Run(AwaitTermination(cell));
  EXPECT_FALSE(weak.Lock().valid());
  // It drained what it had before stopping.
  EXPECT_GE(log->IndexOf("weakly stop count=5"), 0)
      << ::testing::PrintToString(log->Lines());
  EXPECT_TRUE(cell->termination_reason().ok());
}

// An ask or a send made from a temporary ref keeps what it needs: the ask
// becomes a task holding the cell, the send's awaiter keeps the ref. Both
// are stored first and awaited after the temporary is gone.
static_assert(std::is_same_v<decltype(ActorRef<Counter>().Ask(Get{})),
                             Task<absl::StatusOr<int>>>);
TYPED_TEST(ActorRefTest, AsksAndSendsMadeFromATemporaryRefOutliveIt) {
  ActorRef<Counter> a = this->env_.system().template Spawn<Counter>();
  auto body = [](WeakActorRef<Counter> weak) -> Task<int> {
    auto send = weak.Lock().Send(Increment{5});
    absl::Status sent = co_await send;
    EXPECT_TRUE(sent.ok()) << sent;
    auto ask = weak.Lock().Ask(Get{});
    absl::StatusOr<int> n = co_await std::move(ask);
    auto run =
        weak.Lock().RunOnActor([](Counter& c) { return c.Handle(Get{}) + 1; });
    absl::StatusOr<int> m = co_await std::move(run);
    co_return n.value_or(-1) * 10 + m.value_or(-1);
  };
  EXPECT_EQ(this->env_.Run(body(WeakActorRef<Counter>(a))), 56);
}

TYPED_TEST(ActorRefTest, ADefaultWeakRefLocksToNothing) {
  EXPECT_FALSE(WeakActorRef<Counter>().Lock().valid());
  EXPECT_EQ(WeakActorRef<Counter>().id(), 0u);
}

// Lock used to hand out a valid-looking reference to a stopped actor while
// any strong reference was left (its mailbox closed: every send through
// it failed).
TYPED_TEST(ActorRefTest, AWeakRefToAStoppedActorLocksToNothing) {
  ActorRef<Counter> a = this->env_.system().template Spawn<Counter>();
  WeakActorRef<Counter> weak(a);
  RequestStop(a);
  this->env_.Run(AwaitTermination(a.cell()));
  EXPECT_FALSE(weak.Lock().valid());
  EXPECT_FALSE(static_cast<bool>(weak.Lock()));
}

// ---- stopping through a reference ----

TYPED_TEST(ActorRefTest, StopOnARefLetsTheActorHandleWhatIsQueuedThenStops) {
  auto log = NewLog();
  ActorRef<Counter> a = this->env_.system().template SpawnNamed<Counter>(
      SpawnOptions{.name = "asked"}, log);
  ASSERT_TRUE(a.TrySend(Increment{3}).ok());
  a.Stop();
  this->env_.Run(AwaitTermination(a.cell()));
  EXPECT_GE(log->IndexOf("asked stop count=3"), 0)
      << ::testing::PrintToString(log->Lines());
  EXPECT_TRUE(a.cell()->termination_reason().ok());
  EXPECT_TRUE(IsMailboxClosed(a.TrySend(Increment{1})));
  ActorRef<Counter>().Stop();  // an empty reference: nothing to stop
}

}  // namespace
}  // namespace troupe::test

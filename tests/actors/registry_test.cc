// The registry: actors registered under names and looked up by name and
// type. A name is taken while its actor lives and free once it stops; a
// lookup with the wrong type is refused; the registry never keeps an actor
// alive.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/actors/actor_test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::test {
namespace {

using ::testing::HasSubstr;

// Another actor type, for type mismatches.
class Other : public Actor<Other> {
 public:
  int Handle(Get /*unused*/) const { return 42; }
};

template <typename F>
class RegistryTest : public EveryRuntimeTest<F> {
 protected:
  ActorSystem& system() { return this->env_.system(); }
  template <typename A>
  absl::StatusOr<ActorRef<A>> Lookup(const std::string& name) {
    return system().template Lookup<A>(name);
  }
  // Stops `ref`'s actor and waits until it has stopped.
  template <typename A>
  void StopAndWait(const ActorRef<A>& ref) {
    RequestStop(ref);
    this->env_.Run(AwaitTermination(ref.cell()));
  }
};
TYPED_TEST_SUITE(RegistryTest, RuntimeFlavours);

TYPED_TEST(RegistryTest, ALookedUpReferenceReachesTheRegisteredActor) {
  ActorRef<Counter> c = this->system().template Spawn<Counter>();
  ASSERT_TRUE(this->system().Register("counter", c).ok());
  absl::StatusOr<ActorRef<Counter>> found =
      this->template Lookup<Counter>("counter");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, c);
  ASSERT_TRUE(found->TrySend(Increment{4}).ok());
  absl::StatusOr<int> n = c.BlockingAsk(this->env_.runtime(), Get{});
  EXPECT_EQ(n.value_or(-1), 4);
}

TYPED_TEST(RegistryTest, ALiveActorsNameCannotBeTakenAgain) {
  ActorRef<Counter> first = this->system().template Spawn<Counter>();
  ActorRef<Counter> second = this->system().template Spawn<Counter>();
  ASSERT_TRUE(this->system().Register("name", first).ok());
  const absl::Status taken = this->system().Register("name", second);
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists) << taken;
  absl::StatusOr<ActorRef<Counter>> found =
      this->template Lookup<Counter>("name");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, first);
}

TYPED_TEST(RegistryTest, ALookupWithTheWrongTypeIsRefused) {
  ActorRef<Counter> c = this->system().template Spawn<Counter>();
  ASSERT_TRUE(this->system().Register("counter", c).ok());
  absl::StatusOr<ActorRef<Other>> wrong =
      this->template Lookup<Other>("counter");
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument)
      << wrong.status();
  EXPECT_THAT(std::string(wrong.status().message()), HasSubstr("Counter"));
}

TYPED_TEST(RegistryTest, UnknownAndEmptyNamesAreRefused) {
  ActorRef<Counter> c = this->system().template Spawn<Counter>();
  EXPECT_EQ(this->template Lookup<Counter>("nobody").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(this->system().Register("", c).code(),
            absl::StatusCode::kInvalidArgument);
}

TYPED_TEST(RegistryTest, ANameIsFreedWhenItsActorStops) {
  ActorRef<Counter> first = this->system().template Spawn<Counter>();
  ASSERT_TRUE(this->system().Register("name", first).ok());
  ASSERT_TRUE(this->system().Register("alias", first).ok());
  this->StopAndWait(first);
  EXPECT_EQ(this->template Lookup<Counter>("name").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(this->template Lookup<Counter>("alias").status().code(),
            absl::StatusCode::kNotFound);
  // Free for another actor, of another type even.
  ActorRef<Other> second = this->system().template Spawn<Other>();
  ASSERT_TRUE(this->system().Register("name", second).ok());
  absl::StatusOr<ActorRef<Other>> found = this->template Lookup<Other>("name");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, second);
}

TYPED_TEST(RegistryTest, ARestartedActorKeepsItsName) {
  ActorRef<Counter> c = this->system().template Spawn<Counter>();
  ASSERT_TRUE(this->system().Register("phoenix", c).ok());
  ASSERT_TRUE(c.TrySend(Boom{}).ok());
  absl::StatusOr<int> n = c.BlockingAsk(this->env_.runtime(), Get{});
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_EQ(c.cell()->Stats().restarts, 1u);
  absl::StatusOr<ActorRef<Counter>> found =
      this->template Lookup<Counter>("phoenix");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, c);
}

TYPED_TEST(RegistryTest, TheRegistryDoesNotKeepAnActorAlive) {
  ActorRef<Counter> c = this->system().template Spawn<Counter>();
  ASSERT_TRUE(this->system().Register("transient", c).ok());
  CellPtr<CellBase> cell = c.cell();
  c = ActorRef<Counter>();  // the last reference
  this->env_.Run(AwaitTermination(cell));
  EXPECT_EQ(this->template Lookup<Counter>("transient").status().code(),
            absl::StatusCode::kNotFound);
}

TYPED_TEST(RegistryTest, AStoppedActorCannotRegisterANameAndTheNameStaysFree) {
  ActorRef<Counter> c = this->system().template Spawn<Counter>();
  this->StopAndWait(c);
  absl::Status s = this->system().Register("late", c);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("has stopped"));
  ActorRef<Counter> next = this->system().template Spawn<Counter>();
  EXPECT_TRUE(this->system().Register("late", next).ok());
}

// A name registered while its actor stops (on another worker, on the
// multi-threaded runtime) is either refused or removed with the actor:
// afterwards the registry has no entry at all for it ("no actor named"),
// not a stale one ("has stopped").
TYPED_TEST(RegistryTest, NamesRegisteredWhileTheActorStopsNeverOutliveIt) {
  for (int round = 0; round < 200; ++round) {
    ActorRef<Counter> c = this->system().template Spawn<Counter>();
    const std::string name = "racer-" + std::to_string(round);
    RequestStop(c);
    (void)this->system().Register(name, c);
    this->env_.Run(AwaitTermination(c.cell()));
    absl::Status gone = this->template Lookup<Counter>(name).status();
    EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
    EXPECT_THAT(gone.message(), HasSubstr("no actor named")) << name;
  }
}

}  // namespace
}  // namespace troupe::test

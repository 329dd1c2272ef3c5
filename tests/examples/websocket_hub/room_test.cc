// The Room and Directory actors in the deterministic test mode: ordering,
// the join seam, history, names, presence, slow consumers, reaping.

#include "examples/websocket_hub/room.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/websocket_hub/directory.h"
#include "executor/settle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/examples/websocket_hub/hub_test_util.h"

namespace troupe::hub {
namespace {

using test::OneTo;
using test::RecordingOutbox;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// Joins and returns the outcome (run inside BlockOn); a room that cannot
// answer counts as closed.
Task<JoinOutcome> Join(ActorRef<Room> room,
                       std::shared_ptr<RecordingOutbox> outbox,
                       std::string name) {
  Task<absl::StatusOr<JoinOutcome>> ask =
      room.Ask(JoinRoom(outbox, std::move(name), "j"));
  absl::StatusOr<JoinOutcome> outcome = co_await std::move(ask);
  co_return outcome.ok() ? *outcome : JoinOutcome::kRoomClosed;
}

class RoomTest : public test::HubActorTest {
 protected:
  ActorRef<Room> SpawnRoom(size_t history = 50) {
    RoomOptions options;
    options.history = history;
    return system_.Spawn<Room>("lobby", options, metrics_,
                               Room::EmptyCallback());
  }

  RoomSnapshot Snapshot(const ActorRef<Room>& room) {
    absl::StatusOr<RoomSnapshot> s =
        room.BlockingAsk(runtime_, GetRoomSnapshot{});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : RoomSnapshot{};
  }
};

TEST_F(RoomTest, EveryMemberSeesEveryMessageInTheSameOrderWithoutGaps) {
  ActorRef<Room> room = SpawnRoom();
  std::vector<std::shared_ptr<RecordingOutbox>> members;
  for (uint64_t id = 1; id <= 3; ++id) {
    members.push_back(std::make_shared<RecordingOutbox>(id));
  }
  runtime_.BlockOn([&]() -> Task<void> {
    for (size_t i = 0; i < members.size(); ++i) {
      const JoinOutcome joined =
          co_await Join(room, members[i], "m" + std::to_string(i));
      EXPECT_EQ(joined, JoinOutcome::kJoined);
    }
    // Interleaved publishes from every member, all queued at once.
    for (int round = 0; round < 10; ++round) {
      for (const auto& member : members) {
        EXPECT_TRUE(room.TrySend(PublishToRoom(member->id(), "x")).ok());
      }
    }
    co_await Settle();
  }());
  const std::vector<FramePtr> canonical = members[0]->frames();
  for (const auto& member : members) {
    // The sender gets its own messages too: everyone sees seq 1..30.
    EXPECT_THAT(member->MessageSeqs(), ElementsAreArray(OneTo(30)));
  }
  // Same order: the same frames (shared, not copies) in the same places.
  const std::vector<FramePtr> last = members[2]->frames();
  std::vector<const SharedFrame*> tail_a, tail_b;
  for (const FramePtr& f : canonical) {
    if (f->proto().has_message()) tail_a.push_back(f.get());
  }
  for (const FramePtr& f : last) {
    if (f->proto().has_message()) tail_b.push_back(f.get());
  }
  EXPECT_EQ(tail_a, tail_b);
}

TEST_F(RoomTest, MessagesCarryTheRoomTheSenderAndTheText) {
  ActorRef<Room> room = SpawnRoom();
  auto ada = std::make_shared<RecordingOutbox>(1);
  runtime_.BlockOn([&]() -> Task<void> {
    (void)co_await Join(room, ada, "ada");
    EXPECT_TRUE(room.TrySend(PublishToRoom(1, "hello")).ok());
    co_await Settle();
  }());
  const std::vector<ServerFrame> messages = ada->Of(ServerFrame::kMessage);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].message().room(), "lobby");
  EXPECT_EQ(messages[0].message().from(), "ada");
  EXPECT_EQ(messages[0].message().text(), "hello");
  EXPECT_EQ(messages[0].message().seq(), 1u);
  EXPECT_GT(messages[0].message().sent_at().seconds(), 0);
}

Task<void> PublishFive(ActorRef<Room> room, uint64_t member) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(room.TrySend(PublishToRoom(member, "after")).ok());
  }
  co_return;
}

TEST_F(RoomTest, AJoinerMidStreamGetsHistoryThenLiveMessagesWithNoGapOrDup) {
  ActorRef<Room> room = SpawnRoom(/*history=*/3);
  auto ada = std::make_shared<RecordingOutbox>(1);
  auto bob = std::make_shared<RecordingOutbox>(2);
  runtime_.BlockOn([&]() -> Task<void> {
    (void)co_await Join(room, ada, "ada");
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE(room.TrySend(PublishToRoom(1, "before")).ok());
    }
    // The publisher runs once bob's join is in the mailbox (the join is
    // queued before this task first suspends), so the room's order is:
    // 5 messages, the join, 5 more.
    JoinHandle<void> publisher = Spawn(PublishFive(room, 1));
    const JoinOutcome joined = co_await Join(room, bob, "bob");
    EXPECT_EQ(joined, JoinOutcome::kJoined);
    co_await publisher;
    co_await Settle();
  }());
  const std::vector<ServerFrame> joined = bob->Of(ServerFrame::kJoined);
  ASSERT_EQ(joined.size(), 1u);
  std::vector<uint64_t> history;
  for (const Message& m : joined[0].joined().history()) {
    history.push_back(m.seq());
  }
  EXPECT_THAT(history, ElementsAre(3u, 4u, 5u));
  EXPECT_THAT(bob->MessageSeqs(), ElementsAre(6u, 7u, 8u, 9u, 10u));
  // The joined frame comes before any live message.
  EXPECT_TRUE(bob->frames().front()->proto().has_joined());
  EXPECT_THAT(ada->MessageSeqs(), ElementsAreArray(OneTo(10)));
}

TEST_F(RoomTest, HistoryHoldsTheLastMessagesOldestFirst) {
  ActorRef<Room> room = SpawnRoom(/*history=*/4);
  auto ada = std::make_shared<RecordingOutbox>(1);
  auto bob = std::make_shared<RecordingOutbox>(2);
  runtime_.BlockOn([&]() -> Task<void> {
    (void)co_await Join(room, ada, "ada");
    for (int i = 1; i <= 9; ++i) {
      EXPECT_TRUE(room.TrySend(PublishToRoom(1, std::to_string(i))).ok());
    }
    (void)co_await Join(room, bob, "bob");
  }());
  const ServerFrame joined = bob->Of(ServerFrame::kJoined).at(0);
  std::vector<std::string> texts;
  for (const Message& m : joined.joined().history()) texts.push_back(m.text());
  EXPECT_THAT(texts, ElementsAre("6", "7", "8", "9"));
  EXPECT_EQ(joined.id(), "j");
}

TEST_F(RoomTest, ARoomWithNoHistoryKeepsNone) {
  ActorRef<Room> room = SpawnRoom(/*history=*/0);
  auto ada = std::make_shared<RecordingOutbox>(1);
  auto bob = std::make_shared<RecordingOutbox>(2);
  runtime_.BlockOn([&]() -> Task<void> {
    (void)co_await Join(room, ada, "ada");
    EXPECT_TRUE(room.TrySend(PublishToRoom(1, "gone")).ok());
    (void)co_await Join(room, bob, "bob");
  }());
  EXPECT_EQ(bob->Of(ServerFrame::kJoined).at(0).joined().history_size(), 0);
}

TEST_F(RoomTest, JoinedListsTheMembersBeforeTheJoinerInJoinOrder) {
  ActorRef<Room> room = SpawnRoom();
  auto ada = std::make_shared<RecordingOutbox>(1);
  auto bob = std::make_shared<RecordingOutbox>(2);
  auto cy = std::make_shared<RecordingOutbox>(3);
  runtime_.BlockOn([&]() -> Task<void> {
    (void)co_await Join(room, ada, "ada");
    (void)co_await Join(room, bob, "bob");
    (void)co_await Join(room, cy, "cy");
  }());
  EXPECT_EQ(ada->Of(ServerFrame::kJoined).at(0).joined().members_size(), 0);
  EXPECT_THAT(cy->Of(ServerFrame::kJoined).at(0).joined().members(),
              ElementsAre("ada", "bob"));
  EXPECT_THAT(Snapshot(room).members, ElementsAre("ada", "bob", "cy"));
}

TEST_F(RoomTest, ANameAlreadyInTheRoomIsRefusedWithNameTaken) {
  ActorRef<Room> room = SpawnRoom();
  auto ada = std::make_shared<RecordingOutbox>(1);
  auto impostor = std::make_shared<RecordingOutbox>(2);
  runtime_.BlockOn([&]() -> Task<void> {
    const JoinOutcome first = co_await Join(room, ada, "ada");
    EXPECT_EQ(first, JoinOutcome::kJoined);
    const JoinOutcome second = co_await Join(room, impostor, "ada");
    EXPECT_EQ(second, JoinOutcome::kNameTaken);
  }());
  const std::vector<ServerFrame> errors = impostor->Of(ServerFrame::kError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].error().code(), "name_taken");
  EXPECT_EQ(errors[0].id(), "j");
  EXPECT_TRUE(impostor->Of(ServerFrame::kJoined).empty());
  // The refused joiner is not a member: its publishes go nowhere.
  runtime_.BlockOn([&]() -> Task<void> {
    EXPECT_TRUE(room.TrySend(PublishToRoom(2, "sneaky")).ok());
    co_await Settle();
  }());
  EXPECT_TRUE(ada->MessageSeqs().empty());
  EXPECT_EQ(Snapshot(room).next_seq, 1u);
}

TEST_F(RoomTest, PresenceGoesToTheOtherMembersOnly) {
  ActorRef<Room> room = SpawnRoom();
  auto ada = std::make_shared<RecordingOutbox>(1);
  auto bob = std::make_shared<RecordingOutbox>(2);
  runtime_.BlockOn([&]() -> Task<void> {
    (void)co_await Join(room, ada, "ada");
    (void)co_await Join(room, bob, "bob");
    EXPECT_TRUE(room.TrySend(LeaveRoom(2, "l", /*send_left=*/true)).ok());
    co_await Settle();
  }());
  const std::vector<ServerFrame> seen_by_ada = ada->Of(ServerFrame::kPresence);
  ASSERT_EQ(seen_by_ada.size(), 2u);
  EXPECT_EQ(seen_by_ada[0].presence().name(), "bob");
  EXPECT_EQ(seen_by_ada[0].presence().event(), Presence::JOINED);
  EXPECT_EQ(seen_by_ada[1].presence().name(), "bob");
  EXPECT_EQ(seen_by_ada[1].presence().event(), Presence::LEFT);
  EXPECT_TRUE(bob->Of(ServerFrame::kPresence).empty());
  // An explicit leave is answered with `left`, carrying the request id.
  const std::vector<ServerFrame> left = bob->Of(ServerFrame::kLeft);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].left().room(), "lobby");
  EXPECT_EQ(left[0].id(), "l");
}

TEST_F(RoomTest, ALeaverGetsNoMessagesPublishedAfterItLeft) {
  ActorRef<Room> room = SpawnRoom();
  auto ada = std::make_shared<RecordingOutbox>(1);
  auto bob = std::make_shared<RecordingOutbox>(2);
  runtime_.BlockOn([&]() -> Task<void> {
    (void)co_await Join(room, ada, "ada");
    (void)co_await Join(room, bob, "bob");
    EXPECT_TRUE(room.TrySend(PublishToRoom(1, "1")).ok());
    EXPECT_TRUE(room.TrySend(LeaveRoom(2, "", /*send_left=*/false)).ok());
    EXPECT_TRUE(room.TrySend(PublishToRoom(1, "2")).ok());
    co_await Settle();
  }());
  EXPECT_THAT(bob->MessageSeqs(), ElementsAre(1u));
  EXPECT_TRUE(bob->Of(ServerFrame::kLeft).empty());
  EXPECT_THAT(ada->MessageSeqs(), ElementsAre(1u, 2u));
}

TEST_F(RoomTest, ASlowConsumerIsDroppedWhileTheOthersGetEveryMessage) {
  ActorRef<Room> room = SpawnRoom();
  auto ada = std::make_shared<RecordingOutbox>(1);
  // Room for `joined`, one presence and two messages, then full.
  auto slow = std::make_shared<RecordingOutbox>(2, /*capacity=*/4);
  auto cy = std::make_shared<RecordingOutbox>(3);
  runtime_.BlockOn([&]() -> Task<void> {
    (void)co_await Join(room, ada, "ada");
    (void)co_await Join(room, slow, "slow");
    (void)co_await Join(room, cy, "cy");
    for (int i = 0; i < 20; ++i) {
      EXPECT_TRUE(room.TrySend(PublishToRoom(1, "x")).ok());
    }
    co_await Settle();
  }());
  EXPECT_TRUE(slow->overflowed());
  EXPECT_THAT(slow->MessageSeqs(), ElementsAre(1u, 2u));
  EXPECT_THAT(ada->MessageSeqs(), ElementsAreArray(OneTo(20)));
  EXPECT_THAT(cy->MessageSeqs(), ElementsAreArray(OneTo(20)));
  // The others are told the slow member left, and it is gone.
  const std::vector<ServerFrame> presence = cy->Of(ServerFrame::kPresence);
  ASSERT_FALSE(presence.empty());
  EXPECT_EQ(presence.back().presence().name(), "slow");
  EXPECT_EQ(presence.back().presence().event(), Presence::LEFT);
  EXPECT_THAT(Snapshot(room).members, ElementsAre("ada", "cy"));
}

TEST_F(RoomTest, FanOutSharesOneFrameEncodedOncePerForm) {
  ActorRef<Room> room = SpawnRoom();
  std::vector<std::shared_ptr<RecordingOutbox>> members;
  runtime_.BlockOn([&]() -> Task<void> {
    for (uint64_t id = 1; id <= 5; ++id) {
      members.push_back(std::make_shared<RecordingOutbox>(id));
      (void)co_await Join(room, members.back(), "m" + std::to_string(id));
    }
    EXPECT_TRUE(room.TrySend(PublishToRoom(1, "shared")).ok());
    co_await Settle();
  }());
  std::vector<const SharedFrame*> delivered;
  for (const auto& member : members) {
    for (const FramePtr& f : member->frames()) {
      if (!f->proto().has_message()) continue;
      delivered.push_back(f.get());
      // Every recipient encodes in both forms: the bytes are made once.
      (void)f->Json();
      (void)f->Binary();
    }
  }
  ASSERT_EQ(delivered.size(), 5u);
  for (const SharedFrame* f : delivered) EXPECT_EQ(f, delivered[0]);
  EXPECT_EQ(delivered[0]->encodings(), 2);
}

// ---- the directory ----

class DirectoryTest : public test::HubActorTest {
 protected:
  ActorRef<Directory> SpawnDirectory() {
    RoomOptions options;
    options.history = 10;
    return system_.Spawn<Directory>(options, metrics_);
  }
  static Task<ActorRef<Room>> Resolve(ActorRef<Directory> directory,
                                      std::string name) {
    Task<absl::StatusOr<ActorRef<Room>>> ask =
        directory.Ask(ResolveRoom(std::move(name)));
    absl::StatusOr<ActorRef<Room>> room = co_await std::move(ask);
    EXPECT_TRUE(room.ok()) << room.status();
    co_return room.ok() ? *room : ActorRef<Room>();
  }
  size_t Rooms(const ActorRef<Directory>& directory) {
    absl::StatusOr<size_t> n = directory.BlockingAsk(runtime_, CountRooms{});
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : 0;
  }
};

TEST_F(DirectoryTest, TheSameNameResolvesToTheSameRoom) {
  ActorRef<Directory> directory = SpawnDirectory();
  runtime_.BlockOn([&]() -> Task<void> {
    ActorRef<Room> a = co_await Resolve(directory, "lobby");
    ActorRef<Room> b = co_await Resolve(directory, "lobby");
    ActorRef<Room> c = co_await Resolve(directory, "kitchen");
    EXPECT_EQ(a.id(), b.id());
    EXPECT_NE(a.id(), c.id());
  }());
  EXPECT_EQ(Rooms(directory), 2u);
  EXPECT_EQ(metrics_->rooms(), 2);
}

TEST_F(DirectoryTest, AnEmptiedRoomIsReapedAndTheNameStartsAfresh) {
  ActorRef<Directory> directory = SpawnDirectory();
  auto ada = std::make_shared<RecordingOutbox>(1);
  ActorId first = 0;
  runtime_.BlockOn([&]() -> Task<void> {
    ActorRef<Room> room = co_await Resolve(directory, "lobby");
    first = room.id();
    const JoinOutcome join_outcome = co_await Join(room, ada, "ada");
    EXPECT_EQ(join_outcome, JoinOutcome::kJoined);
    EXPECT_TRUE(room.TrySend(PublishToRoom(1, "old")).ok());
    EXPECT_TRUE(room.TrySend(LeaveRoom(1, "", false)).ok());
    co_await Settle();
  }());
  EXPECT_EQ(Rooms(directory), 0u);
  EXPECT_EQ(metrics_->rooms(), 0);
  auto bob = std::make_shared<RecordingOutbox>(2);
  runtime_.BlockOn([&]() -> Task<void> {
    ActorRef<Room> room = co_await Resolve(directory, "lobby");
    EXPECT_NE(room.id(), first);
    const JoinOutcome join_outcome = co_await Join(room, bob, "bob");
    EXPECT_EQ(join_outcome, JoinOutcome::kJoined);
    EXPECT_TRUE(room.TrySend(PublishToRoom(2, "new")).ok());
    co_await Settle();
  }());
  // A fresh room: no history, and seq starts at 1 again.
  EXPECT_EQ(bob->Of(ServerFrame::kJoined).at(0).joined().history_size(), 0);
  EXPECT_THAT(bob->MessageSeqs(), ElementsAre(1u));
}

TEST_F(DirectoryTest, AJoinThatRacesTheReapingIsToldToResolveAgain) {
  ActorRef<Directory> directory = SpawnDirectory();
  auto ada = std::make_shared<RecordingOutbox>(1);
  runtime_.BlockOn([&]() -> Task<void> {
    ActorRef<Room> stale = co_await Resolve(directory, "lobby");
    const JoinOutcome join_outcome = co_await Join(stale, ada, "ada");
    EXPECT_EQ(join_outcome, JoinOutcome::kJoined);
    EXPECT_TRUE(stale.TrySend(LeaveRoom(1, "", false)).ok());
    co_await Settle();  // reaped
    // A joiner still holding the old reference is not lost in it.
    const JoinOutcome late = co_await Join(stale, ada, "ada");
    EXPECT_EQ(late, JoinOutcome::kRoomClosed);
    ActorRef<Room> fresh = co_await Resolve(directory, "lobby");
    EXPECT_NE(fresh.id(), stale.id());
  }());
}

TEST_F(DirectoryTest, ARoomThatIsJoinedAgainBeforeTheReapingStays) {
  ActorRef<Directory> directory = SpawnDirectory();
  auto ada = std::make_shared<RecordingOutbox>(1);
  auto bob = std::make_shared<RecordingOutbox>(2);
  runtime_.BlockOn([&]() -> Task<void> {
    ActorRef<Room> room = co_await Resolve(directory, "lobby");
    const JoinOutcome first_outcome = co_await Join(room, ada, "ada");
    EXPECT_EQ(first_outcome, JoinOutcome::kJoined);
    // The leave makes the room empty, and bob's join is queued right
    // behind it - before the directory's RetireIfEmpty.
    EXPECT_TRUE(room.TrySend(LeaveRoom(1, "", false)).ok());
    const JoinOutcome second_outcome = co_await Join(room, bob, "bob");
    EXPECT_EQ(second_outcome, JoinOutcome::kJoined);
    co_await Settle();
    ActorRef<Room> again = co_await Resolve(directory, "lobby");
    EXPECT_EQ(again.id(), room.id());
  }());
  EXPECT_EQ(Rooms(directory), 1u);
}

}  // namespace
}  // namespace troupe::hub

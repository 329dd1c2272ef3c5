// The Session actor (one per connection) in the deterministic test mode,
// fed client frames directly and read through its outbound queue: the
// protocol's answers, its errors, the rate limit, leaving on disconnect
// and closing at shutdown.

#include "examples/websocket_hub/session.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "examples/websocket_hub/directory.h"
#include "executor/settle.h"
#include "executor/sleep.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/close_codes.h"
#include "tests/examples/websocket_hub/hub_test_util.h"

namespace troupe::hub {
namespace {

using ::testing::ElementsAre;

// One simulated connection: its Session and the far end of its queue.
struct Client {
  ActorRef<Session> session;
  Receiver<Outbound> queue;
  std::shared_ptr<ConnectionState> state;

  // What the Session queued since the last call: frames, and a close
  // order as a frame-less entry (see closes).
  std::vector<ServerFrame> Take() {
    std::vector<ServerFrame> frames;
    for (;;) {
      absl::StatusOr<Outbound> item = queue.TryRecv();
      if (!item.ok()) break;
      if (item->frame == nullptr) {
        closes.push_back(item->close_code);
        continue;
      }
      frames.push_back(item->frame->proto());
    }
    return frames;
  }
  std::vector<uint16_t> closes;
};

class SessionTest : public test::HubActorTest {
 protected:
  SessionTest() {
    RoomOptions rooms;
    rooms.history = 10;
    directory_ = system_.Spawn<Directory>(rooms, metrics_);
  }

  Client Connect(SessionOptions options = {}) {
    static uint64_t next_id = 1;
    auto state = std::make_shared<ConnectionState>(next_id++);
    auto channel = MakeMpsc<Outbound>(64).value();
    // No WebSocket: these tests never overflow the queue, the only case
    // in which the outbox touches the socket itself.
    auto outbox = std::make_shared<ConnectionOutbox>(
        state, std::move(channel.first), nullptr, metrics_);
    Client client{system_.Spawn<Session>(outbox, directory_, options, metrics_),
                  std::move(channel.second), state};
    return client;
  }

  // Delivers `json` as a text frame from `client` and lets everything
  // settle.
  void Say(Client& client, std::string json) {
    SayRaw(client, net::WebSocketMessage::Text(std::move(json)));
  }
  void SayRaw(Client& client, net::WebSocketMessage message) {
    EXPECT_TRUE(client.session.TrySend(Inbound(std::move(message))).ok());
    runtime_.BlockOn(Settle());
  }

  ActorRef<Directory> directory_;
};

TEST_F(SessionTest, AJoinIsAnsweredWithJoinedCarryingTheRequestId) {
  Client ada = Connect();
  Say(ada, R"({"id":"7","join":{"room":"lobby","name":"ada"}})");
  const std::vector<ServerFrame> frames = ada.Take();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].id(), "7");
  ASSERT_TRUE(frames[0].has_joined());
  EXPECT_EQ(frames[0].joined().room(), "lobby");
}

TEST_F(SessionTest, AMemberReceivesItsOwnPublishedMessage) {
  Client ada = Connect();
  Say(ada, R"({"join":{"room":"lobby","name":"ada"}})");
  Say(ada, R"({"id":"2","publish":{"room":"lobby","text":"hi"}})");
  const std::vector<ServerFrame> frames = ada.Take();
  ASSERT_EQ(frames.size(), 2u);
  ASSERT_TRUE(frames[1].has_message());
  EXPECT_EQ(frames[1].message().text(), "hi");
  EXPECT_EQ(frames[1].message().from(), "ada");
  EXPECT_EQ(frames[1].message().seq(), 1u);
}

TEST_F(SessionTest, PublishingToARoomNotJoinedIsAnsweredWithNotAMember) {
  Client ada = Connect();
  Say(ada, R"({"id":"3","publish":{"room":"lobby","text":"hi"}})");
  const std::vector<ServerFrame> frames = ada.Take();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].error().code(), "not_a_member");
  EXPECT_EQ(frames[0].id(), "3");
}

TEST_F(SessionTest, LeavingARoomNotJoinedIsAnsweredWithNotAMember) {
  Client ada = Connect();
  Say(ada, R"({"id":"4","leave":{"room":"lobby"}})");
  const std::vector<ServerFrame> frames = ada.Take();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].error().code(), "not_a_member");
}

TEST_F(SessionTest, AMalformedFrameGetsBadFrameAndTheConnectionGoesOn) {
  Client ada = Connect();
  Say(ada, "{not json");
  SayRaw(ada, net::WebSocketMessage::Binary("\xff\xff\xff"));
  Say(ada, "{}");
  Say(ada, R"({"id":"9","ping":{}})");
  const std::vector<ServerFrame> frames = ada.Take();
  ASSERT_EQ(frames.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(frames[i].error().code(), "bad_frame");
  EXPECT_TRUE(frames[3].has_pong());
  EXPECT_EQ(frames[3].id(), "9");
  EXPECT_TRUE(ada.closes.empty());
}

TEST_F(SessionTest, BinaryFramesCarryTheSameProtocolAsProtobuf) {
  Client ada = Connect();
  ClientFrame join;
  join.set_id("b1");
  join.mutable_join()->set_room("lobby");
  join.mutable_join()->set_name("ada");
  SayRaw(ada, net::WebSocketMessage::Binary(join.SerializeAsString()));
  const std::vector<ServerFrame> frames = ada.Take();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].has_joined());
  EXPECT_EQ(frames[0].id(), "b1");
}

TEST_F(SessionTest, AJoinWithoutANameIsABadRequest) {
  Client ada = Connect();
  Say(ada, R"({"join":{"room":"lobby"}})");
  EXPECT_EQ(ada.Take().at(0).error().code(), "bad_request");
}

TEST_F(SessionTest, TwoConnectionsCannotUseOneNameInARoom) {
  Client ada = Connect();
  Client other = Connect();
  Say(ada, R"({"join":{"room":"lobby","name":"ada"}})");
  Say(other, R"({"id":"x","join":{"room":"lobby","name":"ada"}})");
  const std::vector<ServerFrame> frames = other.Take();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].error().code(), "name_taken");
  EXPECT_EQ(frames[0].id(), "x");
  // Refused, so not a member.
  Say(other, R"({"publish":{"room":"lobby","text":"hi"}})");
  EXPECT_EQ(other.Take().at(0).error().code(), "not_a_member");
}

TEST_F(SessionTest, ADisconnectLeavesEveryRoomAndTellsTheOthers) {
  Client ada = Connect();
  Client bob = Connect();
  for (const char* room : {"lobby", "kitchen"}) {
    Say(ada, absl::StrCat(R"({"join":{"room":")", room, R"(","name":"ada"}})"));
    Say(bob, absl::StrCat(R"({"join":{"room":")", room, R"(","name":"bob"}})"));
  }
  (void)ada.Take();
  EXPECT_TRUE(bob.session.TrySend(Disconnected{}).ok());
  runtime_.BlockOn(Settle());
  std::vector<std::string> left;
  for (const ServerFrame& f : ada.Take()) {
    ASSERT_TRUE(f.has_presence());
    EXPECT_EQ(f.presence().event(), Presence::LEFT);
    EXPECT_EQ(f.presence().name(), "bob");
    left.push_back(f.presence().room());
  }
  std::sort(left.begin(), left.end());
  EXPECT_THAT(left, ElementsAre("kitchen", "lobby"));
  // bob's name is free again.
  Client bob2 = Connect();
  Say(bob2, R"({"join":{"room":"lobby","name":"bob"}})");
  EXPECT_TRUE(bob2.Take().at(0).has_joined());
}

TEST_F(SessionTest, ExcessMessagesGetRateLimitedAndPersistentExcessCloses) {
  SessionOptions options;
  options.rate_limit = 2;  // a burst of 2; virtual time does not move here
  options.strikes_before_close = 3;
  Client ada = Connect(options);
  for (int i = 0; i < 8; ++i) Say(ada, R"({"ping":{}})");
  const std::vector<ServerFrame> frames = ada.Take();
  ASSERT_EQ(frames.size(), 5u);
  EXPECT_TRUE(frames[0].has_pong());
  EXPECT_TRUE(frames[1].has_pong());
  for (int i = 2; i < 5; ++i) {
    EXPECT_EQ(frames[i].error().code(), "rate_limited");
  }
  // Then the close, queued behind the last error; later input is ignored.
  EXPECT_THAT(ada.closes, ElementsAre(net::close_code::kPolicyViolation));
  EXPECT_EQ(ada.state->end_reason(), DisconnectReason::kRateLimited);
}

TEST_F(SessionTest, TheRateLimitRefillsAsTimePasses) {
  SessionOptions options;
  options.rate_limit = 1;
  Client ada = Connect(options);
  Say(ada, R"({"ping":{}})");
  Say(ada, R"({"ping":{}})");
  runtime_.BlockOn(
      []() -> Task<void> { co_await SleepFor(std::chrono::seconds(2)); }());
  Say(ada, R"({"ping":{}})");
  const std::vector<ServerFrame> frames = ada.Take();
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_TRUE(frames[0].has_pong());
  EXPECT_EQ(frames[1].error().code(), "rate_limited");
  EXPECT_TRUE(frames[2].has_pong());
  EXPECT_TRUE(ada.closes.empty());
}

TEST_F(SessionTest, ShutdownQueuesClose1001BehindWhatIsQueued) {
  Client ada = Connect();
  Say(ada, R"({"join":{"room":"lobby","name":"ada"}})");
  Say(ada, R"({"publish":{"room":"lobby","text":"last words"}})");
  system_.BlockingShutdown(std::chrono::seconds(5));
  const std::vector<ServerFrame> frames = ada.Take();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].message().text(), "last words");
  EXPECT_THAT(ada.closes, ElementsAre(net::close_code::kGoingAway));
  EXPECT_EQ(ada.state->end_reason(), DisconnectReason::kServerShutdown);
}

}  // namespace
}  // namespace troupe::hub

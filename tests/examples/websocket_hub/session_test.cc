// The Session actor (one per connection) in the deterministic test mode,
// fed client frames directly and read through a recording link: the
// protocol's answers, its errors, the rate limit, leaving on disconnect
// and closing at shutdown.

#include "examples/websocket_hub/session.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
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

// The far end of a simulated connection: a bounded queue of frames and
// close orders, in the order they were queued.
class RecordingLink final : public ClientLink {
 public:
  explicit RecordingLink(size_t capacity) : capacity_(capacity) {}

  Outbox::OfferResult Queue(const FramePtr& frame, bool /*binary*/) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Outbox::OfferResult::kClosed;
    if (frames_.size() >= capacity_) return Outbox::OfferResult::kFull;
    frames_.push_back(frame->proto());
    return Outbox::OfferResult::kQueued;
  }
  void Close(uint16_t code, std::string /*reason*/) override {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    closes_.push_back(code);
  }

  // What was queued since the last call (the queue drains).
  std::vector<ServerFrame> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(frames_, {});
  }
  std::vector<uint16_t> closes() {
    std::lock_guard<std::mutex> lock(mu_);
    return closes_;
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::vector<ServerFrame> frames_;
  std::vector<uint16_t> closes_;
  bool closed_ = false;
};

// One simulated connection: its Session and the far end of its outbox.
struct Client {
  ActorRef<Session> session;
  std::shared_ptr<RecordingLink> link;
  std::shared_ptr<ConnectionState> state;

  std::vector<ServerFrame> Take() { return link->Take(); }
  std::vector<uint16_t> closes() { return link->closes(); }
};

class SessionTest : public test::HubActorTest {
 protected:
  SessionTest() {
    RoomOptions rooms;
    rooms.history = 10;
    directory_ = system_.Spawn<Directory>(rooms, metrics_);
  }

  Client Connect(SessionOptions options = {}, size_t queue = 64) {
    static uint64_t next_id = 1;
    auto state = std::make_shared<ConnectionState>(next_id++);
    auto link = std::make_shared<RecordingLink>(queue);
    auto outbox = std::make_shared<ConnectionOutbox>(state, link, metrics_);
    return Client{system_.Spawn<Session>(outbox, directory_, options, metrics_),
                  link, state};
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
  EXPECT_TRUE(ada.closes().empty());
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
  EXPECT_THAT(ada.closes(), ElementsAre(net::close_code::kPolicyViolation));
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
  EXPECT_TRUE(ada.closes().empty());
}

TEST_F(SessionTest, ShutdownQueuesClose1001BehindWhatIsQueued) {
  Client ada = Connect();
  Say(ada, R"({"join":{"room":"lobby","name":"ada"}})");
  Say(ada, R"({"publish":{"room":"lobby","text":"last words"}})");
  system_.BlockingShutdown(std::chrono::seconds(5));
  const std::vector<ServerFrame> frames = ada.Take();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].message().text(), "last words");
  EXPECT_THAT(ada.closes(), ElementsAre(net::close_code::kGoingAway));
  EXPECT_EQ(ada.state->end_reason(), DisconnectReason::kServerShutdown);
}

TEST_F(SessionTest, AnOverflowingQueueClosesTheClientAsASlowConsumerOnce) {
  Client ada = Connect({}, /*queue=*/2);
  Say(ada, R"({"join":{"room":"lobby","name":"ada"}})");
  // joined, then two pongs: the second overflows the queue of two.
  Say(ada, R"({"ping":{}})");
  Say(ada, R"({"ping":{}})");
  EXPECT_THAT(ada.closes(), ElementsAre(net::close_code::kPolicyViolation));
  EXPECT_EQ(ada.state->end_reason(), DisconnectReason::kSlowConsumer);
  EXPECT_EQ(metrics_->slow_consumer_drops(), 1);
  // Later frames find it closed: no second close, no second drop.
  Say(ada, R"({"ping":{}})");
  EXPECT_THAT(ada.closes(), ElementsAre(net::close_code::kPolicyViolation));
  EXPECT_EQ(metrics_->slow_consumer_drops(), 1);
}

}  // namespace
}  // namespace troupe::hub

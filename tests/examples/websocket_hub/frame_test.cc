// SharedFrame and the wire forms of proto/hub.proto: the canonical JSON
// mapping of the issue, protobuf binary, encoding once, parse errors.

#include "examples/websocket_hub/frame.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace troupe::hub {
namespace {

using ::testing::HasSubstr;

TEST(FrameTest, TheIssuesJoinExampleParsesFromJson) {
  const absl::StatusOr<ClientFrame> frame = ParseClientFrame(
      /*text=*/true, R"({"id":"7","join":{"room":"lobby","name":"ada"}})");
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->id(), "7");
  EXPECT_EQ(frame->join().room(), "lobby");
  EXPECT_EQ(frame->join().name(), "ada");
}

TEST(FrameTest, AClientFrameParsesFromProtobufBinary) {
  ClientFrame sent;
  sent.mutable_publish()->set_room("lobby");
  sent.mutable_publish()->set_text("hi");
  const absl::StatusOr<ClientFrame> frame =
      ParseClientFrame(/*text=*/false, sent.SerializeAsString());
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->publish().text(), "hi");
}

TEST(FrameTest, MalformedOrEmptyFramesAreRefusedWithAReason) {
  EXPECT_FALSE(ParseClientFrame(true, "{nope").ok());
  EXPECT_FALSE(ParseClientFrame(true, R"({"join":{"rooom":"x"}})").ok());
  EXPECT_FALSE(ParseClientFrame(false, "\xff\xff\xff").ok());
  const absl::StatusOr<ClientFrame> empty = ParseClientFrame(true, "{}");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(std::string(empty.status().message()),
              HasSubstr("join, leave, publish"));
}

TEST(FrameTest, ServerFramesUseTheCanonicalJsonMapping) {
  ServerFrame frame;
  Message* m = frame.mutable_message();
  m->set_room("lobby");
  m->set_seq(12);
  m->set_from("ada");
  m->set_text("hi");
  m->mutable_sent_at()->set_seconds(1764288000);
  const FramePtr shared = MakeFrame(frame);
  EXPECT_EQ(shared->Json(),
            R"({"message":{"room":"lobby","seq":"12","from":"ada",)"
            R"("text":"hi","sentAt":"2025-11-28T00:00:00Z"}})");
  ServerFrame parsed;
  ASSERT_TRUE(parsed.ParseFromString(shared->Binary()));
  EXPECT_EQ(parsed.message().seq(), 12u);
}

TEST(FrameTest, EachFormIsEncodedOnceHoweverManyThreadsAsk) {
  ServerFrame frame;
  frame.mutable_presence()->set_name("ada");
  const FramePtr shared = MakeFrame(frame);
  std::vector<std::thread> readers;
  readers.reserve(4);
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      for (int j = 0; j < 100; ++j) {
        EXPECT_FALSE(shared->Json().empty());
        EXPECT_FALSE(shared->Binary().empty());
      }
    });
  }
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(shared->encodings(), 2);
}

TEST(FrameTest, AnErrorFrameCarriesTheRequestIdCodeAndDetail) {
  EXPECT_EQ(
      ErrorFrame("5", "not_a_member", "join first")->Json(),
      R"({"id":"5","error":{"code":"not_a_member","detail":"join first"}})");
}

}  // namespace
}  // namespace troupe::hub

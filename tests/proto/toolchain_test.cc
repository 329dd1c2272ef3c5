// Proves the offline toolchain end to end: a generated protobuf message
// round-trips through both of its wire forms, Abseil links, gMock matches.

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "proto/hub.pb.h"

namespace troupe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

hub::ServerFrame MakeJoined() {
  hub::ServerFrame frame;
  frame.set_id(absl::StrCat(7));
  hub::Joined* joined = frame.mutable_joined();
  joined->set_room("lobby");
  joined->add_members("ada");
  joined->add_members("grace");
  hub::Message* old = joined->add_history();
  old->set_seq(41);
  old->set_from("ada");
  old->set_text("hello");
  old->mutable_sent_at()->set_seconds(1764288000);
  return frame;
}

TEST(ToolchainTest, AProtoMessageSurvivesABinaryRoundTrip) {
  const hub::ServerFrame frame = MakeJoined();
  std::string wire;
  ASSERT_TRUE(frame.SerializeToString(&wire));

  hub::ServerFrame parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.id(), "7");
  ASSERT_TRUE(parsed.has_joined());
  EXPECT_THAT(parsed.joined().members(), ElementsAre("ada", "grace"));
  EXPECT_EQ(parsed.joined().history(0).seq(), 41u);
  EXPECT_EQ(parsed.joined().history(0).sent_at().seconds(), 1764288000);
}

TEST(ToolchainTest, AProtoMessageSurvivesAJsonRoundTrip) {
  std::string json;
  ASSERT_TRUE(
      google::protobuf::util::MessageToJsonString(MakeJoined(), &json).ok());
  EXPECT_THAT(json, HasSubstr(R"("room":"lobby")"));
  EXPECT_THAT(json, HasSubstr(R"("sentAt":"2025-11-28T00:00:00Z")"));

  hub::ServerFrame parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok());
  EXPECT_EQ(parsed.joined().history(0).text(), "hello");
}

TEST(ToolchainTest, MalformedJsonIsRejectedWithAnError) {
  hub::ClientFrame frame;
  const auto status = google::protobuf::util::JsonStringToMessage(
      R"({"join": {"room": 5,)", &frame);
  EXPECT_FALSE(status.ok());
}

}  // namespace
}  // namespace troupe

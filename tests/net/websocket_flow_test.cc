// Tests of net/websocket_connection.h's flow control and compression:
// back-pressure in both directions (a peer that does not read, an
// application that does not receive) and permessage-deflate on the wire,
// with and without context takeover. Both runtime flavours.

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"
#include "net/permessage_deflate.h"
#include "net/websocket_connection.h"
#include "tests/net/websocket_peer.h"
#include "tests/runtime_flavours.h"

namespace troupe::net {
namespace {

using testing::ClientFrame;
using testing::Connect;
using testing::Connected;
using testing::ConnectServer;
using testing::Event;

template <typename F>
class WebSocketFlowTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(WebSocketFlowTest, test::RuntimeFlavours);

constexpr size_t kMessageSize = 1000;

std::string Numbered(int i) {
  std::string s = std::to_string(i);
  s.resize(kMessageSize, '.');
  return s;
}

Task<absl::Status> SendNumbered(WebSocketConnection& ws, int i) {
  WebSocketMessage m = WebSocketMessage::Binary(Numbered(i));
  co_return co_await ws.Send(std::move(m));
}

TYPED_TEST(WebSocketFlowTest, ASenderToAPeerThatDoesNotReadStopsAtTheBound) {
  this->runtime_.BlockOn([]() -> Task<void> {
    WebSocketOptions options;
    options.outgoing_capacity = 4;
    Connected c = Connect(Role::kServer, options, std::nullopt,
                          /*pipe_capacity=*/2 * kMessageSize);
    // Fill everything: the queue, the writer's batch, the pipe. However
    // long we wait, no more than that bound is ever accepted.
    int accepted = 0;
    for (int round = 0; round < 3; ++round) {
      while (accepted < 1000 &&
             c.ws.TrySend(WebSocketMessage::Binary(Numbered(accepted))).ok()) {
        ++accepted;
      }
      co_await SleepFor(std::chrono::milliseconds(5));
    }
    // The queue (4), the writer's batch (at most a queue's worth, 4) and
    // the messages the pipe took whole (at most 1 of 2 KB).
    EXPECT_GE(accepted, 4);
    EXPECT_LE(accepted, 4 + 4 + 1);
    SendResult<WebSocketMessage> full =
        c.ws.TrySend(WebSocketMessage::Binary("x"));
    EXPECT_TRUE(full.IsFull());
    EXPECT_EQ(full.value().data(), "x");  // handed back
    // A waiting Send stays blocked until the peer reads.
    JoinHandle<absl::Status> blocked = Spawn(SendNumbered(c.ws, accepted));
    co_await SleepFor(std::chrono::milliseconds(5));
    EXPECT_FALSE(blocked.IsFinished());
    for (int i = 0; i <= accepted; ++i) {
      std::optional<Event> e = co_await c.peer.Next();
      CO_ASSERT(e.has_value());
      EXPECT_EQ(e->payload, Numbered(i));
    }
    CO_EXPECT_OK(co_await blocked);
  }());
}

// The raw peer writes `count` messages one frame at a time, counting.
Task<void> WriteMessages(testing::RawPeer& peer, int count,
                         std::shared_ptr<std::atomic<int>> written) {
  for (int i = 0; i < count; ++i) {
    const absl::Status sent =
        co_await peer.Write(ClientFrame(Opcode::kBinary, Numbered(i)));
    if (!sent.ok()) co_return;
    written->fetch_add(1);
  }
}

TYPED_TEST(WebSocketFlowTest, ASlowApplicationPausesReading) {
  this->runtime_.BlockOn([]() -> Task<void> {
    WebSocketOptions options;
    options.incoming_capacity = 2;
    options.read_buffer_size = 512;
    Connected c = Connect(Role::kServer, options, std::nullopt,
                          /*pipe_capacity=*/2 * kMessageSize);
    auto written = std::make_shared<std::atomic<int>>(0);
    constexpr int kCount = 50;
    JoinHandle<void> writer = Spawn(WriteMessages(c.peer, kCount, written));
    co_await SleepFor(std::chrono::milliseconds(20));
    // Nothing received: the connection holds 2 messages in its queue, one
    // waiting to enter it, a read buffer, and the pipe its bound.
    EXPECT_FALSE(writer.IsFinished());
    EXPECT_LE(written->load(), 2 + 1 + 1 + 2 + 2);
    for (int i = 0; i < kCount; ++i) {
      absl::StatusOr<WebSocketMessage> m = co_await c.ws.Receive();
      CO_ASSERT(m.ok());
      EXPECT_EQ(m->data(), Numbered(i));
    }
    co_await writer;
    EXPECT_EQ(written->load(), kCount);
  }());
}

TYPED_TEST(WebSocketFlowTest, CloseDoesNotWaitForAnApplicationThatStopped) {
  this->runtime_.BlockOn([]() -> Task<void> {
    WebSocketOptions options;
    options.incoming_capacity = 1;
    Connected c = ConnectServer(options);
    // Two messages: one fills the queue, the reader waits with the other.
    std::string wire =
        ClientFrame(Opcode::kText, "one") + ClientFrame(Opcode::kText, "two");
    CO_EXPECT_OK(co_await c.peer.Write(std::move(wire)));
    co_await SleepFor(std::chrono::milliseconds(5));
    JoinHandle<absl::Status> closing =
        Spawn([](WebSocketConnection& ws) -> Task<absl::Status> {
          co_return co_await ws.Close();
        }(c.ws));
    std::optional<Event> close = co_await c.peer.Next();
    CO_ASSERT(close.has_value());
    EXPECT_EQ(close->type, WebSocketEventType::kClose) << close->Describe();
    CO_EXPECT_OK(co_await c.peer.Write(testing::ClientClose(1000)));
    CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
    CO_EXPECT_OK(co_await closing);
    EXPECT_TRUE(c.ws.close_info().clean);
  }());
}

// ---- permessage-deflate ----

// A compressed client frame for `message`.
std::string CompressedClientFrame(MessageDeflater& deflater,
                                  std::string_view message) {
  std::vector<uint8_t> compressed;
  EXPECT_TRUE(deflater.Compress(AsBytes(message), &compressed).ok());
  return ClientFrame(Opcode::kText, AsChars(compressed), true, /*rsv1=*/true);
}

// Sends `message` three times each way; returns the wire sizes of the
// server's three frames.
Task<std::vector<size_t>> DeflateRoundTrips(DeflateParams params) {
  Connected c = Connect(Role::kServer, {}, params);
  MessageDeflater deflater =
      MessageDeflater::Create(params.Sender(Role::kClient)).value();
  const std::string message =
      "the quick brown fox jumps over the lazy dog, again and again; "
      "the quick brown fox jumps over the lazy dog, again and again";
  std::vector<size_t> sizes;
  for (int i = 0; i < 3; ++i) {
    std::string frame = CompressedClientFrame(deflater, message);
    EXPECT_LT(frame.size(), message.size());
    CO_EXPECT_OK(co_await c.peer.Write(std::move(frame)));
    absl::StatusOr<WebSocketMessage> m = co_await c.ws.Receive();
    EXPECT_TRUE(m.ok() && m->data() == message) << m.status();
    const size_t start = c.peer.raw().size();
    WebSocketMessage back = WebSocketMessage::Text(message);
    CO_EXPECT_OK(co_await c.ws.Send(std::move(back)));
    std::optional<Event> e = co_await c.peer.Next();
    EXPECT_TRUE(e.has_value() && e->payload == message);
    const std::string& raw = c.peer.raw();
    EXPECT_EQ(static_cast<uint8_t>(raw[start]), 0xC1);  // FIN, RSV1, text
    sizes.push_back(raw.size() - start);
  }
  co_return sizes;
}

TYPED_TEST(WebSocketFlowTest, DeflatedMessagesRoundTripWithContextTakeover) {
  DeflateParams params;  // context takeover both ways, 15-bit windows
  const std::vector<size_t> sizes =
      this->runtime_.BlockOn(DeflateRoundTrips(params));
  ASSERT_EQ(sizes.size(), 3u);
  // The shared window makes a repeated message cheaper the second time.
  EXPECT_LT(sizes[1], sizes[0]);
}

TYPED_TEST(WebSocketFlowTest, DeflatedMessagesRoundTripWithoutContextTakeover) {
  DeflateParams params;
  params.server_no_context_takeover = true;
  params.client_no_context_takeover = true;
  params.server_max_window_bits = 9;
  params.client_max_window_bits = 10;
  const std::vector<size_t> sizes =
      this->runtime_.BlockOn(DeflateRoundTrips(params));
  ASSERT_EQ(sizes.size(), 3u);
  // Every message stands alone: the same message, the same frame.
  EXPECT_EQ(sizes[1], sizes[0]);
  EXPECT_EQ(sizes[2], sizes[0]);
}

TYPED_TEST(WebSocketFlowTest, CorruptCompressedDataFailsWith1007) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = Connect(Role::kServer, {}, DeflateParams());
    std::string wire = ClientFrame(Opcode::kBinary, "\xFF\xFF\xFF\xFF garbage",
                                   true, /*rsv1=*/true);
    CO_EXPECT_OK(co_await c.peer.Write(std::move(wire)));
    std::optional<Event> close = co_await c.peer.Next();
    CO_ASSERT(close.has_value());
    EXPECT_EQ(close->code, close_code::kInvalidPayload) << close->Describe();
  }());
}

}  // namespace
}  // namespace troupe::net

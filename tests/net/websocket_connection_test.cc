// Tests of net/websocket_connection.h against a raw peer on a memory pipe:
// the RFC 6455 rules the connection enforces on its own (framing,
// fragmentation, control frames, masking, reserved bits, UTF-8, limits,
// the closing handshake). Each scenario runs on both runtime flavours.

#include "net/websocket_connection.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"
#include "net/close_codes.h"
#include "tests/net/websocket_peer.h"
#include "tests/runtime_flavours.h"

namespace troupe::net {
namespace {

using testing::ClientClose;
using testing::ClientCloseRaw;
using testing::ClientFrame;
using testing::Connect;
using testing::Connected;
using testing::ConnectServer;
using testing::Event;
using testing::RawClientFrame;
using testing::ServerFrame;

template <typename F>
class WebSocketConnectionTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(WebSocketConnectionTest, test::RuntimeFlavours);

// The peer sends `wire`; expects the connection to fail with a Close
// carrying `code`, then to end the stream and to wait (lingering) until
// the peer ends its side too; Receive reports `status`.
Task<void> ExpectFailure(std::string wire, uint16_t code,
                         absl::StatusCode status,
                         WebSocketOptions options = {}) {
  Connected c = ConnectServer(options);
  CO_EXPECT_OK(co_await c.peer.Write(std::move(wire)));
  std::optional<Event> close = co_await c.peer.Next();
  CO_ASSERT(close.has_value());
  EXPECT_EQ(close->type, WebSocketEventType::kClose) << close->Describe();
  EXPECT_EQ(close->code, code) << close->Describe();
  CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());
  EXPECT_FALSE(c.ws.finished());  // still reading what the peer may send
  CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
  absl::StatusOr<WebSocketMessage> received = co_await c.ws.Receive();
  EXPECT_EQ(received.status().code(), status) << received.status();
  EXPECT_EQ(c.ws.close_info().code, code);
  EXPECT_FALSE(c.ws.close_info().clean);
}

Task<absl::Status> CloseIn(WebSocketConnection& ws, uint16_t code,
                           std::string reason) {
  co_return co_await ws.Close(code, std::move(reason));
}

TYPED_TEST(WebSocketConnectionTest, ATextMessageArrivesAndTheReplyIsUnmasked) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    CO_EXPECT_OK(co_await c.peer.Write(ClientFrame(Opcode::kText, "hello")));
    absl::StatusOr<WebSocketMessage> m = co_await c.ws.Receive();
    CO_ASSERT(m.ok());
    EXPECT_TRUE(m->is_text());
    EXPECT_EQ(m->data(), "hello");
    WebSocketMessage reply = WebSocketMessage::Text("world");
    CO_EXPECT_OK(co_await c.ws.Send(std::move(reply)));
    // The raw peer decodes as a client would: a masked frame would fail.
    std::optional<Event> e = co_await c.peer.Next();
    CO_ASSERT(e.has_value());
    EXPECT_EQ(e->type, WebSocketEventType::kText) << e->Describe();
    EXPECT_EQ(e->payload, "world");
  }());
}

TYPED_TEST(WebSocketConnectionTest, AFragmentedMessageIsReassembled) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    std::string wire = ClientFrame(Opcode::kBinary, "Hel", /*fin=*/false) +
                       ClientFrame(Opcode::kContinuation, "lo, ", false) +
                       ClientFrame(Opcode::kContinuation, "world", true);
    CO_EXPECT_OK(co_await c.peer.Write(std::move(wire)));
    absl::StatusOr<WebSocketMessage> m = co_await c.ws.Receive();
    CO_ASSERT(m.ok());
    EXPECT_FALSE(m->is_text());
    EXPECT_EQ(m->data(), "Hello, world");
  }());
}

TYPED_TEST(WebSocketConnectionTest,
           APingBetweenFragmentsIsAnsweredAndTheMessageStillArrives) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    std::string wire = ClientFrame(Opcode::kText, "frag", false) +
                       ClientFrame(Opcode::kPing, "are you there") +
                       ClientFrame(Opcode::kContinuation, "ment", true);
    CO_EXPECT_OK(co_await c.peer.Write(std::move(wire)));
    std::optional<Event> pong = co_await c.peer.Next();
    CO_ASSERT(pong.has_value());
    EXPECT_EQ(pong->type, WebSocketEventType::kPong) << pong->Describe();
    EXPECT_EQ(pong->payload, "are you there");
    absl::StatusOr<WebSocketMessage> m = co_await c.ws.Receive();
    CO_ASSERT(m.ok());
    EXPECT_EQ(m->data(), "fragment");
  }());
}

TYPED_TEST(WebSocketConnectionTest, AnUnsolicitedPongIsIgnored) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    std::string wire = ClientFrame(Opcode::kPong, "nobody asked") +
                       ClientFrame(Opcode::kText, "next");
    CO_EXPECT_OK(co_await c.peer.Write(std::move(wire)));
    absl::StatusOr<WebSocketMessage> m = co_await c.ws.Receive();
    CO_ASSERT(m.ok());
    EXPECT_EQ(m->data(), "next");
    // Nothing was sent in reply: the first frame out is our own message.
    WebSocketMessage mine = WebSocketMessage::Text("mine");
    CO_EXPECT_OK(co_await c.ws.Send(std::move(mine)));
    std::optional<Event> e = co_await c.peer.Next();
    CO_ASSERT(e.has_value());
    EXPECT_EQ(e->type, WebSocketEventType::kText) << e->Describe();
  }());
}

TYPED_TEST(WebSocketConnectionTest, MessagesOfEveryLengthEncodingRoundTrip) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    // 7-bit, 16-bit and 64-bit length forms, at their edges.
    const std::vector<std::pair<size_t, int>> cases = {
        {0, 0},       {125, 125},   {126, 126},
        {65535, 126}, {65536, 127}, {70000, 127}};
    for (const auto& [size, length_field] : cases) {
      std::string payload(size, 'x');
      for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i % 251);
      CO_EXPECT_OK(
          co_await c.peer.Write(ClientFrame(Opcode::kBinary, payload)));
      absl::StatusOr<WebSocketMessage> m = co_await c.ws.Receive();
      CO_ASSERT(m.ok());
      EXPECT_EQ(m->data(), payload) << size;
      const size_t start = c.peer.raw().size();
      WebSocketMessage back = WebSocketMessage::Binary(payload);
      CO_EXPECT_OK(co_await c.ws.Send(std::move(back)));
      std::optional<Event> e = co_await c.peer.Next();
      CO_ASSERT(e.has_value());
      EXPECT_EQ(e->payload, payload) << size;
      CO_ASSERT(c.peer.raw().size() > start + 1);
      EXPECT_EQ(static_cast<uint8_t>(c.peer.raw()[start + 1]), length_field)
          << size;  // unmasked: the mask bit is clear
    }
  }());
}

TYPED_TEST(WebSocketConnectionTest, AnUnmaskedClientFrameFailsWith1002) {
  this->runtime_.BlockOn(ExpectFailure(ServerFrame(Opcode::kText, "bare"),
                                       close_code::kProtocolError,
                                       absl::StatusCode::kDataLoss));
}

TYPED_TEST(WebSocketConnectionTest, ReservedBitsFailWith1002) {
  for (uint8_t rsv : {0x40, 0x20, 0x10}) {  // RSV1 (no deflate), RSV2, RSV3
    this->runtime_.BlockOn(
        ExpectFailure(RawClientFrame(static_cast<uint8_t>(0x81 | rsv), "x"),
                      close_code::kProtocolError, absl::StatusCode::kDataLoss));
  }
}

TYPED_TEST(WebSocketConnectionTest, ReservedOpcodesFailWith1002) {
  for (uint8_t first : {0x83, 0x87, 0x8B, 0x8F}) {
    this->runtime_.BlockOn(ExpectFailure(RawClientFrame(first, "x"),
                                         close_code::kProtocolError,
                                         absl::StatusCode::kDataLoss));
  }
}

TYPED_TEST(WebSocketConnectionTest, AContinuationWithoutAMessageFailsWith1002) {
  this->runtime_.BlockOn(
      ExpectFailure(ClientFrame(Opcode::kContinuation, "orphan"),
                    close_code::kProtocolError, absl::StatusCode::kDataLoss));
}

TYPED_TEST(WebSocketConnectionTest,
           InvalidUtf8AcrossFragmentsFailsWith1007BeforeTheMessageEnds) {
  // "\xF0\x9F" opens a 4-byte sequence that "A" cannot continue. The
  // final fragment is never sent: the failure must not wait for it.
  this->runtime_.BlockOn(
      ExpectFailure(ClientFrame(Opcode::kText, "ok \xF0\x9F", false) +
                        ClientFrame(Opcode::kContinuation, "A", false),
                    close_code::kInvalidPayload, absl::StatusCode::kDataLoss));
}

TYPED_TEST(WebSocketConnectionTest, AMessageOverTheLimitFailsWith1009) {
  WebSocketOptions options;
  options.max_message_size = 100;
  this->runtime_.BlockOn(
      ExpectFailure(ClientFrame(Opcode::kBinary, std::string(101, 'a')),
                    close_code::kMessageTooBig,
                    absl::StatusCode::kResourceExhausted, options));
  // Also when only the fragments together are too big.
  this->runtime_.BlockOn(ExpectFailure(
      ClientFrame(Opcode::kBinary, std::string(60, 'a'), false) +
          ClientFrame(Opcode::kContinuation, std::string(60, 'a'), true),
      close_code::kMessageTooBig, absl::StatusCode::kResourceExhausted,
      options));
}

TYPED_TEST(WebSocketConnectionTest, AFrameOverTheFrameLimitFailsWith1009) {
  WebSocketOptions options;
  options.max_frame_size = 50;
  this->runtime_.BlockOn(
      ExpectFailure(ClientFrame(Opcode::kBinary, std::string(51, 'a'), false),
                    close_code::kMessageTooBig,
                    absl::StatusCode::kResourceExhausted, options));
}

TYPED_TEST(WebSocketConnectionTest, APeersCloseIsEchoedAndReceiveReportsIt) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    std::string wire =
        ClientFrame(Opcode::kText, "last") + ClientClose(4001, "bye");
    CO_EXPECT_OK(co_await c.peer.Write(std::move(wire)));
    std::optional<Event> echo = co_await c.peer.Next();
    CO_ASSERT(echo.has_value());
    EXPECT_EQ(echo->type, WebSocketEventType::kClose) << echo->Describe();
    EXPECT_EQ(echo->code, 4001);
    CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());
    // The server ended its side first; the peer ends its own on seeing it.
    CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
    // The message before the Close is still delivered, then the end.
    absl::StatusOr<WebSocketMessage> m = co_await c.ws.Receive();
    CO_ASSERT(m.ok());
    EXPECT_EQ(m->data(), "last");
    absl::StatusOr<WebSocketMessage> end = co_await c.ws.Receive();
    EXPECT_EQ(end.status().code(), absl::StatusCode::kOutOfRange);
    EXPECT_TRUE(c.ws.finished());
    const WebSocketCloseInfo info = c.ws.close_info();
    EXPECT_EQ(info.code, 4001);
    EXPECT_EQ(info.reason, "bye");
    EXPECT_TRUE(info.clean);
    // Closed: nothing more can be sent, and Close reports the clean end.
    WebSocketMessage late = WebSocketMessage::Text("late");
    CO_EXPECT_NOT_OK(co_await c.ws.Send(std::move(late)));
    CO_EXPECT_OK(co_await c.ws.Close());
  }());
}

TYPED_TEST(WebSocketConnectionTest, ACloseWithoutACodeIsAnsweredWith1000) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    CO_EXPECT_OK(co_await c.peer.Write(ClientFrame(Opcode::kClose, "")));
    std::optional<Event> echo = co_await c.peer.Next();
    CO_ASSERT(echo.has_value());
    EXPECT_EQ(echo->code, close_code::kNormal);
    CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
    absl::StatusOr<WebSocketMessage> end = co_await c.ws.Receive();
    EXPECT_EQ(end.status().code(), absl::StatusCode::kOutOfRange);
    EXPECT_EQ(c.ws.close_info().code, close_code::kNoStatusReceived);
  }());
}

TYPED_TEST(WebSocketConnectionTest, InvalidCloseCodesFailWith1002) {
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000}) {
    this->runtime_.BlockOn(ExpectFailure(ClientCloseRaw(code),
                                         close_code::kProtocolError,
                                         absl::StatusCode::kDataLoss));
  }
  // A Close payload of a single byte cannot hold a code.
  this->runtime_.BlockOn(ExpectFailure(ClientFrame(Opcode::kClose, "\x03"),
                                       close_code::kProtocolError,
                                       absl::StatusCode::kDataLoss));
}

TYPED_TEST(WebSocketConnectionTest, TheCloseCodesIanaAddedAreEchoedNotFailed) {
  // 1012 Service Restart, 1013 Try Again Later, 1014 Bad Gateway.
  for (uint16_t code : {1012, 1013, 1014}) {
    this->runtime_.BlockOn([](uint16_t code) -> Task<void> {
      Connected c = ConnectServer();
      CO_EXPECT_OK(co_await c.peer.Write(ClientClose(code, "later")));
      std::optional<Event> echo = co_await c.peer.Next();
      CO_ASSERT(echo.has_value());
      EXPECT_EQ(echo->type, WebSocketEventType::kClose) << echo->Describe();
      EXPECT_EQ(echo->code, code);
      CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());
      CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
      absl::StatusOr<WebSocketMessage> end = co_await c.ws.Receive();
      EXPECT_EQ(end.status().code(), absl::StatusCode::kOutOfRange);
      EXPECT_EQ(c.ws.close_info().code, code);
      EXPECT_EQ(c.ws.close_info().reason, "later");
      EXPECT_TRUE(c.ws.close_info().clean);
    }(code));
  }
}

TYPED_TEST(WebSocketConnectionTest, CloseSendsTheCodesIanaAdded) {
  for (uint16_t code : {1012, 1013, 1014}) {
    this->runtime_.BlockOn([](uint16_t code) -> Task<void> {
      Connected c = ConnectServer();
      JoinHandle<absl::Status> closing = Spawn(CloseIn(c.ws, code, "busy"));
      // (Bounded: a refused code would send nothing.)
      absl::StatusOr<std::optional<Event>> got =
          co_await Timeout(std::chrono::seconds(5), c.peer.Next());
      CO_ASSERT(got.ok() && got->has_value());
      const Event& close = **got;
      EXPECT_EQ(close.type, WebSocketEventType::kClose) << close.Describe();
      EXPECT_EQ(close.code, code);
      CO_EXPECT_OK(co_await c.peer.Write(ClientClose(code)));
      CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());
      CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
      CO_EXPECT_OK(co_await closing);
    }(code));
  }
}

TYPED_TEST(WebSocketConnectionTest, ACloseReasonThatIsNotUtf8FailsWith1007) {
  this->runtime_.BlockOn(ExpectFailure(ClientClose(1000, "bad \xC0\xAF"),
                                       close_code::kInvalidPayload,
                                       absl::StatusCode::kDataLoss));
}

TYPED_TEST(WebSocketConnectionTest, CloseCompletesWhenThePeerAnswers) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    JoinHandle<absl::Status> closing = Spawn(CloseIn(c.ws, 1001, "leaving"));
    std::optional<Event> close = co_await c.peer.Next();
    CO_ASSERT(close.has_value());
    EXPECT_EQ(close->type, WebSocketEventType::kClose) << close->Describe();
    EXPECT_EQ(close->code, close_code::kGoingAway);
    EXPECT_EQ(close->payload, "leaving");
    CO_EXPECT_OK(co_await c.peer.Write(ClientClose(1001)));
    // The server ends its side first and waits for the peer's end.
    CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());
    CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
    CO_EXPECT_OK(co_await closing);
    EXPECT_TRUE(c.ws.close_info().clean);
    absl::StatusOr<WebSocketMessage> end = co_await c.ws.Receive();
    EXPECT_EQ(end.status().code(), absl::StatusCode::kOutOfRange);
  }());
}

TYPED_TEST(WebSocketConnectionTest, CloseGivesUpOnAPeerThatNeverAnswers) {
  this->runtime_.BlockOn([]() -> Task<void> {
    WebSocketOptions options;
    options.close_timeout = std::chrono::milliseconds(50);
    Connected c = ConnectServer(options);
    JoinHandle<absl::Status> closing = Spawn(CloseIn(c.ws, 1000, ""));
    std::optional<Event> close = co_await c.peer.Next();
    CO_ASSERT(close.has_value());
    EXPECT_EQ(close->type, WebSocketEventType::kClose) << close->Describe();
    // No answer: the connection is cut off after the timeout.
    CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());
    const absl::Status closed = co_await closing;
    EXPECT_EQ(closed.code(), absl::StatusCode::kDeadlineExceeded) << closed;
    absl::StatusOr<WebSocketMessage> end = co_await c.ws.Receive();
    EXPECT_EQ(end.status().code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_EQ(c.ws.close_info().code, close_code::kAbnormalClosure);
  }());
}

TYPED_TEST(WebSocketConnectionTest, CloseRefusesWhatMayNotBeSent) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    for (uint16_t code : {999, 1004, 1005, 1006, 1015, 1016, 2000, 5000}) {
      CO_EXPECT_CODE(co_await c.ws.Close(code, ""),
                     absl::StatusCode::kInvalidArgument);
    }
    CO_EXPECT_CODE(co_await c.ws.Close(1000, std::string(124, 'r')),
                   absl::StatusCode::kInvalidArgument);
    CO_EXPECT_CODE(co_await c.ws.Close(1000, "\xFF"),
                   absl::StatusCode::kInvalidArgument);
    // Nothing was sent: the connection still works.
    WebSocketMessage still = WebSocketMessage::Text("still open");
    CO_EXPECT_OK(co_await c.ws.Send(std::move(still)));
    std::optional<Event> e = co_await c.peer.Next();
    CO_ASSERT(e.has_value());
    EXPECT_EQ(e->payload, "still open");
  }());
}

TYPED_TEST(WebSocketConnectionTest, AStreamEndingWithoutACloseReports1006) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
    absl::StatusOr<WebSocketMessage> end = co_await c.ws.Receive();
    EXPECT_EQ(end.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(c.ws.close_info().code, close_code::kAbnormalClosure);
    CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());  // no Close frame either
  }());
}

TYPED_TEST(WebSocketConnectionTest, AClientMasksEveryFrame) {
  this->runtime_.BlockOn([]() -> Task<void> {
    // The raw peer decodes as a server: an unmasked frame would fail.
    Connected c = Connect(Role::kClient);
    WebSocketMessage hello = WebSocketMessage::Text("masked");
    CO_EXPECT_OK(co_await c.ws.Send(std::move(hello)));
    CO_EXPECT_OK(co_await c.ws.Ping("p"));
    std::optional<Event> text = co_await c.peer.Next();
    CO_ASSERT(text.has_value());
    EXPECT_EQ(text->type, WebSocketEventType::kText) << text->Describe();
    EXPECT_EQ(text->payload, "masked");
    EXPECT_NE(static_cast<uint8_t>(c.peer.raw()[1]) & 0x80, 0);
    std::optional<Event> ping = co_await c.peer.Next();
    CO_ASSERT(ping.has_value());
    EXPECT_EQ(ping->type, WebSocketEventType::kPing) << ping->Describe();
    // Server frames reach the client unmasked.
    CO_EXPECT_OK(
        co_await c.peer.Write(ServerFrame(Opcode::kText, "from server")));
    absl::StatusOr<WebSocketMessage> m = co_await c.ws.Receive();
    CO_ASSERT(m.ok());
    EXPECT_EQ(m->data(), "from server");
  }());
}

TYPED_TEST(WebSocketConnectionTest, AMaskedFrameFromTheServerFailsAClient) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = Connect(Role::kClient);
    CO_EXPECT_OK(co_await c.peer.Write(ClientFrame(Opcode::kText, "masked")));
    std::optional<Event> close = co_await c.peer.Next();
    CO_ASSERT(close.has_value());
    EXPECT_EQ(close->type, WebSocketEventType::kClose) << close->Describe();
    EXPECT_EQ(close->code, close_code::kProtocolError);
    CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
    absl::StatusOr<WebSocketMessage> end = co_await c.ws.Receive();
    EXPECT_EQ(end.status().code(), absl::StatusCode::kDataLoss);
  }());
}

}  // namespace
}  // namespace troupe::net

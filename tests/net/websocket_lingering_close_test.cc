// Tests of the lingering close of net/websocket_connection.h (termination
// steps 3-5): once a connection has sent its last frame it half-closes,
// then reads and drops whatever the peer still sends until the peer ends
// its side, for at most close_timeout. First over memory pipes (what the
// connection does), then over loopback TCP (what it is for: the kernel
// must not reset a connection whose peer has not read our Close frame).
// Each scenario runs on both runtime flavours.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"
#include "net/close_codes.h"
#include "net/tcp_stream.h"
#include "net/websocket_connection.h"
#include "tests/net/tcp_test_util.h"
#include "tests/net/websocket_peer.h"
#include "tests/runtime_flavours.h"

namespace troupe::net {
namespace {

using testing::ClientClose;
using testing::ClientFrame;
using testing::Connect;
using testing::Connected;
using testing::Event;
using testing::RawPeer;
using testing::ServerFrame;

template <typename F>
class WebSocketLingeringCloseTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(WebSocketLingeringCloseTest, test::RuntimeFlavours);

constexpr size_t kPipeCapacity = 256;
// What the peer still sends after its last frame: 256 pipes full, which
// get through only if the connection keeps reading.
constexpr size_t kTrailingBytes = 256 * kPipeCapacity;

WebSocketOptions SmallReads() {
  WebSocketOptions options;
  options.read_buffer_size = 64;
  return options;
}

// The peer sends `last` and then kTrailingBytes more in one write; the
// server must take all of them, answer `last` with a Close carrying
// `code`, end its side, and finish only once the peer has ended its own.
Task<void> ExpectLingering(std::string last, uint16_t code,
                           absl::StatusCode status) {
  Connected c =
      Connect(Role::kServer, SmallReads(), std::nullopt, kPipeCapacity);
  std::string wire = std::move(last) + std::string(kTrailingBytes, 'x');
  const absl::StatusOr<absl::Status> written =
      co_await Timeout(std::chrono::seconds(10), c.peer.Write(std::move(wire)));
  CO_ASSERT(written.ok());  // else the server stopped reading
  CO_EXPECT_OK(*written);

  std::optional<Event> close = co_await c.peer.Next();
  CO_ASSERT(close.has_value());
  EXPECT_EQ(close->type, WebSocketEventType::kClose) << close->Describe();
  EXPECT_EQ(close->code, code) << close->Describe();
  CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());  // the server's half-close
  EXPECT_FALSE(c.ws.finished());                // waiting for the peer's end

  CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
  absl::StatusOr<WebSocketMessage> end = co_await c.ws.Receive();
  EXPECT_EQ(end.status().code(), status) << end.status();
  EXPECT_TRUE(c.ws.finished());
  EXPECT_EQ(c.ws.close_info().code, code);
}

TYPED_TEST(WebSocketLingeringCloseTest,
           AFailedConnectionTakesWhatThePeerStillSendsUntilItsEnd) {
  // An unmasked client frame: 1002 at its first byte, and the rest
  // (another 64 KiB) is still coming.
  this->runtime_.BlockOn(ExpectLingering(ServerFrame(Opcode::kText, "bare"),
                                         close_code::kProtocolError,
                                         absl::StatusCode::kDataLoss));
}

TYPED_TEST(WebSocketLingeringCloseTest,
           AMessageOverTheLimitIsDrainedAfterThe1009) {
  // A 1009 is decided at the frame header: the payload still arrives.
  this->runtime_.BlockOn([]() -> Task<void> {
    WebSocketOptions options = SmallReads();
    options.max_message_size = 1000;
    Connected c = Connect(Role::kServer, options, std::nullopt, kPipeCapacity);
    const absl::StatusOr<absl::Status> written = co_await Timeout(
        std::chrono::seconds(10),
        c.peer.Write(ClientFrame(Opcode::kBinary, std::string(100000, 'b'))));
    CO_ASSERT(written.ok());
    CO_EXPECT_OK(*written);
    std::optional<Event> close = co_await c.peer.Next();
    CO_ASSERT(close.has_value());
    EXPECT_EQ(close->code, close_code::kMessageTooBig) << close->Describe();
    CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());
    CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
    absl::StatusOr<WebSocketMessage> end = co_await c.ws.Receive();
    EXPECT_EQ(end.status().code(), absl::StatusCode::kResourceExhausted);
  }());
}

TYPED_TEST(WebSocketLingeringCloseTest,
           BytesAfterAPeersCloseAreDroppedUntilThePeerEndsItsSide) {
  this->runtime_.BlockOn(ExpectLingering(ClientClose(1000), close_code::kNormal,
                                         absl::StatusCode::kOutOfRange));
}

// Writes 1 KiB pieces until a write fails (bounded, in case none does).
Task<void> Flood(RawPeer& peer) {
  for (int i = 0; i < (1 << 20); ++i) {
    const absl::Status sent = co_await peer.Write(std::string(1024, 'f'));
    if (!sent.ok()) co_return;
  }
}

TYPED_TEST(WebSocketLingeringCloseTest,
           APeerThatNeverEndsItsSideIsCutOffAfterTheCloseTimeout) {
  this->runtime_.BlockOn([]() -> Task<void> {
    WebSocketOptions options = SmallReads();
    options.close_timeout = std::chrono::milliseconds(100);
    Connected c = Connect(Role::kServer, options, std::nullopt, kPipeCapacity);
    const Instant start = CurrentClock().Now();
    CO_EXPECT_OK(co_await c.peer.Write(ServerFrame(Opcode::kText, "bare")));
    JoinHandle<void> flood = Spawn(Flood(c.peer));
    absl::StatusOr<WebSocketMessage> end = co_await c.ws.Receive();
    const Duration took = CurrentClock().Now() - start;
    EXPECT_EQ(end.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(c.ws.close_info().code, close_code::kProtocolError);
    EXPECT_GE(took, std::chrono::milliseconds(90));
    EXPECT_LT(took, std::chrono::seconds(5));
    // Dropping the connection closes its end: the flood's writes fail.
    { WebSocketConnection gone = std::move(c.ws); }
    co_await flood;
  }());
}

TYPED_TEST(WebSocketLingeringCloseTest,
           CloseReturnsWithinTheTimeoutWhenThePeerAnswersButNeverEndsItsSide) {
  this->runtime_.BlockOn([]() -> Task<void> {
    WebSocketOptions options;
    options.close_timeout = std::chrono::milliseconds(100);
    Connected c = Connect(Role::kServer, options);
    JoinHandle<absl::Status> closing =
        Spawn([](WebSocketConnection& ws) -> Task<absl::Status> {
          co_return co_await ws.Close();
        }(c.ws));
    std::optional<Event> close = co_await c.peer.Next();
    CO_ASSERT(close.has_value());
    CO_EXPECT_OK(co_await c.peer.Write(ClientClose(1000)));
    // The handshake is complete; the TCP-level end is not: still OK.
    CO_EXPECT_OK(co_await closing);
    EXPECT_TRUE(c.ws.close_info().clean);
  }());
}

TYPED_TEST(WebSocketLingeringCloseTest,
           AClientEndsItsSideOnceTheServerHasEndedIts) {
  // RFC 6455 7.1.1: the server closes the TCP connection first; the
  // client waits for that.
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = Connect(Role::kClient);
    CO_EXPECT_OK(
        co_await c.peer.Write(ServerFrame(Opcode::kClose, "\x03\xe8")));
    std::optional<Event> echo = co_await c.peer.Next();
    CO_ASSERT(echo.has_value());
    EXPECT_EQ(echo->type, WebSocketEventType::kClose) << echo->Describe();
    EXPECT_EQ(echo->code, close_code::kNormal);
    // The client keeps its side open while the server has not ended its.
    const absl::StatusOr<bool> early =
        co_await Timeout(std::chrono::milliseconds(50), c.peer.NextIsEnd());
    EXPECT_EQ(early.status().code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_FALSE(c.ws.finished());
    CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
    CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());
    absl::StatusOr<WebSocketMessage> end = co_await c.ws.Receive();
    EXPECT_EQ(end.status().code(), absl::StatusCode::kOutOfRange);
    EXPECT_TRUE(c.ws.close_info().clean);
  }());
}

// ---- over loopback TCP ----

// An application that drops its connection (closing the socket) as soon
// as Receive reports the end. Sets `*code` to close_info().code.
Task<absl::Status> ReceiveUntilTheEndThenDrop(WebSocketConnection connection,
                                              uint16_t* code) {
  absl::Status end;
  {
    WebSocketConnection ws = std::move(connection);
    for (;;) {
      absl::StatusOr<WebSocketMessage> m = co_await ws.Receive();
      if (!m.ok()) {
        end = m.status();
        break;
      }
    }
    *code = ws.close_info().code;
  }  // the socket is closed here
  co_return end;
}

TYPED_TEST(WebSocketLingeringCloseTest,
           AFailedTcpConnectionIsNotResetWhileTheClientIsStillSending) {
  this->runtime_.BlockOn([]() -> Task<void> {
    absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
    CO_ASSERT(pair.ok());
    TcpStream client = std::move(pair->client);
    // An unmasked frame (1002), then 32 KiB more that the client had
    // already sent: unread input in the server's socket when it fails.
    std::string wire = ServerFrame(Opcode::kText, "bare") +
                       ClientFrame(Opcode::kBinary, std::string(32768, 'x'));
    CO_EXPECT_OK(co_await client.WriteAll(test::AsSpan(wire)));

    WebSocketSession session;
    session.role = Role::kServer;
    WebSocketOptions options;
    options.read_buffer_size = 256;
    options.close_timeout = std::chrono::seconds(20);
    absl::StatusOr<WebSocketConnection> ws = WebSocketConnection::Start(
        std::move(pair->server), std::move(session), options);
    CO_ASSERT(ws.ok());
    uint16_t code = 0;
    JoinHandle<absl::Status> server =
        Spawn(ReceiveUntilTheEndThenDrop(std::move(*ws), &code));
    const Instant start = CurrentClock().Now();

    // The server's Close frame (unmasked, code 1002).
    absl::StatusOr<std::string> head = co_await test::ReadExactly(&client, 2);
    CO_ASSERT(head.ok());
    EXPECT_EQ(static_cast<uint8_t>((*head)[0]), 0x88);
    const size_t length = static_cast<uint8_t>((*head)[1]);
    CO_ASSERT(length >= 2 && length <= kMaxControlPayload);
    absl::StatusOr<std::string> payload =
        co_await test::ReadExactly(&client, length);
    CO_ASSERT(payload.ok());
    EXPECT_EQ((static_cast<uint8_t>((*payload)[0]) << 8) |
                  static_cast<uint8_t>((*payload)[1]),
              close_code::kProtocolError);

    // Time for a server that does not linger to close its socket, which
    // the kernel would answer with a reset (unread input).
    co_await SleepFor(std::chrono::milliseconds(100));
    // The client answers the Close as RFC 6455 asks, and ends its side:
    // neither may meet a reset.
    const std::string reply = ClientClose(close_code::kProtocolError);
    CO_EXPECT_OK(co_await client.WriteAll(test::AsSpan(reply)));
    CO_EXPECT_OK(co_await client.ShutdownWrite());
    // The server ended its side after the Close: a clean end of stream.
    absl::StatusOr<std::string> rest = co_await test::ReadToEnd(&client, 4096);
    CO_ASSERT(rest.ok());
    EXPECT_EQ(rest->size(), 0u);

    const absl::Status served = co_await server;
    EXPECT_EQ(served.code(), absl::StatusCode::kDataLoss) << served;
    EXPECT_EQ(code, close_code::kProtocolError);
    // It ended on the client's end of stream, not on close_timeout.
    EXPECT_LT(CurrentClock().Now() - start, std::chrono::seconds(10));
  }());
}

}  // namespace
}  // namespace troupe::net

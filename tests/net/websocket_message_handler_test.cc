// Tests of net/websocket_connection.h's HandleMessages: messages handed to
// a handler on the connection's reader task instead of a Receive loop.
// The RFC 6455 duties must not change with it (Pings answered, the closing
// handshake and its timeout, protocol failures, permessage-deflate), nor
// must the order of messages across the switch from the incoming queue to
// the handler, nor back-pressure (reading pauses while the task the
// handler returned runs). Also: a Ping is answered while the application
// does not receive at all. Each scenario runs on both runtime flavours.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "channels/mpsc.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "executor/task_header.h"
#include "gtest/gtest.h"
#include "net/close_codes.h"
#include "net/permessage_deflate.h"
#include "net/websocket_connection.h"
#include "tests/net/websocket_peer.h"
#include "tests/runtime_flavours.h"

namespace troupe::net {
namespace {

using testing::ClientClose;
using testing::ClientFrame;
using testing::Connect;
using testing::Connected;
using testing::ConnectServer;
using testing::Event;
using testing::RawPeer;

template <typename F>
class WebSocketMessageHandlerTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(WebSocketMessageHandlerTest, test::RuntimeFlavours);

// What a handler saw, and whether two of its calls ever overlapped.
struct Seen {
  void Add(const std::string& data) {
    std::lock_guard<std::mutex> lock(mu);
    messages.push_back(data);
  }
  std::vector<std::string> Messages() {
    std::lock_guard<std::mutex> lock(mu);
    return messages;
  }
  size_t Count() {
    std::lock_guard<std::mutex> lock(mu);
    return messages.size();
  }

  std::mutex mu;
  std::vector<std::string> messages;  // guarded by mu
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
};

Task<void> SendWhenRoom(WebSocketConnection* ws, WebSocketMessage message) {
  (void)co_await ws->Send(std::move(message));
}

// The echo handler of a request/response service: records each message,
// sends it back with TrySend and, when the queue is full, returns the
// Send that waits for room (so reading pauses meanwhile).
WebSocketMessageHandler Echo(WebSocketConnection* ws,
                             std::shared_ptr<Seen> seen) {
  return [ws, seen = std::move(seen)](WebSocketMessage message) -> Task<void> {
    if (seen->inside.fetch_add(1) != 0) seen->overlapped.store(true);
    seen->Add(message.data());
    SendResult<WebSocketMessage> sent = ws->TrySend(std::move(message));
    Task<void> wait;
    if (sent.IsFull()) wait = SendWhenRoom(ws, sent.TakeValue());
    seen->inside.fetch_sub(1);
    return wait;
  };
}

// A handler that only records.
WebSocketMessageHandler Record(std::shared_ptr<Seen> seen) {
  return [seen = std::move(seen)](WebSocketMessage message) -> Task<void> {
    if (seen->inside.fetch_add(1) != 0) seen->overlapped.store(true);
    seen->Add(message.data());
    seen->inside.fetch_sub(1);
    return {};
  };
}

Task<absl::Status> Handle(WebSocketConnection& ws,
                          WebSocketMessageHandler handler) {
  co_return co_await ws.HandleMessages(std::move(handler));
}

Task<absl::Status> CloseIn(WebSocketConnection& ws, uint16_t code) {
  co_return co_await ws.Close(code, "");
}

std::string Numbered(int i, size_t size = 0) {
  std::string s = absl::StrCat("message ", i);
  if (s.size() < size) s.resize(size, '.');
  return s;
}

std::vector<std::string> NumberedList(int count, size_t size = 0) {
  std::vector<std::string> all;
  all.reserve(count);
  for (int i = 0; i < count; ++i) all.push_back(Numbered(i, size));
  return all;
}

// Client frames for messages [from, to).
std::string NumberedFrames(int from, int to, size_t size = 0) {
  std::string wire;
  for (int i = from; i < to; ++i) {
    wire += ClientFrame(Opcode::kText, Numbered(i, size));
  }
  return wire;
}

// Reads frames until `count` text messages came; checks they are the
// numbered ones in order (no other frame in between).
Task<void> ExpectEchoes(RawPeer& peer, int count, size_t size = 0) {
  for (int i = 0; i < count; ++i) {
    std::optional<Event> e = co_await peer.Next();
    CO_ASSERT(e.has_value());
    EXPECT_EQ(e->type, WebSocketEventType::kText) << e->Describe();
    CO_ASSERT(e->payload == Numbered(i, size));
  }
}

// Reads the next frame: it must be a Close with `code`.
Task<void> ExpectCloseFrame(RawPeer& peer, uint16_t code) {
  std::optional<Event> close = co_await peer.Next();
  CO_ASSERT(close.has_value());
  EXPECT_EQ(close->type, WebSocketEventType::kClose) << close->Describe();
  EXPECT_EQ(close->code, code) << close->Describe();
}

// The closing handshake from the peer's side once the connection sent its
// Close: answer it, see the stream end, end ours.
Task<void> AnswerClose(RawPeer& peer) {
  CO_EXPECT_OK(co_await peer.Write(ClientClose(close_code::kNormal)));
  CO_EXPECT_TRUE(co_await peer.NextIsEnd());
  CO_EXPECT_OK(co_await peer.stream().ShutdownWrite());
}

// The peer closes: expects the echoed Close, the end of the stream, and
// HandleMessages to report OutOfRange.
Task<void> PeerClosesAndHandlingEnds(Connected& c,
                                     JoinHandle<absl::Status>& handling) {
  CO_EXPECT_OK(co_await c.peer.Write(ClientClose(close_code::kNormal)));
  co_await ExpectCloseFrame(c.peer, close_code::kNormal);
  CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());
  CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
  const absl::Status end = co_await handling;
  EXPECT_EQ(end.code(), absl::StatusCode::kOutOfRange) << end;
  EXPECT_TRUE(c.ws.close_info().clean);
}

// ---- order ----

TYPED_TEST(WebSocketMessageHandlerTest,
           EachMessageReachesTheHandlerInOrderAndTheEchoesGoOutInOrder) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    auto seen = std::make_shared<Seen>();
    JoinHandle<absl::Status> handling = Spawn(Handle(c.ws, Echo(&c.ws, seen)));
    constexpr int kCount = 300;
    // In pieces of different sizes, so that reads split frames anywhere.
    for (int from = 0; from < kCount;) {
      const int to = std::min(kCount, from + 1 + from % 7);
      CO_EXPECT_OK(co_await c.peer.Write(NumberedFrames(from, to)));
      from = to;
    }
    co_await ExpectEchoes(c.peer, kCount);
    EXPECT_EQ(seen->Messages(), NumberedList(kCount));
    EXPECT_FALSE(seen->overlapped.load());
    co_await PeerClosesAndHandlingEnds(c, handling);
  }());
}

// The switch from the incoming queue to the handler, raced many times:
// messages already queued (a full queue, the reader waiting to push one
// more) and messages still arriving must reach the handler in order, one
// call at a time.
TYPED_TEST(WebSocketMessageHandlerTest,
           MessagesQueuedBeforeHandleMessagesAreHandledFirstAndInOrder) {
  this->runtime_.BlockOn([]() -> Task<void> {
    for (int round = 0; round < 40; ++round) {
      WebSocketOptions options;
      options.incoming_capacity = 1 + round % 4;
      Connected c = ConnectServer(options);
      auto seen = std::make_shared<Seen>();
      constexpr int kBefore = 8;
      constexpr int kAfter = 24;
      CO_EXPECT_OK(co_await c.peer.Write(NumberedFrames(0, kBefore)));
      // Sometimes the reader has filled the queue, sometimes not yet.
      if (round % 3 != 0) {
        co_await SleepFor(std::chrono::milliseconds(round % 3));
      }
      JoinHandle<absl::Status> handling =
          Spawn(Handle(c.ws, Echo(&c.ws, seen)));
      for (int i = kBefore; i < kBefore + kAfter; i += 4) {
        CO_EXPECT_OK(co_await c.peer.Write(NumberedFrames(i, i + 4)));
      }
      co_await ExpectEchoes(c.peer, kBefore + kAfter);
      EXPECT_EQ(seen->Messages(), NumberedList(kBefore + kAfter))
          << "round " << round;
      EXPECT_FALSE(seen->overlapped.load()) << "round " << round;
      co_await PeerClosesAndHandlingEnds(c, handling);
      if (::testing::Test::HasFailure()) co_return;
    }
  }());
}

TYPED_TEST(WebSocketMessageHandlerTest,
           HandleMessagesAfterTheEndHandsOverWhatWasQueuedThenReportsTheEnd) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    std::string wire = NumberedFrames(0, 3) + ClientClose(close_code::kNormal);
    CO_EXPECT_OK(co_await c.peer.Write(std::move(wire)));
    co_await ExpectCloseFrame(c.peer, close_code::kNormal);
    CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());
    CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
    while (!c.ws.finished()) co_await SleepFor(std::chrono::milliseconds(1));
    auto seen = std::make_shared<Seen>();
    Task<absl::Status> handling = c.ws.HandleMessages(Record(seen));
    const absl::Status end = co_await std::move(handling);
    EXPECT_EQ(end.code(), absl::StatusCode::kOutOfRange) << end;
    EXPECT_EQ(seen->Messages(), NumberedList(3));
  }());
}

// ---- control frames while the application is slow or not receiving ----

TYPED_TEST(WebSocketMessageHandlerTest,
           APingIsAnsweredWhileTheApplicationIsNotReceiving) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    // Nobody calls Receive (or HandleMessages) until the Pong is back.
    std::string wire =
        NumberedFrames(0, 2) + ClientFrame(Opcode::kPing, "still there?");
    CO_EXPECT_OK(co_await c.peer.Write(std::move(wire)));
    std::optional<Event> pong = co_await c.peer.Next();
    CO_ASSERT(pong.has_value());
    EXPECT_EQ(pong->type, WebSocketEventType::kPong) << pong->Describe();
    EXPECT_EQ(pong->payload, "still there?");
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<WebSocketMessage> m = co_await c.ws.Receive();
      CO_ASSERT(m.ok());
      EXPECT_EQ(m->data(), Numbered(i));
    }
  }());
}

Task<void> ConsumeSlowly(Receiver<std::string> work,
                         std::shared_ptr<Seen> done) {
  while (std::optional<std::string> item = co_await work.Recv()) {
    co_await SleepFor(std::chrono::milliseconds(2));
    done->Add(*item);
  }
}

TYPED_TEST(WebSocketMessageHandlerTest,
           APingIsAnsweredWhileTheHandlerPassesWorkToASlowTask) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    std::pair<Sender<std::string>, Receiver<std::string>> channel =
        MakeMpsc<std::string>(64).value();
    Sender<std::string> to_worker = channel.first;
    auto done = std::make_shared<Seen>();
    JoinHandle<void> worker =
        Spawn(ConsumeSlowly(std::move(channel.second), done));
    JoinHandle<absl::Status> handling = Spawn(Handle(
        c.ws, [to_worker = to_worker](WebSocketMessage message) -> Task<void> {
          (void)to_worker.TrySend(message.TakeData());
          return {};
        }));
    std::string wire =
        NumberedFrames(0, 10) + ClientFrame(Opcode::kPing, "ping");
    CO_EXPECT_OK(co_await c.peer.Write(std::move(wire)));
    std::optional<Event> pong = co_await c.peer.Next();
    CO_ASSERT(pong.has_value());
    EXPECT_EQ(pong->type, WebSocketEventType::kPong) << pong->Describe();
    EXPECT_EQ(pong->payload, "ping");
    EXPECT_LT(done->Count(), size_t{10});  // the worker is still busy
    co_await PeerClosesAndHandlingEnds(c, handling);
    // The handler (and its Sender) is gone: the worker drains and ends.
    to_worker = Sender<std::string>();
    channel.first = Sender<std::string>();
    co_await worker;
    EXPECT_EQ(done->Messages(), NumberedList(10));
  }());
}

Task<void> WaitFor(CancellationToken gate) { co_await gate.Cancelled(); }

Task<void> WriteNumbered(RawPeer& peer, int count, size_t size,
                         std::shared_ptr<std::atomic<int>> written) {
  for (int i = 0; i < count; ++i) {
    CO_EXPECT_OK(
        co_await peer.Write(ClientFrame(Opcode::kBinary, Numbered(i, size))));
    written->fetch_add(1);
  }
  CO_EXPECT_OK(co_await peer.Write(ClientFrame(Opcode::kPing, "after")));
}

TYPED_TEST(WebSocketMessageHandlerTest,
           ReadingPausesWhileTheTaskTheHandlerReturnedRuns) {
  this->runtime_.BlockOn([]() -> Task<void> {
    constexpr size_t kSize = 1000;
    constexpr int kCount = 50;
    WebSocketOptions options;
    options.read_buffer_size = 512;
    // Messages the reader queues before the handler takes over are not
    // held back by it (the queue is what Receive would read from).
    options.incoming_capacity = 1;
    Connected c = Connect(Role::kServer, options, std::nullopt,
                          /*pipe_capacity=*/2 * kSize);
    auto seen = std::make_shared<Seen>();
    CancellationToken gate;
    JoinHandle<absl::Status> handling = Spawn(
        Handle(c.ws, [seen, gate](WebSocketMessage message) -> Task<void> {
          seen->Add(message.data());
          // The first message holds the reader until the gate opens.
          if (seen->Count() == 1) return WaitFor(gate);
          return {};
        }));
    co_await SleepFor(std::chrono::milliseconds(1));  // let it install
    auto written = std::make_shared<std::atomic<int>>(0);
    JoinHandle<void> writer =
        Spawn(WriteNumbered(c.peer, kCount, kSize, written));
    co_await SleepFor(std::chrono::milliseconds(20));
    // One message is being handled; the peer is stopped by the pipe: the
    // queue (if the handler came late), the read buffer and the pipe hold
    // at most a few messages more.
    EXPECT_EQ(seen->Count(), size_t{1});
    EXPECT_FALSE(writer.IsFinished());
    EXPECT_LE(written->load(), 1 + 1 + 1 + 2 + 2);
    gate.Cancel();
    co_await writer;
    // The Ping written after every message is answered once reading goes
    // on: every message was read by then.
    std::optional<Event> pong = co_await c.peer.Next();
    CO_ASSERT(pong.has_value());
    EXPECT_EQ(pong->type, WebSocketEventType::kPong) << pong->Describe();
    EXPECT_EQ(seen->Messages(), NumberedList(kCount, kSize));
    co_await PeerClosesAndHandlingEnds(c, handling);
  }());
}

Task<void> WriteFrames(RawPeer& peer, std::string wire) {
  CO_EXPECT_OK(co_await peer.Write(std::move(wire)));
}

// The echo path when the peer does not read: TrySend says kFull, the
// handler returns the waiting Send, reading pauses; nothing is lost or
// reordered once the peer reads again.
TYPED_TEST(WebSocketMessageHandlerTest,
           APeerThatDoesNotReadTheEchoesPausesReadingWithoutLosingAny) {
  this->runtime_.BlockOn([]() -> Task<void> {
    constexpr size_t kSize = 1000;
    constexpr int kCount = 60;
    WebSocketOptions options;
    options.outgoing_capacity = 2;
    Connected c = Connect(Role::kServer, options, std::nullopt,
                          /*pipe_capacity=*/4 * kSize);
    auto seen = std::make_shared<Seen>();
    JoinHandle<absl::Status> handling = Spawn(Handle(c.ws, Echo(&c.ws, seen)));
    JoinHandle<void> writer =
        Spawn(WriteFrames(c.peer, NumberedFrames(0, kCount, kSize)));
    co_await SleepFor(std::chrono::milliseconds(20));
    // Echoes fill the pipe and the queue; then the handler waits and the
    // reader with it, so the peer's own writes stop too.
    EXPECT_LT(seen->Count(), size_t{kCount});
    EXPECT_FALSE(writer.IsFinished());
    co_await ExpectEchoes(c.peer, kCount, kSize);
    co_await writer;
    EXPECT_EQ(seen->Messages(), NumberedList(kCount, kSize));
    EXPECT_FALSE(seen->overlapped.load());
    co_await PeerClosesAndHandlingEnds(c, handling);
  }());
}

// ---- the closing handshake ----

TYPED_TEST(WebSocketMessageHandlerTest,
           ThePeersCloseIsEchoedAndEndsHandleMessages) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    auto seen = std::make_shared<Seen>();
    JoinHandle<absl::Status> handling = Spawn(Handle(c.ws, Echo(&c.ws, seen)));
    CO_EXPECT_OK(co_await c.peer.Write(NumberedFrames(0, 1)));
    co_await ExpectEchoes(c.peer, 1);
    co_await PeerClosesAndHandlingEnds(c, handling);
    EXPECT_EQ(c.ws.close_info().code, close_code::kNormal);
  }());
}

TYPED_TEST(WebSocketMessageHandlerTest,
           CloseFromAnotherTaskCompletesTheHandshakeAndDropsLaterMessages) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    auto seen = std::make_shared<Seen>();
    JoinHandle<absl::Status> handling = Spawn(Handle(c.ws, Record(seen)));
    CO_EXPECT_OK(co_await c.peer.Write(NumberedFrames(0, 2)));
    while (seen->Count() < 2) co_await SleepFor(std::chrono::milliseconds(1));
    JoinHandle<absl::Status> closing =
        Spawn(CloseIn(c.ws, close_code::kGoingAway));
    co_await ExpectCloseFrame(c.peer, close_code::kGoingAway);
    // Sent after our Close: read, and dropped.
    CO_EXPECT_OK(co_await c.peer.Write(NumberedFrames(2, 4)));
    co_await AnswerClose(c.peer);
    CO_EXPECT_OK(co_await closing);
    const absl::Status end = co_await handling;
    EXPECT_EQ(end.code(), absl::StatusCode::kOutOfRange) << end;
    EXPECT_TRUE(c.ws.close_info().clean);
    EXPECT_EQ(seen->Messages(), NumberedList(2));
  }());
}

TYPED_TEST(WebSocketMessageHandlerTest,
           CloseGivesUpOnASilentPeerAndHandleMessagesReportsTheTimeout) {
  this->runtime_.BlockOn([]() -> Task<void> {
    WebSocketOptions options;
    options.close_timeout = std::chrono::milliseconds(50);
    Connected c = ConnectServer(options);
    auto seen = std::make_shared<Seen>();
    JoinHandle<absl::Status> handling = Spawn(Handle(c.ws, Record(seen)));
    JoinHandle<absl::Status> closing =
        Spawn(CloseIn(c.ws, close_code::kNormal));
    co_await ExpectCloseFrame(c.peer, close_code::kNormal);
    // No answer: cut off after the timeout.
    CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());
    const absl::Status closed = co_await closing;
    EXPECT_EQ(closed.code(), absl::StatusCode::kDeadlineExceeded) << closed;
    const absl::Status end = co_await handling;
    EXPECT_EQ(end.code(), absl::StatusCode::kDeadlineExceeded) << end;
    EXPECT_EQ(c.ws.close_info().code, close_code::kAbnormalClosure);
  }());
}

TYPED_TEST(WebSocketMessageHandlerTest,
           AStreamEndingWithoutACloseEndsHandleMessagesWith1006) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    auto seen = std::make_shared<Seen>();
    JoinHandle<absl::Status> handling = Spawn(Handle(c.ws, Record(seen)));
    CO_EXPECT_OK(co_await c.peer.Write(NumberedFrames(0, 1)));
    CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
    const absl::Status end = co_await handling;
    EXPECT_EQ(end.code(), absl::StatusCode::kUnavailable) << end;
    EXPECT_EQ(c.ws.close_info().code, close_code::kAbnormalClosure);
    EXPECT_EQ(seen->Messages(), NumberedList(1));
  }());
}

// ---- a peer that sends garbage ----

struct Garbage {
  const char* name;
  std::string wire;  // after one good message
  uint16_t code;
  absl::StatusCode status;
  uint64_t max_message_size = uint64_t{16} << 20;
};

// The peer sends a good message, and once it is echoed `garbage`: the
// connection fails with the RFC's code, lingers until the peer
// ends its side, and HandleMessages reports the failure.
Task<void> ExpectFailure(Garbage garbage) {
  WebSocketOptions options;
  options.max_message_size = garbage.max_message_size;
  Connected c = ConnectServer(options);
  auto seen = std::make_shared<Seen>();
  JoinHandle<absl::Status> handling = Spawn(Handle(c.ws, Echo(&c.ws, seen)));
  CO_EXPECT_OK(co_await c.peer.Write(NumberedFrames(0, 1)));
  co_await ExpectEchoes(c.peer, 1);
  CO_EXPECT_OK(co_await c.peer.Write(garbage.wire));
  co_await ExpectCloseFrame(c.peer, garbage.code);
  CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());
  EXPECT_FALSE(c.ws.finished());  // lingering: the peer may still send
  CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
  const absl::Status end = co_await handling;
  EXPECT_EQ(end.code(), garbage.status) << end;
  EXPECT_EQ(c.ws.close_info().code, garbage.code);
  EXPECT_FALSE(c.ws.close_info().clean);
  EXPECT_EQ(seen->Messages(), NumberedList(1));
}

TYPED_TEST(WebSocketMessageHandlerTest,
           APeerThatSendsGarbageFailsTheConnectionWithTheRfcsCode) {
  const std::vector<Garbage> cases = {
      {"random bytes", std::string("\xF7\x13\xA9\x00\x42garbage", 12),
       close_code::kProtocolError, absl::StatusCode::kDataLoss},
      {"an unmasked frame",
       std::string("\x81\x03"
                   "abc",
                   5),
       close_code::kProtocolError, absl::StatusCode::kDataLoss},
      {"invalid UTF-8 mid-message",
       ClientFrame(Opcode::kText, "ok \xC3\x28", /*fin=*/false),
       close_code::kInvalidPayload, absl::StatusCode::kDataLoss},
      {"a message over the limit",
       ClientFrame(Opcode::kBinary, std::string(100, 'x')),
       close_code::kMessageTooBig, absl::StatusCode::kResourceExhausted,
       /*max_message_size=*/64},
  };
  for (const Garbage& garbage : cases) {
    SCOPED_TRACE(garbage.name);
    this->runtime_.BlockOn(ExpectFailure(garbage));
  }
}

// ---- permessage-deflate ----

TYPED_TEST(WebSocketMessageHandlerTest,
           DeflatedMessagesReachTheHandlerInflatedAndTheEchoesGoOutDeflated) {
  this->runtime_.BlockOn([]() -> Task<void> {
    DeflateParams params;
    Connected c = Connect(Role::kServer, {}, params);
    MessageDeflater deflater =
        MessageDeflater::Create(params.Sender(Role::kClient)).value();
    auto seen = std::make_shared<Seen>();
    JoinHandle<absl::Status> handling = Spawn(Handle(c.ws, Echo(&c.ws, seen)));
    const std::string message =
        "the quick brown fox jumps over the lazy dog, again and again; "
        "the quick brown fox jumps over the lazy dog, again and again";
    for (int i = 0; i < 3; ++i) {
      std::vector<uint8_t> compressed;
      EXPECT_TRUE(deflater.Compress(AsBytes(message), &compressed).ok());
      std::string frame =
          ClientFrame(Opcode::kText, AsChars(compressed), true, /*rsv1=*/true);
      CO_EXPECT_OK(co_await c.peer.Write(std::move(frame)));
      const size_t start = c.peer.raw().size();
      std::optional<Event> e = co_await c.peer.Next();
      CO_ASSERT(e.has_value());
      EXPECT_EQ(e->payload, message);
      const std::string& raw = c.peer.raw();
      EXPECT_EQ(static_cast<uint8_t>(raw[start]), 0xC1);  // FIN, RSV1, text
      EXPECT_LT(raw.size() - start, message.size());
    }
    EXPECT_EQ(seen->Messages(), std::vector<std::string>(3, message));
    co_await PeerClosesAndHandlingEnds(c, handling);
  }());
}

// ---- the handler's lifetime ----

TYPED_TEST(WebSocketMessageHandlerTest,
           TheHandlerIsDestroyedBeforeHandleMessagesReturns) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    auto captured = std::make_shared<int>(0);
    JoinHandle<absl::Status> handling =
        Spawn(Handle(c.ws, [captured](const WebSocketMessage&) -> Task<void> {
          ++*captured;
          return {};
        }));
    CO_EXPECT_OK(co_await c.peer.Write(NumberedFrames(0, 3)));
    CO_EXPECT_OK(co_await c.peer.stream().ShutdownWrite());
    const absl::Status end = co_await handling;
    EXPECT_EQ(end.code(), absl::StatusCode::kUnavailable) << end;
    EXPECT_EQ(*captured, 3);
    EXPECT_EQ(captured.use_count(), 1);
  }());
}

TYPED_TEST(WebSocketMessageHandlerTest, AnEmptyHandlerIsRefused) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    Task<absl::Status> handling =
        c.ws.HandleMessages(WebSocketMessageHandler());
    const absl::Status refused = co_await std::move(handling);
    EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
    // Nothing changed: Receive still works.
    CO_EXPECT_OK(co_await c.peer.Write(NumberedFrames(0, 1)));
    absl::StatusOr<WebSocketMessage> m = co_await c.ws.Receive();
    CO_ASSERT(m.ok());
    EXPECT_EQ(m->data(), Numbered(0));
  }());
}

// HandleMessages is called once: afterwards (the handler installed, or the
// connection over) a second call hands nothing over and is not OK.
TYPED_TEST(WebSocketMessageHandlerTest, ASecondHandleMessagesHandsNothingOver) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    auto seen = std::make_shared<Seen>();
    JoinHandle<absl::Status> handling = Spawn(Handle(c.ws, Echo(&c.ws, seen)));
    CO_EXPECT_OK(co_await c.peer.Write(NumberedFrames(0, 1)));
    co_await ExpectEchoes(c.peer, 1);
    co_await PeerClosesAndHandlingEnds(c, handling);
    auto again = std::make_shared<Seen>();
    Task<absl::Status> second = c.ws.HandleMessages(Record(again));
    const absl::Status refused = co_await std::move(second);
    EXPECT_FALSE(refused.ok());
    EXPECT_EQ(again->Count(), size_t{0});
    EXPECT_EQ(seen->Messages(), NumberedList(1));
  }());
}

// Sets its flag when the frame of the task the handler returned goes.
class MarkGone {
 public:
  explicit MarkGone(std::shared_ptr<std::atomic<bool>> gone)
      : gone_(std::move(gone)) {}
  MarkGone(const MarkGone&) = delete;
  MarkGone& operator=(const MarkGone&) = delete;
  ~MarkGone() { gone_->store(true); }

 private:
  std::shared_ptr<std::atomic<bool>> gone_;
};

Task<void> HoldUntil(CancellationToken gate,
                     std::shared_ptr<std::atomic<bool>> gone) {
  MarkGone mark(std::move(gone));
  co_await gate.Cancelled();
}

// Calls to the handler, and whether the last one came from the reader
// task (rather than from HandleMessages handing over a queued message).
struct Calls {
  std::atomic<int> count{0};
  std::atomic<bool> last_from_reader{false};
  std::atomic<TaskHeader*> handling_task{nullptr};
};

Task<absl::Status> HandleRecordingTask(WebSocketConnection& ws,
                                       WebSocketMessageHandler handler,
                                       std::shared_ptr<Calls> calls) {
  calls->handling_task.store(CurrentTask());
  co_return co_await ws.HandleMessages(std::move(handler));
}

// What a server relies on before it frees what its handler uses: once
// Abort returns, the reader is gone - the task a handler call returned
// with it - and HandleMessages reports the end.
TYPED_TEST(WebSocketMessageHandlerTest,
           AbortReturnsOnlyOnceTheReaderAndItsHandlerWorkAreGone) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    auto calls = std::make_shared<Calls>();
    auto gone = std::make_shared<std::atomic<bool>>(false);
    CancellationToken never;
    JoinHandle<absl::Status> handling = Spawn(HandleRecordingTask(
        c.ws,
        [calls, gone,
         never](const WebSocketMessage& /*message*/) -> Task<void> {
          const bool from_reader = CurrentTask() != calls->handling_task.load();
          calls->last_from_reader.store(from_reader);
          calls->count.fetch_add(1);
          // Held only on the reader, which Abort must end.
          if (from_reader) return HoldUntil(never, gone);
          return {};
        },
        calls));
    // One message at a time until one reaches the handler on the reader
    // (the first may be handed over, if it came before the handler).
    for (int sent = 0; !calls->last_from_reader.load();) {
      CO_EXPECT_OK(co_await c.peer.Write(NumberedFrames(sent, sent + 1)));
      ++sent;
      while (calls->count.load() < sent) {
        co_await SleepFor(std::chrono::milliseconds(1));
      }
    }
    co_await c.ws.Abort();
    EXPECT_TRUE(gone->load());
    const absl::Status handled = co_await handling;
    EXPECT_FALSE(handled.ok());
    co_await c.ws.Abort();  // a second one is harmless
  }());
}
// Aborted before its reader and writer ever ran (on the current-thread
// runtime they are still queued here), a connection still ends: their
// frames go without running, and the end is reported all the same.
TYPED_TEST(WebSocketMessageHandlerTest,
           AnAbortBeforeTheConnectionEverRanEndsItAllTheSame) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected c = ConnectServer();
    co_await c.ws.Abort();
    EXPECT_TRUE(c.ws.finished());
    absl::StatusOr<WebSocketMessage> m = co_await c.ws.Receive();
    EXPECT_FALSE(m.ok());
    Task<absl::Status> handling = c.ws.HandleMessages(
        [](const WebSocketMessage& /*message*/) -> Task<void> { return {}; });
    const absl::Status handled = co_await std::move(handling);
    EXPECT_FALSE(handled.ok());
  }());
}

}  // namespace
}  // namespace troupe::net

// Tests of the write-through send (net/websocket_write_side.h): Send and
// TrySend writing a message straight to the stream when nothing is ahead
// of it, and falling back to the writer task otherwise - the frame order
// between direct and queued writes, partial writes and full streams
// handing the rest over, a failed direct write, Close racing senders, and
// permessage-deflate's shared context. Both runtime flavours.

#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "net/byte_stream.h"
#include "net/memory_stream.h"
#include "net/permessage_deflate.h"
#include "net/websocket_connection.h"
#include "tests/net/websocket_peer.h"
#include "tests/runtime_flavours.h"

namespace troupe::net {
namespace {

using testing::ClientClose;
using testing::Event;
using testing::RawPeer;

// What a ScriptedStream lets its direct writes do, and what they did.
struct Script {
  // Bytes TryWriteV may still take, over all calls; -1: no limit.
  std::atomic<int64_t> budget{-1};
  // TryWriteV fails (as a reset socket would).
  std::atomic<bool> fail{false};
  // TryWriteV calls that took bytes, and the writer task's writes.
  std::atomic<int> direct_writes{0};
  std::atomic<int> task_writes{0};
};

// A MemoryStream end whose TryWriteV obeys a Script; the writer task's
// writes (WriteAll: no gathering write) go through untouched.
class ScriptedStream {
 public:
  ScriptedStream(MemoryStream stream, std::shared_ptr<Script> script)
      : stream_(std::move(stream)), script_(std::move(script)) {}

  Task<absl::StatusOr<size_t>> Read(std::span<char> buffer) {
    return stream_.Read(buffer);
  }
  Task<absl::Status> WriteAll(std::span<const char> data) {
    script_->task_writes.fetch_add(1, std::memory_order_relaxed);
    return stream_.WriteAll(data);
  }
  Task<absl::Status> ShutdownWrite() { return stream_.ShutdownWrite(); }
  absl::StatusOr<size_t> TryWriteV(std::span<const iovec> chunks) {
    if (script_->fail.load()) {
      return absl::UnavailableError("connection reset (scripted)");
    }
    const int64_t budget = script_->budget.load();
    uint64_t limit = budget < 0 ? UINT64_MAX : static_cast<uint64_t>(budget);
    std::vector<iovec> allowed;
    for (const iovec& chunk : chunks) {
      if (limit == 0) break;
      const size_t n = std::min<uint64_t>(chunk.iov_len, limit);
      allowed.push_back(iovec{chunk.iov_base, n});
      limit -= n;
    }
    absl::StatusOr<size_t> n = stream_.TryWriteV(allowed);
    if (n.ok() && *n > 0) {
      script_->direct_writes.fetch_add(1, std::memory_order_relaxed);
      if (budget >= 0) script_->budget.fetch_sub(static_cast<int64_t>(*n));
    }
    return n;
  }

 private:
  MemoryStream stream_;
  std::shared_ptr<Script> script_;
};
static_assert(TryWriteByteStream<ScriptedStream>);
static_assert(!GatheringByteStream<ScriptedStream>);

// A server connection over a ScriptedStream, and the raw client peer.
struct Scripted {
  Scripted(WebSocketConnection ws, RawPeer peer, std::shared_ptr<Script> s)
      : ws(std::move(ws)), peer(std::move(peer)), script(std::move(s)) {}
  WebSocketConnection ws;
  RawPeer peer;
  std::shared_ptr<Script> script;
};

Scripted StartScripted(WebSocketOptions options = {},
                       std::optional<DeflateParams> deflate = std::nullopt,
                       size_t pipe_capacity = 1 << 16) {
  auto script = std::make_shared<Script>();
  auto [raw, end] = MakeMemoryPipe(pipe_capacity);
  WebSocketSession session;
  session.role = Role::kServer;
  session.deflate = deflate;
  absl::StatusOr<WebSocketConnection> ws = WebSocketConnection::Start(
      ScriptedStream(std::move(end), script), std::move(session), options);
  return Scripted(std::move(ws).value(),
                  RawPeer(std::move(raw), Role::kClient, deflate),
                  std::move(script));
}

WebSocketMessage Text(std::string s) {
  return WebSocketMessage::Text(std::move(s));
}

// Reads `expected.size()` frames from `peer` and checks each is the text
// message expected (no other frame in between).
Task<void> ExpectTexts(RawPeer& peer, std::vector<std::string> expected) {
  for (const std::string& want : expected) {
    std::optional<Event> e = co_await peer.Next();
    CO_ASSERT(e.has_value());
    EXPECT_EQ(e->type, WebSocketEventType::kText) << e->Describe();
    EXPECT_EQ(e->payload, want);
  }
}

template <typename F>
class WebSocketWriteThroughTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(WebSocketWriteThroughTest, test::RuntimeFlavours);

TYPED_TEST(WebSocketWriteThroughTest,
           MessagesOnAQuietConnectionAreWrittenByTheSenderItself) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Scripted c = StartScripted();
    CO_ASSERT(c.ws.TrySend(Text("one")).ok());
    CO_ASSERT(c.ws.TrySend(Text("two")).ok());
    WebSocketMessage three = Text("three");
    CO_EXPECT_OK(co_await c.ws.Send(std::move(three)));
    // Written before the calls returned: no writer turn was needed.
    EXPECT_EQ(c.script->direct_writes.load(), 3);
    EXPECT_EQ(c.script->task_writes.load(), 0);
    const std::vector<std::string> want = {"one", "two", "three"};
    co_await ExpectTexts(c.peer, want);
  }());
}

TYPED_TEST(WebSocketWriteThroughTest, WithWriteThroughOffTheWriterTaskWrites) {
  this->runtime_.BlockOn([]() -> Task<void> {
    WebSocketOptions options;
    options.write_through = false;
    Scripted c = StartScripted(options);
    CO_ASSERT(c.ws.TrySend(Text("one")).ok());
    CO_ASSERT(c.ws.TrySend(Text("two")).ok());
    const std::vector<std::string> want = {"one", "two"};
    co_await ExpectTexts(c.peer, want);
    EXPECT_EQ(c.script->direct_writes.load(), 0);
    EXPECT_GE(c.script->task_writes.load(), 1);
  }());
}

TYPED_TEST(WebSocketWriteThroughTest,
           APartialDirectWriteIsFinishedBeforeTheMessagesBehindIt) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Scripted c = StartScripted();
    // The first message's frame is cut after 5 bytes; the stream then
    // takes nothing directly, so everything else queues behind the rest.
    c.script->budget = 5;
    const std::string first(200, 'a');
    CO_ASSERT(c.ws.TrySend(Text(first)).ok());
    EXPECT_EQ(c.script->direct_writes.load(), 1);
    std::vector<std::string> expected = {first};
    for (int i = 0; i < 10; ++i) {
      expected.push_back(absl::StrCat("behind ", i));
      CO_ASSERT(c.ws.TrySend(Text(expected.back())).ok());
    }
    co_await ExpectTexts(c.peer, expected);
    EXPECT_EQ(c.script->direct_writes.load(), 1);
    EXPECT_GE(c.script->task_writes.load(), 1);
  }());
}

TYPED_TEST(WebSocketWriteThroughTest,
           AfterTheWriterCatchesUpMessagesGoDirectAgainInOrder) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Scripted c = StartScripted();
    // A full stream: the first message is handed over whole, the second
    // queues behind it.
    c.script->budget = 0;
    CO_ASSERT(c.ws.TrySend(Text("handed over")).ok());
    CO_ASSERT(c.ws.TrySend(Text("queued")).ok());
    const std::vector<std::string> want = {"handed over", "queued"};
    co_await ExpectTexts(c.peer, want);
    EXPECT_EQ(c.script->direct_writes.load(), 0);
    // Once the writer task has written both (the peer read them) and
    // ended its round, nothing is ahead: the next message goes direct.
    c.script->budget = -1;
    int tries = 0;
    while (c.script->direct_writes.load() == 0 && tries < 1000) {
      // The writer task may still be finishing its round: send and see.
      CO_ASSERT(c.ws.TrySend(Text(absl::StrCat("again ", tries))).ok());
      ++tries;
      const std::vector<std::string> want = {absl::StrCat("again ", tries - 1)};
      co_await ExpectTexts(c.peer, want);
      co_await YieldNow();
    }
    EXPECT_EQ(c.script->direct_writes.load(), 1);
  }());
}

TYPED_TEST(WebSocketWriteThroughTest,
           APingSentBetweenMessagesKeepsItsPlaceOnTheWire) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Scripted c = StartScripted();
    WebSocketMessage before = Text("before");
    CO_EXPECT_OK(co_await c.ws.Send(std::move(before)));
    CO_EXPECT_OK(co_await c.ws.Ping("p"));
    // The Ping is queued: this message must not overtake it.
    CO_ASSERT(c.ws.TrySend(Text("after")).ok());
    const std::vector<std::string> want = {"before"};
    co_await ExpectTexts(c.peer, want);
    std::optional<Event> ping = co_await c.peer.Next();
    CO_ASSERT(ping.has_value());
    EXPECT_EQ(ping->type, WebSocketEventType::kPing) << ping->Describe();
    const std::vector<std::string> want_after = {"after"};
    co_await ExpectTexts(c.peer, want_after);
  }());
}

TYPED_TEST(WebSocketWriteThroughTest,
           AFailedDirectWriteHandsTheMessageToTheWriterTask) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Scripted c = StartScripted();
    c.script->fail = true;
    // Accepted (handed to the writer task), as a queued message would be;
    // the writer task's write meets the failure of a real stream again and
    // ends the connection. Here only TryWriteV fails, so the writer task's
    // write shows the message was handed over whole.
    CO_ASSERT(c.ws.TrySend(Text("handed over")).ok());
    const std::vector<std::string> want = {"handed over"};
    co_await ExpectTexts(c.peer, want);
    EXPECT_EQ(c.script->direct_writes.load(), 0);
    EXPECT_GE(c.script->task_writes.load(), 1);
  }());
}

TYPED_TEST(WebSocketWriteThroughTest,
           AnAbandonedWaitingSendLeavesNothingBehindAndDirectWritesResume) {
  this->runtime_.BlockOn([]() -> Task<void> {
    // A queue of one and a 16-byte pipe the peer does not read yet: the
    // writer task stalls on the first message, the second fills the queue.
    WebSocketOptions options;
    options.outgoing_capacity = 1;
    Scripted c = StartScripted(options, std::nullopt, 16);
    c.script->budget = 0;
    const std::string first(40, 'a');
    CO_ASSERT(c.ws.TrySend(Text(first)).ok());
    bool queued = false;
    // Bounded by time, not by a count of yields: on a loaded machine (a
    // sanitizer build beside other jobs) the writer task, on the other
    // worker, may take longer than a thousand yields to start.
    const auto give_up =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!queued && std::chrono::steady_clock::now() < give_up) {
      // Once the writer task took the first message, the queue has room.
      queued = c.ws.TrySend(Text("second")).ok();
      if (!queued) co_await YieldNow();
    }
    CO_ASSERT(queued);
    // A third waits for room, and is given up.
    Task<absl::Status> waiting = c.ws.Send(Text("abandoned"));
    const absl::StatusOr<absl::Status> third =
        co_await Timeout(std::chrono::milliseconds(5), std::move(waiting));
    // (Timeout reports the deadline inside for a Task<absl::Status>.)
    const absl::Status given_up = third.ok() ? *third : third.status();
    EXPECT_EQ(given_up.code(), absl::StatusCode::kDeadlineExceeded) << given_up;
    const std::vector<std::string> want = {first, "second"};
    co_await ExpectTexts(c.peer, want);
    // Nothing of the abandoned send is left in the count: once the writer
    // task is done, messages go direct again, in order.
    c.script->budget = -1;
    int tries = 0;
    while (c.script->direct_writes.load() == 0 && tries < 1000) {
      CO_ASSERT(c.ws.TrySend(Text(absl::StrCat("after ", tries))).ok());
      const std::vector<std::string> next = {absl::StrCat("after ", tries)};
      co_await ExpectTexts(c.peer, next);
      ++tries;
      co_await YieldNow();
    }
    EXPECT_EQ(c.script->direct_writes.load(), 1);
  }());
}

// Sends `count` numbered messages tagged `tag`, alternating TrySend
// (waiting in Send when the queue is full) and Send.
Task<void> SendNumbered(WebSocketConnection& ws, std::string tag, int count) {
  for (int i = 0; i < count; ++i) {
    WebSocketMessage m =
        Text(absl::StrCat(tag, ":", i, ":", std::string(40, 'x')));
    if (i % 2 == 0) {
      SendResult<WebSocketMessage> sent = ws.TrySend(std::move(m));
      if (sent.ok()) continue;
      if (!sent.IsFull()) co_return;
      m = sent.TakeValue();
    }
    const absl::Status sent = co_await ws.Send(std::move(m));
    if (!sent.ok()) co_return;
  }
}

TYPED_TEST(WebSocketWriteThroughTest,
           ManySendersOverASmallPipeKeepEachSendersOrderAndEveryFrameWhole) {
  this->runtime_.BlockOn([]() -> Task<void> {
    // A plain MemoryStream of 100 bytes: direct writes meet partial
    // writes and a full pipe all the time, and the writer task takes over.
    WebSocketOptions options;
    options.outgoing_capacity = 4;
    testing::Connected c =
        testing::Connect(Role::kServer, options, std::nullopt, 100);
    constexpr int kSenders = 4;
    constexpr int kCount = 200;
    std::vector<JoinHandle<void>> senders;
    senders.reserve(kSenders);
    for (int s = 0; s < kSenders; ++s) {
      senders.push_back(
          Spawn(SendNumbered(c.ws, absl::StrCat("s", s), kCount)));
    }
    std::vector<int> next(kSenders, 0);
    for (int n = 0; n < kSenders * kCount; ++n) {
      std::optional<Event> e = co_await c.peer.Next();
      CO_ASSERT(e.has_value());
      CO_ASSERT(e->type == WebSocketEventType::kText);
      const std::vector<std::string> parts = absl::StrSplit(e->payload, ':');
      CO_ASSERT(parts.size() == 3);
      const int s = parts[0][1] - '0';
      CO_ASSERT(s >= 0 && s < kSenders);
      EXPECT_EQ(parts[1], std::to_string(next[s])) << "sender " << s;
      EXPECT_EQ(parts[2], std::string(40, 'x'));
      ++next[s];
    }
    for (JoinHandle<void>& sender : senders) co_await sender;
  }());
}

TYPED_TEST(WebSocketWriteThroughTest,
           CloseWhileOthersSendLeavesTheCloseFrameLastOnTheWire) {
  this->runtime_.BlockOn([]() -> Task<void> {
    WebSocketOptions options;
    options.outgoing_capacity = 4;
    testing::Connected c =
        testing::Connect(Role::kServer, options, std::nullopt, 256);
    std::vector<JoinHandle<void>> senders;
    senders.reserve(3);
    for (int s = 0; s < 3; ++s) {
      senders.push_back(
          Spawn(SendNumbered(c.ws, absl::StrCat("s", s), 1'000'000)));
    }
    // Let some messages out, then close while the senders are busy.
    for (int i = 0; i < 20; ++i) {
      std::optional<Event> e = co_await c.peer.Next();
      CO_ASSERT(e.has_value());
    }
    JoinHandle<absl::Status> closing = Spawn(c.ws.Close(1000, "bye"));
    // Every frame up to the Close is a whole text message; the Close is
    // the last frame.
    for (;;) {
      std::optional<Event> e = co_await c.peer.Next();
      CO_ASSERT(e.has_value());
      if (e->type == WebSocketEventType::kClose) {
        EXPECT_EQ(e->code, 1000);
        break;
      }
      CO_ASSERT(e->type == WebSocketEventType::kText);
    }
    CO_EXPECT_OK(co_await c.peer.Write(ClientClose(1000)));
    CO_EXPECT_TRUE(co_await c.peer.NextIsEnd());
    CO_EXPECT_OK(co_await closing);
    for (JoinHandle<void>& sender : senders) co_await sender;
    // Nothing goes out after the Close.
    CO_ASSERT(!c.ws.TrySend(Text("late")).ok());
  }());
}

std::string Compressible(int i) {
  return absl::StrCat("message ", i, " ", std::string(100 + i % 7, 'z'),
                      " the same words again and again");
}

TYPED_TEST(WebSocketWriteThroughTest,
           CompressedMessagesDecodeInOrderAcrossDirectAndQueuedWrites) {
  this->runtime_.BlockOn([]() -> Task<void> {
    // Context takeover: each message's compression depends on the ones
    // before it, so a frame written out of encoding order fails to
    // decompress. A small pipe mixes direct and queued writes.
    WebSocketOptions options;
    options.outgoing_capacity = 4;
    testing::Connected c =
        testing::Connect(Role::kServer, options, DeflateParams{}, 64);
    constexpr int kCount = 300;
    JoinHandle<void> sender = Spawn([](WebSocketConnection& ws) -> Task<void> {
      for (int i = 0; i < kCount; ++i) {
        WebSocketMessage m = Text(Compressible(i));
        SendResult<WebSocketMessage> sent = ws.TrySend(std::move(m));
        if (sent.ok()) continue;
        CO_ASSERT(sent.IsFull());
        WebSocketMessage back = sent.TakeValue();
        CO_EXPECT_OK(co_await ws.Send(std::move(back)));
      }
    }(c.ws));
    for (int i = 0; i < kCount; ++i) {
      std::optional<Event> e = co_await c.peer.Next();
      CO_ASSERT(e.has_value());
      CO_ASSERT(e->type == WebSocketEventType::kText);
      EXPECT_EQ(e->payload, Compressible(i));
    }
    co_await sender;
    // Compressed on the wire (RSV1 frames), not sent plain.
    EXPECT_LT(c.peer.raw().size(), size_t{kCount} * 100);
  }());
}

}  // namespace
}  // namespace troupe::net

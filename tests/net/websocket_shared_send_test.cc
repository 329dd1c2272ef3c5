// Tests of the send path's shared messages and gathered writes
// (net/websocket_connection.h, net/websocket_write_batch.h): bytes shared by
// several connections arrive intact on each (compressed or not), in order,
// through a stream that takes a few bytes per vectored write; a full queue
// hands the shared message back. Each scenario runs on both runtime
// flavours.

#include <sys/uio.h>

#include <atomic>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "executor/runtime.h"
#include "gtest/gtest.h"
#include "net/byte_stream.h"
#include "net/memory_stream.h"
#include "net/websocket_connection.h"
#include "tests/net/websocket_peer.h"
#include "tests/runtime_flavours.h"

namespace troupe::net {
namespace {

using testing::Connect;
using testing::Connected;
using testing::Event;
using testing::RawPeer;

// A MemoryStream end with a gathering write that takes at most
// kBytesPerWrite bytes a call, so that every frame crosses partial writes.
class TrickleStream {
 public:
  static constexpr size_t kBytesPerWrite = 7;

  TrickleStream(MemoryStream stream, std::shared_ptr<std::atomic<int>> calls)
      : stream_(std::move(stream)), calls_(std::move(calls)) {}

  Task<absl::StatusOr<size_t>> Read(std::span<char> buffer) {
    return stream_.Read(buffer);
  }
  Task<absl::Status> WriteAll(std::span<const char> data) {
    return stream_.WriteAll(data);
  }
  Task<absl::Status> ShutdownWrite() { return stream_.ShutdownWrite(); }
  Task<absl::StatusOr<size_t>> WriteV(std::span<const iovec> chunks) {
    calls_->fetch_add(1, std::memory_order_relaxed);
    std::string prefix;
    for (const iovec& chunk : chunks) {
      const size_t room = kBytesPerWrite - prefix.size();
      prefix.append(static_cast<const char*>(chunk.iov_base),
                    std::min(room, chunk.iov_len));
      if (prefix.size() == kBytesPerWrite) break;
    }
    const absl::Status written = co_await stream_.WriteAll(AsSpan(prefix));
    if (!written.ok()) co_return written;
    co_return prefix.size();
  }

 private:
  MemoryStream stream_;
  std::shared_ptr<std::atomic<int>> calls_;
};
static_assert(GatheringByteStream<TrickleStream>);
static_assert(!GatheringByteStream<MemoryStream>);

SharedWebSocketMessage SharedText(const SharedBytes& bytes) {
  return SharedWebSocketMessage(WebSocketMessage::Type::kText, bytes);
}

template <typename F>
class WebSocketSharedSendTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(WebSocketSharedSendTest, test::RuntimeFlavours);

TEST(ConsumeWrittenTest, DropsTheWholeChunksAndCutsThePartialOne) {
  std::string a = "abc", b = "", c = "defg";
  std::vector<iovec> chunks = {
      {a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
  std::span<iovec> rest = ConsumeWritten(chunks, 4);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(std::string(static_cast<char*>(rest[0].iov_base), rest[0].iov_len),
            "efg");
  EXPECT_TRUE(ConsumeWritten(rest, 3).empty());
  // Nothing written: only leading empty chunks go.
  std::vector<iovec> empty_first = {{b.data(), 0}, {a.data(), a.size()}};
  EXPECT_EQ(ConsumeWritten(empty_first, 0).size(), 1u);
}

TYPED_TEST(WebSocketSharedSendTest,
           SharedMessagesArriveInOrderThroughPartialGatheredWrites) {
  this->runtime_.BlockOn([]() -> Task<void> {
    auto calls = std::make_shared<std::atomic<int>>(0);
    auto [raw, end] = MakeMemoryPipe(1 << 16);
    WebSocketSession session;
    session.role = Role::kServer;
    absl::StatusOr<WebSocketConnection> ws = WebSocketConnection::Start(
        TrickleStream(std::move(end), calls), std::move(session));
    CO_ASSERT(ws.ok());
    RawPeer peer(std::move(raw), Role::kClient);
    // One shared payload (over 125 bytes: a 16-bit length header) queued
    // between messages of their own.
    auto common = std::make_shared<const std::string>(std::string(300, 'x'));
    std::vector<std::string> expected;
    for (int i = 0; i < 20; ++i) {
      auto own = std::make_shared<const std::string>(absl::StrCat("m", i));
      CO_ASSERT(ws->TrySend(SharedText(own)).ok());
      CO_ASSERT(ws->TrySend(SharedText(common)).ok());
      expected.push_back(*own);
      expected.push_back(*common);
    }
    for (const std::string& want : expected) {
      std::optional<Event> e = co_await peer.Next();
      CO_ASSERT(e.has_value());
      EXPECT_EQ(e->type, WebSocketEventType::kText) << e->Describe();
      EXPECT_EQ(e->payload, want);
    }
    // The gathered path wrote it, a few bytes at a time.
    EXPECT_GT(calls->load(),
              300 / static_cast<int>(TrickleStream::kBytesPerWrite));
  }());
}

TYPED_TEST(WebSocketSharedSendTest,
           OneSharedMessageReachesACompressingAndAPlainConnectionIntact) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Connected plain = Connect(Role::kServer);
    Connected deflate = Connect(Role::kServer, {}, DeflateParams{});
    auto bytes = std::make_shared<const std::string>(
        absl::StrCat("compress me ", std::string(200, 'z')));
    // (Built outside the co_await expressions: see the GCC 12 note in
    // websocket_connection.h.)
    SharedWebSocketMessage to_plain = SharedText(bytes);
    SharedWebSocketMessage to_deflate = SharedText(bytes);
    CO_EXPECT_OK(co_await plain.ws.Send(std::move(to_plain)));
    CO_EXPECT_OK(co_await deflate.ws.Send(std::move(to_deflate)));
    for (Connected* c : {&plain, &deflate}) {
      std::optional<Event> e = co_await c->peer.Next();
      CO_ASSERT(e.has_value());
      EXPECT_EQ(e->type, WebSocketEventType::kText) << e->Describe();
      EXPECT_EQ(e->payload, *bytes);
    }
    // The compressing connection compressed into its own buffer: the
    // shared bytes are untouched.
    EXPECT_EQ(*bytes, absl::StrCat("compress me ", std::string(200, 'z')));
  }());
}

TYPED_TEST(WebSocketSharedSendTest, AFullQueueHandsTheSharedMessageBack) {
  this->runtime_.BlockOn([]() -> Task<void> {
    WebSocketOptions options;
    options.outgoing_capacity = 1;
    // A pipe of 16 bytes that the peer never reads: the writer stalls on
    // its first round, and the queue of one fills behind it.
    Connected c = Connect(Role::kServer, options, std::nullopt, 16);
    auto bytes = std::make_shared<const std::string>(std::string(100, 'q'));
    std::optional<SendResult<SharedWebSocketMessage>> refused;
    for (int i = 0; i < 10 && !refused.has_value(); ++i) {
      SendResult<SharedWebSocketMessage> sent = c.ws.TrySend(SharedText(bytes));
      if (!sent.ok()) refused.emplace(std::move(sent));
    }
    CO_ASSERT(refused.has_value());
    EXPECT_TRUE(refused->IsFull());
    EXPECT_EQ(refused->TakeValue().data(), bytes);
  }());
}

}  // namespace
}  // namespace troupe::net

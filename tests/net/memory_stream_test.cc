// Tests of net/memory_stream.h: the in-memory pipe the async network
// layer is tested on. Each scenario runs on both runtime flavours.

#include "net/memory_stream.h"

#include <string>

#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "tests/net/websocket_peer.h"
#include "tests/runtime_flavours.h"

namespace troupe::net {
namespace {

using testing::ReadToEnd;

template <typename F>
class MemoryStreamTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(MemoryStreamTest, test::RuntimeFlavours);

static_assert(ByteStream<MemoryStream>);

TYPED_TEST(MemoryStreamTest, BytesWrittenAtOneEndAreReadAtTheOther) {
  this->runtime_.BlockOn([]() -> Task<void> {
    auto pipe = MakeMemoryPipe(64);
    MemoryStream& a = pipe.first;
    MemoryStream& b = pipe.second;
    CO_EXPECT_OK(co_await a.WriteAll(AsSpan("hello")));
    CO_EXPECT_OK(co_await b.WriteAll(AsSpan("back")));
    char buffer[16];
    absl::StatusOr<size_t> n = co_await b.Read(buffer);
    CO_ASSERT(n.ok());
    EXPECT_EQ(std::string(buffer, *n), "hello");
    n = co_await a.Read(buffer);
    CO_ASSERT(n.ok());
    EXPECT_EQ(std::string(buffer, *n), "back");
  }());
}

TYPED_TEST(MemoryStreamTest, AReadWaitsUntilThePeerWrites) {
  this->runtime_.BlockOn([]() -> Task<void> {
    auto pipe = MakeMemoryPipe(64);
    MemoryStream& a = pipe.first;
    MemoryStream& b = pipe.second;
    JoinHandle<std::string> reader =
        Spawn([](MemoryStream& s) -> Task<std::string> {
          char buffer[16];
          absl::StatusOr<size_t> n = co_await s.Read(buffer);
          co_return n.ok() ? std::string(buffer, *n) : "error";
        }(b));
    for (int i = 0; i < 20; ++i) co_await YieldNow();
    EXPECT_FALSE(reader.IsFinished());
    CO_EXPECT_OK(co_await a.WriteAll(AsSpan("late")));
    CO_EXPECT_EQ(co_await reader, std::string("late"));
  }());
}

TYPED_TEST(MemoryStreamTest, ShutdownWriteMakesThePeerReadEndOfStream) {
  this->runtime_.BlockOn([]() -> Task<void> {
    auto pipe = MakeMemoryPipe(64);
    MemoryStream& a = pipe.first;
    MemoryStream& b = pipe.second;
    CO_EXPECT_OK(co_await a.WriteAll(AsSpan("last words")));
    CO_EXPECT_OK(co_await a.ShutdownWrite());
    CO_EXPECT_EQ(co_await ReadToEnd(b), std::string("last words"));
    CO_EXPECT_NOT_OK(co_await a.WriteAll(AsSpan("more")));
    // The other direction is still open.
    CO_EXPECT_OK(co_await b.WriteAll(AsSpan("reply")));
  }());
}

TYPED_TEST(MemoryStreamTest, AWriterWaitsAtTheBoundUntilThePeerReads) {
  this->runtime_.BlockOn([]() -> Task<void> {
    auto pipe = MakeMemoryPipe(8);
    MemoryStream& a = pipe.first;
    MemoryStream& b = pipe.second;
    JoinHandle<absl::Status> writer =
        Spawn([](MemoryStream& s) -> Task<absl::Status> {
          co_return co_await s.WriteAll(AsSpan("0123456789abcdefghij"));
        }(a));
    // Wait (a bounded while) for the writer to reach the bound.
    for (int i = 0; i < 2000 && a.UnreadByPeer() < 8; ++i) {
      co_await SleepFor(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(a.UnreadByPeer(), 8u);  // exactly the bound, no more
    EXPECT_FALSE(writer.IsFinished());
    std::string got;
    char buffer[5];
    while (got.size() < 20) {
      absl::StatusOr<size_t> n = co_await b.Read(buffer);
      CO_ASSERT(n.ok() && *n > 0);
      got.append(buffer, *n);
    }
    EXPECT_EQ(got, "0123456789abcdefghij");
    CO_EXPECT_OK(co_await writer);
  }());
}

TYPED_TEST(MemoryStreamTest,
           DestroyingAnEndEndsThePeersReadsAndFailsItsWrites) {
  this->runtime_.BlockOn([]() -> Task<void> {
    auto pipe = MakeMemoryPipe(4);
    MemoryStream& a = pipe.first;
    MemoryStream& b = pipe.second;
    JoinHandle<absl::Status> writer =
        Spawn([](MemoryStream& s) -> Task<absl::Status> {
          co_return co_await s.WriteAll(AsSpan("more than four bytes"));
        }(b));
    for (int i = 0; i < 20; ++i) co_await YieldNow();
    CO_EXPECT_OK(co_await a.WriteAll(AsSpan("bye")));
    { MemoryStream gone = std::move(a); }
    const absl::Status written = co_await writer;
    EXPECT_EQ(written.code(), absl::StatusCode::kFailedPrecondition);
    CO_EXPECT_EQ(co_await ReadToEnd(b), std::string("bye"));
  }());
}

TYPED_TEST(MemoryStreamTest, AnAbandonedReadLeavesNoWaiterBehind) {
  this->runtime_.BlockOn([]() -> Task<void> {
    auto pipe = MakeMemoryPipe(16);
    MemoryStream& a = pipe.first;
    MemoryStream& b = pipe.second;
    char buffer[16];
    absl::StatusOr<absl::StatusOr<size_t>> timed =
        co_await Timeout(std::chrono::milliseconds(5), b.Read(buffer));
    EXPECT_EQ(timed.status().code(), absl::StatusCode::kDeadlineExceeded);
    // The pipe still works, and the abandoned read took nothing.
    CO_EXPECT_OK(co_await a.WriteAll(AsSpan("after")));
    absl::StatusOr<size_t> n = co_await b.Read(buffer);
    CO_ASSERT(n.ok());
    EXPECT_EQ(std::string(buffer, *n), "after");
  }());
}

TYPED_TEST(MemoryStreamTest, ALargeTransferArrivesIntactThroughASmallBuffer) {
  this->runtime_.BlockOn([]() -> Task<void> {
    auto pipe = MakeMemoryPipe(7);
    MemoryStream& a = pipe.first;
    MemoryStream& b = pipe.second;
    std::string data;
    for (int i = 0; i < 5000; ++i) data.push_back(static_cast<char>(i * 31));
    JoinHandle<absl::Status> writer =
        Spawn([](MemoryStream s, std::string data) -> Task<absl::Status> {
          co_return co_await s.WriteAll(AsSpan(data));
        }(std::move(a), data));
    CO_EXPECT_EQ(co_await ReadToEnd(b), data);
    CO_EXPECT_OK(co_await writer);
  }());
}

}  // namespace
}  // namespace troupe::net

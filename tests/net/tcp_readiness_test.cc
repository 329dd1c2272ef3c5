// What a TcpStream believes about its socket between operations, on both
// runtime flavours: a read that does not fill its buffer shows the socket
// drained, so the next read waits for the reactor's edge without a syscall
// that would only say EAGAIN - and that edge still comes when more data
// arrives; a read that fills its buffer leaves the socket readable; a write
// that the socket takes only in part leaves the rest to a later write that
// completes once the peer reads.
//
// Each scenario first makes the reader wait on an empty socket, so that
// the one edge the peer's write raises is dispatched before the read that
// consumes it: after that read no stale edge is left to set the readiness
// again, and what the stream believes is exact.

#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "net/tcp_stream.h"
#include "tests/net/tcp_test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::net {
namespace {

template <typename F>
class TcpReadinessTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(TcpReadinessTest, test::RuntimeFlavours);

struct ReadOutcome {
  std::string data;  // or the error
  bool readable_after = false;
};

// One Read of up to `capacity` bytes, and whether the stream still
// believes the socket readable right after it.
Task<ReadOutcome> ReadOnce(TcpStream* stream, std::size_t capacity) {
  std::string buffer(capacity, '\0');
  absl::StatusOr<std::size_t> n = co_await stream->Read(buffer);
  ReadOutcome outcome;
  outcome.readable_after = stream->BelievedReady(Interest::kRead);
  outcome.data = n.ok() ? buffer.substr(0, *n) : n.status().ToString();
  co_return outcome;
}

// Starts a ReadOnce on `reader`, waits until it waits on the empty socket,
// then has `writer` send `data`; returns what the read got.
Task<ReadOutcome> ReadAfterWaiting(TcpStream* reader, TcpStream* writer,
                                   std::string data, std::size_t capacity) {
  JoinHandle<ReadOutcome> read = Spawn(ReadOnce(reader, capacity));
  while (reader->WaitingTasks() == 0) co_await YieldNow();
  const absl::Status written = co_await writer->WriteAll(test::AsSpan(data));
  if (!written.ok()) co_return ReadOutcome{written.ToString(), false};
  co_return co_await read;
}

struct ShortReadResult {
  ReadOutcome first;
  ReadOutcome later;
};

Task<ShortReadResult> ShortReadThenMore() {
  absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
  if (!pair.ok()) co_return ShortReadResult{{pair.status().ToString()}, {}};
  ShortReadResult result;
  result.first =
      co_await ReadAfterWaiting(&pair->server, &pair->client, "hello", 64);
  result.later =
      co_await ReadAfterWaiting(&pair->server, &pair->client, "again", 64);
  co_return result;
}

TYPED_TEST(TcpReadinessTest, AShortReadForgetsReadabilityAndTheNextDataWakes) {
  const ShortReadResult r = this->runtime_.BlockOn(ShortReadThenMore());
  EXPECT_EQ(r.first.data, "hello");
  EXPECT_FALSE(r.first.readable_after)
      << "5 of 64 bytes: the socket was drained, no EAGAIN read is needed";
  // The next data raised an edge that woke the waiting read.
  EXPECT_EQ(r.later.data, "again");
  EXPECT_FALSE(r.later.readable_after);
}

struct FullReadResult {
  ReadOutcome full;
  ReadOutcome rest;
};

Task<FullReadResult> FullReadThenRest() {
  absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
  if (!pair.ok()) co_return FullReadResult{{pair.status().ToString()}, {}};
  FullReadResult result;
  result.full =
      co_await ReadAfterWaiting(&pair->server, &pair->client, "0123456789", 4);
  // No waiting, no new edge: the bytes left are read on the readiness the
  // full read kept.
  result.rest = co_await ReadOnce(&pair->server, 64);
  co_return result;
}

TYPED_TEST(TcpReadinessTest, AReadThatFillsItsBufferKeepsTheSocketReadable) {
  const FullReadResult r = this->runtime_.BlockOn(FullReadThenRest());
  EXPECT_EQ(r.full.data, "0123");
  EXPECT_TRUE(r.full.readable_after)
      << "a full buffer says nothing about what is left";
  EXPECT_EQ(r.rest.data, "456789");
  EXPECT_FALSE(r.rest.readable_after);
}

// The server writes more than the socket takes at once with single Writes
// (a short one first), while the client reads only after that first Write
// returned: every byte must arrive, in order.
Task<std::string> ShortWriteThenDrain(std::size_t total) {
  absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
  if (!pair.ok()) co_return pair.status().ToString();
  const std::string data = test::Pattern(total, 11);
  absl::StatusOr<std::size_t> first = co_await pair->server.Write(data);
  if (!first.ok()) co_return first.status().ToString();
  if (*first >= total) co_return "the first write was not short";
  JoinHandle<absl::StatusOr<std::string>> reader =
      Spawn(test::ReadExactly(&pair->client, total));
  std::span<const char> rest = std::span<const char>(data).subspan(*first);
  while (!rest.empty()) {
    absl::StatusOr<std::size_t> n = co_await pair->server.Write(rest);
    if (!n.ok()) co_return n.status().ToString();
    rest = rest.subspan(*n);
  }
  absl::StatusOr<std::string> got = co_await reader;
  if (!got.ok()) co_return got.status().ToString();
  co_return *got == data ? "ok" : "the bytes differ";
}

TYPED_TEST(TcpReadinessTest, AShortWriteLeavesTheRestToWritesThatComplete) {
  // 16 MiB: far more than a socket's send buffer holds (Linux caps it at
  // net.ipv4.tcp_wmem's maximum, 4 MiB by default).
  EXPECT_EQ(this->runtime_.BlockOn(ShortWriteThenDrain(std::size_t{16} << 20)),
            "ok");
}

}  // namespace
}  // namespace troupe::net

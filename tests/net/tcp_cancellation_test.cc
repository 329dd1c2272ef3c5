// Abandoning socket operations, on both runtime flavours: a Read or Accept
// cut short by Timeout or by aborting its task leaves no waiter behind,
// consumes nothing, and the socket keeps working; shutting a runtime down
// with tasks blocked on sockets closes them.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <random>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "tests/executor/test_util.h"
#include "tests/net/tcp_test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::net {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

template <typename F>
class TcpCancellationTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(TcpCancellationTest, test::RuntimeFlavours);

// Polls (giving the runtime a turn each time) until `waiting()` tasks wait.
template <typename F>
Task<void> UntilWaiting(F waiting, int n) {
  while (waiting() != n) co_await SleepFor(milliseconds(1));
}

Task<absl::StatusOr<size_t>> ReadOnce(TcpStream* stream) {
  char buffer[64];
  co_return co_await stream->Read(buffer);
}

Task<absl::StatusOr<TcpStream>> AcceptOnce(TcpListener* listener) {
  co_return co_await listener->Accept();
}

// Awaits an aborted task: true if it ended cancelled.
template <typename T>
Task<bool> EndedCancelled(JoinHandle<T> handle) {
  try {
    (void)co_await handle;
  } catch (const CancelledError&) {
    co_return true;
  }
  co_return false;
}

TYPED_TEST(TcpCancellationTest, AReadThatTimesOutLeavesTheStreamUsable) {
  auto body = []() -> Task<std::string> {
    absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
    if (!pair.ok()) co_return pair.status().ToString();
    char buffer[64];
    auto timed = co_await Timeout(milliseconds(20), pair->server.Read(buffer));
    if (!absl::IsDeadlineExceeded(timed.status())) co_return "no timeout";
    if (pair->server.WaitingTasks() != 0) co_return "a waiter was left";
    (void)co_await pair->client.WriteAll(test::AsSpan("after the timeout"));
    absl::StatusOr<std::string> got =
        co_await test::ReadExactly(&pair->server, 17);
    co_return got.ok() ? *got : got.status().ToString();
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), "after the timeout");
}

// A writer trickles a pattern in odd pieces with pauses; the reader reads
// with short timeouts, so timeouts race with arriving data. Every byte must
// arrive exactly once, in order.
Task<absl::Status> Trickle(TcpStream* stream, const std::string* data,
                           uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::size_t at = 0;
  while (at < data->size()) {
    const std::size_t len =
        std::min<std::size_t>(1 + rng() % 1500, data->size() - at);
    absl::Status s = co_await stream->WriteAll(
        std::span<const char>(data->data() + at, len));
    if (!s.ok()) co_return s;
    at += len;
    if (rng() % 4 == 0) co_await SleepFor(microseconds(rng() % 2000));
  }
  co_return co_await stream->ShutdownWrite();
}

Task<std::string> ReadWithRacingTimeouts(uint64_t seed) {
  absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
  if (!pair.ok()) co_return pair.status().ToString();
  const std::string sent = test::Pattern(std::size_t{256} << 10, seed);
  JoinHandle<absl::Status> writer = Spawn(Trickle(&pair->client, &sent, seed));
  std::mt19937_64 rng(seed + 1);
  std::string got;
  std::string buffer(4096, '\0');
  for (;;) {
    std::span<char> into(buffer.data(), 1 + rng() % buffer.size());
    auto r =
        co_await Timeout(microseconds(rng() % 1500), pair->server.Read(into));
    if (absl::IsDeadlineExceeded(r.status())) continue;
    if (!r.ok()) co_return r.status().ToString();
    if (!r->ok()) co_return r->status().ToString();
    if (**r == 0) break;
    got.append(buffer.data(), **r);
  }
  absl::Status written = co_await writer;
  if (!written.ok()) co_return written.ToString();
  if (pair->server.WaitingTasks() != 0) co_return "a waiter was left";
  co_return got == sent
      ? "intact"
      : "lost or reordered bytes (" + std::to_string(got.size()) + " of " +
            std::to_string(sent.size()) + ")";
}

TYPED_TEST(TcpCancellationTest, ReadsRacingTheirTimeoutsLoseNoBytes) {
  EXPECT_EQ(this->runtime_.BlockOn(ReadWithRacingTimeouts(test::TestSeed())),
            "intact");
}

TYPED_TEST(TcpCancellationTest, AbortingATaskBlockedInReadLeavesNoWaiter) {
  auto body = []() -> Task<std::string> {
    absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
    if (!pair.ok()) co_return pair.status().ToString();
    TcpStream* server = &pair->server;
    JoinHandle<absl::StatusOr<size_t>> reader = Spawn(ReadOnce(server));
    co_await UntilWaiting([server] { return server->WaitingTasks(); }, 1);
    reader.Abort();
    if (!co_await EndedCancelled(std::move(reader))) co_return "not cancelled";
    if (server->WaitingTasks() != 0) co_return "a waiter was left";
    (void)co_await pair->client.WriteAll(test::AsSpan("still here"));
    absl::StatusOr<std::string> got = co_await test::ReadExactly(server, 10);
    co_return got.ok() ? *got : got.status().ToString();
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), "still here");
}

TYPED_TEST(TcpCancellationTest, AbortingATaskBlockedInAcceptLeavesNoWaiter) {
  auto body = []() -> Task<std::string> {
    absl::StatusOr<TcpListener> bound = TcpListener::Bind("127.0.0.1:0");
    if (!bound.ok()) co_return bound.status().ToString();
    TcpListener* listener = &*bound;
    JoinHandle<absl::StatusOr<TcpStream>> acceptor =
        Spawn(AcceptOnce(listener));
    co_await UntilWaiting([listener] { return listener->WaitingTasks(); }, 1);
    acceptor.Abort();
    if (!co_await EndedCancelled(std::move(acceptor))) {
      co_return "not cancelled";
    }
    if (listener->WaitingTasks() != 0) co_return "a waiter was left";
    // The listener still accepts.
    absl::StatusOr<TcpStream> client =
        co_await TcpStream::Connect(listener->LocalAddress());
    if (!client.ok()) co_return client.status().ToString();
    absl::StatusOr<TcpStream> server = co_await listener->Accept();
    co_return server.ok() ? "accepted" : server.status().ToString();
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), "accepted");
}

TYPED_TEST(TcpCancellationTest, AnAcceptThatTimesOutLeavesLaterClientsQueued) {
  auto body = []() -> Task<std::string> {
    absl::StatusOr<TcpListener> listener = TcpListener::Bind("127.0.0.1:0");
    if (!listener.ok()) co_return listener.status().ToString();
    auto timed = co_await Timeout(milliseconds(20), listener->Accept());
    if (!absl::IsDeadlineExceeded(timed.status())) co_return "no timeout";
    absl::StatusOr<TcpStream> client =
        co_await TcpStream::Connect(listener->LocalAddress());
    if (!client.ok()) co_return client.status().ToString();
    auto accepted =
        co_await Timeout(std::chrono::seconds(30), listener->Accept());
    if (!accepted.ok()) co_return accepted.status().ToString();
    co_return accepted->ok() ? "accepted" : accepted->status().ToString();
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), "accepted");
}

// Owns its sockets and blocks forever: a listener in Accept and a
// connected stream in Read.
Task<void> BlockOnSockets(std::atomic<int>* ready) {
  absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
  absl::StatusOr<TcpListener> listener = TcpListener::Bind("127.0.0.1:0");
  if (!pair.ok() || !listener.ok()) co_return;
  JoinHandle<absl::StatusOr<size_t>> reader = Spawn(ReadOnce(&pair->server));
  ready->store(1, std::memory_order_release);
  (void)co_await listener->Accept();
  (void)co_await reader;
}

TYPED_TEST(TcpCancellationTest,
           ShuttingDownWithTasksBlockedOnSocketsClosesThem) {
  // The runtime's reactor aborts if a socket outlives it, so getting
  // through the destructor is the test (and asan checks for leaks).
  auto runtime = std::make_unique<Runtime>(TypeParam::Options());
  std::atomic<int> ready{0};
  JoinHandle<void> blocked = runtime->Spawn(BlockOnSockets(&ready));
  if (runtime->flavor() == Flavor::kCurrentThread) {
    // Spawned tasks run while someone drives the runtime.
    runtime->BlockOn([](std::atomic<int>* r) -> Task<void> {
      while (r->load(std::memory_order_acquire) == 0) {
        co_await SleepFor(milliseconds(1));
      }
    }(&ready));
  }
  test::WaitUntil([&] { return ready.load(std::memory_order_acquire) == 1; });
  // The pair's two streams and the listener.
  EXPECT_EQ(runtime->scheduler().io_driver().Registrations(), 3);
  blocked.Detach();
  runtime.reset();
}

}  // namespace
}  // namespace troupe::net

// TcpStream and TcpListener basics on both runtime flavours: echo, end of
// stream, half-close, addresses, and the errors a caller sees.

#include "net/tcp_stream.h"

#include <sys/uio.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "net/byte_stream.h"
#include "net/socket_address.h"
#include "net/tcp_listener.h"
#include "tests/net/tcp_test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::net {
namespace {

// The HTTP and WebSocket connections are written against this concept.
static_assert(ByteStream<TcpStream>);

template <typename F>
class TcpStreamTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(TcpStreamTest, test::RuntimeFlavours);

Task<std::string> EchoRoundTrip(std::string host_port, std::string message) {
  absl::StatusOr<TcpListener> listener = TcpListener::Bind(host_port);
  if (!listener.ok()) co_return listener.status().ToString();
  const SocketAddress address = listener->LocalAddress();
  absl::StatusOr<TcpStream> client = co_await TcpStream::Connect(address);
  if (!client.ok()) co_return client.status().ToString();
  absl::StatusOr<TcpStream> accepted = co_await listener->Accept();
  if (!accepted.ok()) co_return accepted.status().ToString();
  JoinHandle<absl::Status> echo = Spawn(test::Echo(std::move(*accepted)));
  absl::Status written = co_await client->WriteAll(test::AsSpan(message));
  if (!written.ok()) co_return written.ToString();
  absl::Status shut = co_await client->ShutdownWrite();
  if (!shut.ok()) co_return shut.ToString();
  absl::StatusOr<std::string> back = co_await test::ReadToEnd(&*client, 7);
  absl::Status echoed = co_await echo;
  if (!echoed.ok()) co_return echoed.ToString();
  co_return back.ok() ? *back : back.status().ToString();
}

TYPED_TEST(TcpStreamTest, AMessageEchoesBackOverIpv4Loopback) {
  EXPECT_EQ(
      this->runtime_.BlockOn(EchoRoundTrip("127.0.0.1:0", "hello, troupe")),
      "hello, troupe");
}

TYPED_TEST(TcpStreamTest, AMessageEchoesBackOverIpv6Loopback) {
  absl::StatusOr<std::string> probe =
      this->runtime_.BlockOn([]() -> Task<absl::StatusOr<std::string>> {
        absl::StatusOr<TcpListener> l = TcpListener::Bind("[::1]:0");
        if (!l.ok()) co_return l.status();
        co_return l->LocalAddress().ToString();
      }());
  if (!probe.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << probe.status();
  EXPECT_EQ(probe->substr(0, 5), "[::1]");
  EXPECT_EQ(this->runtime_.BlockOn(EchoRoundTrip("[::1]:0", "over six")),
            "over six");
}

TYPED_TEST(TcpStreamTest, PortZeroPicksAFreePortThatLocalAddressReports) {
  auto body = []() -> Task<std::pair<int, int>> {
    absl::StatusOr<TcpListener> listener = TcpListener::Bind("127.0.0.1:0");
    if (!listener.ok()) co_return std::pair(-1, -1);
    const SocketAddress address = listener->LocalAddress();
    absl::StatusOr<TcpStream> client = co_await TcpStream::Connect(address);
    absl::StatusOr<TcpStream> server = co_await listener->Accept();
    if (!client.ok() || !server.ok()) co_return std::pair(-2, -2);
    // The client's peer is the listener's address, and the server's peer
    // is the client's local address.
    const bool peer_ok = client->PeerAddress().value() == address;
    const bool back_ok =
        server->PeerAddress().value() == client->LocalAddress().value();
    co_return std::pair(static_cast<int>(address.port()),
                        peer_ok && back_ok ? 1 : 0);
  };
  const std::pair<int, int> result = this->runtime_.BlockOn(body());
  EXPECT_GT(result.first, 0);
  EXPECT_EQ(result.second, 1);
}

TYPED_TEST(TcpStreamTest, APeerThatClosesGivesEndOfStreamAsZeroBytes) {
  auto body = []() -> Task<std::vector<size_t>> {
    absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
    if (!pair.ok()) co_return std::vector<size_t>{};
    (void)co_await pair->client.WriteAll(test::AsSpan("bye"));
    pair->client.Close();
    std::vector<size_t> reads;
    char buffer[16];
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<size_t> n = co_await pair->server.Read(buffer);
      if (!n.ok()) break;
      reads.push_back(*n);
      if (*n == 0) break;
    }
    // Reading again after the end is still the end.
    absl::StatusOr<size_t> again = co_await pair->server.Read(buffer);
    reads.push_back(again.ok() ? *again : 999);
    co_return reads;
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), (std::vector<size_t>{3, 0, 0}));
}

// What one frameless read gives: "nothing" (nullopt), a count, or an error.
std::string Describe(const std::optional<absl::StatusOr<size_t>>& r) {
  if (!r.has_value()) return "nothing";
  if (!r->ok()) return r->status().ToString();
  return std::to_string(**r);
}

TYPED_TEST(TcpStreamTest, AFramelessReadWaitsForReadinessAndReadsWhatCame) {
  auto body = []() -> Task<std::vector<std::string>> {
    std::vector<std::string> seen;
    absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
    if (!pair.ok()) co_return seen;
    const IoRegistration* io = pair->server.registration();
    if (io == nullptr) co_return seen;
    char buffer[16];
    // Nothing sent yet: a try finds nothing and clears the readiness, so
    // the next Ready() waits for the peer's bytes. (On the multi-thread
    // runtime the reactor may report the socket's first edge - writable -
    // between the snapshot and the clear: the clear then keeps the
    // readiness, as it must, and the next try clears it.)
    std::string first;
    for (int i = 0; i < 100; ++i) {
      first = Describe(pair->server.TryRead(buffer, io->Peek(Interest::kRead)));
      if (first != "nothing" || !pair->server.BelievedReady(Interest::kRead)) {
        break;
      }
      co_await YieldNow();
    }
    seen.push_back(first);
    EXPECT_FALSE(pair->server.BelievedReady(Interest::kRead));
    (void)co_await pair->client.WriteAll(test::AsSpan("hello"));
    std::optional<absl::StatusOr<size_t>> n;
    while (!n.has_value()) {
      const ReadyEvent ready = co_await io->Ready(Interest::kRead);
      n = pair->server.TryRead(buffer, ready);
    }
    seen.push_back(Describe(n));
    seen.emplace_back(buffer, n->value_or(0));
    // A short read drained the socket: the readiness is cleared without
    // another syscall.
    EXPECT_FALSE(pair->server.BelievedReady(Interest::kRead));
    pair->client.Close();
    n.reset();
    while (!n.has_value()) {
      const ReadyEvent ready = co_await io->Ready(Interest::kRead);
      n = pair->server.TryRead(buffer, ready);
    }
    seen.push_back(Describe(n));  // the end of the stream
    pair->server.Close();
    EXPECT_EQ(pair->server.registration(), nullptr);
    seen.push_back(Describe(pair->server.TryRead(buffer, ReadyEvent{})));
    co_return seen;
  };
  const std::vector<std::string> seen = this->runtime_.BlockOn(body());
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0], "nothing");
  EXPECT_EQ(seen[1], "5");
  EXPECT_EQ(seen[2], "hello");
  EXPECT_EQ(seen[3], "0");
  EXPECT_NE(seen[4].find("FAILED_PRECONDITION"), std::string::npos) << seen[4];
}

TYPED_TEST(TcpStreamTest, ShutdownWriteEndsThePeersReadsButNotOurs) {
  auto body = []() -> Task<std::string> {
    absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
    if (!pair.ok()) co_return pair.status().ToString();
    (void)co_await pair->client.WriteAll(test::AsSpan("question"));
    (void)co_await pair->client.ShutdownWrite();
    absl::StatusOr<std::string> asked =
        co_await test::ReadToEnd(&pair->server, 3);
    if (!asked.ok()) co_return asked.status().ToString();
    (void)co_await pair->server.WriteAll(test::AsSpan("answer"));
    pair->server.Close();
    absl::StatusOr<std::string> answered =
        co_await test::ReadToEnd(&pair->client, 64);
    if (!answered.ok()) co_return answered.status().ToString();
    co_return *asked + "/" + *answered;
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), "question/answer");
}

TYPED_TEST(TcpStreamTest, AVectoredWriteSendsItsChunksInOrder) {
  auto body = []() -> Task<std::string> {
    absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
    if (!pair.ok()) co_return pair.status().ToString();
    std::string a = "one,", b = "", c = "two,", d = "three";
    iovec chunks[4] = {{a.data(), a.size()},
                       {b.data(), b.size()},
                       {c.data(), c.size()},
                       {d.data(), d.size()}};
    absl::StatusOr<size_t> n = co_await pair->client.WriteV(chunks);
    if (!n.ok()) co_return n.status().ToString();
    absl::StatusOr<std::string> got =
        co_await test::ReadExactly(&pair->server, *n);
    co_return got.ok() ? *got : got.status().ToString();
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), "one,two,three");
}

TYPED_TEST(TcpStreamTest, NoDelayCanBeSwitchedOnAndOff) {
  auto body = []() -> Task<absl::Status> {
    absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
    if (!pair.ok()) co_return pair.status();
    absl::Status on = pair->client.SetNoDelay(true);
    if (!on.ok()) co_return on;
    co_return pair->client.SetNoDelay(false);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()).ok());
}

TYPED_TEST(TcpStreamTest, ConnectingToAClosedPortIsAClearError) {
  auto body = []() -> Task<absl::Status> {
    SocketAddress address;
    {
      // A port that was free a moment ago and has no listener now.
      absl::StatusOr<TcpListener> l = TcpListener::Bind("127.0.0.1:0");
      if (!l.ok()) co_return l.status();
      address = l->LocalAddress();
    }
    absl::StatusOr<TcpStream> s = co_await TcpStream::Connect(address);
    co_return s.status();
  };
  const absl::Status status = this->runtime_.BlockOn(body());
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("connect to 127.0.0.1:"), std::string::npos)
      << status;
  EXPECT_NE(status.message().find("Connection refused"), std::string::npos)
      << status;
}

TYPED_TEST(TcpStreamTest, BindingAPortInUseIsAClearError) {
  auto body = []() -> Task<absl::Status> {
    absl::StatusOr<TcpListener> first = TcpListener::Bind("127.0.0.1:0");
    if (!first.ok()) co_return first.status();
    absl::StatusOr<TcpListener> second =
        TcpListener::Bind(first->LocalAddress());
    co_return second.status();
  };
  const absl::Status status = this->runtime_.BlockOn(body());
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("bind to 127.0.0.1:"), std::string::npos)
      << status;
  EXPECT_NE(status.message().find("Address already in use"), std::string::npos)
      << status;
}

TYPED_TEST(TcpStreamTest, ConnectResolvesHostNamesOnTheBlockingPool) {
  auto body = []() -> Task<std::string> {
    absl::StatusOr<TcpListener> listener = TcpListener::Bind("127.0.0.1:0");
    if (!listener.ok()) co_return listener.status().ToString();
    // "localhost" may also resolve to ::1, where nobody listens: Connect
    // tries each address in turn.
    std::string name =
        "localhost:" + std::to_string(listener->LocalAddress().port());
    absl::StatusOr<TcpStream> client =
        co_await TcpStream::Connect(std::move(name));
    if (!client.ok()) co_return client.status().ToString();
    absl::StatusOr<TcpStream> server = co_await listener->Accept();
    if (!server.ok()) co_return server.status().ToString();
    (void)co_await client->WriteAll(test::AsSpan("named"));
    absl::StatusOr<std::string> got = co_await test::ReadExactly(&*server, 5);
    co_return got.ok() ? *got : got.status().ToString();
  };
  EXPECT_EQ(this->runtime_.BlockOn(body()), "named");
}

TYPED_TEST(TcpStreamTest, OperationsOnAStreamThatIsNotConnectedFail) {
  auto body = []() -> Task<bool> {
    TcpStream stream;
    char buffer[4];
    absl::StatusOr<size_t> r = co_await stream.Read(buffer);
    absl::StatusOr<size_t> w = co_await stream.Write(test::AsSpan("x"));
    absl::Status s = co_await stream.ShutdownWrite();
    co_return absl::IsFailedPrecondition(r.status()) &&
        absl::IsFailedPrecondition(w.status()) && absl::IsFailedPrecondition(s);
  };
  EXPECT_TRUE(this->runtime_.BlockOn(body()));
}

TEST(TcpListener, BindingOutsideARuntimeIsAFailedPrecondition) {
  absl::StatusOr<TcpListener> l = TcpListener::Bind("127.0.0.1:0");
  EXPECT_TRUE(absl::IsFailedPrecondition(l.status())) << l.status();
}

TEST(TcpListener, ABadAddressIsAnInvalidArgument) {
  Runtime runtime({.flavor = Flavor::kCurrentThread});
  const absl::Status status = runtime.BlockOn([]() -> Task<absl::Status> {
    co_return TcpListener::Bind("127.0.0.1:99999").status();
  }());
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
}

}  // namespace
}  // namespace troupe::net

// Volume on both runtime flavours: many connections at once, each with its
// own ordered byte stream, and transfers of several MiB that the kernel
// splits into many partial reads and writes - with one task writing and
// another reading the same stream at the same time.

#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "gtest/gtest.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "tests/net/tcp_test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::net {
namespace {

template <typename F>
class TcpTransferTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(TcpTransferTest, test::RuntimeFlavours);

// Accepts `n` connections and echoes each on its own task.
Task<absl::Status> EchoServer(TcpListener* listener, int n) {
  std::vector<JoinHandle<absl::Status>> echoes;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<TcpStream> client = co_await listener->Accept();
    if (!client.ok()) co_return client.status();
    echoes.push_back(Spawn(test::Echo(std::move(*client))));
  }
  absl::Status result;
  for (JoinHandle<absl::Status>& echo : echoes) {
    absl::Status status = co_await echo;
    result.Update(status);
  }
  co_return result;
}

// Writes `data` in pieces of `piece` bytes (the last may be shorter),
// alternating plain and vectored writes, then shuts down its side.
Task<absl::Status> WritePieces(TcpStream* stream, const std::string* data,
                               std::size_t piece) {
  std::size_t at = 0;
  bool vectored = false;
  while (at < data->size()) {
    const std::size_t len = std::min(piece, data->size() - at);
    if (vectored && len >= 2) {
      // Two chunks per call; WriteV may take only part of them.
      iovec chunks[2] = {
          {const_cast<char*>(data->data() + at), len / 2},
          {const_cast<char*>(data->data() + at + len / 2), len - len / 2}};
      absl::StatusOr<std::size_t> n = co_await stream->WriteV(chunks);
      if (!n.ok()) co_return n.status();
      at += *n;
    } else {
      absl::Status s = co_await stream->WriteAll(
          std::span<const char>(data->data() + at, len));
      if (!s.ok()) co_return s;
      at += len;
    }
    vectored = !vectored;
  }
  co_return co_await stream->ShutdownWrite();
}

// One client: connects, writes `bytes` of its own pattern from a second
// task while this one reads the echo, and checks it byte for byte.
Task<absl::Status> EchoClient(SocketAddress server, int id, std::size_t bytes,
                              std::size_t piece, std::size_t read_chunk) {
  absl::StatusOr<TcpStream> stream = co_await TcpStream::Connect(server);
  if (!stream.ok()) co_return stream.status();
  const std::string sent = test::Pattern(bytes, static_cast<uint64_t>(id));
  JoinHandle<absl::Status> writer = Spawn(WritePieces(&*stream, &sent, piece));
  absl::StatusOr<std::string> echoed =
      co_await test::ReadToEnd(&*stream, read_chunk);
  absl::Status written = co_await writer;
  if (!written.ok()) co_return written;
  if (!echoed.ok()) co_return echoed.status();
  if (*echoed != sent) {
    co_return absl::DataLossError("connection " + std::to_string(id) +
                                  ": echo differs (got " +
                                  std::to_string(echoed->size()) + " of " +
                                  std::to_string(sent.size()) + " bytes)");
  }
  co_return absl::OkStatus();
}

Task<absl::Status> RunLoad(int connections, std::size_t bytes,
                           std::size_t piece, std::size_t read_chunk) {
  absl::StatusOr<TcpListener> listener = TcpListener::Bind("127.0.0.1:0");
  if (!listener.ok()) co_return listener.status();
  JoinHandle<absl::Status> server = Spawn(EchoServer(&*listener, connections));
  std::vector<JoinHandle<absl::Status>> clients;
  clients.reserve(static_cast<std::size_t>(connections));
  for (int i = 0; i < connections; ++i) {
    clients.push_back(Spawn(
        EchoClient(listener->LocalAddress(), i, bytes, piece, read_chunk)));
  }
  absl::Status result;
  for (JoinHandle<absl::Status>& client : clients) {
    absl::Status status = co_await client;
    result.Update(status);
  }
  absl::Status served = co_await server;
  result.Update(served);
  co_return result;
}

TYPED_TEST(TcpTransferTest, TwoHundredConnectionsEachEchoTheirOwnBytesInOrder) {
  const absl::Status status = this->runtime_.BlockOn(RunLoad(
      /*connections=*/200, /*bytes=*/std::size_t{24} << 10, /*piece=*/1000,
      /*read_chunk=*/777));
  EXPECT_TRUE(status.ok()) << status;
}

TYPED_TEST(TcpTransferTest, SeveralMebibytesSurvivePartialReadsAndWrites) {
  // Far more than the socket buffers hold: writes block half-way and
  // resume, reads come back in whatever pieces the kernel hands out.
  const absl::Status status = this->runtime_.BlockOn(
      RunLoad(/*connections=*/2, /*bytes=*/std::size_t{6} << 20,
              /*piece=*/std::size_t{256} << 10, /*read_chunk=*/4093));
  EXPECT_TRUE(status.ok()) << status;
}

}  // namespace
}  // namespace troupe::net

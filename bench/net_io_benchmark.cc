// Micro-benchmarks of async TCP over loopback through the I/O reactor:
// request/response round trips (latency: wake-ups through epoll, one
// read and one write each way) and one-way streaming (throughput: partial
// writes and reads, back-pressure). Both runtime flavours; wall time,
// since the work runs on the runtime's threads.
//
//   bazel run --config=bench //bench:net_io_benchmark

#include <cstddef>
#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"

namespace troupe::net {
namespace {

RuntimeOptions FlavourOptions(int64_t flavour) {
  if (flavour == 0) {
    return {.flavor = Flavor::kMultiThread, .worker_threads = 2};
  }
  return {.flavor = Flavor::kCurrentThread};
}

// Echoes until end of stream.
Task<void> Echo(TcpStream stream) {
  std::string buffer(size_t{64} << 10, '\0');
  for (;;) {
    absl::StatusOr<size_t> n = co_await stream.Read(buffer);
    if (!n.ok() || *n == 0) co_return;
    const std::span<const char> echoed(buffer.data(), *n);
    if (!(co_await stream.WriteAll(echoed)).ok()) co_return;
  }
}

// Reads and drops until end of stream.
Task<void> Drain(TcpStream stream) {
  std::string buffer(size_t{256} << 10, '\0');
  for (;;) {
    absl::StatusOr<size_t> n = co_await stream.Read(buffer);
    if (!n.ok() || *n == 0) co_return;
  }
}

// Connects a client to a server-side stream handed to `serve` (spawned).
Task<absl::StatusOr<TcpStream>> ConnectTo(Task<void> (*serve)(TcpStream)) {
  absl::StatusOr<TcpListener> listener = TcpListener::Bind("127.0.0.1:0");
  if (!listener.ok()) co_return listener.status();
  absl::StatusOr<TcpStream> client =
      co_await TcpStream::Connect(listener->LocalAddress());
  if (!client.ok()) co_return client.status();
  absl::StatusOr<TcpStream> server = co_await listener->Accept();
  if (!server.ok()) co_return server.status();
  (void)client->SetNoDelay(true);
  (void)server->SetNoDelay(true);
  Spawn(serve(std::move(*server))).Detach();
  co_return client;
}

Task<bool> RoundTrips(TcpStream* client, int count, size_t size) {
  std::string request(size, 'q');
  std::string reply(size, '\0');
  for (int i = 0; i < count; ++i) {
    if (!(co_await client->WriteAll(request)).ok()) co_return false;
    size_t got = 0;
    while (got < size) {
      absl::StatusOr<size_t> n =
          co_await client->Read(std::span<char>(reply).subspan(got));
      if (!n.ok() || *n == 0) co_return false;
      got += *n;
    }
  }
  co_return true;
}

void BM_TcpEchoRoundTrip(benchmark::State& state) {
  Runtime runtime(FlavourOptions(state.range(0)));
  const auto size = static_cast<size_t>(state.range(1));
  absl::StatusOr<TcpStream> client = runtime.BlockOn(ConnectTo(Echo));
  if (!client.ok()) {
    state.SkipWithError(client.status().ToString().c_str());
    return;
  }
  constexpr int kBatch = 100;
  for (auto _ : state) {
    if (!runtime.BlockOn(RoundTrips(&*client, kBatch, size))) {
      state.SkipWithError("round trip failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(state.iterations() * kBatch *
                          static_cast<int64_t>(2 * size));
  client->Close();
}
BENCHMARK(BM_TcpEchoRoundTrip)
    ->ArgNames({"current_thread", "bytes"})
    ->ArgsProduct({{0, 1}, {64, 16384}})
    ->UseRealTime();

Task<bool> Stream(TcpStream* client, size_t total, size_t chunk) {
  std::string data(chunk, 's');
  for (size_t sent = 0; sent < total; sent += chunk) {
    if (!(co_await client->WriteAll(data)).ok()) co_return false;
  }
  co_return true;
}

void BM_TcpStreamThroughput(benchmark::State& state) {
  Runtime runtime(FlavourOptions(state.range(0)));
  const auto chunk = static_cast<size_t>(state.range(1));
  absl::StatusOr<TcpStream> client = runtime.BlockOn(ConnectTo(Drain));
  if (!client.ok()) {
    state.SkipWithError(client.status().ToString().c_str());
    return;
  }
  constexpr size_t kPerIteration = 8 << 20;
  for (auto _ : state) {
    if (!runtime.BlockOn(Stream(&*client, kPerIteration, chunk))) {
      state.SkipWithError("stream failed");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(kPerIteration));
  client->Close();
}
BENCHMARK(BM_TcpStreamThroughput)
    ->ArgNames({"current_thread", "chunk"})
    ->ArgsProduct({{0, 1}, {4096, 262144}})
    ->UseRealTime();

}  // namespace
}  // namespace troupe::net
